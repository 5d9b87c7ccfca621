/* js_host + mod_fog: the agent's JS on the loop.  Scripts are written to a temp dir and
 * loaded as the --agent-js override; they report back through fog.ctl("report", {v}),
 * an op of this test's own table (the same mechanism the daemon's ops use). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "js_host.h"
#include "log.h"
#include "test.h"

static char reports[64][256];
static int n_reports;
static char dir[64];

static void op_report(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	const char *v = ctl_json_get_str(req, "v");

	if (!v) {
		ctl_reply_error(r, "bad_request", "v missing");
		return;
	}
	if (n_reports < 64)
		snprintf(reports[n_reports++], sizeof(reports[0]), "%s", v);
	ctl_json_out_fmt(r->out, ",\"n\":%d", n_reports);
}

static void op_fail(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	ctl_reply_error(r, "no_luck", "refused on purpose");
}

static const struct ctl_op test_ops[] = {
	{ "report", op_report },
	{ "fail", op_fail },
};

/* The "data plane": a C timer ticking every 5 ms that must keep running whatever JS does. */
struct ticker {
	struct loop_timer t;
	struct loop *l;
	int ticks;
	uint64_t last_ms, max_gap_ms;
};

static void tick_cb(struct loop_timer *t)
{
	struct ticker *k = container_of(t, struct ticker, t);
	uint64_t now = loop_update_time(k->l);

	if (k->last_ms && now - k->last_ms > k->max_gap_ms)
		k->max_gap_ms = now - k->last_ms;
	k->last_ms = now;
	k->ticks++;
	loop_timer_set(k->l, t, 5);
}

static const char *write_script(const char *name, const char *src)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(src, f);
	fclose(f);
	return path;
}

static void run_for(struct loop *l, int ms)
{
	uint64_t end = loop_update_time(l) + (uint64_t)ms;

	while (loop_update_time(l) < end)
		loop_run_once(l, 5);
}

/* Run until n reports arrived or ms passed. */
static void run_until_reports(struct loop *l, int n, int ms)
{
	uint64_t end = loop_update_time(l) + (uint64_t)ms;

	while (n_reports < n && loop_update_time(l) < end)
		loop_run_once(l, 5);
}

static struct js_host *start(struct loop *l, const char *name, const char *src, uint32_t slice_ms,
			     size_t mem)
{
	struct js_host_config c = {
		.agent_path = write_script(name, src),
		.slice_ms = slice_ms,
		.memory_limit = mem,
		.backoff_min_ms = 20,
		.backoff_max_ms = 40,
		.ops = test_ops,
		.n_ops = 2,
	};
	int err;
	struct js_host *h;

	n_reports = 0;
	h = js_host_new(l, &c, &err);
	CHECK(h != NULL);
	return h;
}

#define REPORT "import * as fog from 'pear-fog:native';\n" \
	       "const report = (v) => fog.ctl('report', { v: String(v) });\n"

TEST(timers_fire_in_due_then_creation_order)
{
	struct loop *l = loop_new();
	struct js_host *h = start(l, "timers.mjs",
				  REPORT "const seen = [];\n"
					 "fog.setTimeout(() => seen.push('c80'), 80);\n"
					 "fog.setTimeout(() => seen.push('a40'), 40);\n"
					 "fog.setTimeout(() => seen.push('b40'), 40);\n"
					 "const x = fog.setTimeout(() => seen.push('cleared'), 5);\n"
					 "fog.clearTimeout(x);\n"
					 "fog.setTimeout(() => { seen.push('z0');\n"
					 "  fog.setTimeout(() => seen.push('nested0'), 0); }, 0);\n"
					 "fog.setTimeout(() => report(seen.join(',')), 120);\n",
				  0, 0);
	struct js_host_stats st;

	run_until_reports(l, 1, 2000);
	CHECK_EQ_INT(n_reports, 1);
	CHECK_EQ_STR(reports[0], "z0,nested0,a40,b40,c80");
	js_host_get_stats(h, &st);
	CHECK_EQ_INT(st.restarts, 0);
	CHECK(st.running);
	js_host_free(h);
	loop_free(l);
}

TEST(promises_and_ctl_replies)
{
	struct loop *l = loop_new();
	struct js_host *h = start(
		l, "ctl.mjs",
		REPORT "const r = await report('first');\n"
		       "await report('n=' + r.n + ' ok=' + r.ok);\n"
		       "try { await fog.ctl('fail', {}); } catch (e) { await report(e.code + ':' + e.op); }\n"
		       "try { await fog.ctl('nope'); } catch (e) { await report(e.code); }\n"
		       "try { await fog.ctl('report'); } catch (e) { await report('no args: ' + e.code); }\n"
		       "try { await fog.ctl('report', { v: { nested: 1 } }); } catch (e) { await report(e.code); }\n",
		0, 0);
	struct js_host_stats st;

	run_until_reports(l, 6, 2000);
	CHECK_EQ_INT(n_reports, 6);
	CHECK_EQ_STR(reports[0], "first");
	CHECK_EQ_STR(reports[1], "n=1 ok=true");
	CHECK_EQ_STR(reports[2], "no_luck:fail");
	CHECK_EQ_STR(reports[3], "unknown_op");
	CHECK_EQ_STR(reports[4], "no args: bad_request"); /* op ran with {}: v missing */
	CHECK_EQ_STR(reports[5], "bad_request");
	js_host_get_stats(h, &st);
	CHECK_EQ_INT(st.restarts, 0);
	js_host_free(h);
	loop_free(l);
}

TEST(infinite_loop_is_interrupted_and_data_plane_keeps_running)
{
	struct loop *l = loop_new();
	struct ticker k = { .t.cb = tick_cb, .l = l };
	struct js_host *h;
	struct js_host_stats st;

	loop_timer_set(l, &k.t, 5);
	h = start(l, "spin.mjs", REPORT "await report('gen');\nfog.setTimeout(() => { for (;;) {} }, 1);\n", 50,
		  0);
	run_for(l, 600);
	js_host_get_stats(h, &st);
	CHECK(st.interrupts >= 2);
	CHECK(st.restarts >= 2);
	CHECK(st.generations >= 3);
	CHECK(n_reports >= 3); /* each new generation started and reported */
	/* the data plane is held up by at most one slice (50 ms) plus a context teardown or
	 * start (a few ms; more under ASan) at a time */
	if (k.max_gap_ms > 150)
		fprintf(stderr, "  max gap between data-plane ticks %llu ms\n",
			(unsigned long long)k.max_gap_ms);
	CHECK(k.max_gap_ms <= 150);
	CHECK(k.ticks >= 6);
	js_host_free(h);
	loop_timer_cancel(l, &k.t);
	loop_free(l);
}

TEST(memory_limit_is_a_clean_error_and_restart)
{
	struct loop *l = loop_new();
	struct js_host *h;
	struct js_host_stats st;

	h = start(l, "oom.mjs",
		  REPORT "await report('gen');\n"
			 "fog.setTimeout(() => { const a = []; for (;;) a.push(new Array(1000).fill(a.length)); }, 1);\n",
		  0, 2u << 20);
	run_for(l, 400);
	js_host_get_stats(h, &st);
	CHECK(st.restarts >= 1);
	CHECK(st.generations >= 2);
	CHECK_EQ_INT(st.interrupts, 0);
	CHECK(n_reports >= 2);
	js_host_free(h);
	loop_free(l);
}

TEST(uncaught_exception_and_unhandled_rejection_restart)
{
	struct loop *l = loop_new();
	struct js_host *h;
	struct js_host_stats st;
	struct ticker k = { .t.cb = tick_cb, .l = l };

	loop_timer_set(l, &k.t, 5);
	h = start(l, "throw.mjs", REPORT "await report('gen');\nfog.setTimeout(() => { throw new Error('boom'); }, 1);\n",
		  0, 0);
	run_for(l, 200);
	js_host_get_stats(h, &st);
	CHECK(st.restarts >= 2);
	CHECK(k.ticks >= 25);
	js_host_free(h);

	h = start(l, "reject.mjs",
		  REPORT "await report('gen');\n"
			 "Promise.reject(new Error('nobody listens'));\n"
			 "const handled = Promise.reject(new Error('caught later in the same turn'));\n"
			 "handled.catch(() => {});\n",
		  0, 0);
	run_for(l, 100);
	js_host_get_stats(h, &st);
	CHECK(st.restarts >= 1);
	js_host_free(h);

	/* a rejection handled in the same turn is not an error */
	h = start(l, "handled.mjs",
		  REPORT "const p = Promise.reject(new Error('x'));\n"
			 "await Promise.resolve();\n"
			 "p.catch(() => report('caught'));\n",
		  0, 0);
	run_for(l, 100);
	js_host_get_stats(h, &st);
	CHECK_EQ_INT(st.restarts, 0);
	CHECK_EQ_INT(n_reports, 1);
	js_host_free(h);

	/* a syntax error in the agent is retried, not fatal to the host */
	h = start(l, "syntax.mjs", "this is not javascript", 0, 0);
	run_for(l, 100);
	js_host_get_stats(h, &st);
	CHECK(st.restarts >= 2);
	CHECK(!st.running || st.generations >= 2);
	js_host_free(h);
	loop_timer_cancel(l, &k.t);
	loop_free(l);
}

TEST(files_random_clock_spawn)
{
	struct loop *l = loop_new();
	char src[3000];
	struct js_host *h;
	struct js_host_stats st;

	snprintf(src, sizeof(src),
		 REPORT
		 "const d = '%s/files/sub';\n"
		 "await fog.writeFile(d + '/a.bin', new Uint8Array([1, 2, 3, 250]), 0o600);\n"
		 "const b = await fog.readFile(d + '/a.bin');\n"
		 "await report(Array.from(b).join('.'));\n"
		 "const s = await fog.stat(d + '/a.bin');\n"
		 "await report(s.size + ' ' + s.isFile + ' ' + s.isDirectory);\n"
		 "await report(String(await fog.readFile(d + '/missing')));\n"
		 "await fog.writeFile(d + '/t.txt', 'héllo');\n"
		 "await fog.rename(d + '/t.txt', d + '/u.txt');\n"
		 "await report(fog.utf8Decode(await fog.readFile(d + '/u.txt')));\n"
		 "await report(await fog.unlink(d + '/u.txt') + ' ' + await fog.unlink(d + '/u.txt'));\n"
		 "try { await fog.readFile(d); } catch (e) { await report(e.code); }\n"
		 "await report(fog.randomBytes(32).length);\n"
		 "const lt = fog.localTime(Date.UTC(2026, 10, 22, 12, 0));\n"
		 "await report(lt.month + ' ' + (lt.minuteOfDay >= 0 && lt.minuteOfDay < 1440));\n"
		 "await report(Math.abs(fog.now() - Date.now()) < 1000);\n"
		 "const r = await fog.spawn(['sh', '-c', 'echo out; echo err >&2; exit 3']);\n"
		 "await report(r.status + '|' + r.stdout + '|' + r.stderr);\n"
		 "try { await fog.spawn(['sleep', '5'], { timeoutMs: 50 }); } catch (e) { await report(e.code); }\n"
		 "try { await fog.spawn(['/nonexistent/x']); } catch (e) { await report(e.code); }\n"
		 "try { await fog.spawn(['sh', '-c', 'yes | head -c 100000'], { maxOutput: 1000 }); }\n"
		 "catch (e) { await report(e.code); }\n",
		 dir);
	h = start(l, "files.mjs", src, 0, 0);
	run_until_reports(l, 13, 5000);
	CHECK_EQ_INT(n_reports, 13);
	CHECK_EQ_STR(reports[0], "1.2.3.250");
	CHECK_EQ_STR(reports[1], "4 true false");
	CHECK_EQ_STR(reports[2], "null");
	CHECK_EQ_STR(reports[3], "héllo");
	CHECK_EQ_STR(reports[4], "true false");
	CHECK_EQ_STR(reports[5], "EISDIR");
	CHECK_EQ_STR(reports[6], "32");
	CHECK_EQ_STR(reports[7], "2026-11 true");
	CHECK_EQ_STR(reports[8], "true");
	CHECK_EQ_STR(reports[9], "3|out\n|err\n");
	CHECK_EQ_STR(reports[10], "timeout");
	CHECK_EQ_STR(reports[11], "ENOENT");
	CHECK_EQ_STR(reports[12], "too_large");
	js_host_get_stats(h, &st);
	CHECK_EQ_INT(st.restarts, 0);
	js_host_free(h);
	loop_free(l);
}

TEST(native_crypto_matches_rfc_vectors)
{
	struct loop *l = loop_new();
	struct js_host *h = start(
		l, "crypto.mjs",
		REPORT "const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');\n"
		       "const un = (s) => new Uint8Array(s.match(/../g).map((x) => parseInt(x, 16)));\n"
		       "await report(hex(fog.sha256(fog.utf8Encode('abc'))));\n"
		       "await report(hex(fog.sha512(new Uint8Array(0))).slice(0, 32));\n"
		       /* RFC 8032 §7.1 TEST 1 */
		       "const seed = un('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');\n"
		       "const pub = fog.ed25519PublicKey(seed);\n"
		       "await report(hex(pub));\n"
		       "const sig = fog.ed25519Sign(new Uint8Array(0), seed);\n"
		       "await report(hex(sig));\n"
		       "await report(fog.ed25519Verify(sig, new Uint8Array(0), pub));\n"
		       "sig[5] ^= 1;\n"
		       "await report(fog.ed25519Verify(sig, new Uint8Array(0), pub));\n"
		       "await report(fog.ed25519Verify(sig.slice(1), new Uint8Array(0), pub));\n"
		       "try { fog.ed25519Sign(new Uint8Array(1), new Uint8Array(31)); } catch (e) { await report(e.name); }\n"
		       "try { fog.sha256('abc'); } catch (e) { await report(e.name); }\n",
		0, 0);

	run_until_reports(l, 9, 2000);
	CHECK_EQ_INT(n_reports, 9);
	CHECK_EQ_STR(reports[0], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ_STR(reports[1], "cf83e1357eefb8bdf1542850d66d8007");
	CHECK_EQ_STR(reports[2], "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	CHECK_EQ_STR(reports[3], "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
				 "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	CHECK_EQ_STR(reports[4], "true");
	CHECK_EQ_STR(reports[5], "false");
	CHECK_EQ_STR(reports[6], "false");
	CHECK_EQ_STR(reports[7], "RangeError");
	CHECK_EQ_STR(reports[8], "TypeError");
	js_host_free(h);
	loop_free(l);
}

TEST(signals_and_teardown_with_live_resources)
{
	struct loop *l = loop_new();
	struct js_host *h = start(l, "sig.mjs",
				  REPORT "fog.onSignal((s) => report('got ' + s));\n"
					 "fog.setTimeout(() => {}, 100000);\n"
					 "fog.spawn(['sleep', '10']).catch(() => {});\n",
				  0, 0);

	run_for(l, 50);
	js_host_signal(h, "SIGHUP");
	run_until_reports(l, 1, 1000);
	CHECK_EQ_INT(n_reports, 1);
	CHECK_EQ_STR(reports[0], "got SIGHUP");
	js_host_free(h); /* pending timer and child are dropped (ASan: no leak) */
	loop_free(l);
}

static int stopped;

static void on_stopped(void *arg)
{
	stopped++;
}

TEST(shutdown_waits_for_the_agent_or_the_grace_period)
{
	struct loop *l = loop_new();
	struct js_host *h = start(l, "stop.mjs",
				  REPORT "fog.onSignal((s) => { report('stopping ' + s);\n"
					 "  fog.setTimeout(() => fog.stopDone(), 30); });\n",
				  0, 0);

	stopped = 0;
	run_for(l, 20);
	CHECK(js_host_shutdown(h, "SIGTERM", 2000, on_stopped, NULL));
	CHECK(!js_host_shutdown(h, "SIGTERM", 2000, on_stopped, NULL)); /* second: at once */
	run_for(l, 10);
	CHECK_EQ_INT(stopped, 0);
	run_for(l, 100);
	CHECK_EQ_INT(stopped, 1);
	CHECK_EQ_STR(reports[0], "stopping SIGTERM");
	js_host_free(h);

	/* an agent that never says it is done: the grace period ends it */
	h = start(l, "nostop.mjs", REPORT "fog.onSignal(() => {});\n", 0, 0);
	stopped = 0;
	run_for(l, 20);
	CHECK(js_host_shutdown(h, "SIGINT", 60, on_stopped, NULL));
	run_for(l, 30);
	CHECK_EQ_INT(stopped, 0);
	run_for(l, 100);
	CHECK_EQ_INT(stopped, 1);
	js_host_free(h);

	/* no handler: nothing to wait for */
	h = start(l, "nohandler.mjs", REPORT "\n", 0, 0);
	run_for(l, 20);
	CHECK(!js_host_shutdown(h, "SIGTERM", 60, on_stopped, NULL));
	js_host_free(h);
	loop_free(l);
}

TEST(missing_agent_and_unknown_import)
{
	struct loop *l = loop_new();
	struct js_host_config c = { .agent_path = "/nonexistent/agent.js" };
	struct js_host_config none = { 0 };
	struct js_host *h;
	struct js_host_stats st;
	int err;

	CHECK(js_host_new(l, &c, &err) == NULL);
	CHECK_EQ_INT(err, JS_HOST_E_READ);
	CHECK(js_host_new(l, &none, &err) == NULL);
	CHECK_EQ_INT(err, JS_HOST_E_NO_AGENT);
	CHECK(strlen(js_host_strerror(err)) > 10);
	h = start(l, "import.mjs", "import x from 'node:fs';\n", 0, 0);
	run_for(l, 30);
	js_host_get_stats(h, &st);
	CHECK(st.restarts >= 1);
	js_host_free(h);
	loop_free(l);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_js_host.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	log_set_level(LOG_LEVEL_ERROR);
	RUN(timers_fire_in_due_then_creation_order);
	RUN(promises_and_ctl_replies);
	RUN(infinite_loop_is_interrupted_and_data_plane_keeps_running);
	RUN(memory_limit_is_a_clean_error_and_restart);
	RUN(uncaught_exception_and_unhandled_rejection_restart);
	RUN(files_random_clock_spawn);
	RUN(native_crypto_matches_rfc_vectors);
	RUN(signals_and_teardown_with_live_resources);
	RUN(shutdown_waits_for_the_agent_or_the_grace_period);
	RUN(missing_agent_and_unknown_import);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return test_summary();
}

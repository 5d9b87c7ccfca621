/* js_sandbox: tasks and apps on their own threads — limits, shares, stop, capabilities. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "app_channel.h"
#include "js_sandbox.h"
#include "test.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Next event within timeout_ms (false: none). */
static bool wait_event(struct sandbox *sb, int timeout_ms, struct sandbox_event *ev)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = sandbox_fd(sb), .events = POLLIN };
		int left = (int)(end - now_ms());

		if (sandbox_next_event(sb, ev))
			return true;
		if (left <= 0)
			return false;
		poll(&p, 1, left);
	}
}

static struct sandbox *task(const char *src, const char *input, size_t mem, uint64_t cpu_ms)
{
	struct sandbox_config c = { .kind = SANDBOX_TASK, .name = "t", .source = src,
				    .source_len = strlen(src), .input_json = input,
				    .memory_limit = mem, .cpu_limit_ms = cpu_ms };
	int err;
	struct sandbox *sb = sandbox_new(&c, &err);

	CHECK(sb != NULL);
	return sb;
}

/* Run a task to its end: status, and the result in *out (caller frees). */
static enum sandbox_status run(const char *src, const char *input, size_t mem, uint64_t cpu_ms,
			       char **out)
{
	struct sandbox *sb = task(src, input, mem, cpu_ms);
	struct sandbox_event ev = { 0 };
	enum sandbox_status st = SANDBOX_RUNNING;

	if (!sb)
		return SANDBOX_ERROR;
	if (wait_event(sb, 10000, &ev)) {
		CHECK_EQ_INT(ev.type, SANDBOX_EV_DONE);
		st = ev.status;
		if (out)
			*out = ev.data;
		else
			free(ev.data);
	}
	sandbox_free(sb);
	return st;
}

TEST(task_result)
{
	char *r = NULL;

	CHECK_EQ_INT(run("function task(x) { return { sum: x.a + x.b } }", "{\"a\":40,\"b\":2}",
			 4 << 20, 1000, &r), SANDBOX_OK);
	CHECK_EQ_STR(r, "{\"sum\":42}");
	free(r);
	r = NULL;
	CHECK_EQ_INT(run("async function task(x) { await null; return [x, x] }", "7", 4 << 20, 1000,
			 &r), SANDBOX_OK);
	CHECK_EQ_STR(r, "[7,7]");
	free(r);
}

TEST(task_errors_are_typed)
{
	char *r = NULL;

	CHECK_EQ_INT(run("function task() { throw new RangeError('nope') }", NULL, 4 << 20, 1000, &r),
		     SANDBOX_THROW);
	CHECK(r && strstr(r, "RangeError: nope"));
	free(r);
	CHECK_EQ_INT(run("function task() { }", NULL, 4 << 20, 1000, NULL), SANDBOX_BAD_RESULT);
	CHECK_EQ_INT(run("function task() { return 1n }", NULL, 4 << 20, 1000, NULL), SANDBOX_BAD_RESULT);
	CHECK_EQ_INT(run("var x = 1;", NULL, 4 << 20, 1000, NULL), SANDBOX_THROW);
	CHECK_EQ_INT(run("function task( {", NULL, 4 << 20, 1000, NULL), SANDBOX_THROW);
	CHECK_EQ_INT(run("async function task() { throw 1 }", NULL, 4 << 20, 1000, NULL), SANDBOX_THROW);
	CHECK_EQ_INT(run("function task(x) { return x }", "{bad", 4 << 20, 1000, NULL), SANDBOX_ERROR);
}

/* A busy loop is ended by its CPU budget, near the budget. */
TEST(loop_killed_by_cpu_limit)
{
	uint64_t t0 = now_ms();
	char *r = NULL;

	CHECK_EQ_INT(run("function task() { for (;;) {} }", NULL, 4 << 20, 200, &r), SANDBOX_TIMEOUT);
	CHECK(now_ms() - t0 >= 200);
	CHECK(now_ms() - t0 < 5000);
	free(r);
}

/* The limit holds exactly: 2 MiB buffers fit in 4 MiB, 5 MiB does not, and catching the
 * error does not save the task. */
TEST(memory_limit_exact)
{
	CHECK_EQ_INT(run("function task() { return new Uint8Array(2 << 20).length }", NULL, 4 << 20,
			 1000, NULL), SANDBOX_OK);
	CHECK_EQ_INT(run("function task() { return new Uint8Array(5 << 20).length }", NULL, 4 << 20,
			 1000, NULL), SANDBOX_MEMORY);
	CHECK_EQ_INT(run("function task() { try { new Uint8Array(5 << 20) } catch (e) {} return 1 }",
			 NULL, 4 << 20, 1000, NULL), SANDBOX_MEMORY);
	CHECK_EQ_INT(run("function task() { const a = []; for (;;) a.push({ x: a.length }) }", NULL,
			 4 << 20, 5000, NULL), SANDBOX_MEMORY);
	{
		struct sandbox_config c = { .kind = SANDBOX_TASK, .source = "", .memory_limit = 1 << 10 };
		int err;

		CHECK(sandbox_new(&c, &err) == NULL);
		CHECK_EQ_INT(err, -EINVAL);
	}
}

static struct sandbox *app(const char *name, const char *src, uint32_t shares, uint32_t caps,
			   size_t mem)
{
	static const char *const hosts[] = { "api.example.org" };
	struct sandbox_config c = { .kind = SANDBOX_APP, .name = name, .source = src,
				    .source_len = strlen(src), .memory_limit = mem, .shares = shares,
				    .caps = caps, .storage_dir = "build/san/test-sandbox-kv",
				    .storage_quota = 10, .fetch_hosts = hosts, .n_fetch_hosts = 1 };
	int err;
	struct sandbox *sb = sandbox_new(&c, &err);

	CHECK(sb != NULL);
	return sb;
}

/* Two busy apps with shares 512 and 1024 split the sandbox CPU budget 1:2. */
TEST(share_split_1_to_2)
{
	struct sandbox *a, *b;
	struct sandbox_info ia0, ib0, ia, ib;
	double ratio;

	sandbox_sched_set(400, 50);
	a = app("a", "for (;;) {}", 512, 0, 4 << 20);
	b = app("b", "for (;;) {}", 1024, 0, 4 << 20);
	usleep(300 * 1000);
	sandbox_get_info(a, &ia0);
	sandbox_get_info(b, &ib0);
	usleep(1500 * 1000);
	sandbox_get_info(a, &ia);
	sandbox_get_info(b, &ib);
	ratio = (double)(ib.cpu_ms - ib0.cpu_ms) / (double)(ia.cpu_ms - ia0.cpu_ms + 1);
	printf("  cpu a=%llu ms b=%llu ms ratio %.2f throttled a=%llu b=%llu\n",
	       (unsigned long long)(ia.cpu_ms - ia0.cpu_ms), (unsigned long long)(ib.cpu_ms - ib0.cpu_ms),
	       ratio, (unsigned long long)ia.throttled_ms, (unsigned long long)ib.throttled_ms);
	CHECK(ratio > 1.6 && ratio < 2.5);
	/* together at most 40% of a core (+ one period of slack) */
	CHECK((ia.cpu_ms - ia0.cpu_ms) + (ib.cpu_ms - ib0.cpu_ms) < 1500 * 4 / 10 + 100);
	sandbox_free(a);
	sandbox_free(b);
	sandbox_sched_set(0, 0);
}

TEST(stop_busy_app_fast)
{
	struct sandbox *a = app("busy", "for (;;) {}", 0, 0, 4 << 20);
	struct sandbox_event ev;
	uint64_t t0;

	usleep(50 * 1000);
	t0 = now_ms();
	sandbox_stop(a);
	CHECK(wait_event(a, 2000, &ev));
	CHECK_EQ_INT(ev.type, SANDBOX_EV_DONE);
	CHECK_EQ_INT(ev.status, SANDBOX_STOPPED);
	CHECK(now_ms() - t0 < 100);
	free(ev.data);
	sandbox_free(a);
}

static char *next_post(struct sandbox *sb)
{
	struct sandbox_event ev;

	while (wait_event(sb, 3000, &ev)) {
		if (ev.type == SANDBOX_EV_POST)
			return ev.data;
		free(ev.data);
		if (ev.type == SANDBOX_EV_DONE)
			return NULL;
	}
	return NULL;
}

TEST(app_messages_and_timers)
{
	struct sandbox *a = app("echo",
				"pear.onMessage(m => pear.post({ echo: m }));"
				"setTimeout(() => pear.post('tick'), 20);",
				0, SANDBOX_CAP_MESSAGES, 4 << 20);
	char *s, *logs;

	s = next_post(a);
	CHECK_EQ_STR(s, "\"tick\"");
	free(s);
	CHECK_EQ_INT(sandbox_post(a, "{\"x\":1}", 7), 0);
	s = next_post(a);
	CHECK_EQ_STR(s, "{\"echo\":{\"x\":1}}");
	free(s);
	logs = sandbox_logs(a);
	CHECK(logs && strstr(logs, "started"));
	free(logs);
	sandbox_free(a);
}

/* Only granted capabilities exist; kv has a byte quota; fetch only to listed hosts. */
TEST(app_capabilities)
{
	struct sandbox *a = app("caps",
				"pear.post([typeof pear.kv, typeof pear.fetch, typeof pear.post])", 0,
				SANDBOX_CAP_MESSAGES, 4 << 20);
	struct sandbox_event ev;
	char *s = next_post(a);

	CHECK_EQ_STR(s, "[\"undefined\",\"undefined\",\"function\"]");
	free(s);
	sandbox_free(a);

	mkdir("build/san/test-sandbox-kv", 0700);
	unlink("build/san/test-sandbox-kv/a");
	unlink("build/san/test-sandbox-kv/b");
	a = app("kv",
		"pear.kv.set('a', '12345'); let q = 'none';"
		"try { pear.kv.set('b', '1234567') } catch (e) { q = e.code }"
		"let bad = 'none'; try { pear.kv.set('../x', '1') } catch (e) { bad = e.name }"
		"pear.post([pear.kv.get('a'), pear.kv.get('b'), q, bad, pear.kv.keys()]);"
		"pear.fetch('https://api.example.org/v1').then(r => pear.post(r));"
		"try { pear.fetch('https://evil.example/') } catch (e) { pear.post(e.code) }",
		0, SANDBOX_CAP_MESSAGES | SANDBOX_CAP_KV | SANDBOX_CAP_FETCH, 4 << 20);
	s = next_post(a);
	CHECK_EQ_STR(s, "[\"12345\",null,\"quota\",\"TypeError\",[\"a\"]]");
	free(s);
	CHECK(wait_event(a, 3000, &ev));
	CHECK_EQ_INT(ev.type, SANDBOX_EV_FETCH);
	CHECK_EQ_STR(ev.data, "https://api.example.org/v1");
	CHECK_EQ_INT(sandbox_reply(a, ev.id, true, "{\"status\":200}", 14), 0);
	free(ev.data);
	s = next_post(a);
	CHECK_EQ_STR(s, "\"not_allowed\"");
	free(s);
	s = next_post(a);
	CHECK_EQ_STR(s, "{\"status\":200}");
	free(s);
	sandbox_free(a);
}

/* Messages queued while the app is busy are all delivered, in order (the inbox once freed
 * the rest of its chain with the message it delivered). */
TEST(app_inbox_burst_in_order)
{
	struct sandbox *a = app("burst",
				"let n = 0; pear.onMessage(m => { n++; if (m === 9) pear.post(n) });"
				"pear.post('ready')",
				0, SANDBOX_CAP_MESSAGES, 4 << 20);
	char *s = next_post(a), num[16];

	CHECK_EQ_STR(s, "\"ready\"");
	free(s);
	for (int i = 0; i < 10; i++) {
		snprintf(num, sizeof(num), "%d", i);
		CHECK_EQ_INT(sandbox_post(a, num, strlen(num)), 0);
	}
	s = next_post(a);
	CHECK_EQ_STR(s, "10");
	free(s);
	sandbox_free(a);
}

/* pear.send: JSON to a browser within the upload allowance; typed refusals past it. */
TEST(app_send_allowance)
{
	const char *src =
		"const r = [];"
		"pear.send(7, {hi: 1});"
		"try { pear.send(7, 'x'.repeat(70000)) } catch (e) { r.push(e.code) }"
		"try { pear.send(0, 1) } catch (e) { r.push(e.name) }"
		"let sent = 0, code = 'none', retry = -1;"
		"for (;;) { try { pear.send(7, 'y'.repeat(998)); sent++ } catch (e) {"
		"  code = e.code; retry = e.retryMs; break } }"
		"pear.post([r, sent, code, retry > 0 && retry <= 100]);";
	struct sandbox_config c = { .kind = SANDBOX_APP, .name = "send", .source = src,
				    .source_len = strlen(src), .memory_limit = 4 << 20,
				    .caps = SANDBOX_CAP_MESSAGES, .upload_rate = 10000 };
	struct sandbox_event ev;
	struct sandbox_info info;
	int err, sends = 0;
	struct sandbox *a;
	char *s = NULL;

	app_allowance_set_total(0, 0);
	a = sandbox_new(&c, &err);
	CHECK(a != NULL);
	if (!a)
		return;
	/* 10 KB/s, a bucket of one whole message (64 KiB): {"hi":1} then 65 sends of 1000
	 * bytes ("y"×998 quoted) fit, the next is over the app's allowance. */
	while (wait_event(a, 3000, &ev)) {
		if (ev.type == SANDBOX_EV_SEND) {
			CHECK_EQ_INT(ev.id, 7);
			if (sends++ == 0)
				CHECK_EQ_STR(ev.data, "{\"hi\":1}");
		} else if (ev.type == SANDBOX_EV_POST) {
			s = ev.data;
			break;
		}
		free(ev.data);
	}
	CHECK_EQ_STR(s, "[[\"too_large\",\"TypeError\"],65,\"over_allowance\",true]");
	CHECK_EQ_INT(sends, 66);
	free(s);
	sandbox_get_info(a, &info);
	CHECK_EQ_INT(info.upload_rate, 10000);
	CHECK_EQ_INT(info.upload_bytes, 8 + 65 * 1000);
	CHECK_EQ_INT(info.upload_refused, 2); /* too large, over the allowance */
	sandbox_free(a);

	/* uploadKiBps 0: every send is refused, typed. */
	c.source = "try { pear.send(1, 1) } catch (e) { pear.post(e.code) }";
	c.source_len = strlen(c.source);
	c.upload_rate = 0;
	a = sandbox_new(&c, &err);
	s = next_post(a);
	CHECK_EQ_STR(s, "\"no_allowance\"");
	free(s);
	sandbox_free(a);
	app_allowance_set_total(APP_CHANNEL_TOTAL_DEFAULT, 0);
}

/* A memory hog ends with "memory"; its neighbour keeps answering. */
TEST(memory_hog_stopped_neighbour_fine)
{
	struct sandbox *hog = app("hog", "const a = []; setTimeout(function f() {"
				  " a.push(new Uint8Array(256 << 10)); setTimeout(f, 0) }, 0)",
				  0, 0, 4 << 20);
	struct sandbox *n = app("n", "pear.onMessage(m => pear.post(m + 1))", 0,
				SANDBOX_CAP_MESSAGES, 4 << 20);
	struct sandbox_event ev;
	struct sandbox_info info;
	char *s;

	CHECK(wait_event(hog, 5000, &ev));
	CHECK_EQ_INT(ev.type, SANDBOX_EV_STARTED); /* its script ran; the timers then hog */
	CHECK(wait_event(hog, 5000, &ev));
	CHECK_EQ_INT(ev.type, SANDBOX_EV_DONE);
	CHECK_EQ_INT(ev.status, SANDBOX_MEMORY);
	free(ev.data);
	sandbox_get_info(hog, &info);
	CHECK_EQ_INT(info.status, SANDBOX_MEMORY);
	CHECK_EQ_INT(sandbox_post(hog, "1", 1), -EPIPE);
	CHECK_EQ_INT(sandbox_post(n, "41", 2), 0);
	s = next_post(n);
	CHECK_EQ_STR(s, "42");
	free(s);
	sandbox_free(hog);
	sandbox_free(n);
}

TEST(app_script_throw_fails)
{
	struct sandbox *a = app("bad", "throw new Error('boom')", 0, 0, 4 << 20);
	struct sandbox_event ev;

	CHECK(wait_event(a, 3000, &ev));
	CHECK_EQ_INT(ev.status, SANDBOX_THROW);
	CHECK(ev.data && strstr(ev.data, "boom"));
	free(ev.data);
	sandbox_free(a);
}

int main(void)
{
	mkdir("build", 0755);
	mkdir("build/san", 0755);
	RUN(task_result);
	RUN(task_errors_are_typed);
	RUN(loop_killed_by_cpu_limit);
	RUN(memory_limit_exact);
	RUN(share_split_1_to_2);
	RUN(stop_busy_app_fast);
	RUN(app_messages_and_timers);
	RUN(app_capabilities);
	RUN(app_inbox_burst_in_order);
	RUN(app_send_allowance);
	RUN(memory_hog_stopped_neighbour_fine);
	RUN(app_script_throw_fails);
	return test_summary();
}

/* pear-fogd: the pear-fog node daemon.
 *
 * One process, one thread, one epoll loop: the WebRTC server (rtc_server), the chunk
 * store, the HTTP endpoint and the control socket the agent and CLI use.  See
 * ARCHITECTURE.md and `pear-fogd --help`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "ctl_client.h"
#include "http_server.h"
#ifdef PEARFOG_WITH_JS
#include "js_host.h"
#include "mod_fog.h"
#endif
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "portmap.h"
#include "rtc_server.h"
#include "sctp.h"
#include "store.h"
#include "version.h"

#define CHUNK_LIST_DEFAULT_LIMIT 1000
#define CHUNK_LIST_MAX_LIMIT 10000

struct daemon {
	struct pearfogd_config cfg;
	struct loop *loop;
	struct store *store;
	struct ctl_server *ctl;
	struct http_server *http;
	struct rtc_server *rtc;
	struct portmap *portmap; /* NAT-PMP mapping of the WebRTC port, NULL when off */
	struct loop_fd sig;
	time_t started;
	struct js_host *js; /* the agent on QuickJS-ng (NULL: none / built without JS) */
	int argc;	    /* the command line, re-read with the config file on SIGHUP */
	char **argv;
};

/* ---- control operations ------------------------------------------------------------ */

/* Copies usrsctp's stack-wide counters into the metrics table before it is rendered. */
static void metrics_refresh_sctp(void)
{
	struct sctp_global_stats st;

	sctp_global_stats(&st);
	metrics_set(M_SCTP_DATA_SENT, (int64_t)st.data_chunks_sent);
	metrics_set(M_SCTP_RETRANSMITTED, (int64_t)st.data_chunks_retransmitted);
	metrics_set(M_SCTP_FAST_RETRANSMITS, (int64_t)st.fast_retransmits);
	metrics_set(M_SCTP_T3_TIMEOUTS, (int64_t)st.t3_timeouts);
}

static void op_status(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	struct store_stat st;

	store_stat(d->store, &st);
	ctl_json_out_fmt(r->out,
			 ",\"version\":\"%s\",\"uptime_s\":%lld,\"sharing\":%s,\"rtc_port\":%u,"
			 "\"http_port\":%u,\"store_chunks\":%llu,\"store_bytes\":%llu,"
			 "\"store_cap\":%llu,\"store_evictions\":%llu,\"upload_cap\":%llu,"
			 "\"peer_upload_cap\":%llu",
			 PEARFOG_VERSION, (long long)(time(NULL) - d->started),
			 d->cfg.sharing ? "true" : "false", rtc_server_port(d->rtc),
			 d->http ? http_server_port(d->http) : 0, (unsigned long long)st.count,
			 (unsigned long long)st.bytes_used, (unsigned long long)st.cap_bytes,
			 (unsigned long long)st.evictions, (unsigned long long)d->cfg.upload_rate,
			 (unsigned long long)d->cfg.peer_rate);
	rtc_server_render_status(d->rtc, r->out);
	metrics_refresh_sctp();
	metrics_render_json_members(r->out);
}

static void op_offer(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const struct ctl_json_member *sdp = ctl_json_get(req, "sdp");
	char session[RTC_SESSION_ID_LEN + 1], msg[200];
	char *answer = NULL;

	if (!sdp || sdp->type != CTL_JSON_STRING) {
		ctl_reply_error(r, "bad_request", "missing \"sdp\"");
		return;
	}
	if (rtc_server_accept_offer(d->rtc, sdp->str, sdp->str_len, &answer, session, msg,
				    sizeof(msg)) < 0) {
		metrics_add(M_PEERS_REFUSED, 1);
		ctl_reply_error(r, "refused", "%s", msg);
		return;
	}
	ctl_json_out_fmt(r->out, ",\"session\":\"%s\",\"sdp\":", session);
	ctl_json_out_str(r->out, answer, strlen(answer));
	free(answer);
}

/* {"op":"candidate","session":ID,"candidate":"candidate:…"}: a remote candidate the
 * browser trickled after its offer (RFC 8838); "" ends them.  Reply {"added":bool}
 * (false: not usable here, e.g. an mDNS name or TCP). */
static void op_candidate(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const char *id = ctl_json_get_str(req, "session");
	const struct ctl_json_member *c = ctl_json_get(req, "candidate");
	char msg[160];
	int rc;

	if (!id || !c || c->type != CTL_JSON_STRING) {
		ctl_reply_error(r, "bad_request", "need \"session\" and \"candidate\"");
		return;
	}
	rc = rtc_server_add_candidate(d->rtc, id, c->str, c->str_len, msg, sizeof(msg));
	if (rc == -ENOENT)
		ctl_reply_error(r, "not_found", "%s", msg);
	else if (rc < 0)
		ctl_reply_error(r, "bad_request", "%s", msg);
	else
		ctl_json_out_fmt(r->out, ",\"added\":%s", rc == 0 ? "true" : "false");
}

/* {"op":"stun_servers","servers":["IP:PORT",…]}: the STUN servers to learn our
 * server-reflexive address from (the agent passes the coordinator's; [] = none). */
static void op_stun_servers(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const struct ctl_json_member *m = ctl_json_get(req, "servers");
	char msg[160];

	if (!m || m->type != CTL_JSON_ARRAY) {
		ctl_reply_error(r, "bad_request", "need \"servers\": [\"IP:PORT\", …]");
		return;
	}
	if (rtc_server_set_stun_servers(d->rtc, m->items, m->n_items, msg, sizeof(msg)) < 0)
		ctl_reply_error(r, "bad_request", "%s", msg);
}

static void on_port_mapped(void *user, const struct sockaddr *ext, socklen_t len)
{
	struct daemon *d = user;

	rtc_server_set_mapped(d->rtc, ext, len);
}

static void op_close_session(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const char *id = ctl_json_get_str(req, "session");

	if (!id || rtc_server_close_session(d->rtc, id) < 0)
		ctl_reply_error(r, "not_found", "no session \"%s\"", id ? id : "");
}

static bool req_chunk_id(const struct ctl_json *req, struct chunk_id *id, struct ctl_reply *r)
{
	const struct ctl_json_member *m = ctl_json_get(req, "chunk");

	if (!m || m->type != CTL_JSON_STRING || !chunk_id_parse(id, m->str, m->str_len)) {
		ctl_reply_error(r, "bad_request", "\"chunk\" must be 64 hex characters");
		return false;
	}
	return true;
}

/* {"op":"chunk_put","chunk":HEX,"path":FILE}: the agent staged a chunk in a file; it is
 * verified against id and stored atomically (the file is left for the caller). */
static void op_chunk_put(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const char *path = ctl_json_get_str(req, "path");
	struct chunk_id id;
	uint8_t *buf = NULL;
	struct stat sb;
	ssize_t n = 0;
	int fd, rc;

	if (!req_chunk_id(req, &id, r))
		return;
	if (!path) {
		ctl_reply_error(r, "bad_request", "missing \"path\"");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > (off_t)STORE_MAX_CHUNK_BYTES) {
		ctl_reply_error(r, "bad_request", "%s: %s", path,
				fd < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
		if (fd >= 0)
			close(fd);
		return;
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (buf)
		n = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (!buf || n != sb.st_size) {
		free(buf);
		ctl_reply_error(r, "io", "%s: short read", path);
		return;
	}
	rc = store_put(d->store, &id, buf, (size_t)n);
	free(buf);
	if (rc < 0)
		ctl_reply_error(r, rc == STORE_E_HASH_MISMATCH ? "hash_mismatch" : "store", "%s",
				store_strerror(rc));
}

static void op_chunk_remove(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	struct chunk_id id;
	int rc;

	if (!req_chunk_id(req, &id, r))
		return;
	if ((rc = store_remove(d->store, &id)) < 0)
		ctl_reply_error(r, rc == STORE_E_NOT_FOUND ? "not_found" : "store", "%s",
				store_strerror(rc));
}

/* {"op":"chunk_has","chunks":[HEX...]} → {"have":[HEX...]} */
static void op_chunk_has(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const struct ctl_json_member *ids = ctl_json_get(req, "chunks");
	bool first = true;

	if (!ids || ids->type != CTL_JSON_ARRAY) {
		ctl_reply_error(r, "bad_request", "\"chunks\" must be an array of chunk ids");
		return;
	}
	ctl_json_out_raw(r->out, ",\"have\":[", 9);
	for (size_t i = 0; i < ids->n_items; i++) {
		struct chunk_id id;
		if (!chunk_id_parse(&id, ids->items[i], strlen(ids->items[i])) ||
		    store_has(d->store, &id) <= 0)
			continue;
		ctl_json_out_fmt(r->out, "%s\"%s\"", first ? "" : ",", ids->items[i]);
		first = false;
	}
	ctl_json_out_raw(r->out, "]", 1);
}

struct list_walk {
	struct ctl_json_out *out;
	uint64_t skip, limit, seen, written;
};

static int list_one(void *ctx, const struct chunk_id *id, uint32_t size)
{
	struct list_walk *w = ctx;
	char hex[CHUNK_ID_HEX_LEN + 1];

	if (w->seen++ < w->skip)
		return 0;
	if (w->written == w->limit)
		return 0; /* keep counting for "total" */
	chunk_id_format(id, hex);
	ctl_json_out_fmt(w->out, "%s\"%s\"", w->written ? "," : "", hex);
	w->written++;
	return 0;
}

/* {"op":"chunk_list","offset":N,"limit":N} → {"chunks":[...],"total":N}, LRU order. */
static void op_chunk_list(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	struct list_walk w = { .out = r->out, .limit = CHUNK_LIST_DEFAULT_LIMIT };

	ctl_json_get_u64(req, "offset", &w.skip);
	ctl_json_get_u64(req, "limit", &w.limit);
	if (w.limit > CHUNK_LIST_MAX_LIMIT)
		w.limit = CHUNK_LIST_MAX_LIMIT;
	ctl_json_out_raw(r->out, ",\"chunks\":[", 11);
	store_foreach(d->store, list_one, &w);
	ctl_json_out_fmt(r->out, "],\"total\":%llu", (unsigned long long)w.seen);
}

/* {"op":"limits","upload_cap":N,"peer_upload_cap":N,"store_size":N} (each optional). */
static void op_limits(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	uint64_t v;
	int rc;

	if (ctl_json_get_u64(req, "upload_cap", &v))
		d->cfg.upload_rate = v;
	if (ctl_json_get_u64(req, "peer_upload_cap", &v))
		d->cfg.peer_rate = v;
	rtc_server_set_limits(d->rtc, d->cfg.upload_rate, d->cfg.peer_rate);
	if (ctl_json_get_u64(req, "store_size", &v)) {
		if ((rc = store_set_cap(d->store, v)) < 0) {
			ctl_reply_error(r, "store", "%s", store_strerror(rc));
			return;
		}
		d->cfg.store_size = v;
	}
	ctl_json_out_fmt(r->out, ",\"upload_cap\":%llu,\"peer_upload_cap\":%llu,\"store_size\":%llu",
			 (unsigned long long)d->cfg.upload_rate, (unsigned long long)d->cfg.peer_rate,
			 (unsigned long long)d->cfg.store_size);
}

static void op_sharing(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	struct daemon *d = ctx;
	const struct ctl_json_member *m = ctl_json_get(req, "enabled");

	if (!m || m->type != CTL_JSON_BOOL) {
		ctl_reply_error(r, "bad_request", "\"enabled\" must be true or false");
		return;
	}
	d->cfg.sharing = m->boolean;
	rtc_server_set_sharing(d->rtc, m->boolean);
	log_info("sharing %s", m->boolean ? "enabled" : "disabled");
}

#ifdef PEARFOG_WITH_JS
/* Edge-compute apps (issue 7, mod_fog_sandbox.c): the router owner lists, stops and caps
 * them (rpcd: ubus call pear-fog apps / app_stop). */
static void op_app_list(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	mod_fog_sandbox_ctl_list(r->out);
}

static void op_app_stop(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	const char *name = ctl_json_get_str(req, "name");

	if (!name) {
		ctl_reply_error(r, "bad_request", "\"name\" (string) is required");
		return;
	}
	if (mod_fog_sandbox_ctl_stop(name) < 0)
		ctl_reply_error(r, "not_found", "no running app '%s'", name);
	else
		log_info("app %s stopped by the router owner", name);
}

static void op_app_limits(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	uint64_t cpu = 0, period = 0, mem = 0, upload = 0;

	if (ctl_json_get_u64(req, "upload", &upload)) /* bytes/s, 0 = no total */
		mod_fog_sandbox_upload_total(upload);
	ctl_json_get_u64(req, "cpu_permille", &cpu);
	ctl_json_get_u64(req, "period_ms", &period);
	ctl_json_get_u64(req, "memory", &mem);
	if (cpu > 64000 || period > 10000) {
		ctl_reply_error(r, "bad_request", "cpu_permille ≤ 64000, period_ms ≤ 10000");
		return;
	}
	mod_fog_sandbox_limits((uint32_t)cpu, (uint32_t)period, mem);
}
#endif

static const struct ctl_op ctl_ops[] = {
	{ "status", op_status },
	{ "offer", op_offer },
	{ "candidate", op_candidate },
	{ "stun_servers", op_stun_servers },
	{ "close_session", op_close_session },
	{ "chunk_put", op_chunk_put },
	{ "chunk_remove", op_chunk_remove },
	{ "chunk_has", op_chunk_has },
	{ "chunk_list", op_chunk_list },
	{ "limits", op_limits },
	{ "sharing", op_sharing },
#ifdef PEARFOG_WITH_JS
	{ "app_list", op_app_list },
	{ "app_stop", op_app_stop },
	{ "app_limits", op_app_limits },
#endif
};

/* ---- the agent (QuickJS-ng, js_host.h): started after the data plane is ready ---- */

#ifdef PEARFOG_WITH_JS
/* Browsers' app channels (issue 7): rtc_server ↔ the agent (mod_fog_app_channel.c). */
static void app_on_open(void *user, const char *channel, const char *app)
{
	mod_fog_app_channel_open(channel, app);
}

static void app_on_message(void *user, const char *channel, const char *text, size_t len)
{
	mod_fog_app_channel_message(channel, text, len);
}

static void app_on_close(void *user, const char *channel)
{
	mod_fog_app_channel_closed(channel);
}

static int app_send(void *user, const char *channel, const char *text, size_t len)
{
	struct daemon *d = user;

	return rtc_server_app_send(d->rtc, channel, text, len);
}

static int app_close(void *user, const char *channel, const char *last, size_t len)
{
	struct daemon *d = user;

	return rtc_server_app_close(d->rtc, channel, last, len);
}

static void agent_start(struct daemon *d)
{
	const struct rtc_app_hooks hooks = {
		.on_open = app_on_open, .on_message = app_on_message, .on_close = app_on_close,
	};
	const struct mod_fog_app_io io = { .send = app_send, .close = app_close, .user = d };

	rtc_server_set_app_hooks(d->rtc, &hooks);
	mod_fog_app_channel_io(d->loop, &io);
	d->js = js_host_start_daemon(d->loop, d->cfg.agent_js, d->cfg.config_file, ctl_ops,
				     sizeof(ctl_ops) / sizeof(ctl_ops[0]), d);
}

static void agent_signal(struct daemon *d, const char *name)
{
	js_host_signal(d->js, name);
}

static void agent_stopped(void *arg)
{
	struct daemon *d = arg;

	loop_stop(d->loop);
}

/* SIGTERM/SIGINT: let the agent stop gracefully first (true: the loop stops later). */
static bool agent_shutdown(struct daemon *d, const char *name)
{
	return js_host_shutdown(d->js, name, JS_HOST_STOP_GRACE_MS, agent_stopped, d);
}

static void agent_render_metrics(struct daemon *d, struct ctl_json_out *out)
{
	if (d->js)
		js_host_render_metrics(d->js, out);
}

static void agent_stop(struct daemon *d)
{
	js_host_free(d->js);
	d->js = NULL;
	rtc_server_set_app_hooks(d->rtc, NULL);
	mod_fog_app_channel_io(NULL, NULL);
}
#else
static void agent_start(struct daemon *d)
{
	if (d->cfg.agent_js && *d->cfg.agent_js)
		log_error("agent_js: this pear-fogd was built without QuickJS-ng");
}
static void agent_signal(struct daemon *d, const char *name) {}
static bool agent_shutdown(struct daemon *d, const char *name) { return false; }
static void agent_render_metrics(struct daemon *d, struct ctl_json_out *out) {}
static void agent_stop(struct daemon *d) {}
#endif

/* ---- HTTP source ------------------------------------------------------------------- */

static int http_get_chunk(void *user, const struct chunk_id *id, uint8_t **data, size_t *len)
{
	struct daemon *d = user;
	int rc = store_get(d->store, id, data, len);

	if (rc == STORE_E_CORRUPT)
		metrics_add(M_STORE_CORRUPT, 1);
	return rc;
}

static void http_render_metrics(void *user, struct ctl_json_out *out)
{
	struct daemon *d = user;
	struct store_stat st;

	metrics_refresh_sctp();
	metrics_render_prometheus(out);
	store_stat(d->store, &st);
	ctl_json_out_fmt(out,
			 "# HELP pearfog_store_bytes Bytes held in the chunk store\n"
			 "# TYPE pearfog_store_bytes gauge\npearfog_store_bytes %llu\n"
			 "# HELP pearfog_store_chunks Chunks held in the store\n"
			 "# TYPE pearfog_store_chunks gauge\npearfog_store_chunks %llu\n"
			 "# HELP pearfog_store_cap_bytes Store byte cap\n"
			 "# TYPE pearfog_store_cap_bytes gauge\npearfog_store_cap_bytes %llu\n"
			 "# HELP pearfog_store_reads_total Chunk reads by hash check: verified re-hashed "
			 "the bytes, trusted was within verify_interval of a check\n"
			 "# TYPE pearfog_store_reads_total counter\n"
			 "pearfog_store_reads_total{check=\"verified\"} %llu\n"
			 "pearfog_store_reads_total{check=\"trusted\"} %llu\n",
			 (unsigned long long)st.bytes_used, (unsigned long long)st.count,
			 (unsigned long long)st.cap_bytes, (unsigned long long)st.reads_verified, (unsigned long long)st.reads_trusted);
	agent_render_metrics(d, out);
}

static const struct http_server_source http_source = {
	.get_chunk = http_get_chunk,
	.render_metrics = http_render_metrics,
};

/* ---- signals and start-up ---------------------------------------------------------- */

/* SIGHUP (procd's reload): the config file and the command line are read again, as at
 * start-up.  Limits, sharing, log level, store size and verify interval take effect now;
 * any other option that changed is logged as needing a restart and keeps its running value.
 * A file that does not parse changes nothing. */
static void reload_config(struct daemon *d)
{
	struct pearfogd_config next;
	char err[256] = "", runtime[256], restart[256];
	int rc, level = -1, cap_rc = 0;

	config_init(&next);
	rc = config_parse_args(&next, d->argc, d->argv, err, sizeof(err));
	if (rc == 0)
		rc = config_check(&next, err, sizeof(err));
	if (rc != 0) {
		log_error("SIGHUP: %s; keeping the running configuration",
			  rc > 0 ? "unexpected --help/--version" : err);
		config_free(&next);
		return;
	}
	level = log_level_parse(next.log_level);
	config_changes(&d->cfg, &next, runtime, sizeof(runtime), restart, sizeof(restart));
	if (next.store_size != d->cfg.store_size &&
	    (cap_rc = store_set_cap(d->store, next.store_size)) < 0) {
		log_error("SIGHUP: store_size %llu: %s; keeping %llu",
			  (unsigned long long)next.store_size, store_strerror(cap_rc),
			  (unsigned long long)d->cfg.store_size);
		next.store_size = d->cfg.store_size;
	}
	d->cfg.store_size = next.store_size;
	d->cfg.verify_interval = next.verify_interval;
	store_set_verify_interval(d->store, d->cfg.verify_interval > UINT32_MAX
						    ? UINT32_MAX
						    : (uint32_t)d->cfg.verify_interval);
	d->cfg.upload_rate = next.upload_rate;
	d->cfg.peer_rate = next.peer_rate;
	rtc_server_set_limits(d->rtc, d->cfg.upload_rate, d->cfg.peer_rate);
	d->cfg.sharing = next.sharing;
	rtc_server_set_sharing(d->rtc, d->cfg.sharing);
	{
		char *t = d->cfg.log_level;
		d->cfg.log_level = next.log_level;
		next.log_level = t;
	}
	log_set_level((enum log_level)level);
	log_info("SIGHUP: configuration reloaded%s%s: upload_cap %llu, peer_upload_cap %llu, "
		 "sharing %s, log_level %s, store_size %llu",
		 *runtime ? "; changed " : "", runtime, (unsigned long long)d->cfg.upload_rate,
		 (unsigned long long)d->cfg.peer_rate, d->cfg.sharing ? "on" : "off",
		 d->cfg.log_level, (unsigned long long)d->cfg.store_size);
	if (*restart)
		log_warn("SIGHUP: %s changed: needs restart (running values kept)", restart);
	config_free(&next);
}

static void signal_cb(struct loop_fd *lfd, uint32_t events)
{
	struct daemon *d = container_of(lfd, struct daemon, sig);
	struct signalfd_siginfo si;

	while (read(lfd->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_config(d);
			log_info("SIGHUP: passed to the agent");
			agent_signal(d, "SIGHUP");
			continue;
		}
		if (agent_shutdown(d, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT")) {
			log_info("signal %u: stopping the agent, then shutting down", si.ssi_signo);
			continue;
		}
		log_info("signal %u: shutting down", si.ssi_signo);
		loop_stop(d->loop);
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->sig.cb = signal_cb;
	return d->sig.fd < 0 ? -errno : loop_fd_add(d->loop, &d->sig, EPOLLIN);
}

static int start(struct daemon *d)
{
	struct rtc_server_config rc = {
		.bind_addr = d->cfg.bind_addr,
		.port = (uint16_t)d->cfg.rtc_port,
		.addrs = (const char *const *)d->cfg.rtc_addrs,
		.n_addrs = d->cfg.n_rtc_addrs,
		.max_peers = (uint32_t)d->cfg.max_peers,
		.max_message_size = (uint32_t)d->cfg.max_message_size,
		.upload_rate = d->cfg.upload_rate,
		.peer_rate = d->cfg.peer_rate,
		.ice_lite = d->cfg.ice_lite,
	};
	char *stun_list[RTC_MAX_STUN], *stun_save = NULL, *stun_copy = NULL;
	size_t n_stun = 0;
	char msg[256] = "";
	int err = 0;

	if (!(d->loop = loop_new()) || setup_signals(d) < 0) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	d->store = store_open(d->cfg.store_path, d->cfg.store_size, &err);
	if (!d->store) {
		log_error("store %s: %s", d->cfg.store_path, store_strerror(err));
		return -1;
	}
	store_set_verify_interval(d->store, d->cfg.verify_interval > UINT32_MAX
						    ? UINT32_MAX
						    : (uint32_t)d->cfg.verify_interval);
	if (d->cfg.stun_servers && d->cfg.stun_servers[0] && (stun_copy = strdup(d->cfg.stun_servers)))
		for (char *t = strtok_r(stun_copy, ", ", &stun_save); t && n_stun < RTC_MAX_STUN;
		     t = strtok_r(NULL, ", ", &stun_save))
			stun_list[n_stun++] = t;
	rc.stun_servers = (const char *const *)stun_list;
	rc.n_stun_servers = n_stun;
	d->rtc = rtc_server_new(d->loop, d->store, &rc, &err, msg, sizeof(msg));
	free(stun_copy);
	if (!d->rtc) {
		log_error("WebRTC on %s:%llu: %s", d->cfg.bind_addr,
			  (unsigned long long)d->cfg.rtc_port, msg);
		return -1;
	}
	rtc_server_set_sharing(d->rtc, d->cfg.sharing);
	/* port mapping first (docs/reachability.md): PCP / UPnP-IGD / NAT-PMP for the WebRTC port, unless bound
	 * to loopback (tests) or ICE-lite (a public address needs none) */
	if (portmap_parse_protocols(d->cfg.port_mapping) > 0 && !d->cfg.ice_lite &&
	    strncmp(d->cfg.bind_addr, "127.", 4) != 0 && strcmp(d->cfg.bind_addr, "::1") != 0) {
		d->portmap = portmap_start(d->loop, rtc_server_port(d->rtc), d->cfg.gateway,
					   (unsigned)portmap_parse_protocols(d->cfg.port_mapping),
					   on_port_mapped, d, msg, sizeof(msg));
		if (!d->portmap)
			log_info("port mapping off: %s", msg);
	}
	if (d->cfg.http_port) {
		d->http = http_server_new(d->loop, d->cfg.bind_addr, (uint16_t)d->cfg.http_port,
					  &http_source, d, &err);
		if (!d->http) {
			log_error("HTTP on %s:%llu: %s", d->cfg.bind_addr,
				  (unsigned long long)d->cfg.http_port, strerror(-err));
			return -1;
		}
	}
	d->ctl = ctl_server_new(d->loop, d->cfg.ctl_path, ctl_ops,
				sizeof(ctl_ops) / sizeof(ctl_ops[0]), d, &err);
	if (!d->ctl) {
		log_error("control socket %s: %s%s", d->cfg.ctl_path, strerror(-err),
			  err == -EADDRINUSE ? " (another pear-fogd is running)" : "");
		return -1;
	}
	d->started = time(NULL);
	/* One line a supervisor or test can wait for. */
	log_info("ready rtc_port=%u http_port=%u ctl=%s store=%s", rtc_server_port(d->rtc),
		 d->http ? http_server_port(d->http) : 0, d->cfg.ctl_path, d->cfg.store_path);
	agent_start(d);
	return 0;
}

static void stop(struct daemon *d)
{
	agent_stop(d);
	ctl_server_free(d->ctl);
	portmap_free(d->portmap); /* deletes the gateway's mapping */
	http_server_free(d->http);
	rtc_server_free(d->rtc);
	store_close(d->store);
	if (d->sig.fd > 0)
		close(d->sig.fd);
	loop_free(d->loop);
	config_free(&d->cfg);
}

/* `pear-fogd ctl OP [JSON]`: one request to a running daemon; exit 0 ok, 1 error reply,
 * 2 usage or no daemon.  The reply line goes to stdout, our own errors to stderr. */
static int run_ctl_command(const struct pearfogd_config *c)
{
	char msg[300] = "", *reply = NULL;
	int ok = 0, rc;

	if (c->cmd_argc < 2 || c->cmd_argc > 3) {
		fprintf(stderr, "pear-fogd: usage: pear-fogd [--ctl-socket PATH] ctl OP ['{JSON}']\n");
		return 2;
	}
	rc = ctl_client_call(c->ctl_path, c->cmd_argv[1], c->cmd_argc == 3 ? c->cmd_argv[2] : NULL,
			     CTL_CLIENT_TIMEOUT_MS, &reply, &ok, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "pear-fogd: ctl %s: %s\n", c->cmd_argv[1], msg);
		return 2;
	}
	printf("%s\n", reply);
	free(reply);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	char err[256] = "";
	int rc, level;

	d.argc = argc;
	d.argv = argv;
	config_init(&d.cfg);
	rc = config_parse_args(&d.cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "pear-fogd: %s\n", err);
		rc = rc > 0 ? 0 : d.cfg.check_only ? 1 : 2;
		config_free(&d.cfg);
		return rc;
	}
	if (d.cfg.cmd_argc) {
		rc = run_ctl_command(&d.cfg);
		config_free(&d.cfg);
		return rc;
	}
	if ((level = log_level_parse(d.cfg.log_level)) < 0) {
		fprintf(stderr, "pear-fogd: log_level: '%s' is not error|warn|info|debug\n",
			d.cfg.log_level);
		rc = d.cfg.check_only ? 1 : 2;
		config_free(&d.cfg);
		return rc;
	}
	if (config_check(&d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "pear-fogd: %s\n", err);
		rc = d.cfg.check_only ? 1 : 2;
		config_free(&d.cfg);
		return rc;
	}
	if (d.cfg.check_only) {
		printf("pear-fogd: configuration OK\n");
		config_free(&d.cfg);
		return 0;
	}
	log_set_level((enum log_level)level);
	rc = start(&d) == 0 ? loop_run(d.loop) : -1;
	stop(&d);
	return rc == 0 ? 0 : 1;
}

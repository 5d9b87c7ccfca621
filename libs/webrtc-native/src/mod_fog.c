/* mod_fog: "pear-fog:native" — timers, log, clock, random, control ops, signals.
 * Files are in mod_fog_fs.c, child processes in mod_fog_proc.c.  See mod_fog.h. */
#include "mod_fog.h"
#include "monotime.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "js_host.h"
#include "log.h"
#include "version.h"

/* ---- helpers ------------------------------------------------------------------------ */

JSValue mod_fog_error(JSContext *ctx, const char *op, const char *code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	JSValue e = JS_NewError(ctx);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (JS_IsException(e))
		return e;
	JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, msg));
	JS_SetPropertyStr(ctx, e, "op", JS_NewString(ctx, op));
	JS_SetPropertyStr(ctx, e, "code", JS_NewString(ctx, code));
	return e;
}

JSValue mod_fog_settled(JSContext *ctx, bool ok, JSValue v)
{
	JSValue funcs[2], p, rv;

	p = JS_NewPromiseCapability(ctx, funcs);
	if (JS_IsException(p)) {
		JS_FreeValue(ctx, v);
		return p;
	}
	rv = JS_Call(ctx, funcs[ok ? 0 : 1], JS_UNDEFINED, 1, (JSValueConst *)&v);
	JS_FreeValue(ctx, rv);
	JS_FreeValue(ctx, v);
	JS_FreeValue(ctx, funcs[0]);
	JS_FreeValue(ctx, funcs[1]);
	return p;
}

const char *mod_fog_errno_code(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EXDEV: return "EXDEV";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOMEM: return "ENOMEM";
	case EIO: return "EIO";
	}
	return "EIO";
}

/* ---- timers ------------------------------------------------------------------------- */

/* Live timers in a list sorted by (due, seq), one loop timer armed for the head: equal
 * deadlines fire in creation order, as in browsers and Node. */
struct fog_timer {
	struct fog_timer *prev, *next;
	uint64_t due, seq;
	uint32_t id;
	JSValue fn;
};

struct fog_state {
	struct js_host_res res;
	struct js_host *h;
	struct loop_timer t;
	struct fog_timer head;
	size_t n_timers;
	uint64_t seq;
	uint32_t next_id;
};

static void timer_unlink(struct fog_state *s, struct fog_timer *ft)
{
	ft->prev->next = ft->next;
	ft->next->prev = ft->prev;
	s->n_timers--;
}

static void timers_arm(struct fog_state *s)
{
	struct loop *l = js_host_loop(s->h);
	uint64_t now = loop_now_ms(l);

	if (s->head.next == &s->head) {
		loop_timer_cancel(l, &s->t);
		return;
	}
	loop_timer_set(l, &s->t, s->head.next->due > now ? s->head.next->due - now : 0);
}

static void timers_fire(struct loop_timer *t)
{
	struct fog_state *s = container_of(t, struct fog_state, t);
	struct js_host *h = s->h;
	uint64_t now = loop_now_ms(js_host_loop(h)), last = s->seq;
	struct fog_timer *ft;

	/* Only timers that existed when this batch started: one set with 0 ms inside a
	 * callback runs on the next loop iteration, so a loop of them cannot starve I/O. */
	while ((ft = s->head.next) != &s->head && ft->due <= now && ft->seq <= last) {
		JSContext *ctx = js_host_ctx(h);
		JSValue fn = ft->fn;

		if (!ctx)
			return; /* generation failed: s is dropped with it */
		timer_unlink(s, ft);
		free(ft);
		js_host_call(h, "timer callback", fn, 0, NULL);
		JS_FreeValue(ctx, fn);
		if (!js_host_ctx(h))
			return;
	}
	timers_arm(s);
}

static void state_drop(struct js_host_res *r, JSContext *ctx)
{
	struct fog_state *s = container_of(r, struct fog_state, res);
	struct fog_timer *ft;

	loop_timer_cancel(js_host_loop(s->h), &s->t);
	while ((ft = s->head.next) != &s->head) {
		timer_unlink(s, ft);
		JS_FreeValue(ctx, ft->fn);
		free(ft);
	}
	js_host_set_mod_data(s->h, NULL);
	free(s);
}

static struct fog_state *state_of(JSContext *ctx)
{
	return js_host_mod_data(js_host_of(ctx));
}

static JSValue fog_set_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_state *s = state_of(ctx);
	struct fog_timer *ft, *at;
	double ms = 0;

	if (!s || !JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "setTimeout(fn, ms): fn is not a function");
	if (argc > 1 && JS_ToFloat64(ctx, &ms, argv[1]) < 0)
		return JS_EXCEPTION;
	if (s->n_timers >= MOD_FOG_MAX_TIMERS)
		return JS_ThrowRangeError(ctx, "setTimeout: more than %d live timers", MOD_FOG_MAX_TIMERS);
	if (!(ms >= 0)) /* NaN and negatives → 0 */
		ms = 0;
	if (ms > MOD_FOG_MAX_TIMER_MS)
		ms = MOD_FOG_MAX_TIMER_MS;
	if (!(ft = calloc(1, sizeof(*ft))))
		return JS_ThrowOutOfMemory(ctx);
	ft->due = loop_update_time(js_host_loop(s->h)) + (uint64_t)ms;
	ft->seq = ++s->seq;
	ft->id = ++s->next_id ? s->next_id : ++s->next_id;
	ft->fn = JS_DupValue(ctx, argv[0]);
	for (at = s->head.prev; at != &s->head && at->due > ft->due; at = at->prev)
		;
	ft->prev = at;
	ft->next = at->next;
	at->next->prev = ft;
	at->next = ft;
	s->n_timers++;
	timers_arm(s);
	return JS_NewUint32(ctx, ft->id);
}

static JSValue fog_clear_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_state *s = state_of(ctx);
	uint32_t id;

	if (!s || argc < 1 || !JS_IsNumber(argv[0]) || JS_ToUint32(ctx, &id, argv[0]) < 0)
		return JS_UNDEFINED;
	for (struct fog_timer *ft = s->head.next; ft != &s->head; ft = ft->next) {
		if (ft->id == id) {
			timer_unlink(s, ft);
			JS_FreeValue(ctx, ft->fn);
			free(ft);
			timers_arm(s);
			break;
		}
	}
	return JS_UNDEFINED;
}

/* ---- log, clock, random ------------------------------------------------------------- */

static JSValue fog_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *lvl = JS_ToCString(ctx, argv[0]);
	const char *msg = argc > 1 ? JS_ToCString(ctx, argv[1]) : NULL;
	int level = lvl ? log_level_parse(lvl) : -1;

	if (level < 0)
		level = LOG_LEVEL_INFO;
	log_msg((enum log_level)level, "agent: %s", msg ? msg : "");
	JS_FreeCString(ctx, lvl);
	JS_FreeCString(ctx, msg);
	return JS_UNDEFINED;
}

static JSValue fog_now(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return JS_NewFloat64(ctx, floor((double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6));
}

static JSValue fog_monotonic(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return JS_NewFloat64(ctx, (double)monotime_ns() / 1e6);
}

static JSValue fog_local_time(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	double ms;
	time_t t;
	struct tm tm;
	char month[32];
	JSValue o;

	if (JS_ToFloat64(ctx, &ms, argv[0]) < 0)
		return JS_EXCEPTION;
	if (!isfinite(ms))
		return JS_ThrowRangeError(ctx, "localTime: not a finite time");
	t = (time_t)floor(ms / 1000);
	if (!localtime_r(&t, &tm))
		return JS_ThrowRangeError(ctx, "localTime: out of range");
	snprintf(month, sizeof(month), "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	o = JS_NewObject(ctx);
	JS_SetPropertyStr(ctx, o, "minuteOfDay", JS_NewInt32(ctx, tm.tm_hour * 60 + tm.tm_min));
	JS_SetPropertyStr(ctx, o, "month", JS_NewString(ctx, month));
	return o;
}

static JSValue fog_random_bytes(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t n;
	uint8_t buf[MOD_FOG_MAX_RANDOM];
	size_t got = 0;

	if (JS_ToUint32(ctx, &n, argv[0]) < 0)
		return JS_EXCEPTION;
	if (n > MOD_FOG_MAX_RANDOM)
		return JS_ThrowRangeError(ctx, "randomBytes: n > %d", MOD_FOG_MAX_RANDOM);
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return JS_ThrowInternalError(ctx, "getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
	return JS_NewUint8ArrayCopy(ctx, buf, n);
}

static JSValue fog_extend_slice(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint32_t ms;

	if (JS_ToUint32(ctx, &ms, argv[0]) < 0)
		return JS_EXCEPTION;
	js_host_extend_slice(js_host_of(ctx), ms);
	return JS_UNDEFINED;
}

static JSValue fog_memory_usage(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	JSMemoryUsage mu;
	JSValue o = JS_NewObject(ctx);

	JS_ComputeMemoryUsage(JS_GetRuntime(ctx), &mu);
	JS_SetPropertyStr(ctx, o, "heapBytes", JS_NewInt64(ctx, mu.malloc_size));
	JS_SetPropertyStr(ctx, o, "limitBytes", JS_NewInt64(ctx, mu.malloc_limit));
	return o;
}

static JSValue fog_info(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const struct js_host_config *c = js_host_config(js_host_of(ctx));
	JSValue o = JS_NewObject(ctx);

	JS_SetPropertyStr(ctx, o, "configPath",
			  c->config_path ? JS_NewString(ctx, c->config_path) : JS_NULL);
	JS_SetPropertyStr(ctx, o, "version", JS_NewString(ctx, PEARFOG_VERSION));
	JS_SetPropertyStr(ctx, o, "pid", JS_NewInt32(ctx, (int32_t)getpid()));
	return o;
}

/* utf8Encode(string) → Uint8Array; utf8Decode(Uint8Array) → string (malformed sequences
 * become U+FFFD).  QuickJS-ng has no TextEncoder/TextDecoder; the native platform builds
 * them on these. */
static JSValue fog_utf8_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
	JSValue rv;

	if (!s)
		return JS_EXCEPTION;
	rv = JS_NewUint8ArrayCopy(ctx, (const uint8_t *)s, len);
	JS_FreeCString(ctx, s);
	return rv;
}

static JSValue fog_utf8_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	size_t len;
	const uint8_t *p = JS_GetUint8Array(ctx, &len, argv[0]);

	if (!p)
		return JS_EXCEPTION;
	return JS_NewStringLen(ctx, (const char *)p, len);
}

/* ---- control operations ------------------------------------------------------------- */

/* fog.ctl(op, args): the request object is serialised and parsed with the control
 * socket's own parser (ctl_json: flat objects only), then the op's handler runs with the
 * daemon's context; its reply members become the resolved object. */
static JSValue fog_ctl(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const struct js_host_config *c = js_host_config(js_host_of(ctx));
	const char *op = JS_ToCString(ctx, argv[0]);
	const struct ctl_op *found = NULL;
	struct ctl_json *req = NULL;
	struct ctl_json_out out = { 0 }, res = { 0 };
	struct ctl_reply r = { .out = &out };
	JSValue js = JS_UNDEFINED, rv;
	const char *line = NULL;
	size_t len = 0;
	char *buf = NULL;
	int rc;

	if (!op)
		return JS_EXCEPTION;
	for (size_t i = 0; i < c->n_ops; i++)
		if (strcmp(c->ops[i].name, op) == 0)
			found = &c->ops[i];
	if (!found) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, "ctl", "unknown_op",
							       "ctl: no operation '%s'", op));
		goto out;
	}
	if (argc > 1 && JS_IsObject(argv[1])) {
		js = JS_JSONStringify(ctx, argv[1], JS_UNDEFINED, JS_UNDEFINED);
		if (JS_IsException(js)) {
			rv = JS_EXCEPTION;
			goto out;
		}
		line = JS_ToCStringLen(ctx, &len, js);
	}
	if (len > CTL_MAX_LINE) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, op, "too_large",
							       "ctl %s: request over %d bytes", op, CTL_MAX_LINE));
		goto out;
	}
	req = calloc(1, sizeof(*req));
	buf = malloc(len + 3);
	if (!req || !buf) {
		rv = JS_ThrowOutOfMemory(ctx);
		goto out;
	}
	if (line && len)
		memcpy(buf, line, len);
	else /* no arguments: an empty request object */
		memcpy(buf, "{}", (len = 2));
	buf[len] = 0;
	if ((rc = ctl_json_parse(buf, len, req)) < 0) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, op, "bad_request", "ctl %s: %s", op,
							       ctl_json_strerror(rc)));
		goto out;
	}
	found->handler(c->ops_ctx, req, &r);
	if (r.error) {
		rv = mod_fog_settled(ctx, false,
				     mod_fog_error(ctx, op, r.error, "ctl %s: %s", op, r.message));
		goto out;
	}
	ctl_json_out_raw(&res, "{\"ok\":true", 10);
	if (out.len)
		ctl_json_out_raw(&res, out.buf, out.len);
	ctl_json_out_raw(&res, "}", 1);
	if (out.oom || res.oom) {
		rv = JS_ThrowOutOfMemory(ctx);
		goto out;
	}
	rv = JS_ParseJSON(ctx, res.buf, res.len, "<ctl reply>");
	rv = JS_IsException(rv) ? JS_EXCEPTION : mod_fog_settled(ctx, true, rv);
out:
	JS_FreeCString(ctx, op);
	JS_FreeCString(ctx, line);
	JS_FreeValue(ctx, js);
	ctl_json_out_free(&out);
	ctl_json_out_free(&res);
	free(req);
	free(buf);
	return rv;
}

/* ---- signals ------------------------------------------------------------------------ */

static JSValue fog_on_signal(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	if (!JS_IsFunction(ctx, argv[0]) && !JS_IsUndefined(argv[0]))
		return JS_ThrowTypeError(ctx, "onSignal(fn): fn is not a function");
	js_host_set_signal_handler(js_host_of(ctx), JS_DupValue(ctx, argv[0]));
	return JS_UNDEFINED;
}

static JSValue fog_stop_done(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	js_host_shutdown_done(js_host_of(ctx));
	return JS_UNDEFINED;
}

/* ---- the module --------------------------------------------------------------------- */

static const JSCFunctionListEntry fog_funcs[] = {
	JS_CFUNC_DEF("setTimeout", 2, fog_set_timeout),
	JS_CFUNC_DEF("clearTimeout", 1, fog_clear_timeout),
	JS_CFUNC_DEF("log", 2, fog_log),
	JS_CFUNC_DEF("now", 0, fog_now),
	JS_CFUNC_DEF("monotonic", 0, fog_monotonic),
	JS_CFUNC_DEF("localTime", 1, fog_local_time),
	JS_CFUNC_DEF("randomBytes", 1, fog_random_bytes),
	JS_CFUNC_DEF("memoryUsage", 0, fog_memory_usage),
	JS_CFUNC_DEF("extendSlice", 1, fog_extend_slice),
	JS_CFUNC_DEF("info", 0, fog_info),
	JS_CFUNC_DEF("utf8Encode", 1, fog_utf8_encode),
	JS_CFUNC_DEF("utf8Decode", 1, fog_utf8_decode),
	JS_CFUNC_DEF("readFile", 1, mod_fog_read_file),
	JS_CFUNC_DEF("writeFile", 3, mod_fog_write_file),
	JS_CFUNC_DEF("rename", 2, mod_fog_rename),
	JS_CFUNC_DEF("mkdir", 1, mod_fog_mkdir),
	JS_CFUNC_DEF("unlink", 1, mod_fog_unlink),
	JS_CFUNC_DEF("stat", 1, mod_fog_stat),
	JS_CFUNC_DEF("ctl", 2, fog_ctl),
	JS_CFUNC_DEF("onSignal", 1, fog_on_signal),
	JS_CFUNC_DEF("stopDone", 0, fog_stop_done),
	JS_CFUNC_DEF("spawn", 2, mod_fog_spawn),
	JS_CFUNC_DEF("httpGet", 2, mod_fog_http_get),
	JS_CFUNC_DEF("wsConnect", 3, mod_fog_ws_connect),
	JS_CFUNC_DEF("sha256", 1, mod_fog_sha256),
	JS_CFUNC_DEF("sha512", 1, mod_fog_sha512),
	JS_CFUNC_DEF("ed25519PublicKey", 1, mod_fog_ed25519_public_key),
	JS_CFUNC_DEF("ed25519Sign", 2, mod_fog_ed25519_sign),
	JS_CFUNC_DEF("ed25519Verify", 3, mod_fog_ed25519_verify),
	JS_CFUNC_DEF("runTask", 3, mod_fog_run_task),
	JS_CFUNC_DEF("appStart", 2, mod_fog_app_start),
	JS_CFUNC_DEF("appPost", 2, mod_fog_app_post),
	JS_CFUNC_DEF("appReply", 4, mod_fog_app_reply),
	JS_CFUNC_DEF("appStop", 1, mod_fog_app_stop),
	JS_CFUNC_DEF("appInfo", 1, mod_fog_app_info),
	JS_CFUNC_DEF("appLogs", 1, mod_fog_app_logs),
	JS_CFUNC_DEF("appChannels", 1, mod_fog_app_channels),
	JS_CFUNC_DEF("appChannelSend", 2, mod_fog_app_channel_send),
	JS_CFUNC_DEF("appChannelClose", 2, mod_fog_app_channel_close),
	JS_CFUNC_DEF("appLimits", 1, mod_fog_app_limits),
};

static int fog_module_init(JSContext *ctx, JSModuleDef *m)
{
	struct js_host *h = js_host_of(ctx);
	struct fog_state *s;

	if (!js_host_mod_data(h)) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->h = h;
		s->t.cb = timers_fire;
		s->head.next = s->head.prev = &s->head;
		s->res.drop = state_drop;
		js_host_res_add(h, &s->res);
		js_host_set_mod_data(h, s);
	}
	return JS_SetModuleExportList(ctx, m, fog_funcs, sizeof(fog_funcs) / sizeof(fog_funcs[0]));
}

JSModuleDef *mod_fog_init(JSContext *ctx, const char *name)
{
	JSModuleDef *m = JS_NewCModule(ctx, name, fog_module_init);

	if (m && JS_AddModuleExportList(ctx, m, fog_funcs, sizeof(fog_funcs) / sizeof(fog_funcs[0])) < 0)
		return NULL;
	return m;
}

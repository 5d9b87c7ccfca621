/* mod_fog_ws: fog.wsConnect(url, opts, onEvent) for the agent's coordinator link, on
 * ws_client (see mod_fog.h and src/platform/native/fog.d.ts).
 *
 * opts: { maxMessage? (received message cap, bytes, ≤ MOD_FOG_WS_MAX_MESSAGE; default
 * WS_FRAME_MAX_MESSAGE), maxQueued? (output queue cap, bytes; default
 * MOD_FOG_WS_MAX_QUEUED), handshakeTimeoutMs?, idleTimeoutMs? (0: none), caFile? (PEM
 * for wss instead of the system store) } → a FogWebSocket with
 *   send(string | Uint8Array)  queue a text / binary message; throws a FogError with code
 *                              "closed" (not open), "queue_full" or "invalid"
 *   close(code?, reason?)      start the close handshake (or abandon a connection not
 *                              yet open); idempotent
 *   bufferedAmount             bytes waiting for the socket
 * onEvent("open"), onEvent("message", string | Uint8Array), and last, once,
 * onEvent("close", code, reason, error?) — error is absent after a clean close handshake,
 * else a message (ws_client_strerror and detail).  Events come from the loop, never from
 * inside wsConnect/send/close.  A bad URL is not thrown either: it arrives as a close
 * event (1006) on a later turn, as in browsers.
 *
 * Ownership: the connection belongs to the JS generation (a js_host_res); it is closed
 * when the generation ends, whatever the JS object's fate.  The JS object only points at
 * it, and the pointer is cleared when either side goes first.  An exception thrown by
 * onEvent ends the generation (js_host_call), never the data plane. */
#include "mod_fog.h"

#include <stdlib.h>
#include <string.h>

#include "js_host.h"
#include "ws_client.h"

struct fog_ws {
	struct js_host_res res;
	struct js_host *h;
	struct ws_client *c;
	struct tls_client_ctx *tls;
	JSValue on_event;
	JSValue obj; /* not a reference: cleared by the finalizer */
	bool obj_alive;
	struct loop_timer fail_timer; /* a failed connect: close event on the next turn */
	int fail_err;
	char url[128]; /* for messages */
};

static JSClassID fog_ws_class_id;

static void ws_release(struct fog_ws *w, JSContext *ctx)
{
	js_host_res_del(w->h, &w->res);
	loop_timer_cancel(js_host_loop(w->h), &w->fail_timer);
	ws_client_free(w->c);
	w->c = NULL;
	tls_client_ctx_unref(w->tls);
	if (w->obj_alive)
		JS_SetOpaque(w->obj, NULL);
	JS_FreeValue(ctx, w->on_event);
	free(w);
}

static void ws_drop(struct js_host_res *res, JSContext *ctx)
{
	ws_release(container_of(res, struct fog_ws, res), ctx);
}

static void ws_finalizer(JSRuntime *rt, JSValueConst val)
{
	struct fog_ws *w = JS_GetOpaque(val, fog_ws_class_id);

	if (w)
		w->obj_alive = false; /* the connection lives on until it closes */
}

/* Call onEvent(type, args...).  false when the generation failed (w stays until dropped). */
static bool emit(struct fog_ws *w, const char *type, int argc, JSValue *args)
{
	JSContext *ctx = js_host_ctx(w->h);
	JSValue argv[4];
	bool ok;

	if (!ctx)
		return false; /* callers make args only while there is a context */
	argv[0] = JS_NewString(ctx, type);
	for (int i = 0; i < argc; i++)
		argv[i + 1] = args[i];
	ok = js_host_call(w->h, "ws event", w->on_event, argc + 1, (JSValueConst *)argv);
	for (int i = 0; i < argc + 1; i++)
		JS_FreeValue(ctx, argv[i]);
	return ok;
}

static void on_open(void *user)
{
	emit(user, "open", 0, NULL);
}

static void on_message(void *user, bool text, const uint8_t *data, size_t len)
{
	struct fog_ws *w = user;
	JSContext *ctx = js_host_ctx(w->h);
	JSValue v;

	if (!ctx)
		return;
	v = text ? JS_NewStringLen(ctx, (const char *)data, len) : JS_NewUint8ArrayCopy(ctx, data, len);
	emit(w, "message", 1, &v);
}

static void close_event(struct fog_ws *w, int err, unsigned code, const char *reason)
{
	JSContext *ctx = js_host_ctx(w->h);
	JSValue args[3];
	int n = 2;

	if (!ctx)
		return;
	args[0] = JS_NewInt32(ctx, (int32_t)code);
	args[1] = JS_NewString(ctx, reason ? reason : "");
	if (err) {
		const char *detail = w->c ? ws_client_error_detail(w->c) : "";
		char msg[320];

		snprintf(msg, sizeof(msg), "%s: %s%s%s", w->url, ws_client_strerror(err),
			 *detail ? ": " : "", detail);
		args[n++] = JS_NewString(ctx, msg);
	}
	emit(w, "close", n, args);
	ws_release(w, ctx); /* the connection is over: nothing refers to w after this */
}

static void on_close(void *user, int err, unsigned code, const char *reason)
{
	close_event(user, err, code, reason);
}

static const struct ws_client_cb ws_cb = { on_open, on_message, on_close };

static void fail_timer_cb(struct loop_timer *t)
{
	struct fog_ws *w = container_of(t, struct fog_ws, fail_timer);

	close_event(w, w->fail_err, WS_CLOSE_ABNORMAL, "");
}

static struct fog_ws *this_ws(JSContext *ctx, JSValueConst this_val)
{
	return JS_GetOpaque(this_val, fog_ws_class_id);
}

static JSValue ws_send(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_ws *w = this_ws(ctx, this_val);
	size_t len;
	int rc;

	if (!w || !w->c)
		return JS_Throw(ctx, mod_fog_error(ctx, "ws_send", "closed", "ws_send: not open"));
	if (JS_IsString(argv[0])) {
		const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
		if (!s)
			return JS_EXCEPTION;
		rc = ws_client_send(w->c, true, s, len);
		JS_FreeCString(ctx, s);
	} else {
		uint8_t *p = JS_GetUint8Array(ctx, &len, argv[0]);
		if (!p)
			return JS_EXCEPTION;
		rc = ws_client_send(w->c, false, p, len);
	}
	if (rc == 0)
		return JS_UNDEFINED;
	return JS_Throw(ctx, mod_fog_error(ctx, "ws_send",
					   rc == WS_CLIENT_E_STATE	  ? "closed"
					   : rc == WS_CLIENT_E_QUEUE_FULL ? "queue_full"
					   : rc == WS_CLIENT_E_INVALID	  ? "invalid"
									  : "send",
					   "ws_send %s: %s", w->url, ws_client_strerror(rc)));
}

static JSValue ws_close(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_ws *w = this_ws(ctx, this_val);
	int32_t code = 0;
	const char *reason = NULL;
	int rc;

	if (!w || !w->c)
		return JS_UNDEFINED; /* closed already, or closing */
	if (argc > 0 && !JS_IsUndefined(argv[0]) && JS_ToInt32(ctx, &code, argv[0]) < 0)
		return JS_EXCEPTION;
	if (code && code != 1000 && !(code >= 3000 && code <= 4999))
		return JS_ThrowRangeError(ctx, "close: code must be 1000 or 3000..4999");
	if (argc > 1 && !JS_IsUndefined(argv[1]) && !(reason = JS_ToCString(ctx, argv[1])))
		return JS_EXCEPTION;
	rc = ws_client_close(w->c, (unsigned)code, reason);
	JS_FreeCString(ctx, reason);
	if (rc == WS_CLIENT_E_INVALID)
		return JS_ThrowRangeError(ctx, "close: reason is not valid UTF-8");
	return JS_UNDEFINED;
}

static JSValue ws_buffered(JSContext *ctx, JSValueConst this_val)
{
	struct fog_ws *w = this_ws(ctx, this_val);

	return JS_NewInt64(ctx, w && w->c ? (int64_t)ws_client_buffered(w->c) : 0);
}

static const JSCFunctionListEntry ws_proto_funcs[] = {
	JS_CFUNC_DEF("send", 1, ws_send),
	JS_CFUNC_DEF("close", 2, ws_close),
	JS_CGETSET_DEF("bufferedAmount", ws_buffered, NULL),
};

static int register_class(JSContext *ctx)
{
	JSRuntime *rt = JS_GetRuntime(ctx);
	JSClassDef def = { .class_name = "FogWebSocket", .finalizer = ws_finalizer };
	JSValue proto;

	JS_NewClassID(rt, &fog_ws_class_id);
	if (JS_IsRegisteredClass(rt, fog_ws_class_id))
		return 0;
	if (JS_NewClass(rt, fog_ws_class_id, &def) < 0)
		return -1;
	proto = JS_NewObject(ctx);
	if (JS_IsException(proto))
		return -1;
	JS_SetPropertyFunctionList(ctx, proto, ws_proto_funcs,
				   sizeof(ws_proto_funcs) / sizeof(ws_proto_funcs[0]));
	JS_SetClassProto(ctx, fog_ws_class_id, proto);
	return 0;
}

static int get_opt(JSContext *ctx, JSValueConst opts, const char *name, double lo, double hi,
		   double *out)
{
	JSValue v;
	int rc = 0;

	if (!JS_IsObject(opts))
		return 0;
	v = JS_GetPropertyStr(ctx, opts, name);
	if (!JS_IsUndefined(v)) {
		if (JS_ToFloat64(ctx, out, v) < 0)
			rc = -1;
		else if (!(*out >= lo && *out <= hi)) {
			JS_ThrowRangeError(ctx, "wsConnect: %s must be %.0f..%.0f", name, lo, hi);
			rc = -1;
		}
	}
	JS_FreeValue(ctx, v);
	return rc;
}

JSValue mod_fog_ws_connect(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct js_host *h = js_host_of(ctx);
	struct ws_client_opts o = { 0 };
	double max_msg = 0, max_q = MOD_FOG_WS_MAX_QUEUED, hs = 0, idle = 0;
	struct fog_ws *w;
	const char *url, *ca = NULL;
	JSValue obj, cav;
	int rc, err;

	if (!JS_IsFunction(ctx, argv[2]))
		return JS_ThrowTypeError(ctx, "wsConnect(url, opts, onEvent): onEvent must be a function");
	if (get_opt(ctx, argv[1], "maxMessage", 1, MOD_FOG_WS_MAX_MESSAGE, &max_msg) < 0 ||
	    get_opt(ctx, argv[1], "maxQueued", 1024, MOD_FOG_WS_MAX_MESSAGE, &max_q) < 0 ||
	    get_opt(ctx, argv[1], "handshakeTimeoutMs", 1, 600000, &hs) < 0 ||
	    get_opt(ctx, argv[1], "idleTimeoutMs", 0, 86400000, &idle) < 0)
		return JS_EXCEPTION;
	if (register_class(ctx) < 0)
		return JS_EXCEPTION;
	if (!(url = JS_ToCString(ctx, argv[0])))
		return JS_EXCEPTION;
	if (!(w = calloc(1, sizeof(*w)))) {
		JS_FreeCString(ctx, url);
		return JS_ThrowOutOfMemory(ctx);
	}
	w->h = h;
	w->res.drop = ws_drop;
	w->fail_timer.cb = fail_timer_cb;
	snprintf(w->url, sizeof(w->url), "%s", url);
	obj = JS_NewObjectClass(ctx, (int)fog_ws_class_id);
	if (JS_IsException(obj)) {
		JS_FreeCString(ctx, url);
		free(w);
		return obj;
	}
	JS_SetOpaque(obj, w);
	w->obj = obj;
	w->obj_alive = true;
	w->on_event = JS_DupValue(ctx, argv[2]);
	js_host_res_add(h, &w->res);

	cav = JS_IsObject(argv[1]) ? JS_GetPropertyStr(ctx, argv[1], "caFile") : JS_UNDEFINED;
	if (!JS_IsUndefined(cav) && !(ca = JS_ToCString(ctx, cav))) {
		JS_FreeValue(ctx, cav);
		JS_FreeCString(ctx, url);
		JS_FreeValue(ctx, obj); /* the finalizer runs; w is dropped with the generation */
		return JS_EXCEPTION;
	}
	JS_FreeValue(ctx, cav);
	rc = 0;
	if (ca && !(w->tls = tls_client_ctx_new(&(struct tls_client_ctx_opts){ .ca_file = ca }, &err)))
		rc = err;
	JS_FreeCString(ctx, ca);
	o.url = url;
	o.tls = w->tls;
	o.max_message = (size_t)max_msg;
	o.max_queued = (size_t)max_q;
	o.handshake_timeout_ms = (uint32_t)hs;
	o.idle_timeout_ms = (uint32_t)idle;
	if (rc == 0)
		rc = ws_client_connect(&w->c, js_host_loop(h), &o, &ws_cb, w);
	JS_FreeCString(ctx, url);
	if (rc < 0) { /* reported as a close event on the next turn, never thrown */
		w->fail_err = rc;
		loop_timer_set(js_host_loop(h), &w->fail_timer, 0);
	}
	return obj;
}

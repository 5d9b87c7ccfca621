/* mod_fog_http: fog.httpGet(url, opts) for origin fills, on http_client (see mod_fog.h).
 *
 * opts: { range?: [first, last] (inclusive, RFC 9110 §14.1.2), maxBytes (body cap, bytes;
 * required, ≤ MOD_FOG_MAX_HTTP_BODY), timeoutMs (whole request, ms; default
 * HTTP_CLIENT_TIMEOUT_MS) } → Promise<{ status, body: Uint8Array }>.  Redirects are
 * followed (http_client's rules).  A failure rejects with an Error whose code is
 * "timeout", "too_big", "range" or "fetch" (anything else), message from
 * http_client_strerror().  https uses a TLS context with the system CA store, created per
 * request (a CA load each time; a shared context is a later optimisation). */
#include "mod_fog.h"

#include <stdlib.h>
#include <string.h>

#include "js_host.h"

#if !__has_include("http_client.h")
/* Built before http_client landed: httpGet rejects with code "unsupported". */
JSValue mod_fog_http_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	return mod_fog_settled(ctx, false, mod_fog_error(ctx, "http_get", "unsupported",
							 "http_get: no HTTP client in this build"));
}
#else
#include "http_client.h"

struct fog_http {
	struct js_host_res res;
	struct js_host *h;
	struct http_client *c;
	uint8_t *buf;
	size_t len, cap;
	uint64_t max;
	int status;
	JSValue funcs[2];
};

static void http_free(struct fog_http *r, JSContext *ctx)
{
	js_host_res_del(r->h, &r->res);
	http_client_free(r->c);
	JS_FreeValue(ctx, r->funcs[0]);
	JS_FreeValue(ctx, r->funcs[1]);
	free(r->buf);
	free(r);
}

static void http_drop(struct js_host_res *res, JSContext *ctx)
{
	http_free(container_of(res, struct fog_http, res), ctx);
}

static int on_head(void *user, const struct http_resp *resp)
{
	struct fog_http *r = user;

	r->status = resp->status;
	return 0;
}

static int on_body(void *user, const uint8_t *data, size_t len)
{
	struct fog_http *r = user;

	if (r->len + len > r->max)
		return -1; /* http_client enforces max_body_bytes too; belt and braces */
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		uint8_t *nb;

		while (cap < r->len + len)
			cap *= 2;
		if (cap > r->max)
			cap = (size_t)r->max;
		if (!(nb = realloc(r->buf, cap)))
			return -1;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

static const char *err_code(int err)
{
	switch (err) {
	case HTTP_CLIENT_E_TIMEOUT:
		return "timeout";
	case HTTP_CLIENT_E_BODY_TOO_LARGE:
		return "too_big";
	case HTTP_CLIENT_E_RANGE:
		return "range";
	}
	return "fetch";
}

static void on_done(void *user, int err)
{
	struct fog_http *r = user;
	struct js_host *h = r->h;
	JSContext *ctx = js_host_ctx(h);
	JSValue v, funcs[2];

	if (!ctx)
		return; /* the generation is ending; http_drop frees r */
	if (err) {
		v = mod_fog_error(ctx, "http_get", err_code(err), "http_get %s: %s%s%s",
				  http_client_url(r->c), http_client_strerror(err),
				  *http_client_error_detail(r->c) ? ": " : "",
				  http_client_error_detail(r->c));
	} else {
		v = JS_NewObject(ctx);
		JS_SetPropertyStr(ctx, v, "status", JS_NewInt32(ctx, r->status));
		JS_SetPropertyStr(ctx, v, "body", JS_NewUint8ArrayCopy(ctx, r->buf, r->len));
	}
	funcs[0] = r->funcs[0];
	funcs[1] = r->funcs[1];
	r->funcs[0] = r->funcs[1] = JS_UNDEFINED;
	http_free(r, ctx);
	js_host_settle(h, funcs, !err, v);
}

static const struct http_client_cb http_cb = {
	.on_head = on_head,
	.on_body = on_body,
	.on_done = on_done,
};

static int get_num(JSContext *ctx, JSValueConst obj, const char *name, double *out, bool *set)
{
	JSValue v = JS_GetPropertyStr(ctx, obj, name);
	int rc = 0;

	*set = !JS_IsUndefined(v);
	if (*set)
		rc = JS_ToFloat64(ctx, out, v);
	JS_FreeValue(ctx, v);
	return rc;
}

JSValue mod_fog_http_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct js_host *h = js_host_of(ctx);
	struct http_client_opts o = { .max_redirects = -1 };
	struct fog_http *r;
	double max = 0, timeout = 0, first = 0, last = 0;
	bool has_max, has_timeout;
	const char *url;
	JSValue range, p;
	int rc;

	if (!JS_IsObject(argv[1]))
		return JS_ThrowTypeError(ctx, "httpGet(url, opts): opts must be an object");
	if (get_num(ctx, argv[1], "maxBytes", &max, &has_max) < 0 ||
	    get_num(ctx, argv[1], "timeoutMs", &timeout, &has_timeout) < 0)
		return JS_EXCEPTION;
	if (!has_max || !(max >= 0) || max > MOD_FOG_MAX_HTTP_BODY)
		return JS_ThrowRangeError(ctx, "httpGet: maxBytes must be 0..%u", MOD_FOG_MAX_HTTP_BODY);
	if (has_timeout && !(timeout >= 1 && timeout <= 600000))
		return JS_ThrowRangeError(ctx, "httpGet: timeoutMs must be 1..600000");
	range = JS_GetPropertyStr(ctx, argv[1], "range");
	if (!JS_IsUndefined(range)) {
		JSValue a = JS_GetPropertyUint32(ctx, range, 0), b = JS_GetPropertyUint32(ctx, range, 1);

		rc = JS_ToFloat64(ctx, &first, a) < 0 || JS_ToFloat64(ctx, &last, b) < 0 ? -1 : 0;
		JS_FreeValue(ctx, a);
		JS_FreeValue(ctx, b);
		if (rc < 0 || !(first >= 0) || !(last >= first) || last > 9007199254740991.0) {
			JS_FreeValue(ctx, range);
			return rc < 0 ? JS_EXCEPTION : JS_ThrowRangeError(ctx, "httpGet: bad range");
		}
		o.range = true;
		o.range_first = (uint64_t)first;
		o.range_last = (uint64_t)last;
	}
	JS_FreeValue(ctx, range);
	if (!(url = JS_ToCString(ctx, argv[0])))
		return JS_EXCEPTION;
	if (!(r = calloc(1, sizeof(*r)))) {
		JS_FreeCString(ctx, url);
		return JS_ThrowOutOfMemory(ctx);
	}
	r->h = h;
	r->max = (uint64_t)max;
	r->funcs[0] = r->funcs[1] = JS_UNDEFINED;
	r->res.drop = http_drop;
	o.url = url;
	/* http_client treats 0 as "default cap": a 0-byte cap is enforced by on_body alone */
	o.max_body_bytes = r->max ? r->max : 1;
	o.timeout_ms = has_timeout ? (uint32_t)timeout : 0;
	p = JS_NewPromiseCapability(ctx, r->funcs);
	if (JS_IsException(p)) {
		JS_FreeCString(ctx, url);
		free(r);
		return p;
	}
	rc = http_client_request(&r->c, js_host_loop(h), &o, &http_cb, r);
	if (rc < 0) {
		JSValue e = mod_fog_error(ctx, "http_get", err_code(rc), "http_get %s: %s", url,
					  http_client_strerror(rc));
		JSValue rv = JS_Call(ctx, r->funcs[1], JS_UNDEFINED, 1, (JSValueConst *)&e);

		JS_FreeValue(ctx, rv);
		JS_FreeValue(ctx, e);
		r->c = NULL;
		JS_FreeCString(ctx, url);
		js_host_res_add(h, &r->res);
		http_free(r, ctx);
		return p;
	}
	JS_FreeCString(ctx, url);
	js_host_res_add(h, &r->res);
	return p;
}
#endif

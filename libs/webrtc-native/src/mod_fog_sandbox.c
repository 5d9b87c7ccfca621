/* mod_fog_sandbox: the agent's side of js_sandbox.h — fog.runTask for verified parallel jobs and
 * fog.app* for long-running apps (issue 7; docs/apps.md).
 *
 * Each sandbox runs on its own thread; its eventfd is watched by the loop, and its events
 * (task result, app post/fetch/exit) become promise settlements or onEvent calls on the
 * loop thread.  Sandboxes belong to the agent's generation (dropped with it: stopped and
 * joined).  Live apps are also listed process-wide for the router owner's control ops
 * (`app_list`, `app_stop`, `app_limits`: mod_fog_sandbox_ctl_*), which run on the loop
 * thread like everything here. */
#include "mod_fog.h"
#include "monotime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "app_channel.h"
#include "js_host.h"
#include "log.h"
#include "js_sandbox.h"
#include "loop.h"

struct fog_sb {
	struct js_host_res res;
	struct js_host *h;
	struct fog_sb *next; /* g_list */
	struct sandbox *sb;
	struct loop_fd lfd;
	bool is_app;
	bool owner_stopped;
	uint32_t id;
	char name[64], version[32];
	uint64_t memory_limit;
	JSValue funcs[2]; /* task */
	JSValue on_event; /* app */
};

static struct fog_sb *g_list;
static uint32_t g_next_id;
static uint64_t g_apps_memory_cap = MOD_FOG_APPS_MEMORY_DEFAULT;

static void list_del(struct fog_sb *s)
{
	for (struct fog_sb **at = &g_list; *at; at = &(*at)->next) {
		if (*at == s) {
			*at = s->next;
			return;
		}
	}
}

static void fsb_free(struct fog_sb *s, JSContext *ctx)
{
	js_host_res_del(s->h, &s->res);
	list_del(s);
	if (s->lfd.registered)
		loop_fd_del(js_host_loop(s->h), &s->lfd);
	sandbox_free(s->sb);
	JS_FreeValue(ctx, s->funcs[0]);
	JS_FreeValue(ctx, s->funcs[1]);
	JS_FreeValue(ctx, s->on_event);
	free(s);
}

static void fsb_drop(struct js_host_res *r, JSContext *ctx)
{
	fsb_free(container_of(r, struct fog_sb, res), ctx);
}

static void task_done(struct fog_sb *s, struct sandbox_event *ev)
{
	struct js_host *h = s->h;
	JSContext *ctx = js_host_ctx(h);
	JSValue funcs[2] = { s->funcs[0], s->funcs[1] }, v;
	bool ok = ev->status == SANDBOX_OK;

	s->funcs[0] = s->funcs[1] = JS_UNDEFINED;
	v = ok ? JS_NewString(ctx, ev->data ? ev->data : "null")
	       : mod_fog_error(ctx, "run_task", sandbox_status_name(ev->status), "run_task: %s",
			       ev->data ? ev->data : "");
	fsb_free(s, ctx);
	js_host_settle(h, funcs, ok, v);
}

/* onEvent(type, a, b): ("started"), ("post", json), ("fetch", url, reqId), ("send", json,
 * browserId), ("exit", status, message). */
static void app_event(struct fog_sb *s, struct sandbox_event *ev)
{
	struct js_host *h = s->h;
	JSContext *ctx = js_host_ctx(h);
	JSValue fn = JS_DupValue(ctx, s->on_event), args[3];
	const char *type = ev->type == SANDBOX_EV_POST	    ? "post"
			   : ev->type == SANDBOX_EV_SEND    ? "send"
			   : ev->type == SANDBOX_EV_FETCH   ? "fetch"
			   : ev->type == SANDBOX_EV_STARTED ? "started"
							    : "exit";

	args[0] = JS_NewString(ctx, type);
	if (ev->type == SANDBOX_EV_DONE) {
		args[1] = JS_NewString(ctx, s->owner_stopped && ev->status == SANDBOX_STOPPED
						    ? "owner_stopped" : sandbox_status_name(ev->status));
		args[2] = JS_NewString(ctx, ev->data ? ev->data : "");
		log_info("app %s %s: %s: %s", s->name, s->version, sandbox_status_name(ev->status),
			 ev->data ? ev->data : "");
		fsb_free(s, ctx); /* before the call: JS may start the next version at once */
	} else {
		args[1] = JS_NewString(ctx, ev->data ? ev->data : "");
		args[2] = JS_NewUint32(ctx, ev->id);
	}
	if (JS_IsFunction(ctx, fn))
		js_host_call(h, "app event", fn, 3, args);
	for (int i = 0; i < 3; i++)
		JS_FreeValue(ctx, args[i]);
	JS_FreeValue(ctx, fn);
}

static void fsb_cb(struct loop_fd *lfd, uint32_t events)
{
	struct fog_sb *s = container_of(lfd, struct fog_sb, lfd);
	struct js_host *h = s->h;
	struct sandbox_event ev;

	while (js_host_ctx(h) && sandbox_next_event(s->sb, &ev)) {
		bool done = ev.type == SANDBOX_EV_DONE;

		if (!s->is_app) {
			if (done) {
				task_done(s, &ev);
				free(ev.data);
				return;
			}
		} else {
			app_event(s, &ev);
		}
		free(ev.data);
		if (done)
			return; /* s is freed */
	}
}

static struct fog_sb *fsb_start(JSContext *ctx, const struct sandbox_config *c, bool is_app)
{
	struct js_host *h = js_host_of(ctx);
	struct fog_sb *s = calloc(1, sizeof(*s));
	int err, rc;

	if (!s) {
		JS_ThrowOutOfMemory(ctx);
		return NULL;
	}
	s->h = h;
	s->is_app = is_app;
	s->funcs[0] = s->funcs[1] = s->on_event = JS_UNDEFINED;
	s->memory_limit = c->memory_limit;
	snprintf(s->name, sizeof(s->name), "%s", c->name ? c->name : "task");
	if (!(s->sb = sandbox_new(c, &err))) {
		free(s);
		JS_Throw(ctx, mod_fog_error(ctx, is_app ? "app_start" : "run_task",
					    err == -EINVAL ? "bad_request" : "error",
					    "sandbox: %s", strerror(-err)));
		return NULL;
	}
	s->lfd.fd = sandbox_fd(s->sb);
	s->lfd.cb = fsb_cb;
	if ((rc = loop_fd_add(js_host_loop(h), &s->lfd, EPOLLIN)) < 0) {
		sandbox_free(s->sb);
		free(s);
		JS_Throw(ctx, mod_fog_error(ctx, "sandbox", "error", "loop: %s", strerror(-rc)));
		return NULL;
	}
	s->res.drop = fsb_drop;
	js_host_res_add(h, &s->res);
	s->id = ++g_next_id ? g_next_id : ++g_next_id;
	s->next = g_list;
	g_list = s;
	return s;
}

static bool get_u64(JSContext *ctx, JSValueConst o, const char *k, uint64_t *out, uint64_t dflt)
{
	JSValue v = JS_GetPropertyStr(ctx, o, k);
	double d;
	bool ok = true;

	if (JS_IsUndefined(v))
		*out = dflt;
	else if (JS_ToFloat64(ctx, &d, v) < 0 || !(d >= 0) || d > 9007199254740991.0)
		ok = false;
	else
		*out = (uint64_t)d;
	JS_FreeValue(ctx, v);
	return ok;
}

/* runTask(source, inputJson, {memoryBytes, timeoutMs, shares?}) → Promise<string> */
JSValue mod_fog_run_task(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox_config c = { .kind = SANDBOX_TASK, .name = "task" };
	uint64_t mem, cpu, shares;
	const char *src = NULL, *input = NULL;
	JSValue p = JS_EXCEPTION, funcs[2];
	struct fog_sb *s;

	if (!JS_IsObject(argv[2]) || !get_u64(ctx, argv[2], "memoryBytes", &mem, 0) ||
	    !get_u64(ctx, argv[2], "timeoutMs", &cpu, 0) || !get_u64(ctx, argv[2], "shares", &shares, 0) ||
	    mem > SIZE_MAX || shares > SANDBOX_SHARES_MAX)
		return mod_fog_settled(ctx, false, mod_fog_error(ctx, "run_task", "bad_request",
								  "run_task: bad limits"));
	if (!(src = JS_ToCStringLen(ctx, &c.source_len, argv[0])) ||
	    !(input = JS_ToCString(ctx, argv[1])))
		goto out;
	c.source = src;
	c.input_json = input;
	c.memory_limit = (size_t)mem;
	c.cpu_limit_ms = cpu;
	c.shares = (uint32_t)shares;
	if (!(s = fsb_start(ctx, &c, false))) {
		p = mod_fog_settled(ctx, false, JS_GetException(ctx));
		goto out;
	}
	p = JS_NewPromiseCapability(ctx, funcs);
	if (JS_IsException(p)) {
		fsb_free(s, ctx);
		goto out;
	}
	s->funcs[0] = funcs[0];
	s->funcs[1] = funcs[1];
out:
	JS_FreeCString(ctx, src);
	JS_FreeCString(ctx, input);
	return p;
}

static struct fog_sb *app_by_id(JSContext *ctx, JSValueConst v)
{
	uint32_t id;

	if (JS_ToUint32(ctx, &id, v) < 0)
		return NULL;
	for (struct fog_sb *s = g_list; s; s = s->next)
		if (s->is_app && s->id == id)
			return s;
	return NULL;
}

static uint64_t apps_memory(void)
{
	uint64_t sum = 0;

	for (struct fog_sb *s = g_list; s; s = s->next)
		if (s->is_app)
			sum += s->memory_limit;
	return sum;
}

static char *prop_str(JSContext *ctx, JSValueConst o, const char *k)
{
	JSValue v = JS_GetPropertyStr(ctx, o, k);
	const char *s = JS_IsString(v) ? JS_ToCString(ctx, v) : NULL;
	char *copy = s ? strdup(s) : NULL;

	JS_FreeCString(ctx, s);
	JS_FreeValue(ctx, v);
	return copy;
}

/* Array of strings → malloc'd char* array (n in *n); NULL with *n = 0 when absent. */
static char **prop_strs(JSContext *ctx, JSValueConst o, const char *k, size_t max, size_t *n, bool *bad)
{
	JSValue v = JS_GetPropertyStr(ctx, o, k), len_v;
	uint32_t len = 0;
	char **out = NULL;

	*n = 0;
	if (JS_IsUndefined(v))
		return NULL;
	len_v = JS_GetPropertyStr(ctx, v, "length");
	if (!JS_IsArray(v) || JS_ToUint32(ctx, &len, len_v) < 0 || len > max ||
	    !(out = calloc(len + 1, sizeof(char *)))) {
		*bad = true;
		len = 0;
	}
	JS_FreeValue(ctx, len_v);
	for (uint32_t i = 0; i < len; i++) {
		JSValue e = JS_GetPropertyUint32(ctx, v, i);
		const char *s = JS_IsString(e) ? JS_ToCString(ctx, e) : NULL;

		if (!s || !(out[i] = strdup(s)))
			*bad = true;
		JS_FreeCString(ctx, s);
		JS_FreeValue(ctx, e);
		if (*bad)
			break;
		(*n)++;
	}
	JS_FreeValue(ctx, v);
	return out;
}

static void strs_free(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}

/* appStart({name, version, source, memoryBytes, shares, caps, storageDir, storageQuota,
 *           fetchHosts}, onEvent) → id */
JSValue mod_fog_app_start(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox_config c = { .kind = SANDBOX_APP };
	char *name = NULL, *version = NULL, *dir = NULL, **caps = NULL, **hosts = NULL;
	size_t n_caps = 0, n_hosts = 0;
	uint64_t mem = 0, shares = 0, quota = 0, upload = 0;
	const char *src = NULL;
	JSValue rv = JS_EXCEPTION, src_v = JS_UNDEFINED;
	struct fog_sb *s;
	bool bad = false;

	if (!JS_IsObject(argv[0]) || !JS_IsFunction(ctx, argv[1])) {
		JS_Throw(ctx, mod_fog_error(ctx, "app_start", "bad_request", "appStart(opts, onEvent)"));
		return JS_EXCEPTION;
	}
	name = prop_str(ctx, argv[0], "name");
	version = prop_str(ctx, argv[0], "version");
	dir = prop_str(ctx, argv[0], "storageDir");
	caps = prop_strs(ctx, argv[0], "caps", 8, &n_caps, &bad);
	hosts = prop_strs(ctx, argv[0], "fetchHosts", SANDBOX_MAX_HOSTS, &n_hosts, &bad);
	src_v = JS_GetPropertyStr(ctx, argv[0], "source");
	if (JS_IsString(src_v))
		src = JS_ToCStringLen(ctx, &c.source_len, src_v);
	if (!get_u64(ctx, argv[0], "memoryBytes", &mem, 0) ||
	    !get_u64(ctx, argv[0], "shares", &shares, 0) ||
	    !get_u64(ctx, argv[0], "storageQuota", &quota, 0) ||
	    !get_u64(ctx, argv[0], "uploadBytesPerSec", &upload, 0) || !name || !src || bad ||
	    mem > SIZE_MAX || shares > SANDBOX_SHARES_MAX) {
		JS_Throw(ctx, mod_fog_error(ctx, "app_start", "bad_request",
					    "appStart: name, source, memoryBytes, shares, caps"));
		goto out;
	}
	for (size_t i = 0; i < n_caps; i++) {
		if (strcmp(caps[i], "messages") == 0)
			c.caps |= SANDBOX_CAP_MESSAGES;
		else if (strcmp(caps[i], "kv") == 0)
			c.caps |= SANDBOX_CAP_KV;
		else if (strcmp(caps[i], "fetch") == 0)
			c.caps |= SANDBOX_CAP_FETCH;
		/* "wifi" is answered by the agent through messages; unknown names grant nothing */
	}
	if (apps_memory() + mem > g_apps_memory_cap) {
		JS_Throw(ctx, mod_fog_error(ctx, "app_start", "over_capacity",
					    "appStart: apps' memory would be %llu of %llu bytes allowed",
					    (unsigned long long)(apps_memory() + mem),
					    (unsigned long long)g_apps_memory_cap));
		goto out;
	}
	c.name = name;
	c.source = src;
	c.memory_limit = (size_t)mem;
	c.shares = (uint32_t)shares;
	c.storage_dir = dir;
	c.storage_quota = quota;
	c.fetch_hosts = (const char *const *)hosts;
	c.n_fetch_hosts = n_hosts;
	c.upload_rate = upload;
	if (!(s = fsb_start(ctx, &c, true)))
		goto out;
	snprintf(s->version, sizeof(s->version), "%s", version ? version : "");
	s->on_event = JS_DupValue(ctx, argv[1]);
	rv = JS_NewUint32(ctx, s->id);
out:
	JS_FreeCString(ctx, src);
	JS_FreeValue(ctx, src_v);
	free(name);
	free(version);
	free(dir);
	strs_free(caps, n_caps);
	strs_free(hosts, n_hosts);
	return rv;
}

static JSValue closed(JSContext *ctx, const char *op)
{
	JS_Throw(ctx, mod_fog_error(ctx, op, "closed", "%s: no such running app", op));
	return JS_EXCEPTION;
}

/* appPost(id, json) */
JSValue mod_fog_app_post(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_sb *s = app_by_id(ctx, argv[0]);
	size_t len;
	const char *json;
	int rc;

	if (!s)
		return closed(ctx, "app_post");
	if (!(json = JS_ToCStringLen(ctx, &len, argv[1])))
		return JS_EXCEPTION;
	rc = sandbox_post(s->sb, json, len);
	JS_FreeCString(ctx, json);
	if (rc == -EPIPE)
		return closed(ctx, "app_post");
	if (rc < 0) {
		JS_Throw(ctx, mod_fog_error(ctx, "app_post", rc == -EAGAIN ? "busy" : "too_large",
					    "app_post: %s", strerror(-rc)));
		return JS_EXCEPTION;
	}
	return JS_UNDEFINED;
}

/* appReply(id, reqId, ok, json) */
JSValue mod_fog_app_reply(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_sb *s = app_by_id(ctx, argv[0]);
	uint32_t req;
	size_t len;
	const char *json;
	int rc;

	if (!s)
		return closed(ctx, "app_reply");
	if (JS_ToUint32(ctx, &req, argv[1]) < 0 || !(json = JS_ToCStringLen(ctx, &len, argv[3])))
		return JS_EXCEPTION;
	rc = sandbox_reply(s->sb, req, JS_ToBool(ctx, argv[2]), json, len);
	JS_FreeCString(ctx, json);
	return rc < 0 && rc != -EPIPE ? JS_ThrowRangeError(ctx, "app_reply: %s", strerror(-rc))
				      : JS_UNDEFINED;
}

/* appStop(id): the "exit" event follows (status "stopped"). */
JSValue mod_fog_app_stop(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_sb *s = app_by_id(ctx, argv[0]);

	if (s)
		sandbox_stop(s->sb);
	return JS_NewBool(ctx, s != NULL);
}

static JSValue info_obj(JSContext *ctx, struct fog_sb *s)
{
	struct sandbox_info i;
	JSValue o = JS_NewObject(ctx);

	sandbox_get_info(s->sb, &i);
	JS_SetPropertyStr(ctx, o, "id", JS_NewUint32(ctx, s->id));
	JS_SetPropertyStr(ctx, o, "name", JS_NewString(ctx, s->name));
	JS_SetPropertyStr(ctx, o, "version", JS_NewString(ctx, s->version));
	JS_SetPropertyStr(ctx, o, "status", JS_NewString(ctx, sandbox_status_name(i.status)));
	JS_SetPropertyStr(ctx, o, "cpuMs", JS_NewInt64(ctx, (int64_t)i.cpu_ms));
	JS_SetPropertyStr(ctx, o, "throttledMs", JS_NewInt64(ctx, (int64_t)i.throttled_ms));
	JS_SetPropertyStr(ctx, o, "memoryBytes", JS_NewInt64(ctx, (int64_t)i.memory_bytes));
	JS_SetPropertyStr(ctx, o, "memoryLimit", JS_NewInt64(ctx, (int64_t)i.memory_limit));
	JS_SetPropertyStr(ctx, o, "shares", JS_NewUint32(ctx, i.shares));
	JS_SetPropertyStr(ctx, o, "uploadRate", JS_NewInt64(ctx, (int64_t)i.upload_rate));
	JS_SetPropertyStr(ctx, o, "uploadBytes", JS_NewInt64(ctx, (int64_t)i.upload_bytes));
	JS_SetPropertyStr(ctx, o, "uploadRefused", JS_NewInt64(ctx, (int64_t)i.upload_refused));
	return o;
}

/* appInfo(id) → {...} | null */
JSValue mod_fog_app_info(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_sb *s = app_by_id(ctx, argv[0]);

	return s ? info_obj(ctx, s) : JS_NULL;
}

/* appLogs(id) → string | null */
JSValue mod_fog_app_logs(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct fog_sb *s = app_by_id(ctx, argv[0]);
	char *logs;
	JSValue rv;

	if (!s)
		return JS_NULL;
	if (!(logs = sandbox_logs(s->sb)))
		return JS_ThrowOutOfMemory(ctx);
	rv = JS_NewString(ctx, logs);
	free(logs);
	return rv;
}

/* appLimits({cpuPermille?, periodMs?, memoryBytes?, uploadBytesPerSec?}) — upload: all apps'
 * sends to browsers together, bytes/s, 0 = no total (absent: unchanged). */
JSValue mod_fog_app_limits(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	uint64_t cpu, period, mem, upload;

	if (!JS_IsObject(argv[0]) || !get_u64(ctx, argv[0], "cpuPermille", &cpu, 0) ||
	    !get_u64(ctx, argv[0], "periodMs", &period, 0) ||
	    !get_u64(ctx, argv[0], "memoryBytes", &mem, 0) ||
	    !get_u64(ctx, argv[0], "uploadBytesPerSec", &upload, UINT64_MAX) || cpu > 64000 ||
	    period > 10000)
		return JS_ThrowRangeError(ctx, "appLimits: cpuPermille ≤ 64000, periodMs ≤ 10000");
	mod_fog_sandbox_limits((uint32_t)cpu, (uint32_t)period, mem);
	if (upload != UINT64_MAX)
		mod_fog_sandbox_upload_total(upload);
	return JS_UNDEFINED;
}

/* ---- the router owner's control operations -------------------------------------------- */

void mod_fog_sandbox_limits(uint32_t cpu_permille, uint32_t period_ms, uint64_t memory_bytes)
{
	if (cpu_permille || period_ms)
		sandbox_sched_set(cpu_permille, period_ms);
	if (memory_bytes)
		g_apps_memory_cap = memory_bytes;
}

void mod_fog_sandbox_upload_total(uint64_t bytes_per_sec)
{
	app_allowance_set_total(bytes_per_sec, monotime_ms());
}

void mod_fog_sandbox_ctl_list(struct ctl_json_out *o)
{
	bool first = true;

	ctl_json_out_raw(o, ",\"apps\":[", strlen(",\"apps\":["));
	for (struct fog_sb *s = g_list; s; s = s->next) {
		struct sandbox_info i;

		if (!s->is_app)
			continue;
		sandbox_get_info(s->sb, &i);
		const char *open = first ? "{\"name\":" : ",{\"name\":";

		ctl_json_out_raw(o, open, strlen(open));
		first = false;
		ctl_json_out_str(o, s->name, strlen(s->name));
		ctl_json_out_raw(o, ",\"version\":", strlen(",\"version\":"));
		ctl_json_out_str(o, s->version, strlen(s->version));
		ctl_json_out_fmt(o,
				 ",\"state\":\"%s\",\"cpu_ms\":%llu,\"throttled_ms\":%llu,"
				 "\"memory_bytes\":%llu,\"memory_limit\":%llu,\"shares\":%u,"
				 "\"upload_rate\":%llu,\"upload_bytes\":%llu,\"upload_refused\":%llu}",
				 i.status == SANDBOX_RUNNING && !s->owner_stopped ? "running" : "stopping",
				 (unsigned long long)i.cpu_ms, (unsigned long long)i.throttled_ms,
				 (unsigned long long)i.memory_bytes, (unsigned long long)i.memory_limit,
				 i.shares, (unsigned long long)i.upload_rate,
				 (unsigned long long)i.upload_bytes, (unsigned long long)i.upload_refused);
	}
	ctl_json_out_fmt(o, "],\"apps_memory\":%llu,\"apps_memory_cap\":%llu,\"apps_upload\":%llu",
			 (unsigned long long)apps_memory(), (unsigned long long)g_apps_memory_cap,
			 (unsigned long long)app_allowance_total());
}

int mod_fog_sandbox_ctl_stop(const char *name)
{
	for (struct fog_sb *s = g_list; s; s = s->next) {
		if (s->is_app && strcmp(s->name, name) == 0) {
			s->owner_stopped = true;
			sandbox_stop(s->sb);
			return 0;
		}
	}
	return -ENOENT;
}

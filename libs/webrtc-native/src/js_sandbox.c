/* js_sandbox: a QuickJS-ng runtime per task/app on its own thread.  See js_sandbox.h. */
#include "js_sandbox.h"
#include "monotime.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <quickjs.h>

#include "app_channel.h"
#include "log.h"

#define MAX_FETCHES 16

struct sb_msg {
	struct sb_msg *next;
	enum sandbox_event_type type; /* outbox: the event; inbox: POST (message) or FETCH (reply) */
	enum sandbox_status status;
	uint32_t id;
	bool ok;
	char *data;
	size_t len;
};

struct sb_timer {
	struct sb_timer *next;
	uint64_t due_ns, seq;
	uint32_t id;
	JSValue fn;
};

struct sb_fetch {
	uint32_t id;
	JSValue funcs[2];
};

struct sandbox {
	/* set before the thread starts, read-only after */
	enum sandbox_kind kind;
	char name[64];
	char *source;
	size_t source_len;
	char *input;
	size_t memory_limit;
	uint64_t cpu_limit_ns;
	uint32_t shares;
	uint32_t caps;
	char *storage_dir;
	uint64_t storage_quota;
	char *hosts[SANDBOX_MAX_HOSTS];
	size_t n_hosts;
	struct app_allowance upload; /* pear.send: app_channel.h's mutex guards it */

	pthread_t thread;
	bool started;
	int efd;

	/* shared: under mu */
	pthread_mutex_t mu;
	pthread_cond_t cond; /* wakes the thread: inbox, stop */
	struct sb_msg *out_head, *out_tail;
	size_t n_out;
	struct sb_msg *in_head, *in_tail;
	size_t n_in;
	char log[SANDBOX_LOG_RING];
	size_t log_start, log_len;
	bool busy; /* counted in the scheduler's active shares */

	_Atomic bool stop_req;
	_Atomic bool oom;
	_Atomic int status;
	_Atomic uint64_t mem_used;
	_Atomic uint64_t cpu_ns;
	_Atomic uint64_t throttled_ns;

	/* sandbox thread only */
	bool timed_out;
	uint64_t period_idx, period_cpu0;
	JSValue on_message;
	struct sb_timer *timers;
	size_t n_timers;
	uint32_t next_timer_id;
	uint64_t timer_seq;
	struct sb_fetch fetches[MAX_FETCHES];
	uint32_t next_fetch_id;
	uint64_t kv_used;
};

/* ---- the scheduler: weighted fair share of a CPU budget ------------------------------ */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_permille = SANDBOX_CPU_PERMILLE_DEFAULT;
static uint32_t g_period_ms = SANDBOX_PERIOD_MS_DEFAULT;
static uint64_t g_active_shares;

void sandbox_sched_set(uint32_t cpu_permille, uint32_t period_ms)
{
	pthread_mutex_lock(&g_mu);
	g_permille = cpu_permille ? (cpu_permille > 64000 ? 64000 : cpu_permille)
				  : SANDBOX_CPU_PERMILLE_DEFAULT;
	g_period_ms = period_ms ? (period_ms < 10 ? 10 : period_ms > 10000 ? 10000 : period_ms)
				: SANDBOX_PERIOD_MS_DEFAULT;
	pthread_mutex_unlock(&g_mu);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_busy(struct sandbox *sb, bool busy)
{
	pthread_mutex_lock(&g_mu);
	if (busy != sb->busy) {
		sb->busy = busy;
		if (busy)
			g_active_shares += sb->shares;
		else
			g_active_shares -= sb->shares;
	}
	pthread_mutex_unlock(&g_mu);
}

/* Sleep on sb->cond until abs_ns (CLOCK_MONOTONIC) or a wake-up. Call with sb->mu held. */
static void wait_until(struct sandbox *sb, uint64_t abs_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(abs_ns / 1000000000u),
			       .tv_nsec = (long)(abs_ns % 1000000000u) };

	pthread_cond_timedwait(&sb->cond, &sb->mu, &ts);
}

/* A busy sandbox past its part of this period's budget sleeps until the next period:
 * part = period × permille/1000 × shares / (shares of all busy sandboxes). */
static void throttle(struct sandbox *sb, uint64_t cpu)
{
	uint64_t period_ns, now = monotime_ns(), idx, allow, active;
	uint32_t permille;

	pthread_mutex_lock(&g_mu);
	period_ns = (uint64_t)g_period_ms * 1000000u;
	permille = g_permille;
	active = g_active_shares ? g_active_shares : sb->shares;
	pthread_mutex_unlock(&g_mu);
	idx = now / period_ns;
	if (idx != sb->period_idx) {
		sb->period_idx = idx;
		sb->period_cpu0 = cpu;
		return;
	}
	allow = period_ns / 1000 * permille / active * sb->shares;
	if (cpu - sb->period_cpu0 < allow)
		return;
	pthread_mutex_lock(&sb->mu);
	while (!atomic_load(&sb->stop_req) && monotime_ns() < (idx + 1) * period_ns)
		wait_until(sb, (idx + 1) * period_ns);
	pthread_mutex_unlock(&sb->mu);
	atomic_fetch_add(&sb->throttled_ns, monotime_ns() - now);
	sb->period_idx = idx + 1;
	sb->period_cpu0 = thread_cpu_ns();
}

static int sb_interrupt(JSRuntime *rt, void *opaque)
{
	struct sandbox *sb = opaque;
	uint64_t cpu;

	if (atomic_load(&sb->stop_req) || atomic_load(&sb->oom))
		return 1;
	cpu = thread_cpu_ns();
	atomic_store(&sb->cpu_ns, cpu);
	if (sb->cpu_limit_ns && cpu > sb->cpu_limit_ns) {
		sb->timed_out = true;
		return 1;
	}
	throttle(sb, cpu);
	return atomic_load(&sb->stop_req);
}

/* ---- the runtime's allocator: everything counts against memory_limit ---------------- */

static bool mem_take(struct sandbox *sb, size_t n)
{
	if (atomic_load(&sb->mem_used) + n > sb->memory_limit) {
		atomic_store(&sb->oom, true);
		return false;
	}
	return true;
}

static void *sb_calloc(void *opaque, size_t count, size_t size)
{
	struct sandbox *sb = opaque;
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	if (!mem_take(sb, count * size) || !(p = calloc(count, size)))
		return NULL;
	atomic_fetch_add(&sb->mem_used, malloc_usable_size(p));
	return p;
}

static void *sb_malloc(void *opaque, size_t size)
{
	struct sandbox *sb = opaque;
	void *p;

	if (!mem_take(sb, size) || !(p = malloc(size)))
		return NULL;
	atomic_fetch_add(&sb->mem_used, malloc_usable_size(p));
	return p;
}

static void sb_free(void *opaque, void *ptr)
{
	struct sandbox *sb = opaque;

	if (!ptr)
		return;
	atomic_fetch_sub(&sb->mem_used, malloc_usable_size(ptr));
	free(ptr);
}

static void *sb_realloc(void *opaque, void *ptr, size_t size)
{
	struct sandbox *sb = opaque;
	size_t old = ptr ? malloc_usable_size(ptr) : 0;
	void *p;

	if (!ptr)
		return sb_malloc(opaque, size);
	if (!size) {
		sb_free(opaque, ptr);
		return NULL;
	}
	if (size > old && !mem_take(sb, size - old))
		return NULL;
	if (!(p = realloc(ptr, size)))
		return NULL;
	atomic_fetch_sub(&sb->mem_used, old);
	atomic_fetch_add(&sb->mem_used, malloc_usable_size(p));
	return p;
}

static size_t sb_usable_size(const void *ptr)
{
	return malloc_usable_size((void *)ptr);
}

static const JSMallocFunctions sb_mf = {
	.js_calloc = sb_calloc,
	.js_malloc = sb_malloc,
	.js_free = sb_free,
	.js_realloc = sb_realloc,
	.js_malloc_usable_size = sb_usable_size,
};

/* ---- queues ------------------------------------------------------------------------- */

static struct sb_msg *msg_new(enum sandbox_event_type type, const char *data, size_t len)
{
	struct sb_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->type = type;
	if (data) {
		if (!(m->data = malloc(len + 1))) {
			free(m);
			return NULL;
		}
		memcpy(m->data, data, len);
		m->data[len] = 0;
		m->len = len;
	}
	return m;
}

static void msgs_free(struct sb_msg *m)
{
	while (m) {
		struct sb_msg *next = m->next;

		free(m->data);
		free(m);
		m = next;
	}
}

/* Outbox push (sandbox thread): false when full (events other than DONE). */
static bool out_push(struct sandbox *sb, struct sb_msg *m)
{
	uint64_t one = 1;
	bool ok = true;

	pthread_mutex_lock(&sb->mu);
	if (m->type != SANDBOX_EV_DONE && sb->n_out >= SANDBOX_MAX_QUEUE) {
		ok = false;
	} else {
		if (sb->out_tail)
			sb->out_tail->next = m;
		else
			sb->out_head = m;
		sb->out_tail = m;
		sb->n_out++;
		if (write(sb->efd, &one, sizeof(one)) < 0) {
			/* eventfd overflow is impossible at these counts; nothing to do */
		}
	}
	pthread_mutex_unlock(&sb->mu);
	if (!ok)
		msgs_free(m);
	return ok;
}

bool sandbox_next_event(struct sandbox *sb, struct sandbox_event *ev)
{
	struct sb_msg *m;
	uint64_t v;

	pthread_mutex_lock(&sb->mu);
	m = sb->out_head;
	if (m) {
		sb->out_head = m->next;
		if (!sb->out_head)
			sb->out_tail = NULL;
		sb->n_out--;
	}
	if (!sb->out_head && read(sb->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: counter already zero */
	}
	pthread_mutex_unlock(&sb->mu);
	if (!m)
		return false;
	ev->type = m->type;
	ev->status = m->status;
	ev->id = m->id;
	ev->data = m->data;
	free(m);
	return true;
}

static int in_push(struct sandbox *sb, enum sandbox_event_type type, uint32_t id, bool ok,
		   const char *data, size_t len)
{
	struct sb_msg *m;
	int rc = 0;

	if (len > SANDBOX_MAX_MESSAGE)
		return -EMSGSIZE;
	if (!(m = msg_new(type, data, len)))
		return -ENOMEM;
	m->id = id;
	m->ok = ok;
	pthread_mutex_lock(&sb->mu);
	if (atomic_load(&sb->status) != SANDBOX_RUNNING || atomic_load(&sb->stop_req))
		rc = -EPIPE;
	else if (sb->n_in >= SANDBOX_MAX_QUEUE)
		rc = -EAGAIN;
	if (!rc) {
		if (sb->in_tail)
			sb->in_tail->next = m;
		else
			sb->in_head = m;
		sb->in_tail = m;
		sb->n_in++;
		pthread_cond_broadcast(&sb->cond);
	}
	pthread_mutex_unlock(&sb->mu);
	if (rc)
		msgs_free(m);
	return rc;
}

int sandbox_post(struct sandbox *sb, const char *json, size_t len)
{
	if (sb->kind != SANDBOX_APP)
		return -EINVAL;
	return in_push(sb, SANDBOX_EV_POST, 0, true, json, len);
}

int sandbox_reply(struct sandbox *sb, uint32_t id, bool ok, const char *json, size_t len)
{
	if (sb->kind != SANDBOX_APP)
		return -EINVAL;
	return in_push(sb, SANDBOX_EV_FETCH, id, ok, json, len);
}

/* ---- log ring ----------------------------------------------------------------------- */

static void log_append(struct sandbox *sb, const char *s, size_t n)
{
	pthread_mutex_lock(&sb->mu);
	for (size_t i = 0; i < n; i++) {
		size_t at = (sb->log_start + sb->log_len) % SANDBOX_LOG_RING;

		sb->log[at] = s[i];
		if (sb->log_len < SANDBOX_LOG_RING)
			sb->log_len++;
		else
			sb->log_start = (sb->log_start + 1) % SANDBOX_LOG_RING;
	}
	pthread_mutex_unlock(&sb->mu);
}

char *sandbox_logs(struct sandbox *sb)
{
	char *s;

	pthread_mutex_lock(&sb->mu);
	if ((s = malloc(sb->log_len + 1))) {
		for (size_t i = 0; i < sb->log_len; i++)
			s[i] = sb->log[(sb->log_start + i) % SANDBOX_LOG_RING];
		s[sb->log_len] = 0;
	}
	pthread_mutex_unlock(&sb->mu);
	return s;
}

static void log_line(struct sandbox *sb, const char *level, const char *msg)
{
	char pre[64];
	int n = snprintf(pre, sizeof(pre), "%s ", level);

	log_append(sb, pre, (size_t)n);
	log_append(sb, msg, strlen(msg));
	log_append(sb, "\n", 1);
}

/* ---- helpers on the sandbox thread --------------------------------------------------- */

static struct sandbox *sb_of(JSContext *ctx)
{
	return JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
}

/* The pending exception as text ("Error: msg"); frees it. */
static char *exception_text(JSContext *ctx)
{
	JSValue e = JS_GetException(ctx);
	const char *s = JS_ToCString(ctx, e);
	char *copy = strdup(s ? s : "exception");

	JS_FreeCString(ctx, s);
	JS_FreeValue(ctx, e);
	return copy;
}

/* Why did JS stop with an exception: the limits first (the exception itself may be an
 * "out of memory" or "interrupted" error the script could not have prevented). */
static enum sandbox_status classify(struct sandbox *sb)
{
	if (atomic_load(&sb->stop_req))
		return SANDBOX_STOPPED;
	if (atomic_load(&sb->oom))
		return SANDBOX_MEMORY;
	if (sb->timed_out)
		return SANDBOX_TIMEOUT;
	return SANDBOX_THROW;
}

static bool fatal(struct sandbox *sb)
{
	return atomic_load(&sb->stop_req) || atomic_load(&sb->oom) || sb->timed_out;
}

/* ---- tasks -------------------------------------------------------------------------- */

static enum sandbox_status run_task(struct sandbox *sb, JSContext *ctx, char **result)
{
	JSRuntime *rt = JS_GetRuntime(ctx);
	JSValue v, fn, global, input, res, str;
	enum sandbox_status st;
	size_t len;
	const char *s;

	v = JS_Eval(ctx, sb->source, sb->source_len, "<task>", JS_EVAL_TYPE_GLOBAL);
	if (JS_IsException(v))
		goto exc;
	JS_FreeValue(ctx, v);
	global = JS_GetGlobalObject(ctx);
	fn = JS_GetPropertyStr(ctx, global, "task");
	JS_FreeValue(ctx, global);
	if (!JS_IsFunction(ctx, fn)) {
		JS_FreeValue(ctx, fn);
		*result = strdup("TypeError: the source defines no function task(input)");
		return SANDBOX_THROW;
	}
	input = sb->input ? JS_ParseJSON(ctx, sb->input, strlen(sb->input), "<input>") : JS_NULL;
	if (JS_IsException(input)) {
		JS_FreeValue(ctx, fn);
		if (fatal(sb))
			goto exc;
		JS_FreeValue(ctx, JS_GetException(ctx));
		*result = strdup("input is not JSON");
		return SANDBOX_ERROR;
	}
	res = JS_Call(ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&input);
	JS_FreeValue(ctx, fn);
	JS_FreeValue(ctx, input);
	if (JS_IsException(res))
		goto exc;
	if (JS_IsPromise(res)) {
		for (;;) {
			JSContext *c2;
			int r;

			if (JS_PromiseState(ctx, res) != JS_PROMISE_PENDING)
				break;
			r = JS_ExecutePendingJob(rt, &c2);
			if (r < 0) {
				JS_FreeValue(ctx, res);
				goto exc;
			}
			if (r == 0)
				break;
		}
		switch (JS_PromiseState(ctx, res)) {
		case JS_PROMISE_FULFILLED:
			v = JS_PromiseResult(ctx, res);
			JS_FreeValue(ctx, res);
			res = v;
			break;
		case JS_PROMISE_REJECTED:
			v = JS_PromiseResult(ctx, res);
			JS_FreeValue(ctx, res);
			JS_Throw(ctx, v);
			goto exc;
		default:
			JS_FreeValue(ctx, res);
			*result = strdup("the task's promise never settled");
			return SANDBOX_THROW;
		}
	}
	str = JS_JSONStringify(ctx, res, JS_UNDEFINED, JS_UNDEFINED);
	JS_FreeValue(ctx, res);
	if (JS_IsException(str)) {
		if (fatal(sb))
			goto exc;
		*result = exception_text(ctx);
		return SANDBOX_BAD_RESULT;
	}
	if (JS_IsUndefined(str)) {
		*result = strdup("the result is not a JSON value (undefined or a function)");
		return SANDBOX_BAD_RESULT;
	}
	s = JS_ToCStringLen(ctx, &len, str);
	JS_FreeValue(ctx, str);
	if (!s)
		goto exc;
	if (len > SANDBOX_MAX_MESSAGE) {
		JS_FreeCString(ctx, s);
		*result = strdup("the result is over SANDBOX_MAX_MESSAGE bytes");
		return SANDBOX_BAD_RESULT;
	}
	*result = strdup(s);
	JS_FreeCString(ctx, s);
	return SANDBOX_OK;
exc:
	st = classify(sb);
	*result = exception_text(ctx);
	return st;
}

/* ---- apps: globals ------------------------------------------------------------------ */

static JSValue app_console(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
			   int magic)
{
	static const char *const levels[] = { "info", "warn", "error", "debug" };
	struct sandbox *sb = sb_of(ctx);
	char line[2048];
	size_t at = 0;

	line[0] = 0;
	for (int i = 0; i < argc && at < sizeof(line) - 1; i++) {
		const char *s = JS_ToCString(ctx, argv[i]);

		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%s", i ? " " : "",
				       s ? s : "?");
		JS_FreeCString(ctx, s);
	}
	log_line(sb, levels[magic & 3], line);
	return JS_UNDEFINED;
}

static JSValue app_set_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	struct sb_timer *t, **at;
	double ms = 0;

	if (!JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "setTimeout(fn, ms): fn is not a function");
	if (argc > 1 && JS_ToFloat64(ctx, &ms, argv[1]) < 0)
		return JS_EXCEPTION;
	if (sb->n_timers >= SANDBOX_MAX_TIMERS)
		return JS_ThrowRangeError(ctx, "setTimeout: more than %d timers",
					  SANDBOX_MAX_TIMERS);
	if (!(ms >= 0))
		ms = 0;
	if (ms > 2147483647.0)
		ms = 2147483647.0;
	if (!(t = calloc(1, sizeof(*t))))
		return JS_ThrowOutOfMemory(ctx);
	t->due_ns = monotime_ns() + (uint64_t)ms * 1000000u;
	t->seq = ++sb->timer_seq;
	t->id = ++sb->next_timer_id ? sb->next_timer_id : ++sb->next_timer_id;
	t->fn = JS_DupValue(ctx, argv[0]);
	for (at = &sb->timers; *at && (*at)->due_ns <= t->due_ns; at = &(*at)->next)
		;
	t->next = *at;
	*at = t;
	sb->n_timers++;
	return JS_NewUint32(ctx, t->id);
}

static JSValue app_clear_timeout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	uint32_t id;

	if (!JS_IsNumber(argv[0]) || JS_ToUint32(ctx, &id, argv[0]) < 0)
		return JS_UNDEFINED;
	for (struct sb_timer **at = &sb->timers; *at; at = &(*at)->next) {
		if ((*at)->id == id) {
			struct sb_timer *t = *at;

			*at = t->next;
			JS_FreeValue(ctx, t->fn);
			free(t);
			sb->n_timers--;
			break;
		}
	}
	return JS_UNDEFINED;
}

static JSValue app_on_message(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);

	if (!JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "pear.onMessage(fn): fn is not a function");
	JS_FreeValue(ctx, sb->on_message);
	sb->on_message = JS_DupValue(ctx, argv[0]);
	return JS_UNDEFINED;
}

/* JSON.stringify(v) as a C string (JS_FreeCString it), or NULL with an exception thrown
 * (a TypeError naming `what` when v has no JSON form). */
static const char *json_of(JSContext *ctx, JSValueConst v, const char *what, size_t *len)
{
	JSValue str = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
	const char *s;

	if (JS_IsException(str))
		return NULL;
	if (JS_IsUndefined(str)) {
		JS_ThrowTypeError(ctx, "%s: value is not JSON", what);
		return NULL;
	}
	s = JS_ToCStringLen(ctx, len, str);
	JS_FreeValue(ctx, str);
	return s;
}

static JSValue app_post(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	size_t len;
	const char *s = json_of(ctx, argv[0], "pear.post(value)", &len);
	struct sb_msg *m;

	if (!s)
		return JS_EXCEPTION;
	if (len > SANDBOX_MAX_MESSAGE) {
		JS_FreeCString(ctx, s);
		return JS_ThrowRangeError(ctx, "pear.post: message over %u bytes", SANDBOX_MAX_MESSAGE);
	}
	m = msg_new(SANDBOX_EV_POST, s, len);
	JS_FreeCString(ctx, s);
	if (!m)
		return JS_ThrowOutOfMemory(ctx);
	if (!out_push(sb, m))
		return JS_ThrowRangeError(ctx, "pear.post: %d messages undelivered", SANDBOX_MAX_QUEUE);
	return JS_UNDEFINED;
}

/* fetch(url): only http(s) URLs whose host (case-insensitive, no port) is listed. */
static bool url_host_allowed(struct sandbox *sb, const char *url)
{
	const char *h, *end;
	size_t n;

	if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else
		return false;
	for (end = h; *end && !strchr(":/?#@", *end); end++)
		;
	if (*end == '@') /* userinfo: refused (RFC 3986 §3.2.1 is deprecated for http) */
		return false;
	n = (size_t)(end - h);
	for (size_t i = 0; i < sb->n_hosts; i++)
		if (strlen(sb->hosts[i]) == n && strncasecmp(sb->hosts[i], h, n) == 0)
			return true;
	return false;
}

static JSValue app_error(JSContext *ctx, const char *code, const char *msg)
{
	JSValue e = JS_NewError(ctx);

	JS_SetPropertyStr(ctx, e, "message", JS_NewString(ctx, msg));
	JS_SetPropertyStr(ctx, e, "code", JS_NewString(ctx, code));
	return e;
}

static JSValue app_fetch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	const char *url = JS_ToCString(ctx, argv[0]);
	struct sb_fetch *slot = NULL;
	JSValue p, funcs[2];
	struct sb_msg *m;

	if (!url)
		return JS_EXCEPTION;
	for (size_t i = 0; i < MAX_FETCHES; i++)
		if (!sb->fetches[i].id)
			slot = &sb->fetches[i];
	if (!url_host_allowed(sb, url) || !slot) {
		JSValue e = slot ? app_error(ctx, "not_allowed", "fetch: host not in the manifest's list")
				 : app_error(ctx, "busy", "fetch: too many requests in flight");

		JS_FreeCString(ctx, url);
		JS_Throw(ctx, e);
		return JS_EXCEPTION;
	}
	p = JS_NewPromiseCapability(ctx, funcs);
	if (JS_IsException(p)) {
		JS_FreeCString(ctx, url);
		return p;
	}
	m = msg_new(SANDBOX_EV_FETCH, url, strlen(url));
	JS_FreeCString(ctx, url);
	slot->id = ++sb->next_fetch_id ? sb->next_fetch_id : ++sb->next_fetch_id;
	if (!m || (m->id = slot->id, !out_push(sb, m))) {
		slot->id = 0;
		JS_FreeValue(ctx, funcs[0]);
		JS_FreeValue(ctx, funcs[1]);
		JS_FreeValue(ctx, p);
		return JS_ThrowRangeError(ctx, "fetch: queue full");
	}
	slot->funcs[0] = funcs[0];
	slot->funcs[1] = funcs[1];
	return p;
}

/* pear.send(browser, value): a message to a browser on an app channel (docs/apps.md).  The
 * JSON's bytes are taken from the app's upload allowance and the owner's total first; a
 * refusal throws an Error with code (app_channel_strerror) and retryMs. */
static JSValue app_send(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	uint32_t to;
	JSValue e;
	const char *s;
	size_t len;
	uint64_t retry;
	int rc;
	struct sb_msg *m;

	if (!JS_IsNumber(argv[0]) || JS_ToUint32(ctx, &to, argv[0]) < 0 || to == 0)
		return JS_ThrowTypeError(ctx, "pear.send(browser, value): browser is an id from onMessage");
	if (!(s = json_of(ctx, argv[1], "pear.send(browser, value)", &len)))
		return JS_EXCEPTION;
	rc = app_allowance_take(&sb->upload, len, monotime_ms(), &retry);
	if (rc != APP_CHANNEL_OK) {
		JS_FreeCString(ctx, s);
		e = app_error(ctx, app_channel_strerror(rc),
			      rc == APP_CHANNEL_E_TOO_LARGE	 ? "pear.send: message over 65536 bytes"
			      : rc == APP_CHANNEL_E_NO_ALLOWANCE ? "pear.send: the manifest's uploadKiBps is 0"
			      : rc == APP_CHANNEL_E_OVER_TOTAL	 ? "pear.send: over the router's total for apps now"
								 : "pear.send: over the app's uploadKiBps now");
		if (retry != TOKEN_BUCKET_NEVER)
			JS_SetPropertyStr(ctx, e, "retryMs", JS_NewInt64(ctx, (int64_t)retry));
		JS_Throw(ctx, e);
		return JS_EXCEPTION;
	}
	m = msg_new(SANDBOX_EV_SEND, s, len);
	JS_FreeCString(ctx, s);
	if (!m)
		return JS_ThrowOutOfMemory(ctx);
	m->id = to;
	if (!out_push(sb, m)) {
		JS_Throw(ctx, app_error(ctx, "busy", "pear.send: too many messages undelivered"));
		return JS_EXCEPTION;
	}
	return JS_UNDEFINED;
}

/* kv: one file per key under storage_dir; keys [A-Za-z0-9._-]{1,128}, not starting '.'. */
static bool key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > SANDBOX_MAX_KEY || k[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("._-", k[i]))
			return false;
	return true;
}

static const char *kv_key(JSContext *ctx, JSValueConst v, char *path, size_t cap)
{
	struct sandbox *sb = sb_of(ctx);
	const char *k = JS_ToCString(ctx, v);

	if (!k)
		return NULL;
	if (!key_ok(k)) {
		JS_FreeCString(ctx, k);
		JS_ThrowTypeError(ctx, "kv: key must be 1..%d of [A-Za-z0-9._-], not starting with '.'",
				  SANDBOX_MAX_KEY);
		return NULL;
	}
	snprintf(path, cap, "%s/%s", sb->storage_dir, k);
	return k;
}

static int64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static JSValue kv_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	char path[4200];
	const char *k = kv_key(ctx, argv[0], path, sizeof(path));
	JSValue rv;
	char *buf;
	int64_t size;
	FILE *f;

	if (!k)
		return JS_EXCEPTION;
	JS_FreeCString(ctx, k);
	if ((size = file_size(path)) < 0 || !(f = fopen(path, "rb")))
		return JS_NULL;
	if (!(buf = malloc((size_t)size + 1))) {
		fclose(f);
		return JS_ThrowOutOfMemory(ctx);
	}
	size = (int64_t)fread(buf, 1, (size_t)size, f);
	fclose(f);
	rv = JS_NewStringLen(ctx, buf, (size_t)size);
	free(buf);
	return rv;
}

static JSValue kv_set(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	char path[4200], tmp[4300];
	const char *k = kv_key(ctx, argv[0], path, sizeof(path));
	const char *v;
	size_t len;
	int64_t old;
	FILE *f;
	bool ok;

	if (!k)
		return JS_EXCEPTION;
	JS_FreeCString(ctx, k);
	if (!(v = JS_ToCStringLen(ctx, &len, argv[1])))
		return JS_EXCEPTION;
	old = file_size(path);
	if (sb->kv_used - (old > 0 ? (uint64_t)old : 0) + len > sb->storage_quota) {
		JS_FreeCString(ctx, v);
		JS_Throw(ctx, app_error(ctx, "quota", "kv.set: storage quota reached"));
		return JS_EXCEPTION;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	ok = f && fwrite(v, 1, len, f) == len;
	ok = f && fclose(f) == 0 && ok;
	JS_FreeCString(ctx, v);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		JS_Throw(ctx, app_error(ctx, "io", "kv.set: write failed"));
		return JS_EXCEPTION;
	}
	sb->kv_used = sb->kv_used - (old > 0 ? (uint64_t)old : 0) + len;
	return JS_UNDEFINED;
}

static JSValue kv_delete(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	char path[4200];
	const char *k = kv_key(ctx, argv[0], path, sizeof(path));
	int64_t old;

	if (!k)
		return JS_EXCEPTION;
	JS_FreeCString(ctx, k);
	old = file_size(path);
	if (old < 0 || unlink(path) < 0)
		return JS_FALSE;
	sb->kv_used -= (uint64_t)old;
	return JS_TRUE;
}

static JSValue kv_keys(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct sandbox *sb = sb_of(ctx);
	JSValue arr = JS_NewArray(ctx);
	DIR *d = opendir(sb->storage_dir);
	struct dirent *e;
	uint32_t i = 0;

	while (d && (e = readdir(d)))
		if (key_ok(e->d_name) && !strstr(e->d_name, ".tmp"))
			JS_SetPropertyUint32(ctx, arr, i++, JS_NewString(ctx, e->d_name));
	if (d)
		closedir(d);
	return arr;
}

static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t sum = 0;
	char path[4200];

	while (d && (e = readdir(d))) {
		int64_t s;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((s = file_size(path)) > 0)
			sum += (uint64_t)s;
	}
	if (d)
		closedir(d);
	return sum;
}

static const JSCFunctionListEntry console_funcs[] = {
	JS_CFUNC_MAGIC_DEF("log", 1, app_console, 0),
	JS_CFUNC_MAGIC_DEF("info", 1, app_console, 0),
	JS_CFUNC_MAGIC_DEF("warn", 1, app_console, 1),
	JS_CFUNC_MAGIC_DEF("error", 1, app_console, 2),
	JS_CFUNC_MAGIC_DEF("debug", 1, app_console, 3),
};

static const JSCFunctionListEntry kv_funcs[] = {
	JS_CFUNC_DEF("get", 1, kv_get),
	JS_CFUNC_DEF("set", 2, kv_set),
	JS_CFUNC_DEF("delete", 1, kv_delete),
	JS_CFUNC_DEF("keys", 0, kv_keys),
};

/* Only the granted capabilities' functions exist in the app's context. */
static void app_globals(struct sandbox *sb, JSContext *ctx)
{
	JSValue g = JS_GetGlobalObject(ctx), o, pear;

	o = JS_NewObject(ctx);
	JS_SetPropertyFunctionList(ctx, o, console_funcs, 5);
	JS_SetPropertyStr(ctx, g, "console", o);
	JS_SetPropertyStr(ctx, g, "setTimeout",
			  JS_NewCFunction(ctx, app_set_timeout, "setTimeout", 2));
	JS_SetPropertyStr(ctx, g, "clearTimeout",
			  JS_NewCFunction(ctx, app_clear_timeout, "clearTimeout", 1));
	pear = JS_NewObject(ctx);
	JS_SetPropertyStr(ctx, pear, "name", JS_NewString(ctx, sb->name));
	if (sb->caps & SANDBOX_CAP_MESSAGES) {
		JS_SetPropertyStr(ctx, pear, "onMessage",
				  JS_NewCFunction(ctx, app_on_message, "onMessage", 1));
		JS_SetPropertyStr(ctx, pear, "post", JS_NewCFunction(ctx, app_post, "post", 1));
		JS_SetPropertyStr(ctx, pear, "send", JS_NewCFunction(ctx, app_send, "send", 2));
	}
	if (sb->caps & SANDBOX_CAP_FETCH)
		JS_SetPropertyStr(ctx, pear, "fetch", JS_NewCFunction(ctx, app_fetch, "fetch", 1));
	if (sb->caps & SANDBOX_CAP_KV) {
		o = JS_NewObject(ctx);
		JS_SetPropertyFunctionList(ctx, o, kv_funcs, 4);
		JS_SetPropertyStr(ctx, pear, "kv", o);
	}
	JS_SetPropertyStr(ctx, g, "pear", pear);
	JS_FreeValue(ctx, g);
}

/* ---- apps: the event loop on the sandbox thread --------------------------------------- */

/* A callback's exception: fatal ones (stop, memory) end the app; others are logged. */
static bool app_check(struct sandbox *sb, JSContext *ctx, bool threw)
{
	char *msg;

	if (!threw)
		return true;
	if (fatal(sb))
		return false;
	msg = exception_text(ctx);
	log_line(sb, "uncaught", msg ? msg : "?");
	free(msg);
	return true;
}

static void app_deliver(struct sandbox *sb, JSContext *ctx, struct sb_msg *m, bool *alive)
{
	JSValue v, rv;

	if (m->type == SANDBOX_EV_POST) {
		if (JS_IsUndefined(sb->on_message))
			return;
		v = JS_ParseJSON(ctx, m->data ? m->data : "null", m->len, "<message>");
		if (JS_IsException(v)) {
			*alive = app_check(sb, ctx, true);
			return;
		}
		rv = JS_Call(ctx, sb->on_message, JS_UNDEFINED, 1, (JSValueConst *)&v);
		JS_FreeValue(ctx, v);
		*alive = app_check(sb, ctx, JS_IsException(rv));
		JS_FreeValue(ctx, rv);
		return;
	}
	for (size_t i = 0; i < MAX_FETCHES; i++) {
		struct sb_fetch *f = &sb->fetches[i];

		if (f->id != m->id || !m->id)
			continue;
		if (m->ok)
			v = JS_ParseJSON(ctx, m->data ? m->data : "null", m->len, "<fetch>");
		else
			v = app_error(ctx, "fetch_failed", m->data ? m->data : "fetch failed");
		if (JS_IsException(v))
			v = JS_GetException(ctx);
		rv = JS_Call(ctx, f->funcs[m->ok ? 0 : 1], JS_UNDEFINED, 1, (JSValueConst *)&v);
		JS_FreeValue(ctx, rv);
		JS_FreeValue(ctx, v);
		JS_FreeValue(ctx, f->funcs[0]);
		JS_FreeValue(ctx, f->funcs[1]);
		f->id = 0;
		*alive = !fatal(sb);
		return;
	}
}

static enum sandbox_status run_app(struct sandbox *sb, JSContext *ctx, char **result)
{
	JSRuntime *rt = JS_GetRuntime(ctx);
	struct sb_msg *m0;
	JSValue v;
	bool alive = true;

	if ((sb->caps & SANDBOX_CAP_KV)) {
		/* mkdir -p */
		for (char *sl = strchr(sb->storage_dir + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
			*sl = 0;
			mkdir(sb->storage_dir, 0700);
			*sl = '/';
		}
		if (mkdir(sb->storage_dir, 0700) < 0 && errno != EEXIST) {
			*result = strdup("cannot create the storage directory");
			return SANDBOX_ERROR;
		}
		sb->kv_used = dir_bytes(sb->storage_dir);
	}
	app_globals(sb, ctx);
	v = JS_Eval(ctx, sb->source, sb->source_len, "<app>", JS_EVAL_TYPE_GLOBAL);
	if (JS_IsException(v)) {
		enum sandbox_status st = classify(sb);

		*result = exception_text(ctx);
		return st;
	}
	JS_FreeValue(ctx, v);
	log_line(sb, "info", "started");
	if ((m0 = msg_new(SANDBOX_EV_STARTED, NULL, 0)))
		out_push(sb, m0);
	while (alive) {
		struct sb_msg *m;
		JSContext *c2;
		uint64_t now, last_seq;
		int r;

		while (alive && (r = JS_ExecutePendingJob(rt, &c2)) != 0)
			alive = app_check(sb, ctx, r < 0);
		if (!alive || fatal(sb))
			break;
		/* due timers that existed now (a 0 ms timer set inside one waits a turn) */
		now = monotime_ns();
		last_seq = sb->timer_seq;
		while (alive && sb->timers && sb->timers->due_ns <= now && sb->timers->seq <= last_seq) {
			struct sb_timer *t = sb->timers;
			JSValue rv;

			sb->timers = t->next;
			sb->n_timers--;
			rv = JS_Call(ctx, t->fn, JS_UNDEFINED, 0, NULL);
			alive = app_check(sb, ctx, JS_IsException(rv));
			JS_FreeValue(ctx, rv);
			JS_FreeValue(ctx, t->fn);
			free(t);
			while (alive && (r = JS_ExecutePendingJob(rt, &c2)) != 0)
				alive = app_check(sb, ctx, r < 0);
		}
		if (!alive || fatal(sb))
			break;
		pthread_mutex_lock(&sb->mu);
		m = sb->in_head;
		if (m) {
			sb->in_head = m->next;
			if (!sb->in_head)
				sb->in_tail = NULL;
			sb->n_in--;
			m->next = NULL; /* msgs_free(m) below frees the chain it heads */
		} else if (!atomic_load(&sb->stop_req)) {
			uint64_t until = sb->timers ? sb->timers->due_ns : monotime_ns() + 1000000000u;

			if (until > monotime_ns()) {
				pthread_mutex_unlock(&sb->mu);
				set_busy(sb, false);
				pthread_mutex_lock(&sb->mu);
				if (!sb->in_head && !atomic_load(&sb->stop_req))
					wait_until(sb, until);
				pthread_mutex_unlock(&sb->mu);
				set_busy(sb, true);
				pthread_mutex_lock(&sb->mu);
			}
		}
		pthread_mutex_unlock(&sb->mu);
		if (m) {
			app_deliver(sb, ctx, m, &alive);
			msgs_free(m);
		}
		if (atomic_load(&sb->stop_req))
			break;
	}
	*result = strdup(atomic_load(&sb->oom) ? "memory limit reached" : "stopped");
	return classify(sb) == SANDBOX_THROW ? SANDBOX_STOPPED : classify(sb);
}

/* ---- the thread ----------------------------------------------------------------------- */

static void app_cleanup(struct sandbox *sb, JSContext *ctx)
{
	while (sb->timers) {
		struct sb_timer *t = sb->timers;

		sb->timers = t->next;
		JS_FreeValue(ctx, t->fn);
		free(t);
	}
	sb->n_timers = 0;
	for (size_t i = 0; i < MAX_FETCHES; i++) {
		if (sb->fetches[i].id) {
			JS_FreeValue(ctx, sb->fetches[i].funcs[0]);
			JS_FreeValue(ctx, sb->fetches[i].funcs[1]);
			sb->fetches[i].id = 0;
		}
	}
	JS_FreeValue(ctx, sb->on_message);
	sb->on_message = JS_UNDEFINED;
}

static void *sb_thread(void *arg)
{
	struct sandbox *sb = arg;
	enum sandbox_status st = SANDBOX_ERROR;
	char *result = NULL;
	JSRuntime *rt;
	JSContext *ctx = NULL;
	struct sb_msg *m;

	set_busy(sb, true);
	sb->period_idx = 0;
	rt = JS_NewRuntime2(&sb_mf, sb);
	if (rt) {
		JS_SetRuntimeOpaque(rt, sb);
		JS_SetMaxStackSize(rt, SANDBOX_STACK_DEFAULT);
		JS_SetInterruptHandler(rt, sb_interrupt, sb);
		ctx = JS_NewContext(rt);
	}
	if (!ctx) {
		st = atomic_load(&sb->oom) ? SANDBOX_MEMORY : SANDBOX_ERROR;
		result = strdup("cannot create the runtime (memory limit too small?)");
	} else {
		st = sb->kind == SANDBOX_TASK ? run_task(sb, ctx, &result) : run_app(sb, ctx, &result);
		if (atomic_load(&sb->oom) && st != SANDBOX_STOPPED) /* caught is not forgiven */
			st = SANDBOX_MEMORY;
		app_cleanup(sb, ctx);
		/* A callback pending in the job queue holds values: run GC before teardown. */
		JS_FreeContext(ctx);
	}
	if (rt)
		JS_FreeRuntime(rt);
	atomic_store(&sb->cpu_ns, thread_cpu_ns());
	set_busy(sb, false);
	if (sb->kind == SANDBOX_APP) {
		char line[300];

		snprintf(line, sizeof(line), "%s: %s", sandbox_status_name(st), result ? result : "");
		log_line(sb, "info", line);
	}
	pthread_mutex_lock(&sb->mu);
	atomic_store(&sb->status, st);
	pthread_mutex_unlock(&sb->mu);
	m = msg_new(SANDBOX_EV_DONE, result ? result : "", result ? strlen(result) : 0);
	free(result);
	if (m) {
		m->status = st;
		out_push(sb, m);
	}
	return NULL;
}

/* ---- API -------------------------------------------------------------------------------- */

const char *sandbox_status_name(enum sandbox_status s)
{
	switch (s) {
	case SANDBOX_RUNNING: return "running";
	case SANDBOX_OK: return "ok";
	case SANDBOX_THROW: return "throw";
	case SANDBOX_TIMEOUT: return "timeout";
	case SANDBOX_MEMORY: return "memory";
	case SANDBOX_BAD_RESULT: return "bad_result";
	case SANDBOX_STOPPED: return "stopped";
	case SANDBOX_ERROR: return "error";
	}
	return "unknown";
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static void sb_release(struct sandbox *sb)
{
	free(sb->source);
	free(sb->input);
	free(sb->storage_dir);
	for (size_t i = 0; i < sb->n_hosts; i++)
		free(sb->hosts[i]);
	msgs_free(sb->out_head);
	msgs_free(sb->in_head);
	if (sb->efd >= 0)
		close(sb->efd);
	pthread_mutex_destroy(&sb->mu);
	pthread_cond_destroy(&sb->cond);
	free(sb);
}

struct sandbox *sandbox_new(const struct sandbox_config *c, int *err)
{
	struct sandbox *sb;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	int rc;

	*err = -EINVAL;
	if (!c->source || c->memory_limit < SANDBOX_MEMORY_MIN ||
	    c->n_fetch_hosts > SANDBOX_MAX_HOSTS || c->shares > SANDBOX_SHARES_MAX ||
	    ((c->caps & SANDBOX_CAP_KV) && !c->storage_dir))
		return NULL;
	*err = -ENOMEM;
	if (!(sb = calloc(1, sizeof(*sb))))
		return NULL;
	sb->efd = -1;
	pthread_mutex_init(&sb->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sb->cond, &ca);
	pthread_condattr_destroy(&ca);
	sb->kind = c->kind;
	snprintf(sb->name, sizeof(sb->name), "%s", c->name ? c->name : "sandbox");
	sb->source = dup_n(c->source, c->source_len);
	sb->source_len = c->source_len;
	sb->input = c->input_json ? strdup(c->input_json) : NULL;
	sb->memory_limit = c->memory_limit;
	sb->cpu_limit_ns = c->cpu_limit_ms * 1000000u;
	sb->shares = c->shares ? c->shares : SANDBOX_SHARES_DEFAULT;
	sb->caps = c->caps;
	sb->storage_dir = c->storage_dir ? strdup(c->storage_dir) : NULL;
	sb->storage_quota = c->storage_quota;
	app_allowance_init(&sb->upload, c->upload_rate, monotime_ms());
	sb->on_message = JS_UNDEFINED;
	for (size_t i = 0; i < c->n_fetch_hosts; i++)
		if ((sb->hosts[sb->n_hosts] = strdup(c->fetch_hosts[i])))
			sb->n_hosts++;
	if (!sb->source || (c->input_json && !sb->input) || (c->storage_dir && !sb->storage_dir) ||
	    sb->n_hosts != c->n_fetch_hosts) {
		sb_release(sb);
		return NULL;
	}
	if ((sb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		*err = -errno;
		sb_release(sb);
		return NULL;
	}
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, SANDBOX_THREAD_STACK);
	rc = pthread_create(&sb->thread, &ta, sb_thread, sb);
	pthread_attr_destroy(&ta);
	if (rc) {
		*err = -rc;
		sb_release(sb);
		return NULL;
	}
	sb->started = true;
	*err = 0;
	return sb;
}

void sandbox_stop(struct sandbox *sb)
{
	pthread_mutex_lock(&sb->mu);
	atomic_store(&sb->stop_req, true);
	pthread_cond_broadcast(&sb->cond);
	pthread_mutex_unlock(&sb->mu);
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	sandbox_stop(sb);
	if (sb->started)
		pthread_join(sb->thread, NULL);
	sb_release(sb);
}

int sandbox_fd(const struct sandbox *sb)
{
	return sb->efd;
}

void sandbox_get_info(struct sandbox *sb, struct sandbox_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, sb->name, sizeof(out->name));
	out->kind = sb->kind;
	out->status = (enum sandbox_status)atomic_load(&sb->status);
	out->shares = sb->shares;
	out->cpu_ms = atomic_load(&sb->cpu_ns) / 1000000u;
	out->memory_bytes = atomic_load(&sb->mem_used);
	out->memory_limit = sb->memory_limit;
	out->throttled_ms = atomic_load(&sb->throttled_ns) / 1000000u;
	app_allowance_counts(&sb->upload, &out->upload_rate, &out->upload_bytes,
			     &out->upload_refused);
}

/* js_host: QuickJS-ng on pear-fogd's loop.  See js_host.h. */
#include "js_host.h"
#include "monotime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mod_fog.h"

/* Weak references: without EMBED_AGENT=1 nothing defines them and their address is NULL
 * (weak *definitions* here would let the compiler fold the size to 0). */
extern const uint32_t pearfog_agent_bc_size __attribute__((weak));
extern const uint8_t pearfog_agent_bc[] __attribute__((weak));

static size_t embedded_agent_len(void)
{
	return &pearfog_agent_bc_size != NULL && pearfog_agent_bc != NULL ? pearfog_agent_bc_size : 0;
}

struct unhandled {
	JSValue promise, reason;
};

struct js_host {
	struct loop *loop;
	struct js_host_config cfg;
	uint8_t *file;     /* --agent-js contents (owned) */
	size_t file_len;
	bool file_is_source;

	JSRuntime *rt;
	JSContext *ctx;
	bool failed;           /* the generation hit an error; teardown pending */
	uint64_t deadline_ms;  /* monotonic ms the running slice must end by (0: none) */
	uint64_t slice_start_ms;
	uint64_t started_ms;   /* when the generation started */
	uint32_t backoff_ms;   /* delay before the next restart */
	JSValue module_promise; /* the agent module's evaluation */
	JSValue on_signal;
	void *mod_data;
	struct unhandled unhandled[JS_HOST_MAX_UNHANDLED];
	size_t n_unhandled;
	struct js_host_res res; /* list head of generation resources */

	struct loop_timer jobs;    /* zero-delay: drain the job queue */
	struct loop_timer restart; /* teardown (0 ms) then start (backoff) */
	struct loop_timer shutdown; /* grace period of a shutdown */
	void (*shutdown_done)(void *arg);
	void *shutdown_arg;
	struct js_host_stats stats;
};

const char *js_host_strerror(int err)
{
	switch (err) {
	case JS_HOST_OK:
		return "ok";
	case JS_HOST_E_NOMEM:
		return "out of memory";
	case JS_HOST_E_NO_AGENT:
		return "no agent: pear-fogd was built without an embedded agent and no --agent-js was given";
	case JS_HOST_E_READ:
		return "cannot read the --agent-js file (missing, unreadable or over 8 MiB)";
	}
	return "unknown error";
}

/* ---- slices and errors -------------------------------------------------------------- */

static int interrupt_cb(JSRuntime *rt, void *opaque)
{
	struct js_host *h = opaque;

	if (h->deadline_ms && monotime_ms() > h->deadline_ms) {
		h->stats.interrupts++;
		return 1;
	}
	return 0;
}

static void slice_begin(struct js_host *h)
{
	h->slice_start_ms = monotime_ms();
	h->deadline_ms = h->slice_start_ms + h->cfg.slice_ms;
}

static void slice_end(struct js_host *h)
{
	uint64_t ms = monotime_ms() - h->slice_start_ms;

	if (ms > JS_HOST_SLOW_SLICE_MS) {
		h->stats.slow_slices++;
		log_debug("agent: a JS slice ran %llu ms", (unsigned long long)ms);
	}
	h->deadline_ms = 0;
}

void js_host_extend_slice(struct js_host *h, uint32_t ms)
{
	uint64_t until;

	if (!h->deadline_ms)
		return; /* not inside a slice */
	if (ms > JS_HOST_SLICE_MS_MAX)
		ms = JS_HOST_SLICE_MS_MAX;
	until = monotime_ms() + ms;
	if (until > h->deadline_ms) {
		h->deadline_ms = until;
		log_info("agent: this JS slice may run %u ms", ms);
	}
}

static void log_js_value(struct js_host *h, const char *what, JSValueConst v)
{
	const char *msg = JS_ToCString(h->ctx, v);
	const char *stack = NULL;
	JSValue st = JS_UNDEFINED;

	if (JS_IsError(v)) {
		st = JS_GetPropertyStr(h->ctx, v, "stack");
		if (JS_IsString(st))
			stack = JS_ToCString(h->ctx, st);
	}
	log_error("agent: %s: %s%s%s", what, msg ? msg : "(no message)", stack ? "\n" : "",
		  stack ? stack : "");
	JS_FreeCString(h->ctx, msg);
	JS_FreeCString(h->ctx, stack);
	JS_FreeValue(h->ctx, st);
}

/* End the generation: log, count, and let the restart timer tear it down (never from
 * inside a call into JS). */
static void host_fail(struct js_host *h, const char *what, JSValueConst reason)
{
	if (h->failed)
		return;
	log_js_value(h, what, reason);
	h->failed = true;
	h->stats.restarts++;
	loop_timer_cancel(h->loop, &h->jobs);
	loop_timer_set(h->loop, &h->restart, 0);
}

static void host_fail_exception(struct js_host *h, const char *what)
{
	JSValue exc = JS_GetException(h->ctx);

	host_fail(h, what, exc);
	JS_FreeValue(h->ctx, exc);
}

static void schedule_jobs(struct js_host *h)
{
	if (h->ctx && !h->failed && !loop_timer_pending(&h->jobs))
		loop_timer_set(h->loop, &h->jobs, 0);
}

static void check_module(struct js_host *h)
{
	JSPromiseStateEnum st;

	if (JS_IsUndefined(h->module_promise))
		return;
	st = JS_PromiseState(h->ctx, h->module_promise);
	if (st == JS_PROMISE_REJECTED) {
		JSValue r = JS_PromiseResult(h->ctx, h->module_promise);

		host_fail(h, "agent module failed", r);
		JS_FreeValue(h->ctx, r);
	}
	if (st != JS_PROMISE_PENDING) {
		JS_FreeValue(h->ctx, h->module_promise);
		h->module_promise = JS_UNDEFINED;
	}
}

static void jobs_cb(struct loop_timer *t)
{
	struct js_host *h = container_of(t, struct js_host, jobs);
	uint64_t batch_end = monotime_ms() + JS_HOST_JOBS_BATCH_MS;
	JSContext *jctx;
	int n = 0;

	if (!h->ctx || h->failed)
		return;
	/* Each job is its own slice (own deadline); the batch yields to the loop after
	 * JS_HOST_JOBS_PER_TURN jobs or JS_HOST_JOBS_BATCH_MS, whichever comes first. */
	while (JS_IsJobPending(h->rt)) {
		int rc;

		if (n == JS_HOST_JOBS_PER_TURN || (n && monotime_ms() >= batch_end)) {
			loop_timer_set(h->loop, &h->jobs, 0);
			return;
		}
		slice_begin(h);
		rc = JS_ExecutePendingJob(h->rt, &jctx);
		slice_end(h);
		if (rc < 0) {
			host_fail_exception(h, "promise job");
			return;
		}
		n++;
	}
	check_module(h);
	if (!h->failed && h->n_unhandled) {
		/* report the first, drop them all */
		host_fail(h, "unhandled promise rejection", h->unhandled[0].reason);
	}
	for (size_t i = 0; i < h->n_unhandled; i++) {
		JS_FreeValue(h->ctx, h->unhandled[i].promise);
		JS_FreeValue(h->ctx, h->unhandled[i].reason);
	}
	h->n_unhandled = 0;
}

static void rejection_tracker(JSContext *ctx, JSValueConst promise, JSValueConst reason,
			      bool is_handled, void *opaque)
{
	struct js_host *h = opaque;

	if (is_handled) {
		for (size_t i = 0; i < h->n_unhandled; i++) {
			if (JS_IsSameValue(ctx, h->unhandled[i].promise, promise)) {
				JS_FreeValue(ctx, h->unhandled[i].promise);
				JS_FreeValue(ctx, h->unhandled[i].reason);
				h->unhandled[i] = h->unhandled[--h->n_unhandled];
				return;
			}
		}
		return;
	}
	if (h->n_unhandled == JS_HOST_MAX_UNHANDLED) {
		host_fail(h, "too many unhandled promise rejections", reason);
		return;
	}
	h->unhandled[h->n_unhandled].promise = JS_DupValue(ctx, promise);
	h->unhandled[h->n_unhandled].reason = JS_DupValue(ctx, reason);
	h->n_unhandled++;
	schedule_jobs(h);
}

bool js_host_call(struct js_host *h, const char *what, JSValueConst fn, int argc,
		  JSValueConst *argv)
{
	JSValue rv;

	if (!h->ctx || h->failed)
		return false;
	slice_begin(h);
	rv = JS_Call(h->ctx, fn, JS_UNDEFINED, argc, argv);
	slice_end(h);
	if (JS_IsException(rv)) {
		host_fail_exception(h, what);
		return false;
	}
	JS_FreeValue(h->ctx, rv);
	schedule_jobs(h);
	return true;
}

void js_host_settle(struct js_host *h, JSValue funcs[2], bool ok, JSValue v)
{
	JSContext *ctx = h->ctx;

	js_host_call(h, ok ? "promise resolve" : "promise reject", funcs[ok ? 0 : 1], 1,
		     (JSValueConst *)&v);
	JS_FreeValue(ctx, funcs[0]);
	JS_FreeValue(ctx, funcs[1]);
	JS_FreeValue(ctx, v);
}

/* ---- generations ------------------------------------------------------------------- */

static JSModuleDef *module_loader(JSContext *ctx, const char *name, void *opaque)
{
	if (strcmp(name, MOD_FOG_NAME) == 0)
		return mod_fog_init(ctx, name);
	JS_ThrowReferenceError(ctx, "module '%s' not found (only " MOD_FOG_NAME
			       " is importable; bundle everything else)", name);
	return NULL;
}

static JSValue load_agent(struct js_host *h)
{
	const uint8_t *bc = h->file ? h->file : h->cfg.bytecode;
	size_t len = h->file ? h->file_len : h->cfg.bytecode_len;
	JSValue obj;

	if (h->file && h->file_is_source) {
		/* JS_Eval wants a NUL at buf[len]: load_file allocated len + 1 */
		return JS_Eval(h->ctx, (const char *)h->file, h->file_len, h->cfg.agent_path,
			       JS_EVAL_TYPE_MODULE);
	}
	obj = JS_ReadObject(h->ctx, bc, len, JS_READ_OBJ_BYTECODE);
	if (JS_IsException(obj))
		return obj;
	if (JS_VALUE_GET_TAG(obj) == JS_TAG_MODULE && JS_ResolveModule(h->ctx, obj) < 0) {
		JS_FreeValue(h->ctx, obj);
		return JS_EXCEPTION;
	}
	return JS_EvalFunction(h->ctx, obj);
}

static void generation_start(struct js_host *h)
{
	JSValue rv;

	h->failed = false;
	h->rt = JS_NewRuntime();
	if (h->rt)
		h->ctx = JS_NewContext(h->rt);
	if (!h->ctx) {
		log_error("agent: cannot create a JS runtime (out of memory)");
		if (h->rt)
			JS_FreeRuntime(h->rt);
		h->rt = NULL;
		h->failed = true;
		h->stats.restarts++;
		loop_timer_set(h->loop, &h->restart, h->backoff_ms);
		return;
	}
	h->stats.generations++;
	h->started_ms = monotime_ms();
	JS_SetMemoryLimit(h->rt, h->cfg.memory_limit);
	JS_SetMaxStackSize(h->rt, h->cfg.stack_size);
	JS_SetInterruptHandler(h->rt, interrupt_cb, h);
	JS_SetHostPromiseRejectionTracker(h->rt, rejection_tracker, h);
	JS_SetModuleLoaderFunc(h->rt, NULL, module_loader, h);
	JS_SetContextOpaque(h->ctx, h);
	h->stats.running = true;

	slice_begin(h);
	rv = load_agent(h);
	slice_end(h);
	if (JS_IsException(rv)) {
		host_fail_exception(h, "agent start");
		return;
	}
	/* a module's evaluation is a promise (top-level await): watched until settled */
	if (JS_PromiseState(h->ctx, rv) != JS_PROMISE_NOT_A_PROMISE)
		h->module_promise = rv;
	else
		JS_FreeValue(h->ctx, rv);
	schedule_jobs(h);
	check_module(h);
}

static void generation_end(struct js_host *h)
{
	struct js_host_res *r;

	if (!h->rt)
		return;
	loop_timer_cancel(h->loop, &h->jobs);
	while ((r = h->res.next) != &h->res) {
		js_host_res_del(h, r);
		r->drop(r, h->ctx);
	}
	for (size_t i = 0; i < h->n_unhandled; i++) {
		JS_FreeValue(h->ctx, h->unhandled[i].promise);
		JS_FreeValue(h->ctx, h->unhandled[i].reason);
	}
	h->n_unhandled = 0;
	JS_FreeValue(h->ctx, h->module_promise);
	h->module_promise = JS_UNDEFINED;
	JS_FreeValue(h->ctx, h->on_signal);
	h->on_signal = JS_UNDEFINED;
	h->mod_data = NULL;
	JS_FreeContext(h->ctx);
	JS_FreeRuntime(h->rt);
	h->ctx = NULL;
	h->rt = NULL;
	h->stats.running = false;
}

static void restart_cb(struct loop_timer *t)
{
	struct js_host *h = container_of(t, struct js_host, restart);

	if (h->rt) {
		bool stable = monotime_ms() - h->started_ms >= JS_HOST_STABLE_MS;

		generation_end(h);
		if (stable)
			h->backoff_ms = h->cfg.backoff_min_ms;
		log_warn("agent: restarting in %u ms (restart %llu)", h->backoff_ms,
			 (unsigned long long)h->stats.restarts);
		loop_timer_set(h->loop, &h->restart, h->backoff_ms);
		h->backoff_ms = h->backoff_ms * 2 > h->cfg.backoff_max_ms ? h->cfg.backoff_max_ms
									 : h->backoff_ms * 2;
		return;
	}
	generation_start(h);
}

/* ---- shutdown ---------------------------------------------------------------------- */

void js_host_shutdown_done(struct js_host *h)
{
	void (*done)(void *arg) = h->shutdown_done;

	if (!done)
		return;
	h->shutdown_done = NULL;
	loop_timer_cancel(h->loop, &h->shutdown);
	done(h->shutdown_arg);
}

static void shutdown_cb(struct loop_timer *t)
{
	struct js_host *h = container_of(t, struct js_host, shutdown);

	log_warn("agent: did not stop within the grace period");
	js_host_shutdown_done(h);
}

bool js_host_shutdown(struct js_host *h, const char *sig, uint32_t grace_ms,
		      void (*done)(void *arg), void *arg)
{
	if (!h || !h->ctx || h->failed || JS_IsUndefined(h->on_signal) || h->shutdown_done)
		return false;
	h->shutdown_done = done;
	h->shutdown_arg = arg;
	loop_timer_set(h->loop, &h->shutdown, grace_ms);
	js_host_signal(h, sig);
	return true;
}

/* ---- public ------------------------------------------------------------------------ */

static int load_file(struct js_host *h, const char *path)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return JS_HOST_E_READ;
	if (fstat(fd, &st) < 0 || st.st_size > JS_HOST_MAX_FILE || !S_ISREG(st.st_mode)) {
		close(fd);
		return JS_HOST_E_READ;
	}
	h->file = malloc((size_t)st.st_size + 1);
	if (!h->file) {
		close(fd);
		return JS_HOST_E_NOMEM;
	}
	while (got < (size_t)st.st_size && (n = read(fd, h->file + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	h->file[got] = 0;
	h->file_len = got;
	return got == (size_t)st.st_size ? JS_HOST_OK : JS_HOST_E_READ;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

struct js_host *js_host_new(struct loop *l, const struct js_host_config *c, int *err)
{
	struct js_host *h = calloc(1, sizeof(*h));
	int rc;

	*err = JS_HOST_OK;
	if (!h) {
		*err = JS_HOST_E_NOMEM;
		return NULL;
	}
	h->loop = l;
	h->cfg = *c;
	h->cfg.agent_path = c->agent_path && *c->agent_path ? c->agent_path : NULL;
	if (!h->cfg.memory_limit)
		h->cfg.memory_limit = JS_HOST_MEMORY_LIMIT_DEFAULT;
	if (!h->cfg.stack_size)
		h->cfg.stack_size = JS_HOST_STACK_SIZE_DEFAULT;
	if (!h->cfg.slice_ms)
		h->cfg.slice_ms = JS_HOST_SLICE_MS_DEFAULT;
	if (!h->cfg.backoff_min_ms)
		h->cfg.backoff_min_ms = JS_HOST_BACKOFF_MIN_MS_DEFAULT;
	if (!h->cfg.backoff_max_ms)
		h->cfg.backoff_max_ms = JS_HOST_BACKOFF_MAX_MS_DEFAULT;
	h->backoff_ms = h->cfg.backoff_min_ms;
	h->res.next = h->res.prev = &h->res;
	h->module_promise = JS_UNDEFINED;
	h->on_signal = JS_UNDEFINED;
	h->jobs.cb = jobs_cb;
	h->restart.cb = restart_cb;
	h->shutdown.cb = shutdown_cb;
	if (h->cfg.agent_path) {
		h->file_is_source = has_suffix(h->cfg.agent_path, ".js") ||
				    has_suffix(h->cfg.agent_path, ".mjs");
		if ((rc = load_file(h, h->cfg.agent_path)) < 0) {
			*err = rc;
			js_host_free(h);
			return NULL;
		}
	} else if (!h->cfg.bytecode || !h->cfg.bytecode_len) {
		*err = JS_HOST_E_NO_AGENT;
		js_host_free(h);
		return NULL;
	}
	generation_start(h);
	return h;
}

void js_host_free(struct js_host *h)
{
	if (!h)
		return;
	generation_end(h);
	loop_timer_cancel(h->loop, &h->jobs);
	loop_timer_cancel(h->loop, &h->restart);
	loop_timer_cancel(h->loop, &h->shutdown);
	free(h->file);
	free(h);
}

void js_host_signal(struct js_host *h, const char *name)
{
	JSValue arg;

	if (!h || !h->ctx || h->failed || JS_IsUndefined(h->on_signal))
		return;
	arg = JS_NewString(h->ctx, name);
	js_host_call(h, "signal handler", h->on_signal, 1, (JSValueConst *)&arg);
	if (h->ctx)
		JS_FreeValue(h->ctx, arg);
}

void js_host_get_stats(const struct js_host *h, struct js_host_stats *s)
{
	*s = h->stats;
}

void js_host_render_metrics(const struct js_host *h, struct ctl_json_out *o)
{
	JSMemoryUsage mu = { 0 };

	if (h->rt)
		JS_ComputeMemoryUsage(h->rt, &mu);
	ctl_json_out_fmt(o,
			 "# HELP pearfog_js_restarts_total Agent JS contexts ended by an error and restarted\n"
			 "# TYPE pearfog_js_restarts_total counter\npearfog_js_restarts_total %llu\n"
			 "# HELP pearfog_js_interrupts_total JS slices stopped for running too long\n"
			 "# TYPE pearfog_js_interrupts_total counter\npearfog_js_interrupts_total %llu\n"
			 "# HELP pearfog_js_slow_slices_total JS slices that held the loop over 50 ms\n"
			 "# TYPE pearfog_js_slow_slices_total counter\npearfog_js_slow_slices_total %llu\n"
			 "# HELP pearfog_js_running 1 while the agent's JS context is live\n"
			 "# TYPE pearfog_js_running gauge\npearfog_js_running %d\n"
			 "# HELP pearfog_js_heap_bytes Bytes the JS runtime has allocated\n"
			 "# TYPE pearfog_js_heap_bytes gauge\npearfog_js_heap_bytes %lld\n",
			 (unsigned long long)h->stats.restarts, (unsigned long long)h->stats.interrupts,
			 (unsigned long long)h->stats.slow_slices, h->stats.running ? 1 : 0, (long long)mu.malloc_size);
}

struct js_host *js_host_start_daemon(struct loop *l, const char *agent_path,
				     const char *config_path, const struct ctl_op *ops, size_t n_ops,
				     void *ops_ctx)
{
	struct js_host_config c = {
		.agent_path = agent_path,
		.config_path = config_path,
		.bytecode = embedded_agent_len() ? pearfog_agent_bc : NULL,
		.bytecode_len = embedded_agent_len(),
		.ops = ops,
		.n_ops = n_ops,
		.ops_ctx = ops_ctx,
	};
	const char *slice = getenv("PEARFOG_JS_SLICE_MS");
	struct js_host *h;
	int err;

	if (slice && *slice) {
		char *end;
		unsigned long v = strtoul(slice, &end, 10);

		if (*end || v < 1 || v > JS_HOST_SLICE_MS_MAX)
			log_warn("PEARFOG_JS_SLICE_MS='%s' ignored (1..%u)", slice, JS_HOST_SLICE_MS_MAX);
		else
			c.slice_ms = (uint32_t)v;
	}
	if (agent_path && strcmp(agent_path, "off") == 0) {
		log_info("agent: agent_js 'off': JS host not started");
		return NULL;
	}
	if ((!agent_path || !*agent_path) && !embedded_agent_len()) {
		log_info("agent: none embedded and no --agent-js: JS host not started");
		return NULL;
	}
	h = js_host_new(l, &c, &err);
	if (!h)
		log_error("agent: %s: %s", agent_path && *agent_path ? agent_path : "(embedded)",
			  js_host_strerror(err));
	else
		log_info("agent: started from %s", agent_path && *agent_path ? agent_path : "embedded bytecode");
	return h;
}

/* ---- for native modules ------------------------------------------------------------- */

struct js_host *js_host_of(JSContext *ctx)
{
	return JS_GetContextOpaque(ctx);
}

struct loop *js_host_loop(const struct js_host *h)
{
	return h->loop;
}

JSContext *js_host_ctx(const struct js_host *h)
{
	return h->failed ? NULL : h->ctx;
}

const struct js_host_config *js_host_config(const struct js_host *h)
{
	return &h->cfg;
}

void js_host_res_add(struct js_host *h, struct js_host_res *r)
{
	r->next = &h->res;
	r->prev = h->res.prev;
	h->res.prev->next = r;
	h->res.prev = r;
}

void js_host_res_del(struct js_host *h, struct js_host_res *r)
{
	if (!r->next)
		return;
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

void js_host_set_signal_handler(struct js_host *h, JSValue fn)
{
	JS_FreeValue(h->ctx, h->on_signal);
	h->on_signal = fn;
}

void *js_host_mod_data(const struct js_host *h)
{
	return h->mod_data;
}

void js_host_set_mod_data(struct js_host *h, void *data)
{
	h->mod_data = data;
}

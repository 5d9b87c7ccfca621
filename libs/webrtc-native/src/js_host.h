/* js_host: QuickJS-ng embedded in pear-fogd's event loop; runs the node agent.
 *
 * One runtime + one context per "generation".  The agent is an ES module: bytecode
 * embedded in the binary (qjsc output, see the Makefile's `agent` target) or a file
 * given with --agent-js (".js"/".mjs" → source compiled at start, anything else →
 * qjsc bytecode, `qjsc -b`).  It imports the native module "pear-fog:native"
 * (mod_fog.h).
 *
 * The loop never blocks on JS and JS never takes the data plane down:
 *  - every entry into JS (module start, a timer, an I/O completion, the job queue) is a
 *    "slice" with a deadline; the interrupt handler ends a slice that runs longer than
 *    slice_ms (uncatchable "interrupted" error);
 *  - the promise job queue is drained from a zero-delay loop timer, each job its own slice,
 *    yielding to the loop after JS_HOST_JOBS_PER_TURN jobs or JS_HOST_JOBS_BATCH_MS;
 *  - JS_SetMemoryLimit caps the heap (allocation failure → out-of-memory exception);
 *  - an exception that reaches the host (thrown by a callback, a failed job, the module's
 *    evaluation rejecting) or a promise rejection nobody handled by the time the job queue
 *    is empty is logged, counted (pearfog_js_restarts_total) and the generation is torn
 *    down: native resources are dropped, the runtime freed, and a new one started after a
 *    backoff (backoff_min_ms doubling up to backoff_max_ms; back to the minimum once a
 *    generation has run JS_HOST_STABLE_MS without failing).
 */
#ifndef PEARFOG_JS_HOST_H
#define PEARFOG_JS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <quickjs.h>

#include "ctl.h"
#include "loop.h"

#define JS_HOST_MEMORY_LIMIT_DEFAULT (16u << 20) /* bytes of JS heap */
#define JS_HOST_STACK_SIZE_DEFAULT (256u << 10)  /* bytes of C stack JS may use */
#define JS_HOST_SLICE_MS_DEFAULT 1000            /* ms one entry into JS may run */
#define JS_HOST_SLICE_MS_MAX 600000             /* cap of PEARFOG_JS_SLICE_MS */
#define JS_HOST_SLOW_SLICE_MS 50                 /* slices longer than this are counted */
#define JS_HOST_BACKOFF_MIN_MS_DEFAULT 1000      /* first restart delay, ms */
#define JS_HOST_BACKOFF_MAX_MS_DEFAULT 60000     /* restart delay cap, ms */
#define JS_HOST_STABLE_MS 60000                  /* run time that resets the backoff, ms */
#define JS_HOST_STOP_GRACE_MS 3000               /* the agent's time to stop on SIGTERM, ms */
#define JS_HOST_JOBS_PER_TURN 256                /* promise jobs per loop iteration, at most */
#define JS_HOST_JOBS_BATCH_MS 10                 /* ms of jobs before yielding to the loop */
#define JS_HOST_MAX_FILE (8u << 20)              /* largest --agent-js file, bytes */
#define JS_HOST_MAX_UNHANDLED 32                 /* rejections tracked between drains */

enum js_host_err {
	JS_HOST_OK = 0,
	JS_HOST_E_NOMEM = -1,
	JS_HOST_E_NO_AGENT = -2, /* neither embedded bytecode nor --agent-js */
	JS_HOST_E_READ = -3,     /* --agent-js unreadable or too large */
};

struct js_host_config {
	size_t memory_limit;     /* 0 → JS_HOST_MEMORY_LIMIT_DEFAULT */
	size_t stack_size;       /* 0 → JS_HOST_STACK_SIZE_DEFAULT */
	uint32_t slice_ms;       /* 0 → JS_HOST_SLICE_MS_DEFAULT */
	uint32_t backoff_min_ms; /* 0 → JS_HOST_BACKOFF_MIN_MS_DEFAULT */
	uint32_t backoff_max_ms; /* 0 → JS_HOST_BACKOFF_MAX_MS_DEFAULT */
	const char *agent_path;  /* file override; NULL or "" → the embedded bytecode */
	const char *config_path; /* the daemon's --config file, shown to JS (fog.info()) */
	const uint8_t *bytecode; /* embedded module bytecode (used when agent_path unset) */
	size_t bytecode_len;
	/* The daemon's control operations, callable from JS (fog.ctl): the same table and
	 * context the control socket serves. */
	const struct ctl_op *ops;
	size_t n_ops;
	void *ops_ctx;
};

struct js_host_stats {
	uint64_t generations; /* contexts started */
	uint64_t restarts;    /* generations ended by an error */
	uint64_t interrupts;  /* slices ended by the interrupt handler */
	uint64_t slow_slices; /* slices that ran over JS_HOST_SLOW_SLICE_MS */
	bool running;         /* a generation is live now */
};

struct js_host;

/* Reads the agent (file override) and starts the first generation at once.  A failure of
 * the agent itself (syntax error, exception) is not an error here: it is logged, counted
 * and retried like any later one. */
struct js_host *js_host_new(struct loop *l, const struct js_host_config *c, int *err);
void js_host_free(struct js_host *h);
const char *js_host_strerror(int err);

/* Deliver a signal name ("SIGTERM", "SIGHUP", ...) to the handler the agent set with
 * fog.onSignal (nothing if none). */
void js_host_signal(struct js_host *h, const char *name);
/* Shutdown (SIGTERM/SIGINT): deliver `sig` to the agent's handler and call done(arg) once
 * the agent calls fog.stopDone() or grace_ms passed, whichever comes first.  Returns false,
 * and never calls done, when there is no live agent with a signal handler or a shutdown is
 * already under way (a second signal): the caller stops at once. */
bool js_host_shutdown(struct js_host *h, const char *sig, uint32_t grace_ms,
		      void (*done)(void *arg), void *arg);
void js_host_get_stats(const struct js_host *h, struct js_host_stats *s);
/* Prometheus text: pearfog_js_restarts_total, pearfog_js_interrupts_total,
 * pearfog_js_slow_slices_total, pearfog_js_running, pearfog_js_heap_bytes. */
void js_host_render_metrics(const struct js_host *h, struct ctl_json_out *o);

/* Embedded agent bytecode: generated by qjsc (build/agent/agent_bc.c) when pear-fogd is
 * built with EMBED_AGENT=1; js_host.c refers to them weakly (absent otherwise). */
extern const uint32_t pearfog_agent_bc_size;
extern const uint8_t pearfog_agent_bc[];

/* pear-fogd's hook: start the agent unless there is none or agent_path is "off" (returns
 * NULL, logs why).  The environment variable PEARFOG_JS_SLICE_MS (1..JS_HOST_SLICE_MS_MAX)
 * overrides slice_ms: for running slow test suites in the host, not for production. */
struct js_host *js_host_start_daemon(struct loop *l, const char *agent_path,
				     const char *config_path, const struct ctl_op *ops, size_t n_ops,
				     void *ops_ctx);

/* ---- for native modules (mod_*.c) ---------------------------------------------------- */

/* A native resource owned by the current generation (timer, child process, ...): drop()
 * runs when the generation ends (ctx still valid) and must free its JSValues and release
 * the resource. */
struct js_host_res {
	struct js_host_res *prev, *next;
	void (*drop)(struct js_host_res *r, JSContext *ctx);
};

struct js_host *js_host_of(JSContext *ctx);
/* Let the running slice go on for up to `ms` more (at most JS_HOST_SLICE_MS_MAX; never
 * shortens it; nothing outside a slice).  For a known one-time cost the agent pays at start
 * (fog.extendSlice: the pure-TS Ed25519 tables of mbedTLS builds); logged. */
void js_host_extend_slice(struct js_host *h, uint32_t ms);
struct loop *js_host_loop(const struct js_host *h);
JSContext *js_host_ctx(const struct js_host *h);
const struct js_host_config *js_host_config(const struct js_host *h);
void js_host_res_add(struct js_host *h, struct js_host_res *r);
void js_host_res_del(struct js_host *h, struct js_host_res *r);
/* Call fn(argv) as one slice.  An exception ends the generation (logged as `what`).
 * Returns false if it threw or the host is no longer running. */
bool js_host_call(struct js_host *h, const char *what, JSValueConst fn, int argc,
		  JSValueConst *argv);
/* Resolve (ok) or reject a promise made with JS_NewPromiseCapability; frees funcs[0..1]
 * and v, and schedules the job queue. */
void js_host_settle(struct js_host *h, JSValue funcs[2], bool ok, JSValue v);
/* The handler js_host_signal calls (takes ownership of fn; JS_UNDEFINED clears). */
void js_host_set_signal_handler(struct js_host *h, JSValue fn);
/* fog.stopDone(): the agent finished stopping (no-op unless a shutdown is under way). */
void js_host_shutdown_done(struct js_host *h);
/* One pointer of per-generation state for mod_fog (cleared when the generation ends). */
void *js_host_mod_data(const struct js_host *h);
void js_host_set_mod_data(struct js_host *h, void *data);

#endif

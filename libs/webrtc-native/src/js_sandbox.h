/* js_sandbox: untrusted JS (edge-compute tasks and apps, issue 7) in its own QuickJS-ng runtime
 * on its own thread, never on the loop thread.  docs/apps.md has the design; in short:
 *
 *  - one JSRuntime + JSContext per sandbox, created, run and freed on the sandbox's pthread
 *    (QuickJS runtimes are independent; nothing JS crosses threads, only C strings);
 *  - memory: a hard byte limit on everything the runtime allocates (the runtime's allocator
 *    is ours, so arena blocks count too); a refused allocation marks the sandbox "memory"
 *    and the interrupt handler ends it on the next check — a script cannot catch its way
 *    past the limit;
 *  - CPU: the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID).  A task has a CPU budget
 *    ("timeout" past it).  All sandboxes together get cpu_permille of one core per period
 *    (sandbox_sched_set), split between the sandboxes running JS by their shares (weighted
 *    fair share): a sandbox past its part of the period sleeps in the interrupt handler
 *    until the next period.  The loop thread (data plane, agent) is never throttled and
 *    keeps the rest;
 *  - stop: an atomic flag the interrupt handler and the app's idle wait see (uncatchable);
 *  - results and app events go to the owner through a queue and an eventfd (sandbox_fd),
 *    which the loop watches (mod_fog_sandbox.c); nothing blocks the loop thread except
 *    sandbox_free's join, which waits for a stopped sandbox's next interrupt check.
 *
 * Two kinds:
 *  - task: `source` defines `function task(input)`; the result is JSON.stringify of its
 *    return value (a returned promise is awaited).  One event: SANDBOX_EV_DONE.
 *  - app: `source` is a script run once; it then lives on timers and messages until
 *    stopped.  Globals by capability (only granted ones are installed): console (always;
 *    lines go to a log ring, sandbox_logs), setTimeout/clearTimeout (always),
 *    pear.onMessage(fn) / pear.post(json) ("messages": host ↔ app) and pear.send(browser,
 *    value) (to a browser; upload allowance, app_channel.h),
 *    pear.kv.get/set/delete/keys ("kv": files under storage_dir, storage_quota bytes),
 *    pear.fetch(url) → Promise<{status, body}> ("fetch": only hosts in fetch_hosts; the
 *    owner performs it and answers with sandbox_reply).  Events: SANDBOX_EV_STARTED,
 *    SANDBOX_EV_POST, SANDBOX_EV_FETCH, SANDBOX_EV_DONE (the app ended: stopped, failed, memory). */
#ifndef PEARFOG_JS_SANDBOX_H
#define PEARFOG_JS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SANDBOX_SHARES_DEFAULT 1024         /* CPU weight */
#define SANDBOX_SHARES_MAX 65536
#define SANDBOX_CPU_PERMILLE_DEFAULT 500     /* all sandboxes together: half of one core */
#define SANDBOX_PERIOD_MS_DEFAULT 100        /* fair-share accounting period, ms */
#define SANDBOX_STACK_DEFAULT (256u << 10)   /* JS stack limit, bytes */
#define SANDBOX_THREAD_STACK (1u << 20)      /* pthread stack, bytes */
#define SANDBOX_MEMORY_MIN (256u << 10)      /* smallest memory limit, bytes */
#define SANDBOX_LOG_RING (16u << 10)         /* bytes of app log kept */
#define SANDBOX_MAX_TIMERS 1024              /* live timers per app */
#define SANDBOX_MAX_QUEUE 256                /* undelivered messages each way */
#define SANDBOX_MAX_MESSAGE (256u << 10)     /* bytes per message / result */
#define SANDBOX_MAX_KEY 128                  /* kv key length, bytes ([A-Za-z0-9._-]) */
#define SANDBOX_MAX_HOSTS 16                 /* fetch_hosts entries */

enum sandbox_kind { SANDBOX_TASK, SANDBOX_APP };

#define SANDBOX_CAP_MESSAGES 1u
#define SANDBOX_CAP_KV 2u
#define SANDBOX_CAP_FETCH 4u

/* How a sandbox ended (SANDBOX_EV_DONE). */
enum sandbox_status {
	SANDBOX_RUNNING = 0,
	SANDBOX_OK,        /* task: result is JSON */
	SANDBOX_THROW,     /* task threw / app's script threw: message in result */
	SANDBOX_TIMEOUT,   /* task: CPU budget spent */
	SANDBOX_MEMORY,    /* memory limit reached */
	SANDBOX_BAD_RESULT, /* task: result not JSON-serialisable (or too large) */
	SANDBOX_STOPPED,   /* sandbox_stop */
	SANDBOX_ERROR,     /* could not start (out of memory, bad source encoding) */
};

/* STARTED: an app's script ran to its end without throwing (it now lives on events). */
/* SEND: pear.send(browser, value) — id is the browser, data the value's JSON; its bytes were
 * already granted by the app's upload allowance (app_channel.h). */
enum sandbox_event_type {
	SANDBOX_EV_DONE,
	SANDBOX_EV_POST,
	SANDBOX_EV_FETCH,
	SANDBOX_EV_STARTED,
	SANDBOX_EV_SEND,
};

struct sandbox_event {
	enum sandbox_event_type type;
	enum sandbox_status status; /* DONE */
	uint32_t id;                /* FETCH: request id for sandbox_reply; SEND: browser */
	char *data;                 /* DONE: result/message; POST: JSON; FETCH: URL (owned) */
};

struct sandbox_config {
	enum sandbox_kind kind;
	const char *name;        /* for logs and sandbox_list (copied, ≤ 63 bytes kept) */
	const char *source;      /* JS source (copied) */
	size_t source_len;
	const char *input_json;  /* task input (copied); NULL → null */
	size_t memory_limit;     /* bytes, ≥ SANDBOX_MEMORY_MIN */
	uint64_t cpu_limit_ms;   /* task: CPU budget, ms (0: none) */
	uint32_t shares;         /* 0 → SANDBOX_SHARES_DEFAULT */
	uint32_t caps;           /* SANDBOX_CAP_* (apps) */
	const char *storage_dir; /* kv directory (created), required with SANDBOX_CAP_KV */
	uint64_t storage_quota;  /* kv bytes */
	const char *const *fetch_hosts; /* host names fetch may reach */
	size_t n_fetch_hosts;
	uint64_t upload_rate;    /* pear.send allowance, bytes/s (0: sends refused) */
};

struct sandbox_info {
	char name[64];
	enum sandbox_kind kind;
	enum sandbox_status status;
	uint32_t shares;
	uint64_t cpu_ms;       /* thread CPU time used */
	uint64_t memory_bytes; /* allocated now */
	uint64_t memory_limit;
	uint64_t throttled_ms; /* time slept for the fair share */
	uint64_t upload_rate;    /* pear.send allowance, bytes/s */
	uint64_t upload_bytes;   /* granted to pear.send */
	uint64_t upload_refused; /* pear.send calls refused by an allowance */
};

struct sandbox;

/* Total CPU for all sandboxes (permille of one core, 1..64000; 0 → default) and the
 * accounting period (ms, 10..10000; 0 → default).  Process-wide; takes effect at once. */
void sandbox_sched_set(uint32_t cpu_permille, uint32_t period_ms);

/* Start a sandbox thread.  NULL and *err = -errno (EINVAL: bad config). */
struct sandbox *sandbox_new(const struct sandbox_config *c, int *err);
/* Ask it to end (SANDBOX_STOPPED unless it already ended).  Never blocks. */
void sandbox_stop(struct sandbox *sb);
/* Stop, join the thread, free everything (undelivered events too). */
void sandbox_free(struct sandbox *sb);
/* Readable (eventfd) while events are queued; read them with sandbox_next_event. */
int sandbox_fd(const struct sandbox *sb);
/* Take the next event (true) or false if none; the caller frees ev->data. */
bool sandbox_next_event(struct sandbox *sb, struct sandbox_event *ev);
/* App: deliver a message (JSON) to pear.onMessage.  -EAGAIN queue full, -EPIPE ended. */
int sandbox_post(struct sandbox *sb, const char *json, size_t len);
/* App: answer fetch request id: ok → body is {"status":N,"body":"..."} JSON, else an
 * error message.  -ENOENT unknown id, -EPIPE ended. */
int sandbox_reply(struct sandbox *sb, uint32_t id, bool ok, const char *json, size_t len);
void sandbox_get_info(struct sandbox *sb, struct sandbox_info *out);
/* The app's log ring as text (malloc'd, NUL-terminated; NULL on OOM). */
char *sandbox_logs(struct sandbox *sb);
const char *sandbox_status_name(enum sandbox_status s);

#endif

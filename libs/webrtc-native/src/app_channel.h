/* app_channel: browser ↔ app data channels (issue 7, docs/apps.md), the parts that need no
 * session: which channel a label names, the apps' upload allowance, and the bounded queue of
 * an app channel's outgoing messages.
 *
 * Labels (RFC 8831 §5: the label is the application's name for the channel; DCEP carries it,
 * RFC 8832 §5.1): "pear-fog-chunks" is a chunk channel (chunk_proto), "pear-fog-app:<name>"
 * a channel to app <name> (name as in the app manifest, [a-z0-9][a-z0-9-]{0,31}); anything
 * else is refused (the channel is closed and counted).
 *
 * Upload allowance: bytes an app sends to browsers (the JSON of its messages) are taken from
 * the app's own token bucket (manifest resources.uploadKiBps) and from the router owner's
 * total for all apps (UCI apps_upload) together, or from neither.  Sandbox threads take,
 * the loop thread reads the counts: every allowance operation is under one process-wide
 * mutex.  Refusals are typed (enum app_channel_err) with the time after which the same send
 * would be granted. */
#ifndef PEARFOG_APP_CHANNEL_H
#define PEARFOG_APP_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token_bucket.h"

#define APP_CHANNEL_CHUNK_LABEL "pear-fog-chunks"
#define APP_CHANNEL_LABEL_PREFIX "pear-fog-app:"
#define APP_CHANNEL_NAME_MAX 32 /* app name bytes (manifest limit) */
#define APP_CHANNEL_MAX_MESSAGE (64u << 10) /* bytes of one message, either way */
#define APP_CHANNEL_MAX_QUEUED (256u << 10) /* outgoing bytes queued per channel */
/* The owner's total for all apps, bytes/s (UCI apps_upload 1024 KiB/s). */
#define APP_CHANNEL_TOTAL_DEFAULT (1024u << 10)
/* A bucket holds a quarter second of its rate, at least one whole message. */
#define APP_CHANNEL_BURST_MS 250

enum app_channel_kind {
	APP_CHANNEL_UNKNOWN = 0,
	APP_CHANNEL_CHUNKS,
	APP_CHANNEL_APP,
};

enum app_channel_err {
	APP_CHANNEL_OK = 0,
	APP_CHANNEL_E_NO_ALLOWANCE = -1, /* the app's uploadKiBps is 0: it may send nothing */
	APP_CHANNEL_E_OVER_APP = -2,     /* over the app's own allowance now */
	APP_CHANNEL_E_OVER_TOTAL = -3,   /* over the owner's total for all apps now */
	APP_CHANNEL_E_TOO_LARGE = -4,    /* over APP_CHANNEL_MAX_MESSAGE */
	APP_CHANNEL_E_QUEUE_FULL = -5,   /* over APP_CHANNEL_MAX_QUEUED */
};

/* Classify a channel label; for APP_CHANNEL_APP the app name is copied to name. */
enum app_channel_kind app_channel_classify(const char *label, char name[APP_CHANNEL_NAME_MAX + 1]);
/* "no_allowance", "over_allowance", "over_total", "too_large", "queue_full", "ok". */
const char *app_channel_strerror(int err);

/* ---- upload allowance ------------------------------------------------------------------ */

struct app_allowance {
	struct token_bucket bucket;
	uint64_t bytes_sent; /* granted */
	uint64_t refused;    /* sends refused (any reason) */
};

/* rate bytes/s; 0 = the app may send nothing. */
void app_allowance_init(struct app_allowance *a, uint64_t rate, uint64_t now_ms);
/* Take n bytes from the app's bucket and the total, or from neither.  0, or an
 * app_channel_err with *retry_ms (TOKEN_BUCKET_NEVER when it can never be granted). */
int app_allowance_take(struct app_allowance *a, uint64_t n, uint64_t now_ms, uint64_t *retry_ms);
void app_allowance_counts(const struct app_allowance *a, uint64_t *rate, uint64_t *bytes_sent,
			  uint64_t *refused);
/* The owner's total for all apps, bytes/s (0: no total).  Process-wide, at once. */
void app_allowance_set_total(uint64_t rate, uint64_t now_ms);
uint64_t app_allowance_total(void);

/* ---- outgoing queue of one channel ---------------------------------------------------- */

struct app_msg {
	struct app_msg *next;
	size_t len;
	char data[];
};

struct app_msg_queue {
	struct app_msg *head, *tail;
	size_t bytes, count;
};

/* Append a copy.  force: past APP_CHANNEL_MAX_QUEUED (a closing notice).  0,
 * APP_CHANNEL_E_QUEUE_FULL, or -ENOMEM. */
int app_msg_queue_push(struct app_msg_queue *q, const char *data, size_t len, bool force);
static inline const struct app_msg *app_msg_queue_peek(const struct app_msg_queue *q)
{
	return q->head;
}
void app_msg_queue_pop(struct app_msg_queue *q);
void app_msg_queue_clear(struct app_msg_queue *q);

#endif

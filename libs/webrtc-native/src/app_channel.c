/* app_channel: label routing, the apps' upload allowance, per-channel outgoing queues.
 * See app_channel.h. */
#include "app_channel.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- labels ----------------------------------------------------------------------------- */

/* The manifest's app name: [a-z0-9][a-z0-9-]{0,31} (src/protocol/app.ts APP_NAME_RE). */
static bool app_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > APP_CHANNEL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && !(i > 0 && c == '-'))
			return false;
	}
	return true;
}

enum app_channel_kind app_channel_classify(const char *label, char name[APP_CHANNEL_NAME_MAX + 1])
{
	size_t plen = strlen(APP_CHANNEL_LABEL_PREFIX), n;

	name[0] = '\0';
	if (!label)
		return APP_CHANNEL_UNKNOWN;
	if (strcmp(label, APP_CHANNEL_CHUNK_LABEL) == 0)
		return APP_CHANNEL_CHUNKS;
	if (strncmp(label, APP_CHANNEL_LABEL_PREFIX, plen) != 0)
		return APP_CHANNEL_UNKNOWN;
	n = strlen(label + plen);
	if (!app_name_ok(label + plen, n))
		return APP_CHANNEL_UNKNOWN;
	memcpy(name, label + plen, n + 1);
	return APP_CHANNEL_APP;
}

const char *app_channel_strerror(int err)
{
	switch (err) {
	case APP_CHANNEL_OK:
		return "ok";
	case APP_CHANNEL_E_NO_ALLOWANCE:
		return "no_allowance";
	case APP_CHANNEL_E_OVER_APP:
		return "over_allowance";
	case APP_CHANNEL_E_OVER_TOTAL:
		return "over_total";
	case APP_CHANNEL_E_TOO_LARGE:
		return "too_large";
	case APP_CHANNEL_E_QUEUE_FULL:
		return "queue_full";
	}
	return "error";
}

/* ---- upload allowance ------------------------------------------------------------------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct token_bucket g_total;
static bool g_total_init;

static uint64_t burst_of(uint64_t rate)
{
	uint64_t b = rate * APP_CHANNEL_BURST_MS / 1000;

	return b < APP_CHANNEL_MAX_MESSAGE ? APP_CHANNEL_MAX_MESSAGE : b;
}

/* Under g_mu. */
static struct token_bucket *total_locked(uint64_t now_ms)
{
	if (!g_total_init) {
		token_bucket_init(&g_total, APP_CHANNEL_TOTAL_DEFAULT,
				  burst_of(APP_CHANNEL_TOTAL_DEFAULT), now_ms);
		g_total_init = true;
	}
	return &g_total;
}

void app_allowance_init(struct app_allowance *a, uint64_t rate, uint64_t now_ms)
{
	*a = (struct app_allowance){ 0 };
	if (rate)
		token_bucket_init(&a->bucket, rate, burst_of(rate), now_ms);
}

int app_allowance_take(struct app_allowance *a, uint64_t n, uint64_t now_ms, uint64_t *retry_ms)
{
	struct token_bucket *total;
	int rc = APP_CHANNEL_OK;

	*retry_ms = 0;
	pthread_mutex_lock(&g_mu);
	total = total_locked(now_ms);
	if (n > APP_CHANNEL_MAX_MESSAGE) {
		rc = APP_CHANNEL_E_TOO_LARGE;
		*retry_ms = TOKEN_BUCKET_NEVER;
	} else if (a->bucket.rate == 0) { /* rate 0 in a token_bucket means unlimited: not here */
		rc = APP_CHANNEL_E_NO_ALLOWANCE;
		*retry_ms = TOKEN_BUCKET_NEVER;
	} else if (token_bucket_available(&a->bucket, now_ms) < n) {
		rc = APP_CHANNEL_E_OVER_APP;
		*retry_ms = token_bucket_wait_ms(&a->bucket, n, now_ms);
	} else if (!token_bucket_take2(&a->bucket, total, n, now_ms)) {
		rc = APP_CHANNEL_E_OVER_TOTAL;
		*retry_ms = token_bucket_wait_ms(total, n, now_ms);
	}
	if (rc == APP_CHANNEL_OK)
		a->bytes_sent += n;
	else
		a->refused++;
	pthread_mutex_unlock(&g_mu);
	return rc;
}

void app_allowance_counts(const struct app_allowance *a, uint64_t *rate, uint64_t *bytes_sent,
			  uint64_t *refused)
{
	pthread_mutex_lock(&g_mu);
	*rate = a->bucket.rate;
	*bytes_sent = a->bytes_sent;
	*refused = a->refused;
	pthread_mutex_unlock(&g_mu);
}

void app_allowance_set_total(uint64_t rate, uint64_t now_ms)
{
	pthread_mutex_lock(&g_mu);
	token_bucket_set(total_locked(now_ms), rate, burst_of(rate), now_ms);
	pthread_mutex_unlock(&g_mu);
}

uint64_t app_allowance_total(void)
{
	uint64_t r;

	pthread_mutex_lock(&g_mu);
	r = g_total_init ? g_total.rate : APP_CHANNEL_TOTAL_DEFAULT;
	pthread_mutex_unlock(&g_mu);
	return r;
}

/* ---- outgoing queue ------------------------------------------------------------------- */

int app_msg_queue_push(struct app_msg_queue *q, const char *data, size_t len, bool force)
{
	struct app_msg *m;

	if (!force && q->bytes + len > APP_CHANNEL_MAX_QUEUED)
		return APP_CHANNEL_E_QUEUE_FULL;
	if (!(m = malloc(sizeof(*m) + len)))
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->data, data, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len;
	q->count++;
	return 0;
}

void app_msg_queue_pop(struct app_msg_queue *q)
{
	struct app_msg *m = q->head;

	if (!m)
		return;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	q->count--;
	free(m);
}

void app_msg_queue_clear(struct app_msg_queue *q)
{
	while (q->head)
		app_msg_queue_pop(q);
}

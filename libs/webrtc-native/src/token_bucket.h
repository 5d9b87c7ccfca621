/* token_bucket: byte-rate limiter for upload shaping (global and per peer).
 *
 * Classic token bucket: tokens (bytes) accrue at `rate` bytes per second up to
 * `burst`; sending n bytes takes n tokens.  No clock is read here: every call
 * takes the caller's monotonic `now_ms`.  A clock that goes backwards is treated
 * as no time passing.  Arithmetic is 64-bit and exact (a sub-byte remainder is
 * carried), and large gaps between calls cannot overflow: rate and burst are
 * clamped to TOKEN_BUCKET_MAX (2^40 bytes, ~1 TiB or 1 TiB/s).
 *
 * rate 0 means unlimited: take always succeeds, wait is always 0.
 *
 * Global + per-peer limiting: token_bucket_take2() takes n bytes from both
 * buckets or from neither (no tokens are lost when only one has enough), and
 * token_bucket_wait2_ms() is the longer of the two waits. */
#ifndef PEARFOG_TOKEN_BUCKET_H
#define PEARFOG_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#define TOKEN_BUCKET_MAX (UINT64_C(1) << 40)
/* token_bucket_wait_ms() result when n can never be granted (n > burst). */
#define TOKEN_BUCKET_NEVER UINT64_MAX

struct token_bucket {
	uint64_t rate;    /* bytes per second; 0 = unlimited */
	uint64_t burst;   /* bucket depth, bytes */
	uint64_t tokens;  /* bytes available now, <= burst */
	uint64_t last_ms; /* caller clock of the last refill */
	uint64_t frac;    /* sub-byte remainder, in 1/1000 byte units (< 1000) */
};

/* A bucket starts full.  burst 0 with a non-zero rate is raised to the rate
 * (one second's worth) so that the bucket can ever grant anything. */
void token_bucket_init(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ms);
/* Change rate/burst, keeping accrued tokens (clamped to the new burst). */
void token_bucket_set(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ms);

/* Take n bytes if available now; false (and nothing taken) otherwise. */
bool token_bucket_take(struct token_bucket *tb, uint64_t n, uint64_t now_ms);
/* Bytes that could be taken now (UINT64_MAX when unlimited). */
uint64_t token_bucket_available(struct token_bucket *tb, uint64_t now_ms);
/* Milliseconds until n bytes can be taken (0 = now; TOKEN_BUCKET_NEVER if
 * n > burst).  Rounded up: take(n, now_ms + wait) succeeds. */
uint64_t token_bucket_wait_ms(struct token_bucket *tb, uint64_t n, uint64_t now_ms);

/* Both buckets or neither.  Either pointer may be NULL (no limit there). */
bool token_bucket_take2(struct token_bucket *a, struct token_bucket *b, uint64_t n,
			uint64_t now_ms);
uint64_t token_bucket_available2(struct token_bucket *a, struct token_bucket *b, uint64_t now_ms);
uint64_t token_bucket_wait2_ms(struct token_bucket *a, struct token_bucket *b, uint64_t n,
			       uint64_t now_ms);

#endif

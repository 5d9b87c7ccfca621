#include "token_bucket.h"

static uint64_t clamp(uint64_t v)
{
	return v > TOKEN_BUCKET_MAX ? TOKEN_BUCKET_MAX : v;
}

/* Accrue tokens for the time since last_ms.  With rate, burst <= 2^40 and
 * elapsed capped at the time to fill the bucket, elapsed * rate stays below
 * 2^40 * 1000 + 2^40 < 2^51: no overflow for any gap. */
static void refill(struct token_bucket *tb, uint64_t now_ms)
{
	if (tb->rate == 0 || now_ms <= tb->last_ms) {
		if (tb->rate == 0)
			tb->last_ms = now_ms;
		return;
	}
	uint64_t elapsed = now_ms - tb->last_ms;
	tb->last_ms = now_ms;
	if (tb->tokens >= tb->burst) {
		tb->frac = 0;
		return;
	}
	uint64_t fill_ms = (tb->burst - tb->tokens) * 1000 / tb->rate + 1;
	if (elapsed >= fill_ms) {
		tb->tokens = tb->burst;
		tb->frac = 0;
		return;
	}
	uint64_t milli = elapsed * tb->rate + tb->frac; /* in 1/1000 bytes */
	tb->tokens += milli / 1000;
	tb->frac = milli % 1000;
	if (tb->tokens >= tb->burst) {
		tb->tokens = tb->burst;
		tb->frac = 0;
	}
}

void token_bucket_set(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	refill(tb, now_ms);
	tb->rate = clamp(rate);
	tb->burst = clamp(burst);
	if (tb->rate && tb->burst == 0)
		tb->burst = tb->rate;
	if (tb->tokens > tb->burst)
		tb->tokens = tb->burst;
	tb->last_ms = now_ms;
}

void token_bucket_init(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	*tb = (struct token_bucket){ .last_ms = now_ms };
	token_bucket_set(tb, rate, burst, now_ms);
	tb->tokens = tb->burst;
}

bool token_bucket_take(struct token_bucket *tb, uint64_t n, uint64_t now_ms)
{
	if (tb->rate == 0)
		return true;
	refill(tb, now_ms);
	if (n > tb->tokens)
		return false;
	tb->tokens -= n;
	return true;
}

uint64_t token_bucket_available(struct token_bucket *tb, uint64_t now_ms)
{
	if (tb->rate == 0)
		return UINT64_MAX;
	refill(tb, now_ms);
	return tb->tokens;
}

uint64_t token_bucket_wait_ms(struct token_bucket *tb, uint64_t n, uint64_t now_ms)
{
	if (tb->rate == 0)
		return 0;
	refill(tb, now_ms);
	if (n <= tb->tokens)
		return 0;
	if (n > tb->burst)
		return TOKEN_BUCKET_NEVER;
	/* need < 2^40 bytes, so need * 1000 < 2^50. */
	uint64_t need_milli = (n - tb->tokens) * 1000 - tb->frac;
	return (need_milli + tb->rate - 1) / tb->rate;
}

bool token_bucket_take2(struct token_bucket *a, struct token_bucket *b, uint64_t n,
			uint64_t now_ms)
{
	if (token_bucket_available2(a, b, now_ms) < n)
		return false;
	if (a)
		token_bucket_take(a, n, now_ms);
	if (b)
		token_bucket_take(b, n, now_ms);
	return true;
}

uint64_t token_bucket_available2(struct token_bucket *a, struct token_bucket *b, uint64_t now_ms)
{
	uint64_t x = a ? token_bucket_available(a, now_ms) : UINT64_MAX;
	uint64_t y = b ? token_bucket_available(b, now_ms) : UINT64_MAX;
	return x < y ? x : y;
}

uint64_t token_bucket_wait2_ms(struct token_bucket *a, struct token_bucket *b, uint64_t n,
			       uint64_t now_ms)
{
	uint64_t x = a ? token_bucket_wait_ms(a, n, now_ms) : 0;
	uint64_t y = b ? token_bucket_wait_ms(b, n, now_ms) : 0;
	return x > y ? x : y;
}

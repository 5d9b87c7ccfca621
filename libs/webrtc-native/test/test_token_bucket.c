#include <stdint.h>

#include "test.h"
#include "token_bucket.h"

TEST(starts_full_and_drains)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1000, 500, 0);
	CHECK_EQ_INT(token_bucket_available(&tb, 0), 500);
	CHECK(token_bucket_take(&tb, 300, 0));
	CHECK(!token_bucket_take(&tb, 201, 0));
	CHECK_EQ_INT(token_bucket_available(&tb, 0), 200); /* failed take took nothing */
	CHECK(token_bucket_take(&tb, 200, 0));
	CHECK(!token_bucket_take(&tb, 1, 0));
	CHECK(!token_bucket_take(&tb, 501, 10000)); /* more than burst: never */
}

TEST(refill_exact_with_fractions)
{
	struct token_bucket tb;

	/* 3 bytes/s: 1 byte per 333.3 ms; the remainder must carry, not be lost. */
	token_bucket_init(&tb, 3, 3, 0);
	CHECK(token_bucket_take(&tb, 3, 0));
	uint64_t got = 0;
	for (uint64_t t = 1; t <= 1000; t++)
		if (token_bucket_take(&tb, 1, t))
			got++;
	CHECK_EQ_INT(got, 3);
	CHECK_EQ_INT(token_bucket_available(&tb, 1000), 0);

	/* 1000 bytes/s stepped 1 ms at a time for 10 s: exactly 10000 bytes. */
	token_bucket_init(&tb, 1000, 1000, 0);
	CHECK(token_bucket_take(&tb, 1000, 0));
	got = 0;
	for (uint64_t t = 1; t <= 10000; t++)
		while (token_bucket_take(&tb, 1, t))
			got++;
	CHECK_EQ_INT(got, 10000);
}

TEST(caps_at_burst)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 100, 50, 0);
	CHECK(token_bucket_take(&tb, 50, 0));
	CHECK_EQ_INT(token_bucket_available(&tb, 100), 10);
	CHECK_EQ_INT(token_bucket_available(&tb, 1000000), 50);
}

TEST(wait_ms_is_enough_and_tight)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1000, 1000, 0);
	CHECK(token_bucket_take(&tb, 1000, 0));
	CHECK_EQ_INT(token_bucket_wait_ms(&tb, 250, 0), 250);
	CHECK(!token_bucket_take(&tb, 250, 249));
	CHECK(token_bucket_take(&tb, 250, 250));
	CHECK_EQ_INT(token_bucket_wait_ms(&tb, 1001, 250), (long long)TOKEN_BUCKET_NEVER);
	CHECK_EQ_INT(token_bucket_wait_ms(&tb, 0, 250), 0);

	/* Odd rate: rounding up must still make the take succeed. */
	token_bucket_init(&tb, 7, 100, 0);
	CHECK(token_bucket_take(&tb, 100, 0));
	for (uint64_t n = 1; n <= 100; n += 9) {
		struct token_bucket c = tb;
		uint64_t w = token_bucket_wait_ms(&c, n, 5);
		struct token_bucket d = tb;
		CHECK(token_bucket_take(&d, n, 5 + w));
		if (w > 0) {
			struct token_bucket e = tb;
			CHECK(!token_bucket_take(&e, n, 5 + w - 1));
		}
	}
}

TEST(unlimited)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 0, 0, 0);
	CHECK(token_bucket_take(&tb, UINT64_MAX, 0));
	CHECK(token_bucket_available(&tb, 0) == UINT64_MAX);
	CHECK_EQ_INT(token_bucket_wait_ms(&tb, UINT64_MAX, 0), 0);
}

TEST(no_overflow_on_huge_values)
{
	struct token_bucket tb;

	token_bucket_init(&tb, UINT64_MAX, UINT64_MAX, 0);
	CHECK(tb.rate == TOKEN_BUCKET_MAX && tb.burst == TOKEN_BUCKET_MAX);
	CHECK(token_bucket_take(&tb, TOKEN_BUCKET_MAX, 0));
	CHECK(token_bucket_available(&tb, UINT64_MAX) == TOKEN_BUCKET_MAX);
	CHECK(token_bucket_take(&tb, TOKEN_BUCKET_MAX, UINT64_MAX));
	CHECK(token_bucket_wait_ms(&tb, TOKEN_BUCKET_MAX, UINT64_MAX) == 1000);

	/* Tiny rate, enormous gap. */
	token_bucket_init(&tb, 1, TOKEN_BUCKET_MAX, 0);
	CHECK(token_bucket_take(&tb, TOKEN_BUCKET_MAX, 0));
	CHECK(token_bucket_available(&tb, TOKEN_BUCKET_MAX * 500) == TOKEN_BUCKET_MAX / 2);
	CHECK(token_bucket_available(&tb, UINT64_MAX) == TOKEN_BUCKET_MAX);
	/* Burst 0 with a rate is raised to one second's worth. */
	token_bucket_init(&tb, 10, 0, 0);
	CHECK_EQ_INT(tb.burst, 10);
}

TEST(clock_backwards_is_no_time)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1000, 1000, 5000);
	CHECK(token_bucket_take(&tb, 1000, 5000));
	CHECK_EQ_INT(token_bucket_available(&tb, 1000), 0);
	CHECK_EQ_INT(token_bucket_available(&tb, 5100), 100);
}

TEST(take2_all_or_nothing)
{
	struct token_bucket global, peer;

	token_bucket_init(&global, 1000, 1000, 0);
	token_bucket_init(&peer, 100, 100, 0);
	CHECK(!token_bucket_take2(&global, &peer, 101, 0));
	CHECK_EQ_INT(token_bucket_available(&global, 0), 1000); /* untouched */
	CHECK(token_bucket_take2(&global, &peer, 100, 0));
	CHECK_EQ_INT(token_bucket_available(&global, 0), 900);
	CHECK_EQ_INT(token_bucket_available2(&global, &peer, 0), 0);
	CHECK_EQ_INT(token_bucket_wait2_ms(&global, &peer, 50, 0), 500);
	CHECK(token_bucket_take2(&global, NULL, 900, 0));
	CHECK_EQ_INT(token_bucket_wait2_ms(&global, &peer, 50, 0), 500);
	CHECK_EQ_INT(token_bucket_wait2_ms(&global, &peer, 100, 0), 1000);
	CHECK(token_bucket_take2(NULL, NULL, 12345, 0));
}

TEST(set_keeps_tokens_clamped)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1000, 1000, 0);
	CHECK(token_bucket_take(&tb, 400, 0));
	token_bucket_set(&tb, 2000, 300, 0);
	CHECK_EQ_INT(token_bucket_available(&tb, 0), 300);
	CHECK_EQ_INT(token_bucket_available(&tb, 100), 300);
	token_bucket_set(&tb, 0, 0, 100);
	CHECK(token_bucket_take(&tb, 1u << 30, 100));
}

int main(void)
{
	RUN(starts_full_and_drains);
	RUN(refill_exact_with_fractions);
	RUN(caps_at_burst);
	RUN(wait_ms_is_enough_and_tight);
	RUN(unlimited);
	RUN(no_overflow_on_huge_values);
	RUN(clock_backwards_is_no_time);
	RUN(take2_all_or_nothing);
	RUN(set_keeps_tokens_clamped);
	return test_summary();
}

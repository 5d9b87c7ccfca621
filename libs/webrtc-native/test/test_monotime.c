/* monotime: both units read the same clock, it never goes back, and it counts real time. */
#include "monotime.h"
#include "test.h"

#include <time.h>

TEST(units_agree_and_never_go_back)
{
	uint64_t ms0 = monotime_ms(), ns = monotime_ns(), ms1 = monotime_ms();

	CHECK(ms0 <= ns / 1000000u && ns / 1000000u <= ms1);
	uint64_t last = monotime_ns();
	for (int i = 0; i < 10000; i++) {
		uint64_t now = monotime_ns();
		CHECK(now >= last);
		last = now;
	}
}

TEST(counts_a_sleep)
{
	struct timespec d = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
	uint64_t t0 = monotime_ms();

	nanosleep(&d, NULL);
	uint64_t took = monotime_ms() - t0;
	CHECK(took >= 19); /* whole ms, truncated at both ends */
	CHECK(took < 5000);
}

int main(void)
{
	RUN(units_agree_and_never_go_back);
	RUN(counts_a_sleep);
	return test_summary();
}

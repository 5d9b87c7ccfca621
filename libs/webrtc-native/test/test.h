/* Minimal unit-test harness: one binary per test/test_<module>.c.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *   int main(void) { RUN(name); return test_summary(); }
 *
 * test_summary() prints "N passed, N failed" (counted per TEST) as the last line;
 * scripts/test.mjs adds these up across binaries. */
#ifndef PEARFOG_TEST_H
#define PEARFOG_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_case_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                                \
			test_case_failed = 1;                                    \
		}                                                                \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                           \
	do {                                                                         \
		long long _a = (long long)(a), _b = (long long)(b);                  \
		if (_a != _b) {                                                      \
			fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n",  \
				__FILE__, __LINE__, #a, #b, _a, _b);                 \
			test_case_failed = 1;                                        \
		}                                                                    \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                          \
	do {                                                                        \
		const char *_a = (a), *_b = (b);                                    \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                            \
			fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",     \
				_b ? _b : "(null)");                                \
			test_case_failed = 1;                                       \
		}                                                                   \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(name)                                          \
	do {                                               \
		test_case_failed = 0;                      \
		name();                                    \
		if (test_case_failed) {                    \
			test_failed++;                     \
			fprintf(stderr, "FAIL %s\n", #name); \
		} else {                                   \
			test_passed++;                     \
			printf("ok %s\n", #name);          \
		}                                          \
	} while (0)

static inline int test_summary(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif

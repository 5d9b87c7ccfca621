/* textbuf: text appends while it fits; the first call that does not fit sets overflow, keeps
 * len where it was and stops every later call. */
#include "textbuf.h"
#include "test.h"

#include <string.h>

TEST(appends_while_it_fits)
{
	char buf[16];
	struct textbuf t = TEXTBUF_INIT(buf, sizeof(buf));

	textbuf_printf(&t, "v=%d\r\n", 0);
	textbuf_printf(&t, "s=-\r\n");
	CHECK(!t.overflow);
	CHECK_EQ_INT((int)t.len, 10);
	CHECK_EQ_STR(buf, "v=0\r\ns=-\r\n");
}

TEST(exactly_full_fits_one_more_byte_does_not)
{
	char buf[5];
	struct textbuf t = TEXTBUF_INIT(buf, sizeof(buf));

	textbuf_printf(&t, "abcd"); /* 4 bytes + NUL = cap */
	CHECK(!t.overflow);
	CHECK_EQ_INT((int)t.len, 4);
	textbuf_printf(&t, "e");
	CHECK(t.overflow);
	CHECK_EQ_INT((int)t.len, 4);
	CHECK_EQ_STR(buf, "abcd");
}

TEST(after_an_overflow_nothing_more_is_written)
{
	char buf[8];
	struct textbuf t = TEXTBUF_INIT(buf, sizeof(buf));

	textbuf_printf(&t, "ab");
	textbuf_printf(&t, "%s", "0123456789"); /* does not fit */
	CHECK(t.overflow);
	CHECK_EQ_INT((int)t.len, 2);
	textbuf_printf(&t, "c"); /* would fit, but the text is already incomplete */
	CHECK(t.overflow);
	CHECK_EQ_INT((int)t.len, 2);
	CHECK(memcmp(buf, "ab", 2) == 0);
}

TEST(zero_capacity_is_an_overflow)
{
	char c = 'x';
	struct textbuf t = TEXTBUF_INIT(&c, 0);

	textbuf_printf(&t, "a");
	CHECK(t.overflow);
	CHECK_EQ_INT((int)t.len, 0);
	CHECK(c == 'x');
}

int main(void)
{
	RUN(appends_while_it_fits);
	RUN(exactly_full_fits_one_more_byte_does_not);
	RUN(after_an_overflow_nothing_more_is_written);
	RUN(zero_capacity_is_an_overflow);
	return test_summary();
}

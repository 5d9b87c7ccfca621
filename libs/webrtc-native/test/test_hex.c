/* hex: every byte value maps to its digit value or -1. */
#include "hex.h"
#include "test.h"

TEST(every_byte)
{
	for (int c = -1; c < 256; c++) {
		int want = c >= '0' && c <= '9'   ? c - '0'
			   : c >= 'a' && c <= 'f' ? c - 'a' + 10
			   : c >= 'A' && c <= 'F' ? c - 'A' + 10
						  : -1;
		CHECK_EQ_INT(hex_digit_value(c), want);
	}
	CHECK_EQ_INT(hex_digit_value((char)0xc1), -1); /* a negative char is no digit */
}

int main(void)
{
	RUN(every_byte);
	return test_summary();
}

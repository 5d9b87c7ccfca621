/* CRC-32C: RFC 3720 §B.4 vectors on every implementation this CPU has, the
 * hardware and table paths agree on random lengths/alignments, and the SCTP
 * checksum field matches usrsctp's own computation. */
#include <stdlib.h>
#include <usrsctp.h>

#include "crc32c.h"
#include "test.h"

static void rfc3720_vectors(void)
{
	uint8_t buf[32];

	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ_INT(crc32c(0, buf, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ_INT(crc32c(0, buf, 32), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	CHECK_EQ_INT(crc32c(0, buf, 32), 0x113fdb5c);
	CHECK_EQ_INT(crc32c(0, "123456789", 9), 0xe3069283); /* the CRC catalogue check value */
	CHECK_EQ_INT(crc32c(0, "", 0), 0);
	/* Running form: split anywhere gives the same result. */
	CHECK_EQ_INT(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

TEST(vectors_detected_impl)
{
	crc32c_force_table(0);
	fprintf(stderr, "  implementation: %s\n", crc32c_impl());
	rfc3720_vectors();
}

TEST(vectors_table_impl)
{
	crc32c_force_table(1);
	CHECK_EQ_STR(crc32c_impl(), "table");
	rfc3720_vectors();
	crc32c_force_table(0);
}

TEST(impls_agree_on_random_input)
{
	static uint8_t buf[4096 + 16];
	unsigned seed = 7;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand_r(&seed);
	for (int round = 0; round < 200; round++) {
		size_t off = (size_t)rand_r(&seed) % 16, len = (size_t)rand_r(&seed) % 4096;
		crc32c_force_table(1);
		uint32_t t = crc32c(0, buf + off, len);
		crc32c_force_table(0);
		CHECK_EQ_INT(crc32c(0, buf + off, len), t);
	}
}

TEST(sctp_field_matches_usrsctp)
{
	static uint8_t pkt[1200], ref[1200];
	unsigned seed = 11;

	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)rand_r(&seed);
	memcpy(ref, pkt, sizeof(pkt));
	crc32c_sctp_fill(pkt, sizeof(pkt));
	/* usrsctp: zero the field, compute, store in host order (what sctp.c did). */
	uint32_t c = 0;
	memcpy(ref + 8, &c, 4);
	c = usrsctp_crc32c(ref, sizeof(ref));
	memcpy(ref + 8, &c, 4);
	CHECK(memcmp(pkt, ref, sizeof(pkt)) == 0);
	CHECK(crc32c_sctp_check(pkt, sizeof(pkt)));
	pkt[600] ^= 1;
	CHECK(!crc32c_sctp_check(pkt, sizeof(pkt)));
	CHECK(!crc32c_sctp_check(pkt, 11));
}

int main(void)
{
	RUN(vectors_detected_impl);
	RUN(vectors_table_impl);
	RUN(impls_agree_on_random_input);
	RUN(sctp_field_matches_usrsctp);
	return test_summary();
}

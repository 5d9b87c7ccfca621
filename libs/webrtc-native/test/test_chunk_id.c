#include "chunk_id.h"
#include "test.h"

/* FIPS 180-4 / NIST CSRC example vectors for SHA-256. */
TEST(sha256_vectors)
{
	struct chunk_id id;
	char hex[CHUNK_ID_HEX_LEN + 1];

	chunk_id_of(&id, "", 0);
	chunk_id_format(&id, hex);
	CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	chunk_id_of(&id, "abc", 3);
	chunk_id_format(&id, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	chunk_id_of(&id, two, strlen(two));
	chunk_id_format(&id, hex);
	CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(parse_round_trip)
{
	struct chunk_id a, b;
	char hex[CHUNK_ID_HEX_LEN + 1];
	const char *upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";

	CHECK(chunk_id_parse(&a, upper, strlen(upper)));
	chunk_id_format(&a, hex);
	CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	chunk_id_of(&b, "abc", 3);
	CHECK(chunk_id_equal(&a, &b));
}

TEST(parse_rejects_bad_input)
{
	struct chunk_id a;
	const char *good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

	memset(&a, 0x5a, sizeof(a));
	CHECK(!chunk_id_parse(&a, good, 63));
	CHECK(!chunk_id_parse(&a, good, 0));
	char bad[65];
	memcpy(bad, good, 65);
	bad[10] = 'g';
	CHECK(!chunk_id_parse(&a, bad, 64));
	bad[10] = '\0';
	CHECK(!chunk_id_parse(&a, bad, 64));
	CHECK_EQ_INT(a.bytes[0], 0x5a); /* untouched on failure */
}

int main(void)
{
	RUN(sha256_vectors);
	RUN(parse_round_trip);
	RUN(parse_rejects_bad_input);
	return test_summary();
}

/* stun: RFC 5769 test vectors, builder round trips, hostile input. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>


#include "crypto.h"
#include "stun.h"
#include "test.h"

static const char vec_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 §2.1 sample request */
static const uint8_t vec_req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2 sample IPv4 response: 192.0.2.1:32853 */
static const uint8_t vec_resp4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 §2.3 sample IPv6 response: [2001:db8:1234:5678:11:2233:4455:6677]:32853 */
static const uint8_t vec_resp6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t *key(void)
{
	return (const uint8_t *)vec_pwd;
}

#define KEYLEN (sizeof(vec_pwd) - 1)

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 sin6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

TEST(crc32_check_value)
{
	/* the CRC-32/ISO-HDLC check value */
	CHECK_EQ_INT(stun_crc32(0, (const uint8_t *)"123456789", 9), 0xCBF43926u);
	CHECK_EQ_INT(stun_crc32(stun_crc32(0, (const uint8_t *)"1234", 4),
				(const uint8_t *)"56789", 5),
		     0xCBF43926u);
	CHECK_EQ_INT(stun_crc32(0, NULL, 0), 0);
}

TEST(type_interleaving)
{
	CHECK_EQ_INT(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), 0x0001);
	CHECK_EQ_INT(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_INDICATION), 0x0011);
	CHECK_EQ_INT(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), 0x0101);
	CHECK_EQ_INT(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR), 0x0111);
	CHECK_EQ_INT(stun_msg_type(0xFFF, STUN_CLASS_ERROR), 0x3FFF);
	CHECK_EQ_INT(stun_msg_type(0x003, STUN_CLASS_REQUEST), 0x0003); /* Allocate */
}

TEST(rfc5769_request)
{
	struct stun_msg m;

	CHECK_EQ_INT(stun_msg_parse(vec_req, sizeof(vec_req), &m), STUN_OK);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	CHECK_EQ_INT(m.length, 0x58);
	CHECK_MEM(m.txid, vec_req + 8, 12);
	CHECK_EQ_INT(m.n_attrs, 6);
	CHECK(m.present & STUN_HAS_USERNAME);
	CHECK_EQ_INT(m.username_len, 9);
	CHECK_MEM(m.username, "evtj:h6vY", 9);
	CHECK(m.present & STUN_HAS_SOFTWARE);
	CHECK_EQ_INT(m.software_len, 16);
	CHECK_MEM(m.software, "STUN test client", 16);
	CHECK(m.present & STUN_HAS_PRIORITY);
	CHECK_EQ_INT(m.priority, 0x6e0001ff);
	CHECK(m.present & STUN_HAS_ICE_CONTROLLED);
	CHECK(!(m.present & STUN_HAS_ICE_CONTROLLING));
	CHECK(m.ice_controlled == UINT64_C(0x932ff9b151263b36));
	CHECK(!(m.present & STUN_HAS_USE_CANDIDATE));
	CHECK_EQ_INT(m.mi_offset, 76);
	CHECK_EQ_INT(m.fingerprint_offset, 100);
	CHECK_EQ_INT(m.n_unknown, 0);
	CHECK(stun_msg_check_fingerprint(vec_req, sizeof(vec_req), &m));
	CHECK(stun_msg_check_integrity(vec_req, sizeof(vec_req), &m, key(), KEYLEN));
	CHECK(!stun_msg_check_integrity(vec_req, sizeof(vec_req), &m, key(), KEYLEN - 1));
	CHECK(!stun_msg_check_integrity_sha256(vec_req, sizeof(vec_req), &m, key(), KEYLEN));
}

TEST(rfc5769_request_tamper)
{
	uint8_t buf[sizeof(vec_req)];
	struct stun_msg m;

	/* flip every bit of the authenticated part: MI must fail each time, and
	 * FINGERPRINT must fail for every flip before it */
	for (size_t i = 0; i < 76 * 8; i++) {
		memcpy(buf, vec_req, sizeof(buf));
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (stun_msg_parse(buf, sizeof(buf), &m) != STUN_OK)
			continue;
		CHECK(!stun_msg_check_fingerprint(buf, sizeof(buf), &m));
		CHECK(!stun_msg_check_integrity(buf, sizeof(buf), &m, key(), KEYLEN));
	}
	/* the padding bytes of USERNAME are covered by MI too */
	memcpy(buf, vec_req, sizeof(buf));
	buf[73] = 0;
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_OK);
	CHECK(!stun_msg_check_integrity(buf, sizeof(buf), &m, key(), KEYLEN));
	/* a wrong fingerprint value */
	memcpy(buf, vec_req, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 1;
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_OK);
	CHECK(!stun_msg_check_fingerprint(buf, sizeof(buf), &m));
	CHECK(stun_msg_check_integrity(buf, sizeof(buf), &m, key(), KEYLEN));
}

TEST(rfc5769_responses_parse)
{
	struct stun_msg m;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in6 want6 = sin6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
	uint8_t want4[4] = { 192, 0, 2, 1 };

	CHECK_EQ_INT(stun_msg_parse(vec_resp4, sizeof(vec_resp4), &m), STUN_OK);
	CHECK_EQ_INT(m.cls, STUN_CLASS_SUCCESS);
	CHECK(m.present & STUN_HAS_XOR_MAPPED);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET);
	CHECK_EQ_INT(m.xor_mapped.port, 32853);
	CHECK_MEM(m.xor_mapped.addr, want4, 4);
	CHECK_EQ_INT(m.software_len, 11);
	CHECK(stun_msg_check_fingerprint(vec_resp4, sizeof(vec_resp4), &m));
	CHECK(stun_msg_check_integrity(vec_resp4, sizeof(vec_resp4), &m, key(), KEYLEN));

	CHECK_EQ_INT(stun_msg_parse(vec_resp6, sizeof(vec_resp6), &m), STUN_OK);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET6);
	CHECK_EQ_INT(m.xor_mapped.port, 32853);
	CHECK_MEM(m.xor_mapped.addr, &want6.sin6_addr, 16);
	CHECK_EQ_INT(stun_addr_to_sockaddr(&m.xor_mapped, &ss), sizeof(struct sockaddr_in6));
	CHECK_EQ_INT(in6->sin6_family, AF_INET6);
	CHECK_EQ_INT(ntohs(in6->sin6_port), 32853);
	CHECK(stun_msg_check_fingerprint(vec_resp6, sizeof(vec_resp6), &m));
	CHECK(stun_msg_check_integrity(vec_resp6, sizeof(vec_resp6), &m, key(), KEYLEN));
}

/* Rebuild a §2.2/§2.3 response byte for byte: SOFTWARE "test vector" padded with a
 * space, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
static size_t rebuild_response(uint8_t *out, size_t cap, const struct sockaddr *sa,
			       socklen_t salen)
{
	struct stun_builder b;
	size_t len = 0;

	stun_builder_init(&b, out, cap, stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS),
			  vec_req + 8);
	b.pad_byte = 0x20;
	stun_builder_add(&b, STUN_ATTR_SOFTWARE, "test vector", 11);
	stun_builder_add_xor_address(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, sa, salen);
	if (stun_builder_finish(&b, key(), KEYLEN, &len) != STUN_OK)
		return 0;
	return len;
}

TEST(rfc5769_responses_rebuild)
{
	struct sockaddr_in a4 = sin4("192.0.2.1", 32853);
	struct sockaddr_in6 a6 = sin6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
	uint8_t out[256];
	size_t n;

	n = rebuild_response(out, sizeof(out), (struct sockaddr *)&a4, sizeof(a4));
	CHECK_EQ_INT(n, sizeof(vec_resp4));
	CHECK_MEM(out, vec_resp4, sizeof(vec_resp4));
	n = rebuild_response(out, sizeof(out), (struct sockaddr *)&a6, sizeof(a6));
	CHECK_EQ_INT(n, sizeof(vec_resp6));
	CHECK_MEM(out, vec_resp6, sizeof(vec_resp6));
}

TEST(rfc5769_request_rebuild)
{
	struct stun_builder b;
	uint8_t out[256];
	size_t n = 0;

	stun_builder_init(&b, out, sizeof(out),
			  stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), vec_req + 8);
	b.pad_byte = 0x20;
	stun_builder_add(&b, STUN_ATTR_SOFTWARE, "STUN test client", 16);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e0001ff);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLED, UINT64_C(0x932ff9b151263b36));
	stun_builder_add(&b, STUN_ATTR_USERNAME, "evtj:h6vY", 9);
	CHECK_EQ_INT(stun_builder_finish(&b, key(), KEYLEN, &n), STUN_OK);
	CHECK_EQ_INT(n, sizeof(vec_req));
	CHECK_MEM(out, vec_req, sizeof(vec_req));
}

TEST(binding_success_helper)
{
	static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct sockaddr_in a4 = sin4("198.51.100.7", 50000);
	struct sockaddr_in6 mapped = sin6("::ffff:203.0.113.9", 4242);
	struct sockaddr_in6 a6 = sin6("2001:db8::1", 65535);
	uint8_t out[128];
	uint8_t want[4] = { 203, 0, 113, 9 };
	struct stun_msg m;
	size_t n = 0;

	CHECK_EQ_INT(stun_build_binding_success(out, sizeof(out), txid, (struct sockaddr *)&a4,
						sizeof(a4), key(), KEYLEN, &n),
		     STUN_OK);
	CHECK_EQ_INT(n, 20 + 12 + 24 + 8);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK_EQ_INT(m.cls, STUN_CLASS_SUCCESS);
	CHECK_MEM(m.txid, txid, 12);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET);
	CHECK_EQ_INT(m.xor_mapped.port, 50000);
	CHECK_MEM(m.xor_mapped.addr, &a4.sin_addr, 4);
	CHECK(stun_msg_check_integrity(out, n, &m, key(), KEYLEN));
	CHECK(stun_msg_check_fingerprint(out, n, &m));

	/* IPv4-mapped IPv6 (dual-stack socket) is reported as IPv4 */
	CHECK_EQ_INT(stun_build_binding_success(out, sizeof(out), txid,
						(struct sockaddr *)&mapped, sizeof(mapped), NULL,
						0, &n),
		     STUN_OK);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK(!(m.present & STUN_HAS_MI));
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET);
	CHECK_EQ_INT(m.xor_mapped.port, 4242);
	CHECK_MEM(m.xor_mapped.addr, want, 4);

	CHECK_EQ_INT(stun_build_binding_success(out, sizeof(out), txid, (struct sockaddr *)&a6,
						sizeof(a6), key(), KEYLEN, &n),
		     STUN_OK);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET6);
	CHECK_EQ_INT(m.xor_mapped.port, 65535);
	CHECK_MEM(m.xor_mapped.addr, &a6.sin6_addr, 16);
	CHECK(stun_msg_check_integrity(out, n, &m, key(), KEYLEN));

	/* too small a buffer, bad address */
	CHECK_EQ_INT(stun_build_binding_success(out, 60, txid, (struct sockaddr *)&a4,
						sizeof(a4), key(), KEYLEN, &n),
		     STUN_E_BUFFER);
	CHECK_EQ_INT(stun_build_binding_success(out, sizeof(out), txid, (struct sockaddr *)&a4,
						sizeof(a4) - 1, key(), KEYLEN, &n),
		     STUN_E_INVALID);
}

TEST(error_helper)
{
	static const uint8_t txid[12] = { 9 };
	static const uint16_t unknown[] = { 0x0003, 0x7fff, 0x0021 };
	uint8_t out[256];
	struct stun_msg m;
	size_t n = 0;

	CHECK_EQ_INT(stun_build_error(out, sizeof(out), STUN_METHOD_BINDING, txid, 401, NULL, 0,
				      NULL, 0, &n),
		     STUN_OK);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK_EQ_INT(m.cls, STUN_CLASS_ERROR);
	CHECK_EQ_INT(m.error_code, 401);
	CHECK_EQ_INT(m.error_reason_len, strlen("Unauthenticated"));
	CHECK_MEM(m.error_reason, "Unauthenticated", m.error_reason_len);
	CHECK(!(m.present & STUN_HAS_MI));
	CHECK(stun_msg_check_fingerprint(out, n, &m));

	CHECK_EQ_INT(stun_build_error(out, sizeof(out), STUN_METHOD_BINDING, txid, 420, unknown,
				      3, key(), KEYLEN, &n),
		     STUN_OK);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK_EQ_INT(m.error_code, 420);
	CHECK(m.present & STUN_HAS_UNKNOWN_ATTRS);
	/* after ERROR-CODE (4 + 4 + 17 "Unknown Attribute", padded to 28):
	 * UNKNOWN-ATTRIBUTES, 3 types, 6 bytes, padded to 8 */
	CHECK_EQ_INT(out[20 + 28], 0x00);
	CHECK_EQ_INT(out[20 + 28 + 1], 0x0A);
	CHECK_EQ_INT(out[20 + 28 + 3], 6);
	CHECK_EQ_INT(out[20 + 28 + 4 + 2], 0x7f);
	CHECK_EQ_INT(out[20 + 28 + 4 + 5], 0x21);
	CHECK_EQ_INT(n, 20 + 28 + 12 + 24 + 8);
	CHECK(stun_msg_check_integrity(out, n, &m, key(), KEYLEN));

	CHECK_EQ_INT(stun_build_error(out, sizeof(out), STUN_METHOD_BINDING, txid, 487, NULL, 0,
				      key(), KEYLEN, &n),
		     STUN_OK);
	CHECK_EQ_INT(stun_msg_parse(out, n, &m), STUN_OK);
	CHECK_EQ_INT(m.error_code, 487);
	CHECK_MEM(m.error_reason, "Role Conflict", m.error_reason_len);

	CHECK_EQ_INT(stun_build_error(out, sizeof(out), STUN_METHOD_BINDING, txid, 299, NULL, 0,
				      NULL, 0, &n),
		     STUN_E_INVALID);
	CHECK_EQ_INT(stun_build_error(out, sizeof(out), STUN_METHOD_BINDING, txid, 700, NULL, 0,
				      NULL, 0, &n),
		     STUN_E_INVALID);
}

TEST(builder_rules)
{
	static const uint8_t txid[12] = { 0 };
	struct stun_builder b;
	uint8_t out[128];
	size_t n = 0;

	/* nothing after MI except FINGERPRINT; nothing after FINGERPRINT */
	stun_builder_init(&b, out, sizeof(out), 0x0001, txid);
	CHECK_EQ_INT(stun_builder_add_integrity(&b, key(), KEYLEN), STUN_OK);
	CHECK_EQ_INT(stun_builder_add(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0), STUN_E_SEALED);
	CHECK_EQ_INT(stun_builder_finish(&b, NULL, 0, &n), STUN_E_SEALED);

	stun_builder_init(&b, out, sizeof(out), 0x0001, txid);
	CHECK_EQ_INT(stun_builder_add_fingerprint(&b), STUN_OK);
	CHECK_EQ_INT(stun_builder_add_fingerprint(&b), STUN_E_SEALED);

	/* sticky errors */
	stun_builder_init(&b, out, 24, 0x0001, txid);
	CHECK_EQ_INT(stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 1), STUN_E_BUFFER);
	CHECK_EQ_INT(stun_builder_add(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0), STUN_E_BUFFER);
	CHECK_EQ_INT(stun_builder_finish(&b, NULL, 0, &n), STUN_E_BUFFER);
	stun_builder_init(&b, out, 19, 0x0001, txid);
	CHECK_EQ_INT(b.err, STUN_E_BUFFER);

	/* an empty attribute and odd lengths are padded; the header length tracks */
	stun_builder_init(&b, out, sizeof(out), 0x0001, txid);
	stun_builder_add(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
	stun_builder_add(&b, STUN_ATTR_USERNAME, "a:b", 3);
	CHECK_EQ_INT(b.len, 20 + 4 + 8);
	CHECK_EQ_INT(out[3], 12);
	CHECK_EQ_INT(out[31], 0);
}

TEST(parse_header_rules)
{
	uint8_t buf[sizeof(vec_req)];
	struct stun_msg m;

	CHECK_EQ_INT(stun_msg_parse(vec_req, 19, &m), STUN_E_SHORT);
	CHECK_EQ_INT(stun_msg_parse(vec_req, 0, &m), STUN_E_SHORT);
	/* truncated anywhere: the length no longer matches */
	for (size_t n = 20; n < sizeof(vec_req); n++)
		CHECK_EQ_INT(stun_msg_parse(vec_req, n, &m), STUN_E_LENGTH);
	memcpy(buf, vec_req, sizeof(buf));
	buf[0] |= 0x40; /* top bits: RFC 7983 says this is not STUN */
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_E_NOT_STUN);
	CHECK(!stun_is_message(buf, sizeof(buf)));
	memcpy(buf, vec_req, sizeof(buf));
	buf[7] ^= 1; /* cookie */
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_E_NOT_STUN);
	memcpy(buf, vec_req, sizeof(buf));
	buf[3] = 0x57; /* not a multiple of 4 */
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_E_LENGTH);
	buf[3] = 0x54; /* shorter than the datagram */
	CHECK_EQ_INT(stun_msg_parse(buf, sizeof(buf), &m), STUN_E_LENGTH);
	CHECK(stun_is_message(vec_req, sizeof(vec_req)));
}

/* Hand-made message from (type, len, value) attributes, no MI/FP. */
static size_t raw_msg(uint8_t *out, const uint8_t *attrs, size_t attrs_len)
{
	static const uint8_t hdr[20] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4,
					  5, 6, 7, 8, 9, 10, 11, 12 };

	memcpy(out, hdr, 20);
	out[2] = (uint8_t)(attrs_len >> 8);
	out[3] = (uint8_t)attrs_len;
	memcpy(out + 20, attrs, attrs_len);
	return 20 + attrs_len;
}

TEST(parse_attribute_rules)
{
	uint8_t buf[2048], attrs[1600];
	struct stun_msg m;
	size_t n;

	/* attribute runs past the end */
	static const uint8_t past[] = { 0x00, 0x06, 0x00, 0x08, 'a', 'b', 'c', 'd' };
	n = raw_msg(buf, past, sizeof(past));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_SHORT);

	/* known attribute with the wrong length */
	static const uint8_t badprio[] = { 0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 1 };
	n = raw_msg(buf, badprio, sizeof(badprio));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	static const uint8_t zeroprio[] = { 0x00, 0x24, 0x00, 0x04, 0, 0, 0, 0 };
	n = raw_msg(buf, zeroprio, sizeof(zeroprio));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	static const uint8_t usecand[] = { 0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0 };
	n = raw_msg(buf, usecand, sizeof(usecand));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	static const uint8_t badfamily[] = { 0x00, 0x20, 0x00, 0x08, 0, 3, 0, 0, 0, 0, 0, 0 };
	n = raw_msg(buf, badfamily, sizeof(badfamily));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	static const uint8_t v6short[] = { 0x00, 0x20, 0x00, 0x08, 0, 2, 0, 0, 0, 0, 0, 0 };
	n = raw_msg(buf, v6short, sizeof(v6short));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	static const uint8_t badclass[] = { 0x00, 0x09, 0x00, 0x04, 0, 0, 7, 0 };
	n = raw_msg(buf, badclass, sizeof(badclass));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);

	/* unknown: comprehension-required remembered, optional skipped; the first of a
	 * repeated attribute counts */
	static const uint8_t unk[] = {
		0x00, 0x03, 0x00, 0x00,			 /* required, empty */
		0xc0, 0x57, 0x00, 0x04, 0, 1, 0, 10,	 /* GOOG-NETWORK-INFO: optional */
		0x7f, 0xff, 0x00, 0x01, 0x55, 0, 0, 0,	 /* required, padded */
		0x00, 0x24, 0x00, 0x04, 0, 0, 0, 7,	 /* PRIORITY 7 */
		0x00, 0x24, 0x00, 0x04, 0, 0, 0, 9,	 /* PRIORITY again: ignored */
	};
	n = raw_msg(buf, unk, sizeof(unk));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK_EQ_INT(m.n_unknown, 2);
	CHECK_EQ_INT(m.unknown[0], 0x0003);
	CHECK_EQ_INT(m.unknown[1], 0x7fff);
	CHECK_EQ_INT(m.priority, 7);
	CHECK_EQ_INT(m.n_attrs, 5);

	/* after MI: ordinary attributes ignored; after FINGERPRINT: error */
	uint8_t after[64];
	size_t k = 0;
	memcpy(after + k, "\x00\x08\x00\x14", 4), k += 4;
	memset(after + k, 0xAA, 20), k += 20;
	memcpy(after + k, "\x00\x25\x00\x00", 4), k += 4; /* USE-CANDIDATE: ignored */
	memcpy(after + k, "\x00\x03\x00\x00", 4), k += 4; /* unknown: ignored too */
	memcpy(after + k, "\x80\x28\x00\x04\x00\x00\x00\x00", 8), k += 8;
	n = raw_msg(buf, after, k);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK(!(m.present & STUN_HAS_USE_CANDIDATE));
	CHECK_EQ_INT(m.n_unknown, 0);
	CHECK(m.present & STUN_HAS_FINGERPRINT);
	CHECK_EQ_INT(m.fingerprint_offset, 20 + 32);
	memcpy(after + k, "\x00\x25\x00\x00", 4), k += 4;
	n = raw_msg(buf, after, k);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_AFTER_FINGERPRINT);

	/* attribute count cap */
	memset(attrs, 0, sizeof(attrs));
	for (size_t i = 0; i < STUN_MAX_ATTRS + 1; i++)
		memcpy(attrs + 4 * i, "\x80\x99\x00\x00", 4);
	n = raw_msg(buf, attrs, 4 * STUN_MAX_ATTRS);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	n = raw_msg(buf, attrs, 4 * (STUN_MAX_ATTRS + 1));
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_TOO_MANY_ATTRS);

	/* size cap */
	memset(attrs, 0, sizeof(attrs));
	memcpy(attrs, "\x80\x99\x06\x00", 4); /* 1536-byte optional attribute */
	n = raw_msg(buf, attrs, 4 + 1536);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_TOO_BIG);

	/* USERNAME over the cap */
	memcpy(attrs, "\x00\x06\x02\x04", 4); /* 516 */
	n = raw_msg(buf, attrs, 4 + 516);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	memcpy(attrs, "\x00\x06\x02\x01", 4); /* 513 */
	n = raw_msg(buf, attrs, 4 + 516);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK_EQ_INT(m.username_len, 513);

	/* no MI / FP: the checks say no */
	CHECK(!stun_msg_check_fingerprint(buf, n, &m));
	CHECK(!stun_msg_check_integrity(buf, n, &m, key(), KEYLEN));
}

TEST(mi_sha256)
{
	uint8_t buf[128], attrs[64], hdr[20];
	struct crypto_buf whole;
	uint8_t mac[32];
	struct stun_msg m;
	size_t n;

	/* USERNAME "a:b", MI-SHA256 (32), FINGERPRINT; the MAC computed here with
	 * one HMAC over the header with its length ending at MI-SHA256 (crypto_hmac itself is
	 * checked against RFC 4231 in test_crypto.c) */
	memcpy(attrs, "\x00\x06\x00\x03" "a:b\0", 8);
	memcpy(attrs + 8, "\x00\x1c\x00\x20", 4);
	memset(attrs + 12, 0, 32);
	n = raw_msg(buf, attrs, 44);
	memcpy(hdr, buf, 20);
	whole = (struct crypto_buf){ buf, 28 };
	CHECK_EQ_INT(crypto_hmac(CRYPTO_SHA256, key(), KEYLEN, &whole, 1, mac), 0);
	memcpy(buf + 32, mac, 32);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK(m.present & STUN_HAS_MI256);
	CHECK_EQ_INT(m.mi256_offset, 28);
	CHECK_EQ_INT(m.mi256_len, 32);
	CHECK(stun_msg_check_integrity_sha256(buf, n, &m, key(), KEYLEN));
	CHECK(!stun_msg_check_integrity(buf, n, &m, key(), KEYLEN));
	buf[21] ^= 1;
	CHECK(!stun_msg_check_integrity_sha256(buf, n, &m, key(), KEYLEN));
	buf[21] ^= 1;
	/* a FINGERPRINT after it: the MAC still covers a header length ending at MI-SHA256 */
	memcpy(attrs + 12, mac, 32);
	memcpy(attrs + 44, "\x80\x28\x00\x04\0\0\0\0", 8);
	n = raw_msg(buf, attrs, 52);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK(stun_msg_check_integrity_sha256(buf, n, &m, key(), KEYLEN));
	(void)hdr;

	/* length rules: multiple of 4, 16..32 */
	memcpy(attrs, "\x00\x1c\x00\x12", 4);
	memset(attrs + 4, 0, 20);
	n = raw_msg(buf, attrs, 24);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	memcpy(attrs, "\x00\x1c\x00\x0c", 4);
	n = raw_msg(buf, attrs, 16);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_E_BAD_ATTR);
	memcpy(attrs, "\x00\x1c\x00\x10", 4); /* 16 zero bytes: parses, fails the check */
	n = raw_msg(buf, attrs, 20);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK_EQ_INT(m.mi256_len, 16);
	CHECK(!stun_msg_check_integrity_sha256(buf, n, &m, key(), KEYLEN));
}

TEST(strerror_all)
{
	for (int e = 0; e >= STUN_E_SEALED; e--)
		CHECK(strcmp(stun_strerror(e), "unknown error") != 0);
	CHECK_EQ_STR(stun_strerror(-100), "unknown error");
	CHECK_EQ_STR(stun_reason_phrase(400), "Bad Request");
	CHECK_EQ_STR(stun_reason_phrase(420), "Unknown Attribute");
}

int main(void)
{
	RUN(crc32_check_value);
	RUN(type_interleaving);
	RUN(rfc5769_request);
	RUN(rfc5769_request_tamper);
	RUN(rfc5769_responses_parse);
	RUN(rfc5769_responses_rebuild);
	RUN(rfc5769_request_rebuild);
	RUN(binding_success_helper);
	RUN(error_helper);
	RUN(builder_rules);
	RUN(parse_header_rules);
	RUN(parse_attribute_rules);
	RUN(mi_sha256);
	RUN(strerror_all);
	return test_summary();
}

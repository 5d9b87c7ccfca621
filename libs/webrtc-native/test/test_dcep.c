/* Tests for dcep: RFC 8832 OPEN/ACK parse/build and RFC 8831 §8 PPIDs. */
#include "dcep.h"
#include "test.h"

/* What a browser sends for createDataChannel("chat") (RFC 8832 §5.1 layout, reliable,
 * priority 256 = "normal" in the W3C mapping, no protocol). */
static const uint8_t open_chat[] = {
	0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 'c', 'h', 'a', 't',
};

TEST(parse_open_reliable)
{
	struct dcep_msg m;

	CHECK_EQ_INT(dcep_parse(open_chat, sizeof(open_chat), &m), DCEP_OK);
	CHECK_EQ_INT(m.type, DCEP_MSG_OPEN);
	CHECK_EQ_INT(m.open.channel_type, DCEP_CHANNEL_RELIABLE);
	CHECK_EQ_INT(m.open.priority, 256);
	CHECK_EQ_INT(m.open.label_len, 4);
	CHECK_MEM(m.open.label, "chat", 4);
	CHECK_EQ_INT(m.open.protocol_len, 0);
	CHECK(m.open.protocol == NULL);
}

TEST(parse_open_partial_with_protocol)
{
	/* unordered, max 3 retransmits, label "a", protocol "pf/1" */
	static const uint8_t b[] = { 0x03, 0x81, 0x00, 0x80, 0x00, 0x00, 0x00, 0x03, 0x00,
				     0x01, 0x00, 0x04, 'a',  'p',  'f',  '/',  '1' };
	struct dcep_msg m;

	CHECK_EQ_INT(dcep_parse(b, sizeof(b), &m), DCEP_OK);
	CHECK_EQ_INT(m.open.channel_type, DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED);
	CHECK(dcep_channel_type_unordered(m.open.channel_type));
	CHECK_EQ_INT(dcep_channel_type_reliability(m.open.channel_type), DCEP_RELIABILITY_REXMIT);
	CHECK_EQ_INT(m.open.reliability, 3);
	CHECK_EQ_INT(m.open.priority, 128);
	CHECK_MEM(m.open.label, "a", 1);
	CHECK_EQ_INT(m.open.protocol_len, 4);
	CHECK_MEM(m.open.protocol, "pf/1", 4);
}

TEST(reliable_ignores_reliability_param)
{
	uint8_t b[sizeof(open_chat)];
	struct dcep_msg m;

	memcpy(b, open_chat, sizeof(b));
	b[7] = 9; /* §5.1: ignored for reliable channels */
	CHECK_EQ_INT(dcep_parse(b, sizeof(b), &m), DCEP_OK);
	CHECK_EQ_INT(m.open.reliability, 0);
}

TEST(parse_ack)
{
	static const uint8_t ack[] = { 0x02 }, ack_long[] = { 0x02, 0x00 };
	struct dcep_msg m;

	CHECK_EQ_INT(dcep_parse(ack, 1, &m), DCEP_OK);
	CHECK_EQ_INT(m.type, DCEP_MSG_ACK);
	CHECK_EQ_INT(dcep_parse(ack_long, 2, &m), DCEP_E_TRAILING);
}

TEST(hostile_input)
{
	uint8_t b[sizeof(open_chat) + 1];
	struct dcep_msg m;

	CHECK_EQ_INT(dcep_parse(b, 0, &m), DCEP_E_SHORT);
	CHECK_EQ_INT(dcep_parse((const uint8_t *)"\x04", 1, &m), DCEP_E_TYPE);
	CHECK_EQ_INT(dcep_parse((const uint8_t *)"\x00", 1, &m), DCEP_E_TYPE);
	/* every truncation of a valid OPEN is refused */
	for (size_t n = 1; n < sizeof(open_chat); n++) {
		int rc = dcep_parse(open_chat, n, &m);

		CHECK(rc == DCEP_E_SHORT || rc == DCEP_E_LENGTH);
	}
	/* label length claims more than present */
	memcpy(b, open_chat, sizeof(open_chat));
	b[9] = 0xff;
	CHECK_EQ_INT(dcep_parse(b, sizeof(open_chat), &m), DCEP_E_LENGTH);
	/* protocol length 0xffff with 65535+65535 overflow candidates */
	b[8] = b[9] = b[10] = b[11] = 0xff;
	CHECK_EQ_INT(dcep_parse(b, sizeof(open_chat), &m), DCEP_E_LENGTH);
	/* trailing byte */
	memcpy(b, open_chat, sizeof(open_chat));
	b[sizeof(open_chat)] = 'x';
	CHECK_EQ_INT(dcep_parse(b, sizeof(b), &m), DCEP_E_TRAILING);
	/* unknown channel type */
	b[1] = 0x03;
	CHECK_EQ_INT(dcep_parse(b, sizeof(open_chat), &m), DCEP_E_CHANNEL_TYPE);
	b[1] = 0x40;
	CHECK_EQ_INT(dcep_parse(b, sizeof(open_chat), &m), DCEP_E_CHANNEL_TYPE);
}

TEST(build_round_trip)
{
	struct dcep_open o = {
		.channel_type = DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED,
		.priority = 512,
		.reliability = 1500,
		.label = (const uint8_t *)"chunks",
		.label_len = 6,
		.protocol = (const uint8_t *)"pear-fog/1",
		.protocol_len = 10,
	};
	uint8_t buf[64];
	struct dcep_msg m;
	int n = dcep_build_open(buf, sizeof(buf), &o);

	CHECK_EQ_INT(n, 12 + 6 + 10);
	CHECK_EQ_INT(dcep_open_len(&o), 28);
	CHECK_EQ_INT(dcep_parse(buf, (size_t)n, &m), DCEP_OK);
	CHECK_EQ_INT(m.open.channel_type, o.channel_type);
	CHECK_EQ_INT(m.open.priority, 512);
	CHECK_EQ_INT(m.open.reliability, 1500);
	CHECK_MEM(m.open.label, "chunks", 6);
	CHECK_MEM(m.open.protocol, "pear-fog/1", 10);
	CHECK_EQ_INT(dcep_build_open(buf, 27, &o), DCEP_E_SPACE);
	o.channel_type = 0x7f;
	CHECK_EQ_INT(dcep_build_open(buf, sizeof(buf), &o), DCEP_E_CHANNEL_TYPE);
	/* a builder for the browser's "chat" OPEN yields the same bytes */
	o = (struct dcep_open){ .channel_type = 0, .priority = 256,
				.label = (const uint8_t *)"chat", .label_len = 4 };
	CHECK_EQ_INT(dcep_build_open(buf, sizeof(buf), &o), (int)sizeof(open_chat));
	CHECK_MEM(buf, open_chat, sizeof(open_chat));
	CHECK_EQ_INT(dcep_build_ack(buf, 1), 1);
	CHECK_EQ_INT(buf[0], 0x02);
	CHECK_EQ_INT(dcep_build_ack(buf, 0), DCEP_E_SPACE);
}

TEST(ppids)
{
	CHECK_EQ_INT(dcep_ppid_kind(50), DCEP_PPID_KIND_CONTROL);
	CHECK_EQ_INT(dcep_ppid_kind(51), DCEP_PPID_KIND_STRING);
	CHECK_EQ_INT(dcep_ppid_kind(53), DCEP_PPID_KIND_BINARY);
	CHECK_EQ_INT(dcep_ppid_kind(56), DCEP_PPID_KIND_STRING_EMPTY);
	CHECK_EQ_INT(dcep_ppid_kind(57), DCEP_PPID_KIND_BINARY_EMPTY);
	CHECK_EQ_INT(dcep_ppid_kind(52), DCEP_PPID_KIND_INVALID);
	CHECK_EQ_INT(dcep_ppid_kind(54), DCEP_PPID_KIND_INVALID);
	CHECK_EQ_INT(dcep_ppid_kind(0), DCEP_PPID_KIND_INVALID);
	CHECK(strcmp(dcep_strerror(DCEP_E_LENGTH), "unknown error") != 0);
}

int main(void)
{
	RUN(parse_open_reliable);
	RUN(parse_open_partial_with_protocol);
	RUN(reliable_ignores_reliability_param);
	RUN(parse_ack);
	RUN(hostile_input);
	RUN(build_round_trip);
	RUN(ppids);
	return test_summary();
}

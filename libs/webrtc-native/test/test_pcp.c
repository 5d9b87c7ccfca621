/* pcp: RFC 6887 MAP request byte layout and response parsing. */
#include <string.h>

#include "byteorder.h"
#include "pcp.h"
#include "test.h"

static const uint8_t me[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 2, 0, 2 };
static const uint8_t nonce[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

TEST(request_layout)
{
	uint8_t buf[PCP_MAP_LEN + 4];

	CHECK_EQ_INT(pcp_build_map(buf, sizeof(buf), me, nonce, 47100, 47100, 7200), PCP_MAP_LEN);
	CHECK_EQ_INT(buf[0], 2);
	CHECK_EQ_INT(buf[1], 1);  /* R = 0, MAP */
	CHECK_EQ_INT(rd32(buf + 4), 7200);
	CHECK_MEM(buf + 8, me, 16);
	CHECK_MEM(buf + 24, nonce, 12);
	CHECK_EQ_INT(buf[36], 17);
	CHECK_EQ_INT(rd16(buf + 40), 47100);
	CHECK_EQ_INT(rd16(buf + 42), 47100);
	CHECK(buf[54] == 0xff && buf[55] == 0xff && rd32(buf + 56) == 0); /* ::ffff:0.0.0.0 */
	/* delete: lifetime 0, no suggestion */
	CHECK_EQ_INT(pcp_build_map(buf, sizeof(buf), me, nonce, 47100, 47100, 0), PCP_MAP_LEN);
	CHECK_EQ_INT(rd32(buf + 4), 0);
	CHECK_EQ_INT(rd16(buf + 42), 0);
	CHECK_EQ_INT(pcp_build_map(buf, PCP_MAP_LEN - 1, me, nonce, 1, 1, 1), 0);
	CHECK_EQ_INT(pcp_build_map(buf, sizeof(buf), me, nonce, 0, 1, 1), 0);
}

TEST(responses)
{
	uint8_t buf[PCP_MAP_LEN + 8];
	struct pcp_map_response r;

	pcp_build_map(buf, sizeof(buf), me, nonce, 47100, 47100, 7200);
	buf[1] |= PCP_RESPONSE_BIT;
	buf[3] = PCP_RESULT_SUCCESS;
	wr32(buf + 8, 77); /* epoch */
	wr16(buf + 42, 50000);
	buf[56] = 11, buf[59] = 10;
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN, &r), PCP_OK);
	CHECK_EQ_INT(r.result, 0);
	CHECK_EQ_INT(r.lifetime, 7200);
	CHECK_EQ_INT(r.epoch, 77);
	CHECK_MEM(r.nonce, nonce, 12);
	CHECK_EQ_INT(r.internal_port, 47100);
	CHECK_EQ_INT(r.external_port, 50000);
	CHECK_EQ_INT(r.external_addr[12], 11);
	/* trailing options are allowed (multiple of 4), odd lengths and short ones are not */
	memset(buf + PCP_MAP_LEN, 0, 8);
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN + 8, &r), PCP_OK);
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN + 2, &r), PCP_E_SHORT);
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN - 4, &r), PCP_E_SHORT);
	buf[3] = PCP_RESULT_NOT_AUTHORIZED;
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN, &r), PCP_OK);
	CHECK_EQ_STR(pcp_result_name(r.result), "not authorized");
	CHECK_EQ_STR(pcp_result_name(200), "unknown result");
	buf[1] = PCP_OP_MAP; /* a request */
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN, &r), PCP_E_NOT_RESPONSE);
	buf[1] = PCP_RESPONSE_BIT | 2; /* PEER */
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN, &r), PCP_E_OPCODE);
	buf[0] = 0; /* NAT-PMP */
	CHECK_EQ_INT(pcp_parse_map(buf, PCP_MAP_LEN, &r), PCP_E_VERSION);
}

int main(void)
{
	RUN(request_layout);
	RUN(responses);
	return test_summary();
}

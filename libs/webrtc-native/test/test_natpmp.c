/* natpmp: RFC 6886 requests byte for byte, responses parsed and refused; portmap's
 * default-gateway reader. */
#include <string.h>

#include "natpmp.h"
#include "portmap.h"
#include "test.h"

TEST(requests)
{
	uint8_t buf[16];
	static const uint8_t ext[] = { 0, 0 };
	static const uint8_t map[] = { 0, 1, 0, 0, 0xb8, 0x2c, 0xb8, 0x2c, 0, 0, 0x1c, 0x20 };
	static const uint8_t del[] = { 0, 1, 0, 0, 0xb8, 0x2c, 0, 0, 0, 0, 0, 0 };

	CHECK_EQ_INT(natpmp_build_external(buf, sizeof(buf)), 2);
	CHECK_MEM(buf, ext, 2);
	CHECK_EQ_INT(natpmp_build_external(buf, 1), 0);
	/* §3.3: internal 47148, suggested 47148, 7200 s */
	CHECK_EQ_INT(natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, 47148, 47148, 7200), 12);
	CHECK_MEM(buf, map, 12);
	/* §3.4: delete = lifetime 0 and suggested port 0 */
	CHECK_EQ_INT(natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, 47148, 47148, 0), 12);
	CHECK_MEM(buf, del, 12);
	CHECK_EQ_INT(natpmp_build_map(buf, 11, NATPMP_OP_MAP_UDP, 1, 1, 1), 0);
	CHECK_EQ_INT(natpmp_build_map(buf, sizeof(buf), 3, 1, 1, 1), 0);
	CHECK_EQ_INT(natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, 0, 1, 1), 0);
}

TEST(responses)
{
	struct natpmp_response r;
	static const uint8_t ext_ok[] = { 0, 128, 0, 0, 0, 0, 0x10, 0, 11, 0, 0, 11 };
	static const uint8_t map_ok[] = { 0, 129, 0, 0, 0, 0, 0x10, 1, 0xb8, 0x2c, 0xb8, 0x2d,
					  0, 0, 0x1c, 0x20 };
	static const uint8_t map_refused[] = { 0, 129, 0, 2, 0, 0, 0x10, 1 };
	uint8_t buf[16];

	CHECK_EQ_INT(natpmp_parse(ext_ok, sizeof(ext_ok), &r), NATPMP_OK);
	CHECK_EQ_INT(r.opcode, 128);
	CHECK_EQ_INT(r.result, 0);
	CHECK_EQ_INT(r.epoch, 4096);
	CHECK(r.external_addr[0] == 11 && r.external_addr[3] == 11);
	CHECK_EQ_INT(natpmp_parse(map_ok, sizeof(map_ok), &r), NATPMP_OK);
	CHECK_EQ_INT(r.internal_port, 47148);
	CHECK_EQ_INT(r.external_port, 47149);
	CHECK_EQ_INT(r.lifetime, 7200);
	CHECK_EQ_INT(r.epoch, 4097);
	/* §3.5: an error may come without the body */
	CHECK_EQ_INT(natpmp_parse(map_refused, sizeof(map_refused), &r), NATPMP_OK);
	CHECK_EQ_INT(r.result, NATPMP_RESULT_NOT_AUTHORIZED);
	CHECK_EQ_STR(natpmp_result_name(r.result), "not authorized/refused");
	/* but a success must be complete */
	CHECK_EQ_INT(natpmp_parse(map_ok, 15, &r), NATPMP_E_SHORT);
	CHECK_EQ_INT(natpmp_parse(ext_ok, 11, &r), NATPMP_E_SHORT);
	CHECK_EQ_INT(natpmp_parse(ext_ok, 3, &r), NATPMP_E_SHORT);
	/* a PCP (version 2) answer, a request echoed back, an unknown opcode */
	memcpy(buf, map_ok, sizeof(map_ok));
	buf[0] = 2;
	CHECK_EQ_INT(natpmp_parse(buf, sizeof(map_ok), &r), NATPMP_E_VERSION);
	buf[0] = 0;
	buf[1] = 1;
	CHECK_EQ_INT(natpmp_parse(buf, sizeof(map_ok), &r), NATPMP_E_OPCODE);
	buf[1] = 131;
	CHECK_EQ_INT(natpmp_parse(buf, sizeof(map_ok), &r), NATPMP_E_OPCODE);
}

TEST(default_gateway)
{
	uint32_t gw = 0;
	const char *route =
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		"eth0\t0001020A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		"eth0\t00000000\t0100020A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
	const char *none = "Iface\tDestination\tGateway \tFlags\n"
			   "eth0\t0001020A\t00000000\t0001\n";

	CHECK(portmap_default_gateway(route, &gw));
	/* 0x0100020A read on little-endian = bytes 0A 02 00 01 = 10.2.0.1 */
	CHECK_EQ_INT(((uint8_t *)&gw)[0], 10);
	CHECK_EQ_INT(((uint8_t *)&gw)[3], 1);
	CHECK(!portmap_default_gateway(none, &gw));
	CHECK(!portmap_default_gateway("", &gw));
}

int main(void)
{
	RUN(requests);
	RUN(responses);
	RUN(default_gateway);
	return test_summary();
}

/* natpmp: RFC 6886 messages (natpmp.h). */
#include "natpmp.h"

#include <string.h>

#include "byteorder.h"

size_t natpmp_build_external(uint8_t *buf, size_t cap)
{
	if (cap < 2)
		return 0;
	buf[0] = NATPMP_VERSION;
	buf[1] = NATPMP_OP_EXTERNAL;
	return 2;
}

size_t natpmp_build_map(uint8_t *buf, size_t cap, uint8_t opcode, uint16_t internal_port,
			uint16_t suggested_external, uint32_t lifetime)
{
	if (cap < 12 || internal_port == 0 ||
	    (opcode != NATPMP_OP_MAP_UDP && opcode != NATPMP_OP_MAP_TCP))
		return 0;
	buf[0] = NATPMP_VERSION;
	buf[1] = opcode;
	buf[2] = buf[3] = 0; /* reserved */
	wr16(buf + 4, internal_port);
	/* §3.3: with lifetime 0 (delete) the suggested external port must be 0 too */
	wr16(buf + 6, lifetime ? suggested_external : 0);
	wr32(buf + 8, lifetime);
	return 12;
}

int natpmp_parse(const uint8_t *buf, size_t len, struct natpmp_response *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return NATPMP_E_SHORT;
	if (buf[0] != NATPMP_VERSION)
		return NATPMP_E_VERSION;
	out->opcode = buf[1];
	out->result = rd16(buf + 2);
	switch (buf[1]) {
	case NATPMP_RESPONSE + NATPMP_OP_EXTERNAL:
		/* §3.5: a failed response may carry only the header and epoch; require the
		 * full 12 bytes for success */
		if (len != 12 && !(out->result && len >= 8))
			return NATPMP_E_SHORT;
		out->epoch = len >= 8 ? rd32(buf + 4) : 0;
		if (len == 12)
			memcpy(out->external_addr, buf + 8, 4);
		return NATPMP_OK;
	case NATPMP_RESPONSE + NATPMP_OP_MAP_UDP:
	case NATPMP_RESPONSE + NATPMP_OP_MAP_TCP:
		if (len != 16 && !(out->result && len >= 8))
			return NATPMP_E_SHORT;
		out->epoch = rd32(buf + 4);
		if (len == 16) {
			out->internal_port = rd16(buf + 8);
			out->external_port = rd16(buf + 10);
			out->lifetime = rd32(buf + 12);
		}
		return NATPMP_OK;
	default:
		return NATPMP_E_OPCODE;
	}
}

const char *natpmp_result_name(unsigned result)
{
	switch (result) {
	case NATPMP_RESULT_SUCCESS: return "success";
	case NATPMP_RESULT_UNSUPPORTED_VERSION: return "unsupported version";
	case NATPMP_RESULT_NOT_AUTHORIZED: return "not authorized/refused";
	case NATPMP_RESULT_NETWORK_FAILURE: return "network failure";
	case NATPMP_RESULT_OUT_OF_RESOURCES: return "out of resources";
	case NATPMP_RESULT_UNSUPPORTED_OPCODE: return "unsupported opcode";
	default: return "unknown result";
	}
}

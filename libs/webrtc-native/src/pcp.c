/* pcp: RFC 6887 MAP request/response (pcp.h). */
#include "pcp.h"

#include <string.h>

#include "byteorder.h"

size_t pcp_build_map(uint8_t *buf, size_t cap, const uint8_t client_addr[16],
		     const uint8_t nonce[PCP_NONCE_LEN], uint16_t internal_port,
		     uint16_t suggested_external, uint32_t lifetime)
{
	if (cap < PCP_MAP_LEN || internal_port == 0)
		return 0;
	memset(buf, 0, PCP_MAP_LEN);
	/* §7.1 common request header */
	buf[0] = PCP_VERSION;
	buf[1] = PCP_OP_MAP; /* R = 0 */
	wr32(buf + 4, lifetime);
	memcpy(buf + 8, client_addr, 16);
	/* §11.1 MAP opcode */
	memcpy(buf + 24, nonce, PCP_NONCE_LEN);
	buf[36] = PCP_PROTO_UDP;
	wr16(buf + 40, internal_port);
	wr16(buf + 42, lifetime ? suggested_external : 0);
	/* suggested external address: the IPv4-mapped "any" (::ffff:0.0.0.0, §11.1) */
	buf[54] = buf[55] = 0xff;
	return PCP_MAP_LEN;
}

int pcp_parse_map(const uint8_t *buf, size_t len, struct pcp_map_response *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 4)
		return PCP_E_SHORT;
	if (buf[0] != PCP_VERSION)
		return PCP_E_VERSION;
	if (!(buf[1] & PCP_RESPONSE_BIT))
		return PCP_E_NOT_RESPONSE;
	if ((buf[1] & 0x7f) != PCP_OP_MAP)
		return PCP_E_OPCODE;
	/* §7.2: an error response may be short only if the server could not parse the
	 * request; everything we act on needs the full MAP body */
	if (len < PCP_MAP_LEN || len > PCP_MAX_MSG || len % 4)
		return PCP_E_SHORT;
	out->result = buf[3];
	out->lifetime = rd32(buf + 4);
	out->epoch = rd32(buf + 8);
	memcpy(out->nonce, buf + 24, PCP_NONCE_LEN);
	out->protocol = buf[36];
	out->internal_port = rd16(buf + 40);
	out->external_port = rd16(buf + 42);
	memcpy(out->external_addr, buf + 44, 16);
	return PCP_OK;
}

const char *pcp_result_name(unsigned result)
{
	static const char *const names[] = {
		"success", "unsupported version", "not authorized", "malformed request",
		"unsupported opcode", "unsupported option", "malformed option", "network failure",
		"no resources", "unsupported protocol", "user exceeded quota",
		"cannot provide external", "address mismatch", "excessive remote peers",
	};

	return result < sizeof(names) / sizeof(names[0]) ? names[result] : "unknown result";
}

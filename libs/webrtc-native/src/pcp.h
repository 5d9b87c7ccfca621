/* pcp: Port Control Protocol MAP messages (RFC 6887), client side, for one UDP port.
 * Pure functions on caller buffers: no I/O, no clock.
 *
 * Request (§7.1 header + §11.1 MAP, 60 bytes): version 2, opcode MAP (1), requested
 * lifetime, the client's own IP address (IPv4-mapped IPv6 for IPv4, §5), a 96-bit mapping
 * nonce, protocol (17 = UDP), internal port, suggested external port and address (all
 * zeros: no preference).  Lifetime 0 with the same nonce deletes the mapping (§15).
 *
 * Response (§7.2 + §11.1): version 2, R bit + opcode (0x81), result code (§7.4), granted
 * lifetime, epoch (§8.5), then the MAP body echoing nonce/protocol/internal port with the
 * assigned external port and address.  The parser checks version, R bit, opcode, length
 * (>= 60; options after the body are skipped) and returns the result code as a value.
 * A version 0 answer is a NAT-PMP server telling us it speaks only NAT-PMP (§9):
 * PCP_E_VERSION, and the caller falls back. */
#ifndef PEARFOG_PCP_H
#define PEARFOG_PCP_H

#include <stddef.h>
#include <stdint.h>

#define PCP_VERSION 2
#define PCP_OP_MAP 1
#define PCP_RESPONSE_BIT 0x80
#define PCP_NONCE_LEN 12
#define PCP_MAP_LEN 60		/* header 24 + MAP 36 */
#define PCP_PROTO_UDP 17
#define PCP_MAX_MSG 1100	/* §7: messages are at most 1100 bytes */

enum pcp_result {
	PCP_RESULT_SUCCESS = 0,
	PCP_RESULT_UNSUPP_VERSION = 1,
	PCP_RESULT_NOT_AUTHORIZED = 2,
	PCP_RESULT_MALFORMED_REQUEST = 3,
	PCP_RESULT_UNSUPP_OPCODE = 4,
	PCP_RESULT_UNSUPP_OPTION = 5,
	PCP_RESULT_MALFORMED_OPTION = 6,
	PCP_RESULT_NETWORK_FAILURE = 7,
	PCP_RESULT_NO_RESOURCES = 8,
	PCP_RESULT_UNSUPP_PROTOCOL = 9,
	PCP_RESULT_USER_EX_QUOTA = 10,
	PCP_RESULT_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_RESULT_ADDRESS_MISMATCH = 12,
	PCP_RESULT_EXCESSIVE_REMOTE_PEERS = 13,
};

enum pcp_err {
	PCP_OK = 0,
	PCP_E_SHORT = -1,	/* builder: buffer too small; parser: shorter than a MAP response */
	PCP_E_VERSION = -2,	/* not version 2 (0: a NAT-PMP-only server, §9) */
	PCP_E_NOT_RESPONSE = -3, /* R bit clear */
	PCP_E_OPCODE = -4,	/* not MAP */
	PCP_E_INVALID = -5,	/* bad parameter */
};

struct pcp_map_response {
	uint8_t result;		/* enum pcp_result */
	uint32_t lifetime;	/* seconds granted */
	uint32_t epoch;		/* §8.5 */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;	/* host order */
	uint16_t external_port;	/* host order */
	uint8_t external_addr[16]; /* IPv4-mapped for IPv4 */
};

/* client_addr: our address as the server sees it, 16 bytes (IPv4-mapped for IPv4).
 * Returns PCP_MAP_LEN, or 0 (cap too small, port 0). */
size_t pcp_build_map(uint8_t *buf, size_t cap, const uint8_t client_addr[16],
		     const uint8_t nonce[PCP_NONCE_LEN], uint16_t internal_port,
		     uint16_t suggested_external, uint32_t lifetime);
int pcp_parse_map(const uint8_t *buf, size_t len, struct pcp_map_response *out);
const char *pcp_result_name(unsigned result);

#endif

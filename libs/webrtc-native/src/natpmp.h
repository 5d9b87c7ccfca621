/* natpmp: NAT Port Mapping Protocol messages (RFC 6886), client side.  Pure functions on
 * caller buffers: no I/O, no clock.
 *
 * Requests (§3.2, §3.3): the external-address request (2 bytes: version 0, opcode 0) and
 * the UDP/TCP mapping request (12 bytes: version, opcode 1/2, reserved, internal port,
 * suggested external port, lifetime in seconds; lifetime 0 deletes the mapping, §3.4).
 *
 * Responses: version 0, opcode = request opcode + 128, result code (§3.5), seconds since
 * the gateway's epoch, then the external address (opcode 128, 12 bytes in all) or the
 * internal port, the mapped external port and the granted lifetime (129/130, 16 bytes).
 * The parser checks version, opcode and exact length; a result code other than 0 is
 * returned as a value, not an error (the caller decides what to do with "not authorized"). */
#ifndef PEARFOG_NATPMP_H
#define PEARFOG_NATPMP_H

#include <stddef.h>
#include <stdint.h>

#define NATPMP_PORT 5351	/* the gateway listens here (§3.1) */
#define NATPMP_VERSION 0
#define NATPMP_OP_EXTERNAL 0
#define NATPMP_OP_MAP_UDP 1
#define NATPMP_OP_MAP_TCP 2
#define NATPMP_RESPONSE 128	/* added to the opcode in responses */
#define NATPMP_REQ_MAX 12

/* §3.5 result codes */
enum natpmp_result {
	NATPMP_RESULT_SUCCESS = 0,
	NATPMP_RESULT_UNSUPPORTED_VERSION = 1,
	NATPMP_RESULT_NOT_AUTHORIZED = 2,
	NATPMP_RESULT_NETWORK_FAILURE = 3,
	NATPMP_RESULT_OUT_OF_RESOURCES = 4,
	NATPMP_RESULT_UNSUPPORTED_OPCODE = 5,
};

enum natpmp_err {
	NATPMP_OK = 0,
	NATPMP_E_SHORT = -1,	/* buffer too small (builder) or response of the wrong length */
	NATPMP_E_VERSION = -2,	/* not version 0 (a PCP answer is version 2) */
	NATPMP_E_OPCODE = -3,	/* not a response opcode we know */
	NATPMP_E_INVALID = -4,	/* bad parameter */
};

struct natpmp_response {
	uint8_t opcode;		/* 128, 129 or 130 */
	uint16_t result;	/* enum natpmp_result (or another code from the gateway) */
	uint32_t epoch;		/* seconds since the gateway's start of epoch (§3.6) */
	uint8_t external_addr[4]; /* opcode 128: network order */
	uint16_t internal_port;	/* 129/130, host order */
	uint16_t external_port;	/* 129/130, host order: the one to announce */
	uint32_t lifetime;	/* 129/130: seconds granted */
};

/* The external-address request; returns its length (2) or 0 if cap is too small. */
size_t natpmp_build_external(uint8_t *buf, size_t cap);
/* A mapping request (opcode NATPMP_OP_MAP_UDP/TCP); returns 12 or 0 (cap, opcode, port 0). */
size_t natpmp_build_map(uint8_t *buf, size_t cap, uint8_t opcode, uint16_t internal_port,
			uint16_t suggested_external, uint32_t lifetime);
/* Parse one response datagram.  NATPMP_OK or a natpmp_err. */
int natpmp_parse(const uint8_t *buf, size_t len, struct natpmp_response *out);
const char *natpmp_result_name(unsigned result);

#endif

/* dcep: the WebRTC Data Channel Establishment Protocol (RFC 8832) and the data channel
 * payload protocol identifiers (RFC 8831 §8).
 *
 * Pure parse/build, no allocation: dcep_parse() points label/protocol into the input
 * buffer.  DCEP arrives from the network (SCTP PPID 50), so every length is checked
 * against the buffer before use; trailing bytes after an OPEN or ACK are refused. */
#ifndef PEARFOG_DCEP_H
#define PEARFOG_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SCTP payload protocol identifiers, RFC 8831 §8 (IANA "WebRTC ..." entries).
 * 52 (binary partial) and 54 (string partial) are deprecated; pear-fog refuses them
 * (dcep_ppid_kind() returns DCEP_PPID_KIND_INVALID) since no current browser sends them
 * and treating a fragment as a whole message would corrupt data. */
enum dcep_ppid {
	DCEP_PPID_CONTROL = 50,
	DCEP_PPID_STRING = 51,
	DCEP_PPID_BINARY_PARTIAL = 52, /* deprecated */
	DCEP_PPID_BINARY = 53,
	DCEP_PPID_STRING_PARTIAL = 54, /* deprecated */
	DCEP_PPID_STRING_EMPTY = 56,
	DCEP_PPID_BINARY_EMPTY = 57,
};

enum dcep_ppid_kind {
	DCEP_PPID_KIND_INVALID = 0,
	DCEP_PPID_KIND_CONTROL,
	DCEP_PPID_KIND_STRING,       /* payload is the message */
	DCEP_PPID_KIND_BINARY,       /* payload is the message */
	DCEP_PPID_KIND_STRING_EMPTY, /* one dummy byte on the wire, message length 0 */
	DCEP_PPID_KIND_BINARY_EMPTY, /* one dummy byte on the wire, message length 0 */
};

/* Message types, RFC 8832 §8.2.1. */
enum dcep_msg_type {
	DCEP_MSG_ACK = 0x02,
	DCEP_MSG_OPEN = 0x03,
};

/* Channel types, RFC 8832 §5.1.  Bit 0x80 = unordered. */
enum dcep_channel_type {
	DCEP_CHANNEL_RELIABLE = 0x00,
	DCEP_CHANNEL_RELIABLE_UNORDERED = 0x80,
	DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT = 0x01,
	DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81,
	DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED = 0x02,
	DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82,
};

/* Reliability policy a channel type maps to. */
enum dcep_reliability {
	DCEP_RELIABILITY_FULL = 0,
	DCEP_RELIABILITY_REXMIT,    /* reliability param = max retransmissions */
	DCEP_RELIABILITY_TIMED,     /* reliability param = lifetime in ms */
};

enum dcep_err {
	DCEP_OK = 0,
	DCEP_E_SHORT = -1,        /* buffer shorter than the fixed header */
	DCEP_E_TYPE = -2,         /* unknown message type */
	DCEP_E_CHANNEL_TYPE = -3, /* unknown channel type */
	DCEP_E_LENGTH = -4,       /* label/protocol length runs past the buffer */
	DCEP_E_TRAILING = -5,     /* bytes after the message */
	DCEP_E_SPACE = -6,        /* build: output buffer too small */
};

#define DCEP_OPEN_HEADER_LEN 12 /* RFC 8832 §5.1: type..protocol length */
#define DCEP_ACK_LEN 1          /* RFC 8832 §5.2 */
#define DCEP_MAX_MSG_LEN (DCEP_OPEN_HEADER_LEN + 2 * 65535)

struct dcep_open {
	uint8_t channel_type; /* enum dcep_channel_type */
	uint16_t priority;
	uint32_t reliability; /* rexmits or ms; 0 for reliable types (ignored on parse) */
	const uint8_t *label; /* not NUL-terminated; may be NULL when label_len is 0 */
	uint16_t label_len;
	const uint8_t *protocol;
	uint16_t protocol_len;
};

struct dcep_msg {
	enum dcep_msg_type type;
	struct dcep_open open; /* valid when type == DCEP_MSG_OPEN */
};

/* Parse one DCEP message (the whole SCTP message with PPID 50). */
int dcep_parse(const uint8_t *buf, size_t len, struct dcep_msg *out);
/* Encoded size of an OPEN; write it into buf (cap bytes).  Returns the length written
 * or DCEP_E_SPACE / DCEP_E_CHANNEL_TYPE. */
size_t dcep_open_len(const struct dcep_open *o);
int dcep_build_open(uint8_t *buf, size_t cap, const struct dcep_open *o);
int dcep_build_ack(uint8_t *buf, size_t cap);
const char *dcep_strerror(int err);

bool dcep_channel_type_valid(uint8_t channel_type);
bool dcep_channel_type_unordered(uint8_t channel_type);
enum dcep_reliability dcep_channel_type_reliability(uint8_t channel_type);

enum dcep_ppid_kind dcep_ppid_kind(uint32_t ppid);

#endif

/* stun: parse and build STUN messages (RFC 8489), the subset ICE needs.
 *
 * Pure functions on caller buffers: no I/O, no clock, no allocation.  The parser
 * never copies: struct stun_msg points into the buffer it was given, which must
 * outlive it.
 *
 * What the parser checks (RFC 8489 §5, §14):
 *   - header: top two bits 0, magic cookie 0x2112A442, length a multiple of 4 and
 *     exactly the rest of the buffer (one UDP datagram is one message);
 *   - attributes: TLV with 4-byte padding (padding bytes may hold anything, RFC 5769
 *     uses spaces), every value inside the message, per-type length limits from a
 *     policy table; a known attribute with a bad length or value fails the parse;
 *   - at most STUN_MAX_ATTRS attributes and STUN_MAX_MSG_LEN bytes;
 *   - attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
 *     FINGERPRINT are ignored (§14.5); attributes after MESSAGE-INTEGRITY-SHA256 other
 *     than FINGERPRINT are ignored (§14.6); anything after FINGERPRINT fails (§14.7:
 *     it MUST be last);
 *   - a repeated attribute: the first one counts, later ones are ignored (§14);
 *   - unknown comprehension-required attributes (0x0000-0x7FFF) are listed in
 *     unknown[] so that a request can be answered with 420 (§6.3); unknown
 *     comprehension-optional ones (0x8000-0xFFFF) are skipped.
 *
 * Integrity (short-term credentials, §9.1): the key is the password itself (ICE pwd,
 * RFC 8445 §7.2.2), after OpaqueString (ICE pwds are ice-chars, so it is the identity).
 */
#ifndef PEARFOG_STUN_H
#define PEARFOG_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_TXID_LEN 12
#define STUN_MAX_MSG_LEN 1500	/* cap on a parsed message; ICE checks are ~100-200 bytes */
#define STUN_MAX_ATTRS 32	/* attributes per message; more fails the parse */
#define STUN_MAX_UNKNOWN 8	/* unknown comprehension-required types remembered */
#define STUN_USERNAME_MAX 513	/* §14.3 says < 509; ICE "ufrag:ufrag" may reach 513 */
#define STUN_REASON_MAX 763	/* §14.8: reason phrase, bytes */
#define STUN_SOFTWARE_MAX 763	/* §14.14 */
#define STUN_MI_LEN 20		/* HMAC-SHA1 */
#define STUN_MI256_MIN 16	/* §14.6: truncated HMAC-SHA256, 16..32, multiple of 4 */
#define STUN_MI256_MAX 32
#define STUN_FINGERPRINT_XOR 0x5354554eu /* §14.7 */

/* Methods and classes (§5, §18.2). */
#define STUN_METHOD_BINDING 0x001

enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

/* Attribute types (RFC 8489 §18.3, RFC 8445 §16.1). */
enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PRIORITY = 0x0024,
	STUN_ATTR_USE_CANDIDATE = 0x0025,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,
	STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

/* Bits of stun_msg.present: which attributes were captured. */
enum stun_present {
	STUN_HAS_USERNAME = 1u << 0,
	STUN_HAS_MI = 1u << 1,
	STUN_HAS_MI256 = 1u << 2,
	STUN_HAS_FINGERPRINT = 1u << 3,
	STUN_HAS_PRIORITY = 1u << 4,
	STUN_HAS_USE_CANDIDATE = 1u << 5,
	STUN_HAS_ICE_CONTROLLING = 1u << 6,
	STUN_HAS_ICE_CONTROLLED = 1u << 7,
	STUN_HAS_XOR_MAPPED = 1u << 8,
	STUN_HAS_MAPPED = 1u << 9,
	STUN_HAS_ERROR_CODE = 1u << 10,
	STUN_HAS_SOFTWARE = 1u << 11,
	STUN_HAS_UNKNOWN_ATTRS = 1u << 12, /* an UNKNOWN-ATTRIBUTES attribute */
};

/* Error codes (§14.8, RFC 8445 §16.1). */
#define STUN_ERR_BAD_REQUEST 400
#define STUN_ERR_UNAUTHENTICATED 401
#define STUN_ERR_UNKNOWN_ATTRIBUTE 420
#define STUN_ERR_ROLE_CONFLICT 487

enum stun_err {
	STUN_OK = 0,
	STUN_E_SHORT = -1,	/* shorter than a header, or an attribute runs past the end */
	STUN_E_NOT_STUN = -2,	/* top bits set or no magic cookie */
	STUN_E_LENGTH = -3,	/* length field not a multiple of 4 or not the buffer length */
	STUN_E_TOO_BIG = -4,	/* over STUN_MAX_MSG_LEN */
	STUN_E_TOO_MANY_ATTRS = -5,
	STUN_E_BAD_ATTR = -6,	/* known attribute with a bad length or value */
	STUN_E_AFTER_FINGERPRINT = -7, /* FINGERPRINT is not the last attribute */
	STUN_E_BUFFER = -8,	/* builder: output buffer too small */
	STUN_E_INVALID = -9,	/* bad parameter (address family, error code, ...) */
	STUN_E_CRYPTO = -10,	/* OpenSSL failed */
	STUN_E_SEALED = -11,	/* builder: attribute after MESSAGE-INTEGRITY/FINGERPRINT */
};

/* A transport address as carried in (XOR-)MAPPED-ADDRESS (§14.1, §14.2). */
struct stun_addr {
	int family;		/* AF_INET or AF_INET6 */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* 4 or 16 bytes, network order */
};

struct stun_msg {
	uint16_t type;		/* 14-bit message type */
	uint16_t method;	/* 12 bits */
	enum stun_class cls;
	uint16_t length;	/* header length field: bytes after the header */
	uint8_t txid[STUN_TXID_LEN];
	uint32_t present;	/* STUN_HAS_* */
	unsigned n_attrs;	/* attributes walked, ignored ones included */

	const uint8_t *username; /* not NUL-terminated */
	uint16_t username_len;
	size_t mi_offset;	/* offset of the MESSAGE-INTEGRITY attribute header */
	size_t mi256_offset;	/* offset of the MESSAGE-INTEGRITY-SHA256 header */
	uint16_t mi256_len;	/* its value length, 16..32 */
	size_t fingerprint_offset; /* offset of the FINGERPRINT attribute header */
	uint32_t fingerprint;	/* its value */
	uint32_t priority;
	uint64_t ice_controlling; /* tie breakers */
	uint64_t ice_controlled;
	struct stun_addr xor_mapped; /* already un-XORed */
	struct stun_addr mapped;
	uint16_t error_code;	/* 300..699 */
	const char *error_reason; /* not NUL-terminated */
	uint16_t error_reason_len;
	const uint8_t *software;
	uint16_t software_len;
	/* unknown comprehension-required attribute types, first STUN_MAX_UNKNOWN */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	unsigned n_unknown;
};

/* Cheap test for the RFC 7983 demux plus magic cookie: could buf be STUN? */
bool stun_is_message(const uint8_t *buf, size_t len);

/* Parse buf[0..len) into *out (fully overwritten).  STUN_OK or a stun_err. */
int stun_msg_parse(const uint8_t *buf, size_t len, struct stun_msg *out);

/* §14.7: the FINGERPRINT value equals CRC-32 of the message before it, with the
 * header length ending at FINGERPRINT, XOR 0x5354554e.  False when absent. */
bool stun_msg_check_fingerprint(const uint8_t *buf, size_t len, const struct stun_msg *msg);

/* §14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY with the header length
 * ending at MESSAGE-INTEGRITY, compared in constant time.  False when absent. */
bool stun_msg_check_integrity(const uint8_t *buf, size_t len, const struct stun_msg *msg,
			      const uint8_t *key, size_t key_len);
/* §14.6: the same with HMAC-SHA256 (possibly truncated). */
bool stun_msg_check_integrity_sha256(const uint8_t *buf, size_t len,
				     const struct stun_msg *msg, const uint8_t *key,
				     size_t key_len);

/* The method/class <-> message type bit interleaving of §5. */
uint16_t stun_msg_type(uint16_t method, enum stun_class cls);

/* CRC-32 (ISO-HDLC, as in zlib), used for FINGERPRINT; crc starts at 0. */
uint32_t stun_crc32(uint32_t crc, const uint8_t *buf, size_t len);

/* Builder.  Usage:
 *
 *   struct stun_builder b;
 *   stun_builder_init(&b, buf, sizeof(buf), stun_msg_type(m, c), txid);
 *   stun_builder_add_xor_address(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, sa, salen);
 *   rc = stun_builder_finish(&b, pwd, pwd_len, &len);   // MI (if key) + FINGERPRINT
 *
 * Errors are sticky: after the first failure every call returns it and finish
 * reports it, so the adds need not be checked one by one. */
struct stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;		/* first error, STUN_OK while fine */
	bool sealed;		/* MESSAGE-INTEGRITY or FINGERPRINT added */
	bool done;		/* FINGERPRINT added: nothing may follow (§14.7) */
	uint8_t pad_byte;	/* padding content (§14: ignored by receivers); 0 */
};

void stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		       const uint8_t txid[STUN_TXID_LEN]);
/* Any attribute; value may be NULL when len is 0.  len <= 0xFFFF. */
int stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len);
int stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v);
int stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v);
/* §14.2 XOR-MAPPED-ADDRESS (or §14.1 MAPPED-ADDRESS when type is that) from a
 * sockaddr_in / sockaddr_in6; an IPv4-mapped IPv6 address is written as IPv4. */
int stun_builder_add_xor_address(struct stun_builder *b, uint16_t type,
				 const struct sockaddr *sa, socklen_t salen);
/* §14.8: code 300..699, reason UTF-8 of at most STUN_REASON_MAX bytes (NULL = the
 * standard phrase from stun_reason_phrase()). */
int stun_builder_add_error_code(struct stun_builder *b, unsigned code, const char *reason);
/* §14.13 UNKNOWN-ATTRIBUTES: list of 16-bit types. */
int stun_builder_add_unknown_attributes(struct stun_builder *b, const uint16_t *types,
					size_t n);
/* §14.5: MESSAGE-INTEGRITY with key; afterwards only FINGERPRINT may be added. */
int stun_builder_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len);
/* §14.7: FINGERPRINT; seals the message. */
int stun_builder_add_fingerprint(struct stun_builder *b);
/* MESSAGE-INTEGRITY if key != NULL, then FINGERPRINT.  *len = message length. */
int stun_builder_finish(struct stun_builder *b, const uint8_t *key, size_t key_len,
			size_t *len);

/* Binding success response (RFC 8489 §6.3.1, §14.2): XOR-MAPPED-ADDRESS of `peer`,
 * MESSAGE-INTEGRITY with key (if not NULL), FINGERPRINT.  *len = message length. */
int stun_build_binding_success(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
			       const struct sockaddr *peer, socklen_t peerlen,
			       const uint8_t *key, size_t key_len, size_t *len);
/* Error response of `method` with ERROR-CODE (standard reason phrase), the unknown
 * types in UNKNOWN-ATTRIBUTES when code is 420, MESSAGE-INTEGRITY if key != NULL
 * (never for 400/401 to an unauthenticated request, §9.1.3: pass NULL), FINGERPRINT. */
int stun_build_error(uint8_t *buf, size_t cap, uint16_t method,
		     const uint8_t txid[STUN_TXID_LEN], unsigned code, const uint16_t *unknown,
		     size_t n_unknown, const uint8_t *key, size_t key_len, size_t *len);

/* Decode a stun_addr into a sockaddr_in/_in6.  Returns its length, 0 if it does not fit. */
socklen_t stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss);

/* "Bad Request", "Unauthenticated", "Unknown Attribute", "Role Conflict", ... */
const char *stun_reason_phrase(unsigned code);
const char *stun_strerror(int err);

#endif

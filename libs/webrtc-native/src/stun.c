/* stun: STUN message parse/build (RFC 8489).  See stun.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>


#include "stun.h"
#include "byteorder.h"
#include "crypto.h"

/* ---- CRC-32 (§14.7 refers to ITU-T V.42 / ISO-HDLC), nibble table ---- */

static const uint32_t crc32_nibble[16] = {
	0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
	0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
	0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t stun_crc32(uint32_t crc, const uint8_t *buf, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		crc = (crc >> 4) ^ crc32_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32_nibble[crc & 15];
	}
	return ~crc;
}

/* ---- message type (§5) ----
 *   bits: M11..M7 C1 M6..M4 C0 M3..M0 */

uint16_t stun_msg_type(uint16_t method, enum stun_class cls)
{
	unsigned m = method & 0xFFF, c = (unsigned)cls & 3;

	return (uint16_t)((m & 0x00F) | (m & 0x070) << 1 | (m & 0xF80) << 2 | (c & 1) << 4 |
			  (c & 2) << 7);
}

static void msg_type_split(uint16_t type, uint16_t *method, enum stun_class *cls)
{
	*method = (uint16_t)((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
	*cls = (enum stun_class)((type >> 4 & 1) | (type >> 7 & 2));
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	return len >= STUN_HEADER_LEN && (buf[0] & 0xC0) == 0 &&
	       rd32(buf + 4) == STUN_MAGIC_COOKIE;
}

/* ---- attribute policy table ---- */

typedef int (*stun_attr_fn)(struct stun_msg *m, const uint8_t *v, uint16_t len);

struct stun_attr_policy {
	uint16_t type;
	uint16_t min_len;
	uint16_t max_len;
	uint32_t flag;		/* STUN_HAS_* set when captured */
	stun_attr_fn parse;	/* NULL: nothing beyond the length check */
};

/* §14.1 / §14.2: family, port, address; XOR with the cookie (and txid for IPv6). */
static int parse_address(struct stun_addr *a, const uint8_t *v, uint16_t len, bool xor,
			 const uint8_t *txid)
{
	uint8_t mask[16];

	wr32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, txid, STUN_TXID_LEN);
	if (v[1] == 0x01 && len == 8)
		a->family = AF_INET;
	else if (v[1] == 0x02 && len == 20)
		a->family = AF_INET6;
	else
		return STUN_E_BAD_ATTR;
	a->port = rd16(v + 2);
	memcpy(a->addr, v + 4, (size_t)len - 4);
	if (xor) {
		a->port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (size_t i = 0; i < (size_t)len - 4; i++)
			a->addr[i] ^= mask[i];
	}
	return STUN_OK;
}

static int attr_mapped(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	return parse_address(&m->mapped, v, len, false, m->txid);
}

static int attr_xor_mapped(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	return parse_address(&m->xor_mapped, v, len, true, m->txid);
}

static int attr_username(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	m->username = v;
	m->username_len = len;
	return STUN_OK;
}

static int attr_error_code(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	unsigned cls = v[2] & 7, num = v[3];

	/* §14.8: class 3..6, number 0..99 */
	if (cls < 3 || cls > 6 || num > 99)
		return STUN_E_BAD_ATTR;
	m->error_code = (uint16_t)(cls * 100 + num);
	m->error_reason = (const char *)v + 4;
	m->error_reason_len = (uint16_t)(len - 4);
	return STUN_OK;
}

static int attr_software(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	m->software = v;
	m->software_len = len;
	return STUN_OK;
}

static int attr_mi256(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)v;
	if (len % 4)
		return STUN_E_BAD_ATTR;
	m->mi256_len = len;
	return STUN_OK;
}

static int attr_fingerprint(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)len;
	m->fingerprint = rd32(v);
	return STUN_OK;
}

static int attr_priority(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)len;
	m->priority = rd32(v);
	/* RFC 8445 §5.1.2.1: the priority is a positive integer */
	return m->priority ? STUN_OK : STUN_E_BAD_ATTR;
}

static int attr_controlling(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)len;
	m->ice_controlling = (uint64_t)rd32(v) << 32 | rd32(v + 4);
	return STUN_OK;
}

static int attr_controlled(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)len;
	m->ice_controlled = (uint64_t)rd32(v) << 32 | rd32(v + 4);
	return STUN_OK;
}

static int attr_unknown_list(struct stun_msg *m, const uint8_t *v, uint16_t len)
{
	(void)m;
	(void)v;
	return len % 2 ? STUN_E_BAD_ATTR : STUN_OK; /* §14.13: list of 16-bit types */
}

static const struct stun_attr_policy attr_policy[] = {
	{ STUN_ATTR_MAPPED_ADDRESS, 8, 20, STUN_HAS_MAPPED, attr_mapped },
	{ STUN_ATTR_USERNAME, 1, STUN_USERNAME_MAX, STUN_HAS_USERNAME, attr_username },
	{ STUN_ATTR_MESSAGE_INTEGRITY, STUN_MI_LEN, STUN_MI_LEN, STUN_HAS_MI, NULL },
	{ STUN_ATTR_ERROR_CODE, 4, 4 + STUN_REASON_MAX, STUN_HAS_ERROR_CODE, attr_error_code },
	{ STUN_ATTR_UNKNOWN_ATTRIBUTES, 0, 2 * STUN_MAX_ATTRS, STUN_HAS_UNKNOWN_ATTRS,
	  attr_unknown_list },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_MI256_MIN, STUN_MI256_MAX, STUN_HAS_MI256,
	  attr_mi256 },
	{ STUN_ATTR_XOR_MAPPED_ADDRESS, 8, 20, STUN_HAS_XOR_MAPPED, attr_xor_mapped },
	{ STUN_ATTR_PRIORITY, 4, 4, STUN_HAS_PRIORITY, attr_priority },
	{ STUN_ATTR_USE_CANDIDATE, 0, 0, STUN_HAS_USE_CANDIDATE, NULL },
	{ STUN_ATTR_SOFTWARE, 0, STUN_SOFTWARE_MAX, STUN_HAS_SOFTWARE, attr_software },
	{ STUN_ATTR_FINGERPRINT, 4, 4, STUN_HAS_FINGERPRINT, attr_fingerprint },
	{ STUN_ATTR_ICE_CONTROLLED, 8, 8, STUN_HAS_ICE_CONTROLLED, attr_controlled },
	{ STUN_ATTR_ICE_CONTROLLING, 8, 8, STUN_HAS_ICE_CONTROLLING, attr_controlling },
};

static const struct stun_attr_policy *attr_policy_find(uint16_t type)
{
	for (size_t i = 0; i < sizeof(attr_policy) / sizeof(attr_policy[0]); i++)
		if (attr_policy[i].type == type)
			return &attr_policy[i];
	return NULL;
}

int stun_msg_parse(const uint8_t *buf, size_t len, struct stun_msg *out)
{
	size_t off;

	memset(out, 0, sizeof(*out));
	if (len < STUN_HEADER_LEN)
		return STUN_E_SHORT;
	if (!stun_is_message(buf, len))
		return STUN_E_NOT_STUN;
	if (len > STUN_MAX_MSG_LEN)
		return STUN_E_TOO_BIG;
	out->type = rd16(buf);
	out->length = rd16(buf + 2);
	if (out->length % 4 || (size_t)out->length + STUN_HEADER_LEN != len)
		return STUN_E_LENGTH;
	msg_type_split(out->type, &out->method, &out->cls);
	memcpy(out->txid, buf + 8, STUN_TXID_LEN);

	for (off = STUN_HEADER_LEN; off < len;) {
		const struct stun_attr_policy *pol;
		uint16_t type, alen;
		size_t padded;
		int rc;

		if (len - off < 4)
			return STUN_E_SHORT;
		if (out->present & STUN_HAS_FINGERPRINT)
			return STUN_E_AFTER_FINGERPRINT;
		if (++out->n_attrs > STUN_MAX_ATTRS)
			return STUN_E_TOO_MANY_ATTRS;
		type = rd16(buf + off);
		alen = rd16(buf + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return STUN_E_SHORT;

		/* §14.5/§14.6: after MI only MI-SHA256 and FINGERPRINT count, after
		 * MI-SHA256 only FINGERPRINT; the rest is ignored */
		if (((out->present & STUN_HAS_MI) && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256 &&
		     type != STUN_ATTR_FINGERPRINT) ||
		    ((out->present & STUN_HAS_MI256) && type != STUN_ATTR_FINGERPRINT))
			goto next;

		pol = attr_policy_find(type);
		if (!pol) {
			/* §14: 0x0000-0x7FFF comprehension-required */
			if (type < 0x8000 && out->n_unknown < STUN_MAX_UNKNOWN)
				out->unknown[out->n_unknown++] = type;
			goto next;
		}
		if (out->present & pol->flag)
			goto next; /* repeated: the first one counts */
		if (alen < pol->min_len || alen > pol->max_len)
			return STUN_E_BAD_ATTR;
		if (pol->parse && (rc = pol->parse(out, buf + off + 4, alen)) != STUN_OK)
			return rc;
		if (type == STUN_ATTR_MESSAGE_INTEGRITY)
			out->mi_offset = off;
		else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
			out->mi256_offset = off;
		else if (type == STUN_ATTR_FINGERPRINT)
			out->fingerprint_offset = off;
		out->present |= pol->flag;
next:
		off += 4 + padded;
	}
	return STUN_OK;
}

/* A copy of the header with the length field set as if the message ended at `end`
 * (an attribute boundary): §14.5-§14.7 hash with that length. */
static void header_ending_at(uint8_t hdr[STUN_HEADER_LEN], const uint8_t *buf, size_t end)
{
	memcpy(hdr, buf, STUN_HEADER_LEN);
	wr16(hdr + 2, (uint16_t)(end - STUN_HEADER_LEN));
}

bool stun_msg_check_fingerprint(const uint8_t *buf, size_t len, const struct stun_msg *msg)
{
	uint8_t hdr[STUN_HEADER_LEN];
	size_t off = msg->fingerprint_offset;
	uint32_t crc;

	if (!(msg->present & STUN_HAS_FINGERPRINT) || off < STUN_HEADER_LEN || off + 8 > len)
		return false;
	header_ending_at(hdr, buf, off + 8);
	crc = stun_crc32(0, hdr, sizeof(hdr));
	crc = stun_crc32(crc, buf + STUN_HEADER_LEN, off - STUN_HEADER_LEN);
	return (crc ^ STUN_FINGERPRINT_XOR) == msg->fingerprint;
}

/* HMAC(digest, key, hdr || buf[20..end)) into out; returns the MAC length, 0 on error. */
static size_t stun_hmac(enum crypto_hash digest, const uint8_t *key, size_t key_len,
			const uint8_t hdr[STUN_HEADER_LEN], const uint8_t *buf, size_t end,
			uint8_t out[CRYPTO_MAX_MD_LEN])
{
	const struct crypto_buf parts[] = {
		{ hdr, STUN_HEADER_LEN },
		{ buf + STUN_HEADER_LEN, end - STUN_HEADER_LEN },
	};

	if (crypto_hmac(digest, key, key_len, parts, 2, out) < 0)
		return 0;
	return crypto_hash_len(digest);
}

static bool check_mac(enum crypto_hash digest, const uint8_t *buf, size_t len, size_t off,
		      size_t mac_len, const uint8_t *key, size_t key_len)
{
	uint8_t hdr[STUN_HEADER_LEN], mac[CRYPTO_MAX_MD_LEN];
	size_t n;

	if (off < STUN_HEADER_LEN || off + 4 + mac_len > len || !key)
		return false;
	header_ending_at(hdr, buf, off + 4 + mac_len);
	n = stun_hmac(digest, key, key_len, hdr, buf, off, mac);
	if (n < mac_len)
		return false;
	return crypto_memeq(mac, buf + off + 4, mac_len);
}

bool stun_msg_check_integrity(const uint8_t *buf, size_t len, const struct stun_msg *msg,
			      const uint8_t *key, size_t key_len)
{
	if (!(msg->present & STUN_HAS_MI))
		return false;
	return check_mac(CRYPTO_SHA1, buf, len, msg->mi_offset, STUN_MI_LEN, key, key_len);
}

bool stun_msg_check_integrity_sha256(const uint8_t *buf, size_t len,
				     const struct stun_msg *msg, const uint8_t *key,
				     size_t key_len)
{
	if (!(msg->present & STUN_HAS_MI256))
		return false;
	return check_mac(CRYPTO_SHA256, buf, len, msg->mi256_offset, msg->mi256_len, key, key_len);
}

/* ---- builder ---- */

void stun_builder_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		       const uint8_t txid[STUN_TXID_LEN])
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (!buf || cap < STUN_HEADER_LEN) {
		b->err = STUN_E_BUFFER;
		return;
	}
	wr16(buf, type & 0x3FFF);
	wr16(buf + 2, 0);
	wr32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	b->len = STUN_HEADER_LEN;
}

/* Reserve an attribute of value length len; returns a pointer to the value. */
static uint8_t *builder_reserve(struct stun_builder *b, uint16_t type, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint8_t *v;

	if (b->err)
		return NULL;
	if (len > 0xFFFF || b->len + 4 + padded > STUN_HEADER_LEN + 0xFFFC) {
		b->err = STUN_E_INVALID;
		return NULL;
	}
	if (b->cap - b->len < 4 + padded) {
		b->err = STUN_E_BUFFER;
		return NULL;
	}
	v = b->buf + b->len;
	wr16(v, type);
	wr16(v + 2, (uint16_t)len);
	memset(v + 4 + len, b->pad_byte, padded - len);
	b->len += 4 + padded;
	wr16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return v + 4;
}

int stun_builder_add(struct stun_builder *b, uint16_t type, const void *val, size_t len)
{
	uint8_t *v;

	if (!b->err && b->sealed)
		b->err = STUN_E_SEALED;
	if (!b->err && len && !val)
		b->err = STUN_E_INVALID;
	v = builder_reserve(b, type, len);
	if (!v)
		return b->err;
	if (len)
		memcpy(v, val, len);
	return STUN_OK;
}

int stun_builder_add_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t be[4];

	wr32(be, v);
	return stun_builder_add(b, type, be, sizeof(be));
}

int stun_builder_add_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t be[8];

	wr32(be, (uint32_t)(v >> 32));
	wr32(be + 4, (uint32_t)v);
	return stun_builder_add(b, type, be, sizeof(be));
}

int stun_builder_add_xor_address(struct stun_builder *b, uint16_t type,
				 const struct sockaddr *sa, socklen_t salen)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	uint8_t v[20], mask[16];
	size_t alen;
	uint16_t port;
	bool xor = type != STUN_ATTR_MAPPED_ADDRESS;

	if (b->err)
		return b->err;
	if (sa && sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		v[1] = 0x01;
		alen = 4;
		port = ntohs(in->sin_port);
		memcpy(v + 4, &in->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 &&
		   salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		port = ntohs(in6->sin6_port);
		if (memcmp(&in6->sin6_addr, v4mapped, sizeof(v4mapped)) == 0) {
			v[1] = 0x01;
			alen = 4;
			memcpy(v + 4, (const uint8_t *)&in6->sin6_addr + 12, 4);
		} else {
			v[1] = 0x02;
			alen = 16;
			memcpy(v + 4, &in6->sin6_addr, 16);
		}
	} else {
		b->err = STUN_E_INVALID;
		return b->err;
	}
	v[0] = 0;
	if (xor) {
		wr32(mask, STUN_MAGIC_COOKIE);
		memcpy(mask + 4, b->buf + 8, STUN_TXID_LEN);
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		for (size_t i = 0; i < alen; i++)
			v[4 + i] ^= mask[i];
	}
	wr16(v + 2, port);
	return stun_builder_add(b, type, v, 4 + alen);
}

int stun_builder_add_error_code(struct stun_builder *b, unsigned code, const char *reason)
{
	uint8_t v[4 + STUN_REASON_MAX];
	size_t rlen;

	if (b->err)
		return b->err;
	if (!reason)
		reason = stun_reason_phrase(code);
	rlen = strlen(reason);
	if (code < 300 || code > 699 || rlen > STUN_REASON_MAX) {
		b->err = STUN_E_INVALID;
		return b->err;
	}
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
	return stun_builder_add(b, STUN_ATTR_ERROR_CODE, v, 4 + rlen);
}

int stun_builder_add_unknown_attributes(struct stun_builder *b, const uint16_t *types,
					size_t n)
{
	uint8_t v[2 * STUN_MAX_ATTRS];

	if (b->err)
		return b->err;
	if (n > STUN_MAX_ATTRS || (n && !types)) {
		b->err = STUN_E_INVALID;
		return b->err;
	}
	for (size_t i = 0; i < n; i++)
		wr16(v + 2 * i, types[i]);
	return stun_builder_add(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, v, 2 * n);
}

int stun_builder_add_integrity(struct stun_builder *b, const uint8_t *key, size_t key_len)
{
	uint8_t hdr[STUN_HEADER_LEN], mac[CRYPTO_MAX_MD_LEN];
	size_t off = b->len;
	uint8_t *v;

	if (!b->err && !key)
		b->err = STUN_E_INVALID;
	if (!b->err && b->sealed)
		b->err = STUN_E_SEALED;
	v = builder_reserve(b, STUN_ATTR_MESSAGE_INTEGRITY, STUN_MI_LEN);
	if (!v)
		return b->err;
	header_ending_at(hdr, b->buf, b->len);
	if (stun_hmac(CRYPTO_SHA1, key, key_len, hdr, b->buf, off, mac) != STUN_MI_LEN) {
		b->err = STUN_E_CRYPTO;
		return b->err;
	}
	memcpy(v, mac, STUN_MI_LEN);
	b->sealed = true;
	return STUN_OK;
}

int stun_builder_add_fingerprint(struct stun_builder *b)
{
	size_t off = b->len;
	uint32_t crc;
	uint8_t *v;

	if (!b->err && b->done)
		b->err = STUN_E_SEALED;
	v = builder_reserve(b, STUN_ATTR_FINGERPRINT, 4);
	if (!v)
		return b->err;
	/* the length field already ends at FINGERPRINT */
	crc = stun_crc32(0, b->buf, off) ^ STUN_FINGERPRINT_XOR;
	wr32(v, crc);
	b->sealed = b->done = true;
	return STUN_OK;
}

int stun_builder_finish(struct stun_builder *b, const uint8_t *key, size_t key_len,
			size_t *len)
{
	if (key)
		stun_builder_add_integrity(b, key, key_len);
	stun_builder_add_fingerprint(b);
	if (b->err)
		return b->err;
	*len = b->len;
	return STUN_OK;
}

int stun_build_binding_success(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
			       const struct sockaddr *peer, socklen_t peerlen,
			       const uint8_t *key, size_t key_len, size_t *len)
{
	struct stun_builder b;

	stun_builder_init(&b, buf, cap, stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS),
			  txid);
	stun_builder_add_xor_address(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, peer, peerlen);
	return stun_builder_finish(&b, key, key_len, len);
}

int stun_build_error(uint8_t *buf, size_t cap, uint16_t method,
		     const uint8_t txid[STUN_TXID_LEN], unsigned code, const uint16_t *unknown,
		     size_t n_unknown, const uint8_t *key, size_t key_len, size_t *len)
{
	struct stun_builder b;

	stun_builder_init(&b, buf, cap, stun_msg_type(method, STUN_CLASS_ERROR), txid);
	stun_builder_add_error_code(&b, code, NULL);
	if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
		stun_builder_add_unknown_attributes(&b, unknown, n_unknown);
	return stun_builder_finish(&b, key, key_len, len);
}

socklen_t stun_addr_to_sockaddr(const struct stun_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->addr, 4);
		return sizeof(*in);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->addr, 16);
		return sizeof(*in6);
	}
	return 0;
}

const char *stun_reason_phrase(unsigned code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case STUN_ERR_BAD_REQUEST: return "Bad Request";
	case STUN_ERR_UNAUTHENTICATED: return "Unauthenticated";
	case 403: return "Forbidden";
	case STUN_ERR_UNKNOWN_ATTRIBUTE: return "Unknown Attribute";
	case 438: return "Stale Nonce";
	case STUN_ERR_ROLE_CONFLICT: return "Role Conflict";
	case 500: return "Server Error";
	default: return "Error";
	}
}

const char *stun_strerror(int err)
{
	switch (err) {
	case STUN_OK: return "ok";
	case STUN_E_SHORT: return "truncated message or attribute";
	case STUN_E_NOT_STUN: return "not a STUN message";
	case STUN_E_LENGTH: return "bad message length";
	case STUN_E_TOO_BIG: return "message too big";
	case STUN_E_TOO_MANY_ATTRS: return "too many attributes";
	case STUN_E_BAD_ATTR: return "malformed attribute";
	case STUN_E_AFTER_FINGERPRINT: return "attribute after FINGERPRINT";
	case STUN_E_BUFFER: return "output buffer too small";
	case STUN_E_INVALID: return "invalid argument";
	case STUN_E_CRYPTO: return "crypto failure";
	case STUN_E_SEALED: return "attribute after MESSAGE-INTEGRITY/FINGERPRINT";
	default: return "unknown error";
	}
}

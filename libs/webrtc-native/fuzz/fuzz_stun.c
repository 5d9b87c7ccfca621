/* libFuzzer: stun_msg_parse and ice_lite_on_stun never crash or leak.
 *
 * Each input is fed twice to a fresh agent (local "LoCa"/"localpasswordlocalpass",
 * remote "rEm1"): once as it is, and once with MESSAGE-INTEGRITY and FINGERPRINT
 * recomputed (when the message has them), so that the paths behind authentication
 * (420, 487, success, nomination, renomination) are reached too.  Invariants:
 *   - a parsed message's integrity/fingerprint checks run without reading outside it;
 *   - every response the agent writes parses, has a correct FINGERPRINT, echoes the
 *     transaction id, and carries MESSAGE-INTEGRITY valid with the local pwd unless
 *     it is a 400/401. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ice_lite.h"
#include "stun.h"

#define L_UFRAG "LoCa"
#define L_PWD "localpasswordlocalpass"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const struct ice_lite *a, enum ice_lite_result r,
			   const uint8_t *req, const uint8_t *resp, size_t n)
{
	struct stun_msg m;
	bool auth;

	if (r == ICE_LITE_DROP || r == ICE_LITE_KEEPALIVE) {
		if (n != 0)
			abort();
		return;
	}
	if (n == 0 || n > ICE_LITE_RESP_MAX || stun_msg_parse(resp, n, &m) != STUN_OK ||
	    !stun_msg_check_fingerprint(resp, n, &m) || memcmp(m.txid, req + 8, 12) != 0)
		abort();
	auth = r != ICE_LITE_RESPOND_ERROR ||
	       (m.error_code != STUN_ERR_BAD_REQUEST && m.error_code != STUN_ERR_UNAUTHENTICATED);
	if (auth != stun_msg_check_integrity(resp, n, &m, (const uint8_t *)L_PWD,
					     strlen(L_PWD)))
		abort();
	if (r != ICE_LITE_RESPOND_ERROR && !(m.present & STUN_HAS_XOR_MAPPED))
		abort();
	if (r == ICE_LITE_RESPOND_NOMINATED && a->state != ICE_LITE_CONNECTED)
		abort();
}

/* Recompute MI (local pwd) and FINGERPRINT of a parsed message in place. */
static void fix_up(uint8_t *buf, size_t len, const struct stun_msg *m)
{
	uint8_t hdr[STUN_HEADER_LEN];
	uint8_t mac[CRYPTO_MAX_MD_LEN];
	uint32_t crc;
	size_t off;

	if (m->present & STUN_HAS_MI) {
		off = m->mi_offset;
		memcpy(hdr, buf, sizeof(hdr));
		hdr[2] = (uint8_t)((off + 24 - STUN_HEADER_LEN) >> 8);
		hdr[3] = (uint8_t)(off + 24 - STUN_HEADER_LEN);
		/* HMAC over the adjusted header and the body up to MI */
		uint8_t tmp[STUN_MAX_MSG_LEN];
		memcpy(tmp, hdr, sizeof(hdr));
		memcpy(tmp + STUN_HEADER_LEN, buf + STUN_HEADER_LEN, off - STUN_HEADER_LEN);
		struct crypto_buf whole = { tmp, off };

		if (crypto_hmac(CRYPTO_SHA1, (const uint8_t *)L_PWD, strlen(L_PWD), &whole, 1, mac) ==
		    0)
			memcpy(buf + off + 4, mac, STUN_MI_LEN);
	}
	if (m->present & STUN_HAS_FINGERPRINT) {
		off = m->fingerprint_offset;
		memcpy(hdr, buf, sizeof(hdr));
		hdr[2] = (uint8_t)((off + 8 - STUN_HEADER_LEN) >> 8);
		hdr[3] = (uint8_t)(off + 8 - STUN_HEADER_LEN);
		crc = stun_crc32(0, hdr, sizeof(hdr));
		crc = stun_crc32(crc, buf + STUN_HEADER_LEN, off - STUN_HEADER_LEN);
		crc ^= STUN_FINGERPRINT_XOR;
		buf[off + 4] = (uint8_t)(crc >> 24);
		buf[off + 5] = (uint8_t)(crc >> 16);
		buf[off + 6] = (uint8_t)(crc >> 8);
		buf[off + 7] = (uint8_t)crc;
	}
	(void)len;
}

static const struct sockaddr *last_from;
static socklen_t last_fromlen;

static enum ice_lite_result feed(struct ice_lite *a, const uint8_t *pkt, size_t len,
				 uint64_t now)
{
	static struct sockaddr_in p4;
	static struct sockaddr_in6 p6;
	uint8_t resp[ICE_LITE_RESP_MAX];
	const struct sockaddr *from;
	socklen_t fromlen;
	size_t n = sizeof(resp);
	enum ice_lite_result r;

	/* source address chosen by a txid byte so renomination gets exercised */
	if (len > 8 && (pkt[8] & 1)) {
		p6.sin6_family = AF_INET6;
		p6.sin6_port = htons(40000);
		inet_pton(AF_INET6, "2001:db8::1", &p6.sin6_addr);
		from = (const struct sockaddr *)&p6;
		fromlen = sizeof(p6);
	} else {
		p4.sin_family = AF_INET;
		p4.sin_port = htons((uint16_t)(5000 + (len > 9 ? pkt[9] & 3 : 0)));
		p4.sin_addr.s_addr = htonl(0xC0000201);
		from = (const struct sockaddr *)&p4;
		fromlen = sizeof(p4);
	}
	last_from = from;
	last_fromlen = fromlen;
	r = ice_lite_on_stun(a, pkt, len, from, fromlen, now, resp, &n);
	check_response(a, r, pkt, resp, n);
	if ((r == ICE_LITE_RESPOND || r == ICE_LITE_RESPOND_NOMINATED) &&
	    !ice_lite_addr_is_valid(a, from, fromlen))
		abort();
	if (r == ICE_LITE_RESPOND_NOMINATED && !ice_lite_addr_is_selected(a, from, fromlen))
		abort();
	(void)ice_lite_expired(a, now);
	return r;
}

/* A Binding indication (RFC 8445 §11 keepalive) from the last source: accepted iff
 * that address is valid. */
static void keepalive(struct ice_lite *a, const uint8_t *txid)
{
	struct stun_builder b;
	uint8_t pkt[64];
	size_t n = 0;
	bool valid = ice_lite_addr_is_valid(a, last_from, last_fromlen);

	stun_builder_init(&b, pkt, sizeof(pkt),
			  stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_INDICATION), txid);
	if (stun_builder_finish(&b, NULL, 0, &n) != STUN_OK)
		abort();
	if ((feed(a, pkt, n, 2500) == ICE_LITE_KEEPALIVE) != valid)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[STUN_MAX_MSG_LEN];
	struct ice_lite a;
	struct stun_msg m;

	if (ice_lite_init(&a, "rEm1", "remote+password/remote+") != ICE_LITE_OK ||
	    ice_lite_set_local_creds(&a, L_UFRAG, L_PWD) != ICE_LITE_OK)
		abort();
	feed(&a, data, size, 1000);

	if (stun_msg_parse(data, size, &m) != STUN_OK)
		return 0;
	if (m.length + STUN_HEADER_LEN != size || m.n_unknown > STUN_MAX_UNKNOWN ||
	    m.n_attrs > STUN_MAX_ATTRS)
		abort();
	if (m.present & STUN_HAS_USERNAME &&
	    (m.username < data || m.username + m.username_len > data + size))
		abort();
	(void)stun_msg_check_fingerprint(data, size, &m);
	(void)stun_msg_check_integrity(data, size, &m, (const uint8_t *)L_PWD, strlen(L_PWD));
	(void)stun_msg_check_integrity_sha256(data, size, &m, (const uint8_t *)L_PWD,
					      strlen(L_PWD));

	/* again, authenticated; then a second time later (renomination, expiry) */
	memcpy(copy, data, size);
	fix_up(copy, size, &m);
	/* the FINGERPRINT value changed: parse again (same structure) */
	if (stun_msg_parse(copy, size, &m) != STUN_OK)
		abort();
	if ((m.present & STUN_HAS_MI) &&
	    !stun_msg_check_integrity(copy, size, &m, (const uint8_t *)L_PWD, strlen(L_PWD)))
		abort();
	if ((m.present & STUN_HAS_FINGERPRINT) && !stun_msg_check_fingerprint(copy, size, &m))
		abort();
	feed(&a, copy, size, 2000);
	if (size > 8)
		copy[8] ^= 1; /* the other source address */
	fix_up(copy, size, &m);
	feed(&a, copy, size, 2000 + (size > 10 ? (uint64_t)copy[10] * 256 : 0));
	keepalive(&a, copy + 8);
	return 0;
}

/* ice_lite: the ICE-lite agent of pear-fogd (RFC 8445 §2.5, §7.3, §8.2), one per
 * peer connection, one component (data channels are BUNDLEd over a single 5-tuple).
 *
 * A lite agent has only host candidates, never sends checks and is always the
 * controlled agent (§6.1.1).  It answers the browser's Binding requests, learns the
 * browser's (peer-reflexive) addresses from them, and takes the nomination the
 * controlling browser makes with USE-CANDIDATE.  A later nomination of another pair
 * replaces the selected one (the browser renominates, e.g. after a network change).
 *
 * No I/O and no clock: the caller demuxes the UDP port (RFC 7983: first byte 0..3 is
 * STUN), passes each STUN datagram with its source address and a monotonic now_ms,
 * and sends the response this module writes back to that source address.
 *
 * Request processing (RFC 8489 §6.3, §9.1.3; RFC 8445 §7.3), in order:
 *   1. not parseable, no FINGERPRINT or a wrong one, not Binding → drop (§7.3 of
 *      RFC 8445 requires FINGERPRINT; without it the datagram is not ours);
 *   2. a success or error response → drop (a lite agent sends no requests);
 *   3. an indication (keepalive, RFC 8445 §11) from a valid address → refreshes
 *      last_rx_ms; nothing is sent.  It carries no MESSAGE-INTEGRITY, so it does
 *      not count as consent;
 *   4. a request without USERNAME or MESSAGE-INTEGRITY → 400 (no MI in the answer);
 *   5. USERNAME not "<local ufrag>:<remote ufrag>" or MI not valid with the local
 *      pwd → 401 (no MI, §9.1.3) — counted in auth_failures;
 *   6. unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES;
 *   7. ICE-CONTROLLED present → 487 Role Conflict (§7.3.1.1: both agents claim the
 *      controlled role; a lite agent cannot take the controlling one, so the
 *      browser must switch);
 *   8. otherwise a success response with XOR-MAPPED-ADDRESS; the source becomes a
 *      valid pair, consent is refreshed, and with USE-CANDIDATE it is selected.
 * Responses 420/487/success carry MESSAGE-INTEGRITY (local pwd) and all carry
 * FINGERPRINT.
 *
 * Consent (RFC 7675, receiver side): the browser sends an authenticated Binding
 * request on the selected pair at least every ~5 s.  When none arrived on the
 * selected pair (before nomination: on any valid pair) for
 * ICE_LITE_CONSENT_TIMEOUT_MS the agent is expired: ice_lite_expired() is true and it
 * goes to ICE_LITE_FAILED for good (§5.1 of RFC 7675: consent once lost is not
 * regained); the caller then tears the connection down.  Until the first check
 * arrives nothing expires: the caller owns the connection-setup timeout. */
#ifndef PEARFOG_ICE_LITE_H
#define PEARFOG_ICE_LITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stun.h"

#define ICE_LITE_CONSENT_TIMEOUT_MS 30000 /* RFC 7675 §5.1 */
#define ICE_LITE_UFRAG_LEN 8		/* generated local ufrag: 48 bits */
#define ICE_LITE_PWD_LEN 24		/* generated local pwd: 144 bits (>= 128, §5.4) */
#define ICE_LITE_UFRAG_MIN 4		/* RFC 8839 §5.4 */
#define ICE_LITE_PWD_MIN 22
#define ICE_LITE_CRED_MAX 256		/* RFC 8839 §5.4: ufrag and pwd <= 256 chars */
#define ICE_LITE_MAX_VALID 8		/* remembered valid remote addresses (LRU) */
/* Big enough for every response written here (largest: 420 with
 * STUN_MAX_UNKNOWN types, or success with an IPv6 XOR-MAPPED-ADDRESS). */
#define ICE_LITE_RESP_MAX 128

enum ice_lite_err {
	ICE_LITE_OK = 0,
	ICE_LITE_E_CRED = -1,	/* ufrag/pwd of wrong length or not ice-chars */
	ICE_LITE_E_RANDOM = -2,	/* crypto_random failed */
};

enum ice_lite_state {
	ICE_LITE_NEW,		/* no valid check yet */
	ICE_LITE_CHECKING,	/* valid pair(s), none nominated */
	ICE_LITE_CONNECTED,	/* a pair is selected */
	ICE_LITE_FAILED,	/* consent expired; everything is dropped */
};

/* What ice_lite_on_stun did; for the RESPOND* results send resp to `from`. */
enum ice_lite_result {
	ICE_LITE_DROP = 0,		/* discard; *resp_len = 0 */
	ICE_LITE_RESPOND,		/* success response; pair valid */
	ICE_LITE_RESPOND_NOMINATED,	/* success response; `from` became the selected pair */
	ICE_LITE_RESPOND_ERROR,		/* error response (400/401/420/487) */
	ICE_LITE_KEEPALIVE,		/* indication from a valid address; nothing to send */
};

/* Why the last message was dropped or refused (for logs and metrics). */
enum ice_lite_reason {
	ICE_LITE_WHY_NONE = 0,
	ICE_LITE_WHY_PARSE,		/* not a well-formed STUN message */
	ICE_LITE_WHY_FINGERPRINT,	/* FINGERPRINT absent or wrong */
	ICE_LITE_WHY_METHOD,		/* not Binding */
	ICE_LITE_WHY_CLASS,		/* a response */
	ICE_LITE_WHY_NOT_VALID,		/* indication from an address that is not valid */
	ICE_LITE_WHY_BAD_REQUEST,	/* 400: no USERNAME or no MESSAGE-INTEGRITY */
	ICE_LITE_WHY_USERNAME,		/* 401: USERNAME does not match */
	ICE_LITE_WHY_INTEGRITY,		/* 401: MESSAGE-INTEGRITY wrong */
	ICE_LITE_WHY_UNKNOWN_ATTR,	/* 420 */
	ICE_LITE_WHY_ROLE_CONFLICT,	/* 487 */
	ICE_LITE_WHY_ADDRESS,		/* source address not IPv4/IPv6 */
	ICE_LITE_WHY_BUFFER,		/* response buffer too small */
	ICE_LITE_WHY_EXPIRED,		/* agent is ICE_LITE_FAILED */
};

struct ice_lite_counters {
	uint64_t rx;			/* datagrams handed in */
	uint64_t requests;		/* authenticated Binding requests answered with success */
	uint64_t indications;		/* keepalives accepted */
	uint64_t errors_sent;		/* error responses */
	uint64_t auth_failures;		/* 401s */
	uint64_t role_conflicts;	/* 487s */
	uint64_t nominations;		/* selected pair changes */
	uint64_t dropped;
};

struct ice_lite_peer {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint32_t priority;		/* PRIORITY of its last check (peer-reflexive, §7.3.1.3) */
	uint64_t last_ms;		/* last authenticated check from it */
};

struct ice_lite {
	char local_ufrag[ICE_LITE_CRED_MAX + 1];
	char local_pwd[ICE_LITE_CRED_MAX + 1];
	char remote_ufrag[ICE_LITE_CRED_MAX + 1];
	char remote_pwd[ICE_LITE_CRED_MAX + 1];	/* kept for the record; a lite agent
						 * signs only with its own pwd */
	enum ice_lite_state state;
	struct ice_lite_peer valid[ICE_LITE_MAX_VALID];
	unsigned n_valid;
	int selected;			/* index into valid[], -1 when none */
	uint64_t last_consent_ms;	/* last authenticated check (any valid pair) */
	uint64_t last_rx_ms;		/* last check or keepalive */
	bool had_consent;
	enum ice_lite_reason last_reason;
	struct ice_lite_counters counters;
};

/* Local ufrag/pwd from crypto_random; remote ones from the SDP offer (checked: 4..256
 * and 22..256 ice-chars).  ICE_LITE_OK or an ice_lite_err. */
int ice_lite_init(struct ice_lite *a, const char *remote_ufrag, const char *remote_pwd);
/* Replace the local credentials (tests, or the daemon restoring a session). */
int ice_lite_set_local_creds(struct ice_lite *a, const char *ufrag, const char *pwd);
/* RFC 8839 §5.4: len in [min, ICE_LITE_CRED_MAX], every char ALPHA / DIGIT / + / /. */
bool ice_lite_cred_valid(const char *s, size_t min);

/* Handle one STUN datagram (see the order above).  *resp_len: in, capacity of resp
 * (ICE_LITE_RESP_MAX is enough); out, bytes to send (0 unless RESPOND*). */
enum ice_lite_result ice_lite_on_stun(struct ice_lite *a, const uint8_t *pkt, size_t len,
				      const struct sockaddr *from, socklen_t fromlen,
				      uint64_t now_ms, uint8_t *resp, size_t *resp_len);

/* RFC 7675: no authenticated check on the selected pair (before nomination: on any
 * valid pair) for ICE_LITE_CONSENT_TIMEOUT_MS after the first one, or already
 * FAILED.  Sets FAILED when it fires. */
bool ice_lite_expired(struct ice_lite *a, uint64_t now_ms);

/* A full agent's own check (or consent request) to `from` got an authenticated success
 * response (RFC 8445 §7.2.5.3, RFC 7675 §5.1): the address becomes (or stays) valid and
 * consent is refreshed as by an incoming check. */
void ice_lite_consent_refresh(struct ice_lite *a, const struct sockaddr *from,
			      socklen_t fromlen, uint64_t now_ms);
/* Same transport address (an IPv4-mapped IPv6 address equals its IPv4 one). */
bool ice_lite_addr_equal(const struct sockaddr *x, socklen_t xl, const struct sockaddr *y,
			 socklen_t yl);

/* DTLS/SCTP from the peer is accepted from the selected address only. */
bool ice_lite_addr_is_selected(const struct ice_lite *a, const struct sockaddr *from,
			       socklen_t fromlen);
/* Any address that passed an authenticated check (the valid list, RFC 8445 §7.3, §8.2). */
bool ice_lite_addr_is_valid(const struct ice_lite *a, const struct sockaddr *from,
			    socklen_t fromlen);
/* The selected remote address (where to send), NULL before nomination. */
const struct sockaddr *ice_lite_selected(const struct ice_lite *a, socklen_t *len);

const char *ice_lite_local_ufrag(const struct ice_lite *a);
const char *ice_lite_local_pwd(const struct ice_lite *a);
const char *ice_lite_result_name(enum ice_lite_result r);
const char *ice_lite_reason_name(enum ice_lite_reason r);
const char *ice_lite_strerror(int err);

#endif

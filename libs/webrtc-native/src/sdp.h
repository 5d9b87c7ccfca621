/* sdp: parse a browser's data-channel offer and write pear-fogd's answer.
 *
 * Syntax is RFC 8866 (SDP); the data channel m-line is RFC 8841 (SCTP over DTLS),
 * ICE attributes are RFC 8839, the certificate fingerprint is RFC 8122, and the
 * answer follows the JSEP answer rules of RFC 8829 §5.3.
 *
 * What is accepted:
 *   - one `m=application <port> UDP/DTLS/SCTP webrtc-datachannel` section (also
 *     `UDP/DTLS/SCTP` with a TCP/ prefix is refused: we only speak UDP).  Other m-lines
 *     (audio, video, a second application section) are recorded so the answer can
 *     reject them with port 0 in the same order (RFC 8829 §5.3.1).
 *   - the legacy draft form `m=application 9 DTLS/SCTP 5000` + `a=sctpmap:` is refused
 *     with SDP_E_LEGACY_SCTP: no browser since Chrome 57 / Firefox 63 emits it.
 *   - ice-ufrag, ice-pwd, ice-options, fingerprint and setup at session or media level;
 *     the media level value overrides the session level one (RFC 8839 §5.4, RFC 8122 §5).
 *   - fingerprints: the first sha-256 one is used; others (sha-1, sha-384, ...) are
 *     skipped, and an offer with fingerprints but none in sha-256 fails with
 *     SDP_E_FINGERPRINT_ALG.  A second sha-256 fingerprint at the same level is
 *     SDP_E_DUPLICATE (we would not know which certificate the peer uses).
 *   - setup: actpass or active (we are always the DTLS server, `a=setup:passive`);
 *     an offer that insists on passive/holdconn fails with SDP_E_SETUP.  Absent setup
 *     is recorded as SDP_SETUP_NONE (RFC 4145 §4 default "active", fine for us).
 *   - candidates of the data section (or session level) go into a fixed array;
 *     extra ones beyond SDP_MAX_CANDIDATES are counted in n_candidates_dropped.
 *
 * Lines may end in CRLF or LF; the last line may lack a terminator.  A NUL byte, a
 * bare CR or any other control character except TAB fails the parse (SDP_E_SYNTAX).
 * The parser never allocates: all results are copied into struct sdp_offer. */
#ifndef PEARFOG_SDP_H
#define PEARFOG_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_BYTES 65536	/* whole offer */
#define SDP_MAX_LINE 4096	/* one line, without its terminator */
#define SDP_MAX_LINES 1024
#define SDP_MAX_MEDIA 16	/* m-lines */
#define SDP_MAX_CANDIDATES 16	/* candidates kept; more are counted and dropped */
#define SDP_MAX_BUNDLE 16	/* mids in a BUNDLE group */
#define SDP_ICE_UFRAG_MIN 4	/* RFC 8839 §5.4 */
#define SDP_ICE_PWD_MIN 22
#define SDP_ICE_MAX 256
#define SDP_MID_MAX 32		/* RFC 5888 allows any token; browsers use "0".."n" */
#define SDP_ADDR_MAX 253	/* an IP literal or an mDNS/DNS name */
#define SDP_FOUNDATION_MAX 32	/* RFC 8445 §5.1.1.3: 1*32 ice-char */
#define SDP_FINGERPRINT_LEN 32	/* sha-256 */
#define SDP_DEFAULT_SCTP_PORT 5000
#define SDP_DEFAULT_MAX_MESSAGE_SIZE 65536	/* RFC 8841 §6.1, attribute absent */
#define SDP_OUR_MAX_MESSAGE_SIZE 262144

enum sdp_err {
	SDP_OK = 0,
	SDP_E_TOO_BIG = -1,	/* offer, a line or a list over its cap */
	SDP_E_SYNTAX = -2,	/* malformed line, NUL/control byte, bad number */
	SDP_E_VERSION = -3,	/* first line is not v=0 */
	SDP_E_NO_APPLICATION = -4, /* no m=application webrtc-datachannel section */
	SDP_E_PORT_ZERO = -5,	/* the data section is rejected (port 0) */
	SDP_E_LEGACY_SCTP = -6,	/* m=application ... DTLS/SCTP 5000 draft form */
	SDP_E_NO_ICE = -7,	/* ice-ufrag or ice-pwd missing */
	SDP_E_BAD_ICE = -8,	/* ufrag/pwd of wrong length or characters */
	SDP_E_NO_FINGERPRINT = -9,
	SDP_E_FINGERPRINT_ALG = -10, /* fingerprints present, none sha-256 */
	SDP_E_BAD_FINGERPRINT = -11, /* sha-256 value not 32 colon-separated hex pairs */
	SDP_E_SETUP = -12,	/* setup value unknown or not acceptable to a DTLS server */
	SDP_E_DUPLICATE = -13,	/* an attribute that may appear once appears twice */
	SDP_E_BAD_CANDIDATE = -14,
	SDP_E_BAD_MID = -15,
	SDP_E_BUFFER = -16,	/* sdp_answer_write: output buffer too small */
	SDP_E_INVALID = -17,	/* sdp_answer_write: bad parameter */
};

enum sdp_setup {
	SDP_SETUP_NONE,
	SDP_SETUP_ACTPASS,
	SDP_SETUP_ACTIVE,
	SDP_SETUP_PASSIVE,
	SDP_SETUP_HOLDCONN,
};

enum sdp_transport { SDP_TRANSPORT_UDP, SDP_TRANSPORT_TCP };
enum sdp_cand_type { SDP_CAND_HOST, SDP_CAND_SRFLX, SDP_CAND_PRFLX, SDP_CAND_RELAY };

/* RFC 8839 §5.1 candidate-attribute; related address and extensions are skipped. */
struct sdp_candidate {
	char foundation[SDP_FOUNDATION_MAX + 1];
	unsigned component;
	enum sdp_transport transport;
	uint32_t priority;
	char address[SDP_ADDR_MAX + 1];
	uint16_t port;
	enum sdp_cand_type type;
};

/* One m-line, kept so the answer can mirror the offer's m-line order. */
struct sdp_media {
	char kind[16];	/* "application", "audio", "video", ... */
	uint16_t port;
	char proto[32];
	char fmt[32];	/* first format token only */
	char mid[SDP_MID_MAX + 1]; /* "" when absent */
};

struct sdp_offer {
	char ice_ufrag[SDP_ICE_MAX + 1];
	char ice_pwd[SDP_ICE_MAX + 1];
	bool ice_trickle;	/* a=ice-options contains "trickle" */
	bool ice_lite;		/* the offerer is ice-lite (browsers never are) */
	uint8_t fingerprint[SDP_FINGERPRINT_LEN];
	enum sdp_setup setup;
	/* the data channel section */
	unsigned app_index;	/* index into media[] */
	uint16_t port;		/* m-line port (9 with trickle ICE) */
	char mid[SDP_MID_MAX + 1];
	uint16_t sctp_port;	/* default SDP_DEFAULT_SCTP_PORT */
	uint64_t max_message_size; /* default 65536; 0 means "any size" (RFC 8841 §6.1) */
	struct sdp_candidate candidates[SDP_MAX_CANDIDATES];
	unsigned n_candidates;
	unsigned n_candidates_dropped;
	bool end_of_candidates;
	/* a=group:BUNDLE (RFC 9143); n_bundle == 0 when absent */
	char bundle[SDP_MAX_BUNDLE][SDP_MID_MAX + 1];
	unsigned n_bundle;
	struct sdp_media media[SDP_MAX_MEDIA];
	unsigned n_media;
};

/* Parse sdp[0..len) (need not be NUL-terminated).  Returns SDP_OK or an sdp_err;
 * *out is fully overwritten either way and only meaningful on SDP_OK. */
int sdp_offer_parse(const char *sdp, size_t len, struct sdp_offer *out);

struct sdp_host_candidate {
	const char *address;	/* IPv4 or IPv6 literal */
	uint16_t port;
};

/* A server-reflexive candidate (RFC 8445 §5.1.1.2) with its base (RFC 8839 §5.1 raddr/rport). */
struct sdp_srflx_candidate {
	const char *address;	/* IPv4 or IPv6 literal */
	uint16_t port;
	const char *rel_address; /* the base's address; NULL → 0.0.0.0 */
	uint16_t rel_port;
};

struct sdp_answer_params {
	const struct sdp_offer *offer;	/* mid, BUNDLE, m-line order come from here */
	uint64_t session_id;		/* o= sess-id; < 2^63 (RFC 8829 §5.2.1) */
	uint64_t session_version;
	const char *ice_ufrag;		/* 4..256 ice-chars */
	const char *ice_pwd;		/* 22..256 ice-chars */
	uint8_t fingerprint[SDP_FINGERPRINT_LEN]; /* SHA-256 of our DTLS certificate */
	uint16_t sctp_port;		/* 0 → SDP_DEFAULT_SCTP_PORT */
	uint64_t max_message_size;	/* 0 → SDP_OUR_MAX_MESSAGE_SIZE */
	const struct sdp_host_candidate *candidates; /* 1..SDP_MAX_CANDIDATES */
	size_t n_candidates;
	const struct sdp_srflx_candidate *srflx; /* 0..SDP_MAX_CANDIDATES, after the hosts */
	size_t n_srflx;
	bool full_ice;			/* false: a=ice-lite (RFC 8445 §2.5) */
};

/* One trickled candidate (RFC 8838 §4.1, RFC 8839 §5.1): "candidate:…" with or without
 * "a=" in front, as RTCIceCandidate.candidate carries it.  SDP_OK or an sdp_err
 * (SDP_E_BAD_CANDIDATE for anything malformed); *out is zeroed first. */
int sdp_candidate_parse(const char *line, size_t len, struct sdp_candidate *out);

/* Write the answer (CRLF lines, NUL-terminated) into buf[0..cap).  *len gets the
 * length without the NUL.  SDP_E_BUFFER when cap is too small, SDP_E_INVALID for a
 * bad parameter.  The first candidate is the default (m= port, c= address). */
int sdp_answer_write(const struct sdp_answer_params *p, char *buf, size_t cap, size_t *len);

/* RFC 8445 §5.1.2.1: (2^24)*type_pref + (2^8)*local_pref + (256 - component).
 * type_pref 0..126, local_pref 0..65535, component 1..256 (out of range bits are
 * masked off / count as 0). */
uint32_t sdp_candidate_priority(unsigned type_pref, unsigned local_pref, unsigned component);

const char *sdp_strerror(int err);

#endif

/* channel: WebRTC data channels (RFC 8831) on one SCTP association, opened with DCEP
 * (RFC 8832).  The manager owns the sctp_assoc; the caller feeds it SCTP packets
 * (DTLS application data) and wires send_packet to dtls_send.
 *
 * Lifetime: a channel exists from on_open (peer-opened) or channel_open() (ours) until
 * on_close returns; do not use the pointer after that.  Closing (RFC 8831 §6.7) resets
 * the outgoing stream; the peer answers by resetting its own, and on_close follows.  A
 * peer-initiated reset is answered the same way and reported with on_close at once.  The
 * stream id is reused only after both directions are reset.  When the association ends,
 * every channel gets on_close, then on_state(SCTP_ST_CLOSED) follows.
 *
 * Callbacks may call any channel_* function, including channel_mgr_free() (deferred until
 * the callback returns; no callback runs after channel_mgr_free() returns).  send_packet
 * runs inside usrsctp and must only hand the packet to DTLS (see sctp.h).
 *
 * Peer OPENs are refused with a stream reset when they use our stream parity, a stream
 * that already has a channel, a label or protocol longer than max_label or containing a
 * NUL byte, or exceed max_channels.  Pre-negotiated channels (negotiated: true in the W3C
 * API) are not supported: messages on a stream without a DCEP-opened channel are dropped
 * and counted. */
#ifndef PEARFOG_CHANNEL_H
#define PEARFOG_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcep.h"
#include "sctp.h"

/* Errors: the sctp_err codes (SCTP_E_AGAIN for back-pressure etc.) plus these. */
enum channel_err {
	CHANNEL_E_NO_STREAM = -32, /* no free stream id of our parity */
	CHANNEL_E_LIMIT = -33,     /* max_channels reached */
	CHANNEL_E_LABEL = -34,     /* label or protocol longer than max_label */
	CHANNEL_E_CLOSED = -35,    /* channel is closing or closed */
	CHANNEL_E_TYPE = -36,      /* unknown channel type */
};

struct channel_config {
	struct sctp_assoc_config sctp; /* default sctp_assoc_config_default */
	bool dtls_client;      /* our DTLS role: client opens even stream ids, server odd
				* (RFC 8832 §6); default false (pear-fogd is DTLS server) */
	uint16_t max_channels; /* open + closing channels, default 64 */
	uint16_t max_label;    /* bytes of label and of protocol each, default 1024 */
};

/* Documented defaults; pass NULL to channel_mgr_new() to use them. */
extern const struct channel_config channel_config_default;

struct channel_mgr;
struct channel;

struct channel_callbacks {
	void (*send_packet)(void *user, const uint8_t *pkt, size_t len); /* required */
	void (*on_state)(void *user, enum sctp_state state);
	void (*on_open)(void *user, struct channel *ch); /* peer opened a channel */
	void (*on_message)(void *user, struct channel *ch, bool binary, const uint8_t *data,
			   size_t len); /* len 0 for empty messages (PPID 56/57) */
	void (*on_close)(void *user, struct channel *ch);
	void (*on_writable)(void *user); /* association send buffer below writable_low */
};

struct channel_stats {
	uint64_t dropped_no_channel; /* data on a stream without an open channel */
	uint64_t dropped_bad_ppid;   /* unknown or deprecated PPID (52, 54, ...) */
	uint64_t dcep_invalid;       /* DCEP messages that failed to parse */
	uint64_t opens_refused;      /* peer OPENs refused (limit, parity, label, duplicate) */
};

/* cfg NULL = channel_config_default.  Starts the SCTP association (send_packet may run
 * before this returns).  NULL on error. */
struct channel_mgr *channel_mgr_new(const struct channel_config *cfg,
				    const struct channel_callbacks *cb, void *user);
/* One SCTP packet (DTLS application data). */
int channel_mgr_on_packet(struct channel_mgr *m, const uint8_t *pkt, size_t len);
/* Aborts the association (the ABORT goes out through send_packet when called outside
 * callbacks) and frees every channel without on_close.  Deferred inside callbacks. */
void channel_mgr_free(struct channel_mgr *m);
struct sctp_assoc *channel_mgr_assoc(struct channel_mgr *m);
const struct channel_stats *channel_mgr_stats(const struct channel_mgr *m);
size_t channel_mgr_count(const struct channel_mgr *m); /* channels not yet on_close'd */

/* Open a channel (DATA_CHANNEL_OPEN on a free stream of our parity).  The association
 * must be connected.  reliability: max retransmits or lifetime ms for the partial
 * types, ignored otherwise.  Usable at once; sends are ordered until the peer's ACK.
 * NULL on error, with the code in *err when err is not NULL. */
struct channel *channel_open(struct channel_mgr *m, const char *label, const char *protocol,
			     enum dcep_channel_type type, uint32_t reliability,
			     uint16_t priority, int *err);
/* One message; len 0 is sent as PPID 56/57 (RFC 8831 §6.6).  SCTP_E_AGAIN: wait for
 * on_writable. */
int channel_send(struct channel *ch, bool binary, const uint8_t *data, size_t len);
int channel_close(struct channel *ch);
/* Bytes queued and unacknowledged on the whole association (usrsctp keeps no per-stream
 * count); the channels of one association share one send buffer. */
size_t channel_buffered_amount(const struct channel *ch);

uint16_t channel_stream(const struct channel *ch);
const char *channel_label(const struct channel *ch);    /* NUL-terminated */
const char *channel_protocol(const struct channel *ch); /* NUL-terminated, may be "" */
enum dcep_channel_type channel_type(const struct channel *ch);
uint32_t channel_reliability(const struct channel *ch);
uint16_t channel_priority(const struct channel *ch);
void channel_set_user(struct channel *ch, void *user);
void *channel_user(const struct channel *ch);
struct channel_mgr *channel_mgr_of(const struct channel *ch);

const char *channel_strerror(int err);

#endif

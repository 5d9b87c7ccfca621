/* sctp: SCTP associations over DTLS (RFC 8261) for WebRTC data channels (RFC 8831),
 * on top of usrsctp in no-threads mode.
 *
 * Data flow:  DTLS app data in -> sctp_assoc_on_packet() -> usrsctp -> on_message()
 *             sctp_assoc_send() -> usrsctp -> send_packet() -> caller's dtls_send
 *
 * Threading and re-entrancy (the whole module is single-threaded):
 *  - usrsctp runs without threads: the event loop calls sctp_timers_run() every
 *    SCTP_TICK_MS while any association exists (usrsctp 0.9.5 has no next-timeout query).
 *    This module keeps usrsctp's timer clock on the monotonic clock: a packet in
 *    (sctp_assoc_on_packet) and a message out (sctp_assoc_send) first move it to now, so
 *    the data timers (T3-rtx) count from when they were armed, not from the last tick
 *    (sctp.c: clock_sync; INIT, SHUTDOWN and RECONFIG timers may still start up to a
 *    tick early, which only resends a control chunk sooner).  usrsctp also reads the
 *    real clock itself (RTT, and whether a chunk was outstanding for an RTO before a T3
 *    retransmission), so a test clock (sctp_set_clock) running faster than real time
 *    stops retransmissions altogether.
 *  - send_packet() is called from inside usrsctp (with its locks held).  It must only
 *    hand the packet to DTLS; any sctp_* call made from it returns SCTP_E_BUSY (free is
 *    deferred).
 *  - on_message/on_writable/on_stream_reset/on_state are called after usrsctp returned
 *    (the socket upcall only marks the association; a dispatch step drains it), so they
 *    may call sctp_assoc_send/reset_stream/close/free, also on other associations.
 *    sctp_assoc_free() inside any callback is deferred until the outermost sctp_* call
 *    returns; after sctp_assoc_free() returns no callback for that association runs.
 *  - Message data passed to on_message is valid only during the callback.
 *
 * Checksums: outgoing packets carry a CRC32c (peers verify it); incoming ones are not
 * verified, since DTLS has already authenticated every byte (RFC 8261).
 *
 * Both sides connect (simultaneous open, RFC 4960 §5.2.4), as libwebrtc, dcsctp and
 * libdatachannel do: bind to the local port, connect to the remote port from the SDP.
 *
 * Messages are atomic on the send side (no explicit EOR): sctp_assoc_send() either queues
 * the whole message or returns SCTP_E_AGAIN, so the send buffer is at least the maximum
 * message size.  On the receive side partial deliveries are reassembled up to
 * max_message_size; larger messages are dropped and counted (stats.oversize_dropped). */
#ifndef PEARFOG_SCTP_H
#define PEARFOG_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCTP_TICK_MS 10 /* suggested sctp_timers_run() interval while assocs exist */
#define SCTP_RTO_MIN_MS 20 /* retransmission timeout floor (sctp.c says why) */
#define SCTP_MAX_MESSAGE_CAP (16u << 20) /* upper bound accepted for max_message_size */
#define SCTP_RECV_CHUNK 65536 /* bytes read per usrsctp_recvv (one static buffer) */

enum sctp_err {
	SCTP_OK = 0,
	SCTP_E_INVAL = -1,   /* bad argument (stream out of range, empty message, config) */
	SCTP_E_NOMEM = -2,
	SCTP_E_AGAIN = -3,   /* send buffer full: wait for on_writable */
	SCTP_E_STATE = -4,   /* association not connected, closed or being freed */
	SCTP_E_TOO_BIG = -5, /* message larger than max_message_size */
	SCTP_E_BUSY = -6,    /* called from inside send_packet (usrsctp holds its locks) */
	SCTP_E_STACK = -7,   /* usrsctp refused (see errno-derived detail in logs) */
	SCTP_E_INIT = -8,    /* sctp_global_init not done / failed */
};

enum sctp_state {
	SCTP_ST_CONNECTING = 0,
	SCTP_ST_CONNECTED,
	SCTP_ST_CLOSED, /* shutdown complete, aborted, lost or could not start */
};

/* Partial reliability policy (RFC 3758, RFC 7496). */
enum sctp_pr_policy {
	SCTP_PRP_NONE = 0, /* reliable */
	SCTP_PRP_REXMIT,   /* pr_value = max retransmissions */
	SCTP_PRP_TIMED,    /* pr_value = lifetime in ms */
};

/* on_stream_reset flags */
#define SCTP_RST_INCOMING 0x1 /* the peer reset its outgoing stream (no more data from it) */
#define SCTP_RST_OUTGOING 0x2 /* our outgoing reset (sctp_assoc_reset_stream) completed */
#define SCTP_RST_FAILED 0x4   /* our reset request was denied or failed */

struct sctp_assoc_config {
	uint16_t local_port;        /* default 5000 (a=sctp-port) */
	uint16_t remote_port;       /* default 5000 (peer's a=sctp-port) */
	uint32_t max_message_size;  /* bytes, default 262144 (a=max-message-size) */
	uint32_t send_buffer;       /* bytes, default 262144; raised to max_message_size */
	uint32_t recv_buffer;       /* bytes, default 262144 (advertised receive window) */
	uint32_t writable_low;      /* bytes, default 65536: on_writable when buffered <= this */
	uint16_t streams;           /* in and out streams offered in INIT, default 64: about
				     * 104 bytes of heap per stream per association (1024
				     * streams = 114 KiB idle, 256 = 35 KiB); 64 covers the
				     * channel manager's max_channels (a browser, as DTLS
				     * client, numbers its channels 0, 2, 4 ... from the lowest
				     * free id, RFC 8832 §6) */
	uint16_t packet_max;        /* SCTP packet bytes, default 1163 = 1200 - 37 (DTLS 1.2
				     * AES-GCM record: 13 header + 8 nonce + 16 tag) */
	uint32_t cwnd_cap;          /* bytes, default 65536; 0 = no cap.  Upper bound of the
				     * congestion window on a short path: the peer's a_rwnd
				     * counts its SCTP stack's buffer, not the UDP socket buffer
				     * in front of it, and with no bottleneck link to pace them
				     * (LAN, loopback) a window's packets land there at once.  A
				     * browser's socket holds ~55 datagrams (Linux counts ~2.3 KiB
				     * per 1.2 KB datagram against SO_RCVBUF): more is dropped,
				     * and a lost tail costs T3-rtx (RTO.Min).  See sctp.c. */
	uint32_t cwnd_cap_rate;     /* bytes/s, default 12500000 (100 Mbit/s): on a longer path
				     * the cap grows to this rate x SRTT, so one association can
				     * still fill an uplink that far away */
};

/* The documented defaults, as an initializer (channel_config_default embeds them). */
#define SCTP_ASSOC_CONFIG_DEFAULTS                                                              \
	{                                                                                       \
		.local_port = 5000, .remote_port = 5000, .max_message_size = 262144,            \
		.send_buffer = 262144, .recv_buffer = 262144, .writable_low = 65536,            \
		.streams = 64, .packet_max = 1200 - 37, .cwnd_cap = 65536,                      \
		.cwnd_cap_rate = 12500000,                                                      \
	}

/* Documented defaults; pass NULL to sctp_assoc_new() to use them. */
extern const struct sctp_assoc_config sctp_assoc_config_default;

struct sctp_callbacks {
	void (*send_packet)(void *user, const uint8_t *pkt, size_t len); /* required */
	void (*on_message)(void *user, uint16_t stream, uint32_t ppid, const uint8_t *data,
			   size_t len);
	void (*on_writable)(void *user);
	void (*on_stream_reset)(void *user, uint16_t stream, unsigned flags); /* SCTP_RST_* */
	void (*on_state)(void *user, enum sctp_state state);
};

struct sctp_send_opts {
	bool unordered;
	enum sctp_pr_policy pr_policy;
	uint32_t pr_value;
};

struct sctp_stats {
	uint64_t packets_in, packets_out;
	uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
	uint64_t oversize_dropped; /* received messages larger than max_message_size */
	uint64_t send_failed;      /* SCTP_SEND_FAILED_EVENT (abandoned PR-SCTP data etc.) */
};

/* Stack-wide counters of usrsctp (all associations since sctp_global_init), the ones that
 * explain a slow message: data retransmitted, and how the loss was detected — by SACK gap
 * reports (fast retransmit, RFC 9260 §7.2.4: about one round trip) or by the T3-rtx timer
 * expiring (§6.3.3: at least RTO.Min, the price of a lost tail). */
struct sctp_global_stats {
	uint64_t data_chunks_sent;	/* DATA chunks sent, first transmissions and retransmissions */
	uint64_t data_chunks_retransmitted;
	uint64_t fast_retransmits;	/* DATA chunks fast-retransmitted */
	uint64_t t3_timeouts;		/* T3-rtx expiries */
};

struct sctp_assoc;

/* Once per process (idempotent).  Returns SCTP_OK or SCTP_E_INIT. */
int sctp_global_init(void);
/* Frees every remaining association (silently) and usrsctp's global state. */
void sctp_global_shutdown(void);
/* Run usrsctp's timers due by now; then deliver what they caused.  Call every
 * SCTP_TICK_MS while sctp_assoc_count() > 0.  SCTP_E_BUSY from inside a callback. */
int sctp_timers_run(void);
/* Milliseconds clock for usrsctp's timers (tests, fuzzers); NULL = CLOCK_MONOTONIC, the
 * default.  Switching clocks neither fires nor holds back a timer. */
void sctp_set_clock(uint64_t (*now_ms)(void));
/* Number of live associations (the loop ticks while this is > 0). */
size_t sctp_assoc_count(void);

/* Creates the AF_CONN socket, sets the WebRTC option set and sends INIT (send_packet
 * may run before this returns).  cfg NULL = defaults.  NULL on error. */
struct sctp_assoc *sctp_assoc_new(const struct sctp_assoc_config *cfg,
				  const struct sctp_callbacks *cb, void *user);
/* One SCTP packet received as DTLS application data. */
int sctp_assoc_on_packet(struct sctp_assoc *a, const uint8_t *pkt, size_t len);
/* Queue one whole message (len >= 1).  SCTP_E_AGAIN: buffer full, on_writable follows. */
int sctp_assoc_send(struct sctp_assoc *a, uint16_t stream, uint32_t ppid, const uint8_t *data,
		    size_t len, const struct sctp_send_opts *opts);
/* Bytes queued in the association's send buffer, not yet acknowledged by the peer. */
size_t sctp_assoc_buffered(const struct sctp_assoc *a);
/* Reset our outgoing stream (RFC 6525), used to close a data channel (RFC 8831 §6.7). */
int sctp_assoc_reset_stream(struct sctp_assoc *a, uint16_t stream);
/* Graceful SHUTDOWN; on_state(SCTP_ST_CLOSED) follows. */
int sctp_assoc_close(struct sctp_assoc *a);
/* Abort (SO_LINGER 0) and free.  Outside callbacks the ABORT goes out through
 * send_packet before this returns; inside callbacks the free is deferred and silent. */
void sctp_assoc_free(struct sctp_assoc *a);

enum sctp_state sctp_assoc_state(const struct sctp_assoc *a);
/* Negotiated stream counts (valid once connected). */
uint16_t sctp_assoc_out_streams(const struct sctp_assoc *a);
uint16_t sctp_assoc_in_streams(const struct sctp_assoc *a);
uint32_t sctp_assoc_max_message_size(const struct sctp_assoc *a);
const struct sctp_stats *sctp_assoc_stats(const struct sctp_assoc *a);
/* The congestion window cap in force now, bytes (0: none; see cwnd_cap). */
uint32_t sctp_assoc_cwnd_cap(const struct sctp_assoc *a);
/* The primary path's retransmission timeout now, ms (RFC 9260 §6.3.1); 0 if unknown. */
uint32_t sctp_assoc_rto_ms(const struct sctp_assoc *a);
const char *sctp_strerror(int err);
/* Fills *out from usrsctp's statistics (zeros before sctp_global_init). */
void sctp_global_stats(struct sctp_global_stats *out);

#endif

/* metrics: pear-fogd's counters, rendered as Prometheus text (/metrics) and JSON (status).
 *
 * One process-wide table (pear-fogd is single-threaded).  Each counter is declared once
 * in METRICS_COUNTERS with its name, type and help text; code bumps it with
 * metrics_add(M_<NAME>, n). */
#ifndef PEARFOG_METRICS_H
#define PEARFOG_METRICS_H

#include <stdint.h>

#include "ctl_json.h"

/* X(enum suffix, prometheus name, type, help) */
#define METRICS_COUNTERS(X)                                                                      \
	X(BYTES_SERVED_RTC, "pearfog_bytes_served_rtc_total", "counter",                         \
	  "Chunk payload bytes sent over data channels")                                        \
	X(BYTES_SERVED_HTTP, "pearfog_bytes_served_http_total", "counter",                       \
	  "Chunk payload bytes sent over HTTP")                                                 \
	X(CHUNKS_SERVED, "pearfog_chunks_served_total", "counter", "Chunk requests completed")    \
	X(PEERS_ACTIVE, "pearfog_peers_active", "gauge", "WebRTC peers currently connected")      \
	X(PEERS_TOTAL, "pearfog_peers_total", "counter", "WebRTC sessions accepted (offers)")     \
	X(PEERS_REFUSED, "pearfog_peers_refused_total", "counter",                               \
	  "Offers refused (limits, bad SDP)")                                                   \
	X(HTTP_REQUESTS, "pearfog_http_requests_total", "counter", "HTTP requests answered")      \
	X(BAD_STUN, "pearfog_bad_stun_total", "counter", "STUN packets dropped as malformed/unauthenticated") \
	X(BAD_DTLS, "pearfog_bad_dtls_total", "counter", "DTLS records/sessions failed")          \
	X(BAD_SCTP, "pearfog_bad_sctp_total", "counter", "SCTP/DCEP messages refused")            \
	X(BAD_CHUNK_REQ, "pearfog_bad_chunk_requests_total", "counter",                          \
	  "Chunk protocol requests refused as malformed")                                       \
	X(BAD_HTTP, "pearfog_bad_http_total", "counter", "HTTP requests refused as malformed")    \
	X(CHUNK_NOT_FOUND, "pearfog_chunk_not_found_total", "counter", "Requests for chunks not held") \
	X(RATE_LIMITED, "pearfog_rate_limited_total", "counter",                                 \
	  "Sends delayed by upload limits")                                                     \
	X(STORE_CORRUPT, "pearfog_store_corrupt_total", "counter",                               \
	  "Chunks found corrupt on read and removed")                                           \
	X(CTL_REQUESTS, "pearfog_ctl_requests_total", "counter", "Control socket requests")        \
	X(CHANNELS_REFUSED, "pearfog_channels_refused_total", "counter",                         \
	  "Data channels closed for an unknown label")                                          \
	X(APP_MESSAGES_IN, "pearfog_app_messages_in_total", "counter",                           \
	  "Messages from browsers on app channels")                                             \
	X(APP_MESSAGES_OUT, "pearfog_app_messages_out_total", "counter",                         \
	  "Messages sent to browsers on app channels")                                          \
	X(APP_BYTES_OUT, "pearfog_app_bytes_out_total", "counter",                               \
	  "Bytes sent to browsers on app channels")                                             \
	X(BAD_APP_MESSAGE, "pearfog_bad_app_messages_total", "counter",                          \
	  "App channels closed for a bad message (binary, too large, not JSON, refused)")      \
	X(SCTP_DATA_SENT, "pearfog_sctp_data_chunks_sent_total", "counter",                      \
	  "SCTP DATA chunks sent, retransmissions included")                                    \
	X(SCTP_RETRANSMITTED, "pearfog_sctp_data_chunks_retransmitted_total", "counter",         \
	  "SCTP DATA chunks sent again (lost or presumed lost)")                                \
	X(SCTP_FAST_RETRANSMITS, "pearfog_sctp_fast_retransmits_total", "counter",               \
	  "SCTP DATA chunks retransmitted on SACK gap reports (about one round trip)")          \
	X(SCTP_T3_TIMEOUTS, "pearfog_sctp_t3_timeouts_total", "counter",                         \
	  "SCTP retransmission timer expiries (a lost tail: at least RTO.Min)")

enum metric_id {
#define METRIC_ENUM(id, name, type, help) M_##id,
	METRICS_COUNTERS(METRIC_ENUM)
#undef METRIC_ENUM
	M__COUNT
};

void metrics_add(enum metric_id id, int64_t n);
void metrics_set(enum metric_id id, int64_t v);
int64_t metrics_get(enum metric_id id);
void metrics_reset(void);

/* Append every counter in Prometheus text exposition format 0.0.4. */
void metrics_render_prometheus(struct ctl_json_out *o);
/* Append `,"name":value` members (JSON, names without the pearfog_ prefix). */
void metrics_render_json_members(struct ctl_json_out *o);

#endif

/* chunk_proto: the chunk request/response framing spoken on a WebRTC data
 * channel between the browser SDK and pear-fogd.  Byte layouts, rationale and
 * examples: docs/chunk-protocol.md.  The TypeScript SDK mirrors this module.
 *
 * Every message is one binary data-channel message (SCTP keeps message
 * boundaries, RFC 8831 section 6.6), big-endian, starting with a version byte
 * (CHUNK_PROTO_VERSION) and a type byte.  Lengths are exact: a message with a
 * trailing byte too many is refused, as is an unknown version, type, flag, error
 * code or non-zero reserved byte.
 *
 *   GET    browser -> node  46 bytes   ver type req_id:u32 id[32] offset:u32 length:u32
 *          (a GET batch: 2..16 GETs back to back in one message, n x 46 bytes)
 *   CANCEL browser -> node   6 bytes   ver type req_id:u32
 *   DATA   node -> browser  16 + n     ver type flags rsvd req_id offset total payload[n]
 *   ERROR  node -> browser  12 bytes   ver type code rsvd req_id retry_after_ms
 *
 * Also here: struct chunk_sender, a per-connection send state machine with a
 * bounded request queue, fed by data-channel messages and drained frame by frame
 * whenever the caller's back-pressure (SCTP buffered amount) and token buckets
 * allow.  It does no I/O of its own. */
#ifndef PEARFOG_CHUNK_PROTO_H
#define PEARFOG_CHUNK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk_id.h"

#define CHUNK_PROTO_VERSION 1

enum chunk_proto_type {
	CHUNK_PROTO_GET = 0x01,
	CHUNK_PROTO_CANCEL = 0x02,
	CHUNK_PROTO_DATA = 0x81,
	CHUNK_PROTO_ERROR = 0x82,
};

#define CHUNK_PROTO_GET_LEN 46
#define CHUNK_PROTO_CANCEL_LEN 6
#define CHUNK_PROTO_DATA_HDR_LEN 16
#define CHUNK_PROTO_ERROR_LEN 12

/* Biggest chunk the protocol addresses (same as STORE_MAX_CHUNK_BYTES). */
#define CHUNK_PROTO_MAX_CHUNK_BYTES (1u << 20)
/* Frame size limits.  The default fits every browser's SCTP max-message-size
 * (RFC 8841 section 6; Firefox and Chrome accept >= 64 KiB); the caller lowers
 * it to the peer's a=max-message-size when that is smaller. */
#define CHUNK_PROTO_DEFAULT_MAX_FRAME 65536u
/* Smallest frame we agree to: a peer whose max-message-size is below this
 * cannot be served and should be refused by the caller (no browser does so). */
#define CHUNK_PROTO_MIN_FRAME 64u
#define CHUNK_PROTO_MAX_FRAME (CHUNK_PROTO_DATA_HDR_LEN + CHUNK_PROTO_MAX_CHUNK_BYTES)

/* DATA flags */
#define CHUNK_PROTO_FLAG_LAST 0x01 /* this frame ends the requested range */

/* ERROR codes on the wire. */
enum chunk_proto_code {
	CHUNK_ERR_NOT_FOUND = 1,    /* this node does not hold the chunk */
	CHUNK_ERR_BUSY = 2,	    /* too many requests in flight on this channel */
	CHUNK_ERR_RATE_LIMITED = 3, /* upload limit; retry_after_ms says when */
	CHUNK_ERR_BAD_REQUEST = 4,  /* malformed request */
	CHUNK_ERR_RANGE = 5,	    /* offset/length outside the chunk */
	CHUNK_ERR_INTERNAL = 6,	    /* store or I/O failure on the node */
};

/* Library return codes (negative). */
enum chunk_proto_err {
	CHUNK_PROTO_OK = 0,
	CHUNK_PROTO_E_SHORT = -1,    /* shorter than the message type needs */
	CHUNK_PROTO_E_LENGTH = -2,   /* longer than the message type allows */
	CHUNK_PROTO_E_VERSION = -3,  /* unknown version byte */
	CHUNK_PROTO_E_TYPE = -4,     /* unknown type, or a response where a request was expected */
	CHUNK_PROTO_E_RANGE = -5,    /* offset/length/total out of bounds */
	CHUNK_PROTO_E_FIELD = -6,    /* unknown flag or code, non-zero reserved byte */
	CHUNK_PROTO_E_NOSPACE = -7,  /* output buffer too small */
	CHUNK_PROTO_E_OVERLOAD = -8, /* sender error queue full: peer is misbehaving */
	CHUNK_PROTO_E_INVAL = -9,
};

struct chunk_request {
	uint8_t type;	 /* CHUNK_PROTO_GET or CHUNK_PROTO_CANCEL */
	uint32_t req_id; /* chosen by the browser, echoed in responses */
	struct chunk_id id;
	uint32_t offset; /* first byte wanted */
	uint32_t length; /* bytes wanted; 0 = to the end of the chunk */
};

struct chunk_response {
	uint8_t type; /* CHUNK_PROTO_DATA or CHUNK_PROTO_ERROR */
	uint32_t req_id;
	/* DATA */
	uint8_t flags;
	uint32_t offset; /* of payload[0] within the chunk */
	uint32_t total;	 /* size of the whole chunk */
	const uint8_t *payload; /* points into the decoded buffer */
	size_t payload_len;
	/* ERROR */
	uint8_t code;		 /* enum chunk_proto_code */
	uint32_t retry_after_ms; /* 0 = no hint */
};

/* Requests (parsed by pear-fogd, encoded by the SDK and tests).  On failure
 * req->req_id is still filled when the message is long enough to carry one, so
 * that the ERROR reply can name it (0 otherwise). */
int chunk_proto_parse_request(const uint8_t *buf, size_t len, struct chunk_request *req);
int chunk_proto_encode_request(uint8_t *out, size_t cap, const struct chunk_request *req,
			       size_t *out_len);

/* Responses.  encode_data copies payload[0..payload_len) after the header. */
int chunk_proto_encode_data(uint8_t *out, size_t cap, uint32_t req_id, uint32_t offset,
			    uint32_t total, uint8_t flags, const uint8_t *payload,
			    size_t payload_len, size_t *out_len);
int chunk_proto_encode_error(uint8_t *out, size_t cap, uint32_t req_id, uint8_t code,
			     uint32_t retry_after_ms, size_t *out_len);
int chunk_proto_decode_response(const uint8_t *buf, size_t len, struct chunk_response *r);

const char *chunk_proto_strerror(int err);
const char *chunk_proto_code_name(uint8_t code); /* "NOT_FOUND", ... or NULL */

/* ---- per-connection sender ---- */

#define CHUNK_PROTO_MAX_INFLIGHT 16	  /* GETs queued or being sent; beyond: BUSY */
#define CHUNK_PROTO_MAX_PENDING_ERRORS 16 /* ERROR replies not yet sent; beyond: OVERLOAD */

/* Look up a chunk for the sender.  On success return 0 and hand over a
 * malloc'd buffer (the sender free()s it); otherwise return the
 * enum chunk_proto_code to send (NOT_FOUND, INTERNAL, ...). */
typedef int (*chunk_sender_fetch_fn)(void *ctx, const struct chunk_id *id, uint8_t **data,
				     size_t *len);

struct chunk_sender_get {
	uint32_t req_id;
	struct chunk_id id;
	uint32_t offset, length;
};

struct chunk_sender_err {
	uint32_t req_id;
	uint8_t code;
	uint32_t retry_after_ms;
};

struct chunk_sender {
	size_t max_frame;
	chunk_sender_fetch_fn fetch;
	void *ctx;
	/* FIFO of GETs not started yet */
	struct chunk_sender_get queue[CHUNK_PROTO_MAX_INFLIGHT];
	unsigned q_head, q_len;
	/* FIFO of ERROR replies, sent before any DATA */
	struct chunk_sender_err errors[CHUNK_PROTO_MAX_PENDING_ERRORS];
	unsigned e_head, e_len;
	/* the GET being sent */
	bool active;
	uint32_t cur_req_id;
	uint8_t *cur_data;
	uint32_t cur_total, cur_pos, cur_end;
	/* counters */
	uint64_t frames_sent, payload_bytes_sent, requests_done, cancelled, busy_rejects;
};

/* max_frame 0 = CHUNK_PROTO_DEFAULT_MAX_FRAME (also right for a peer's
 * max-message-size of 0, "no limit"); clamped to [MIN_FRAME, MAX_FRAME]. */
void chunk_sender_init(struct chunk_sender *s, size_t max_frame, chunk_sender_fetch_fn fetch,
		       void *ctx);
void chunk_sender_set_max_frame(struct chunk_sender *s, size_t max_frame);
void chunk_sender_free(struct chunk_sender *s);

/* Handle one message from the browser: GET is queued (or answered BUSY when
 * CHUNK_PROTO_MAX_INFLIGHT are in flight, or BAD_REQUEST when its req_id is
 * already in flight), CANCEL drops the request, anything malformed is answered
 * BAD_REQUEST/RANGE.  A GET batch (2..CHUNK_PROTO_MAX_INFLIGHT GETs back to back)
 * is each of its GETs in order.  Returns CHUNK_PROTO_OK, the first negative parse
 * error (a reply was queued), or CHUNK_PROTO_E_OVERLOAD (nothing more could be
 * queued: too many unsent errors; close the channel). */
int chunk_sender_on_message(struct chunk_sender *s, const uint8_t *msg, size_t len);
/* The same for an already parsed GET (e.g. after a policy check by the caller). */
int chunk_sender_submit(struct chunk_sender *s, const struct chunk_request *req);
/* Drop a queued or in-progress request.  Returns true if it was found. */
bool chunk_sender_cancel(struct chunk_sender *s, uint32_t req_id);
/* Queue an ERROR reply (e.g. RATE_LIMITED with retry_after_ms). */
int chunk_sender_reject(struct chunk_sender *s, uint32_t req_id, uint8_t code,
			uint32_t retry_after_ms);

/* Bytes the next frame would take if the budget were unlimited (0 = idle).  May
 * call fetch for the head of the queue.  Callers wait until their budget
 * (buffered-amount room and token buckets) covers this, so rate limiting yields
 * full frames; token bucket bursts must be >= max_frame. */
size_t chunk_sender_want(struct chunk_sender *s);
/* Produce the next frame into out[0..cap), at most `budget` bytes long.
 * Returns 1 with *out_len set, 0 if idle or the budget is too small for any
 * progress (need CHUNK_PROTO_ERROR_LEN for an error, DATA_HDR_LEN + 1 for data),
 * or a negative error.  Errors go first, then the current GET's DATA frames. */
int chunk_sender_next(struct chunk_sender *s, uint8_t *out, size_t cap, size_t budget,
		      size_t *out_len);
/* GETs queued or being sent. */
unsigned chunk_sender_inflight(const struct chunk_sender *s);

#endif

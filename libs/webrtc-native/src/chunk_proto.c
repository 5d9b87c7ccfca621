#include "chunk_proto.h"

#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

/* Exact wire length per type: table-driven so parse and encode agree.
 * `exact` is false for DATA, whose length is header + payload. */
struct msg_policy {
	uint8_t type;
	bool request;
	size_t len;
	bool exact;
};

static const struct msg_policy msg_policies[] = {
	{ CHUNK_PROTO_GET, true, CHUNK_PROTO_GET_LEN, true },
	{ CHUNK_PROTO_CANCEL, true, CHUNK_PROTO_CANCEL_LEN, true },
	{ CHUNK_PROTO_DATA, false, CHUNK_PROTO_DATA_HDR_LEN, false },
	{ CHUNK_PROTO_ERROR, false, CHUNK_PROTO_ERROR_LEN, true },
};

static const struct msg_policy *policy_of(uint8_t type)
{
	for (size_t i = 0; i < sizeof(msg_policies) / sizeof(msg_policies[0]); i++)
		if (msg_policies[i].type == type)
			return &msg_policies[i];
	return NULL;
}

/* Common header check: version, known type of the wanted direction, length. */
static int check_header(const uint8_t *buf, size_t len, bool request,
			const struct msg_policy **pol)
{
	if (!buf || len < 2)
		return CHUNK_PROTO_E_SHORT;
	if (buf[0] != CHUNK_PROTO_VERSION)
		return CHUNK_PROTO_E_VERSION;
	*pol = policy_of(buf[1]);
	if (!*pol || (*pol)->request != request)
		return CHUNK_PROTO_E_TYPE;
	if (len < (*pol)->len)
		return CHUNK_PROTO_E_SHORT;
	if ((*pol)->exact && len > (*pol)->len)
		return CHUNK_PROTO_E_LENGTH;
	return CHUNK_PROTO_OK;
}

static bool range_ok(uint32_t offset, uint32_t length)
{
	return offset <= CHUNK_PROTO_MAX_CHUNK_BYTES &&
	       (uint64_t)offset + length <= CHUNK_PROTO_MAX_CHUNK_BYTES;
}

/* ---- requests ---- */

int chunk_proto_parse_request(const uint8_t *buf, size_t len, struct chunk_request *req)
{
	const struct msg_policy *pol = NULL;
	int rc;

	if (!req)
		return CHUNK_PROTO_E_INVAL;
	memset(req, 0, sizeof(*req));
	if (buf && len >= 6)
		req->req_id = rd32(buf + 2);
	if ((rc = check_header(buf, len, true, &pol)) < 0)
		return rc;
	req->type = buf[1];
	if (req->type == CHUNK_PROTO_CANCEL)
		return CHUNK_PROTO_OK;
	memcpy(req->id.bytes, buf + 6, CHUNK_ID_LEN);
	req->offset = rd32(buf + 38);
	req->length = rd32(buf + 42);
	if (!range_ok(req->offset, req->length))
		return CHUNK_PROTO_E_RANGE;
	return CHUNK_PROTO_OK;
}

int chunk_proto_encode_request(uint8_t *out, size_t cap, const struct chunk_request *req,
			       size_t *out_len)
{
	const struct msg_policy *pol;

	if (!out || !req || !out_len)
		return CHUNK_PROTO_E_INVAL;
	pol = policy_of(req->type);
	if (!pol || !pol->request)
		return CHUNK_PROTO_E_TYPE;
	if (cap < pol->len)
		return CHUNK_PROTO_E_NOSPACE;
	if (req->type == CHUNK_PROTO_GET && !range_ok(req->offset, req->length))
		return CHUNK_PROTO_E_RANGE;
	out[0] = CHUNK_PROTO_VERSION;
	out[1] = req->type;
	wr32(out + 2, req->req_id);
	if (req->type == CHUNK_PROTO_GET) {
		memcpy(out + 6, req->id.bytes, CHUNK_ID_LEN);
		wr32(out + 38, req->offset);
		wr32(out + 42, req->length);
	}
	*out_len = pol->len;
	return CHUNK_PROTO_OK;
}

/* ---- responses ---- */

static bool code_known(uint8_t code)
{
	return code >= CHUNK_ERR_NOT_FOUND && code <= CHUNK_ERR_INTERNAL;
}

/* DATA sanity shared by encode and decode: the payload lies within the chunk,
 * the chunk is not bigger than the protocol allows, only known flags are set,
 * and an empty payload only ends a range. */
static int data_ok(uint32_t offset, uint32_t total, uint8_t flags, size_t payload_len)
{
	if (flags & ~CHUNK_PROTO_FLAG_LAST)
		return CHUNK_PROTO_E_FIELD;
	if (total > CHUNK_PROTO_MAX_CHUNK_BYTES || offset > total ||
	    payload_len > (size_t)(total - offset))
		return CHUNK_PROTO_E_RANGE;
	if (payload_len == 0 && !(flags & CHUNK_PROTO_FLAG_LAST))
		return CHUNK_PROTO_E_RANGE;
	return CHUNK_PROTO_OK;
}

int chunk_proto_encode_data(uint8_t *out, size_t cap, uint32_t req_id, uint32_t offset,
			    uint32_t total, uint8_t flags, const uint8_t *payload,
			    size_t payload_len, size_t *out_len)
{
	int rc;

	if (!out || !out_len || (!payload && payload_len))
		return CHUNK_PROTO_E_INVAL;
	if ((rc = data_ok(offset, total, flags, payload_len)) < 0)
		return rc;
	if (cap < CHUNK_PROTO_DATA_HDR_LEN || cap - CHUNK_PROTO_DATA_HDR_LEN < payload_len)
		return CHUNK_PROTO_E_NOSPACE;
	out[0] = CHUNK_PROTO_VERSION;
	out[1] = CHUNK_PROTO_DATA;
	out[2] = flags;
	out[3] = 0;
	wr32(out + 4, req_id);
	wr32(out + 8, offset);
	wr32(out + 12, total);
	if (payload_len)
		memmove(out + CHUNK_PROTO_DATA_HDR_LEN, payload, payload_len);
	*out_len = CHUNK_PROTO_DATA_HDR_LEN + payload_len;
	return CHUNK_PROTO_OK;
}

int chunk_proto_encode_error(uint8_t *out, size_t cap, uint32_t req_id, uint8_t code,
			     uint32_t retry_after_ms, size_t *out_len)
{
	if (!out || !out_len)
		return CHUNK_PROTO_E_INVAL;
	if (!code_known(code))
		return CHUNK_PROTO_E_FIELD;
	if (cap < CHUNK_PROTO_ERROR_LEN)
		return CHUNK_PROTO_E_NOSPACE;
	out[0] = CHUNK_PROTO_VERSION;
	out[1] = CHUNK_PROTO_ERROR;
	out[2] = code;
	out[3] = 0;
	wr32(out + 4, req_id);
	wr32(out + 8, retry_after_ms);
	*out_len = CHUNK_PROTO_ERROR_LEN;
	return CHUNK_PROTO_OK;
}

int chunk_proto_decode_response(const uint8_t *buf, size_t len, struct chunk_response *r)
{
	const struct msg_policy *pol = NULL;
	int rc;

	if (!r)
		return CHUNK_PROTO_E_INVAL;
	memset(r, 0, sizeof(*r));
	if ((rc = check_header(buf, len, false, &pol)) < 0)
		return rc;
	if (buf[3] != 0)
		return CHUNK_PROTO_E_FIELD;
	r->type = buf[1];
	r->req_id = rd32(buf + 4);
	if (r->type == CHUNK_PROTO_ERROR) {
		if (!code_known(buf[2]))
			return CHUNK_PROTO_E_FIELD;
		r->code = buf[2];
		r->retry_after_ms = rd32(buf + 8);
		return CHUNK_PROTO_OK;
	}
	r->flags = buf[2];
	r->offset = rd32(buf + 8);
	r->total = rd32(buf + 12);
	r->payload = buf + CHUNK_PROTO_DATA_HDR_LEN;
	r->payload_len = len - CHUNK_PROTO_DATA_HDR_LEN;
	return data_ok(r->offset, r->total, r->flags, r->payload_len);
}

const char *chunk_proto_strerror(int err)
{
	switch (err) {
	case CHUNK_PROTO_OK:
		return "ok";
	case CHUNK_PROTO_E_SHORT:
		return "message too short";
	case CHUNK_PROTO_E_LENGTH:
		return "message too long for its type";
	case CHUNK_PROTO_E_VERSION:
		return "unknown protocol version";
	case CHUNK_PROTO_E_TYPE:
		return "unknown or unexpected message type";
	case CHUNK_PROTO_E_RANGE:
		return "offset, length or size out of range";
	case CHUNK_PROTO_E_FIELD:
		return "unknown flag or code, or reserved byte set";
	case CHUNK_PROTO_E_NOSPACE:
		return "output buffer too small";
	case CHUNK_PROTO_E_OVERLOAD:
		return "too many unsent error replies";
	case CHUNK_PROTO_E_INVAL:
		return "invalid argument";
	}
	return "unknown chunk protocol error";
}

const char *chunk_proto_code_name(uint8_t code)
{
	static const char *const names[] = {
		[CHUNK_ERR_NOT_FOUND] = "NOT_FOUND",	   [CHUNK_ERR_BUSY] = "BUSY",
		[CHUNK_ERR_RATE_LIMITED] = "RATE_LIMITED", [CHUNK_ERR_BAD_REQUEST] = "BAD_REQUEST",
		[CHUNK_ERR_RANGE] = "RANGE",		   [CHUNK_ERR_INTERNAL] = "INTERNAL",
	};
	return code_known(code) ? names[code] : NULL;
}

/* ---- sender ---- */

static size_t clamp_frame(size_t max_frame)
{
	if (max_frame == 0)
		return CHUNK_PROTO_DEFAULT_MAX_FRAME;
	if (max_frame < CHUNK_PROTO_MIN_FRAME)
		return CHUNK_PROTO_MIN_FRAME;
	if (max_frame > CHUNK_PROTO_MAX_FRAME)
		return CHUNK_PROTO_MAX_FRAME;
	return max_frame;
}

void chunk_sender_init(struct chunk_sender *s, size_t max_frame, chunk_sender_fetch_fn fetch,
		       void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->max_frame = clamp_frame(max_frame);
	s->fetch = fetch;
	s->ctx = ctx;
}

void chunk_sender_set_max_frame(struct chunk_sender *s, size_t max_frame)
{
	s->max_frame = clamp_frame(max_frame);
}

static void drop_current(struct chunk_sender *s)
{
	free(s->cur_data);
	s->cur_data = NULL;
	s->active = false;
}

void chunk_sender_free(struct chunk_sender *s)
{
	drop_current(s);
	s->q_len = 0;
	s->e_len = 0;
}

unsigned chunk_sender_inflight(const struct chunk_sender *s)
{
	return s->q_len + (s->active ? 1u : 0u);
}

int chunk_sender_reject(struct chunk_sender *s, uint32_t req_id, uint8_t code,
			uint32_t retry_after_ms)
{
	if (!code_known(code))
		return CHUNK_PROTO_E_FIELD;
	if (s->e_len == CHUNK_PROTO_MAX_PENDING_ERRORS)
		return CHUNK_PROTO_E_OVERLOAD;
	unsigned i = (s->e_head + s->e_len++) % CHUNK_PROTO_MAX_PENDING_ERRORS;
	s->errors[i] = (struct chunk_sender_err){ req_id, code, retry_after_ms };
	return CHUNK_PROTO_OK;
}

static bool in_flight(const struct chunk_sender *s, uint32_t req_id)
{
	if (s->active && s->cur_req_id == req_id)
		return true;
	for (unsigned k = 0; k < s->q_len; k++)
		if (s->queue[(s->q_head + k) % CHUNK_PROTO_MAX_INFLIGHT].req_id == req_id)
			return true;
	return false;
}

int chunk_sender_submit(struct chunk_sender *s, const struct chunk_request *req)
{
	if (!req || req->type != CHUNK_PROTO_GET || !range_ok(req->offset, req->length))
		return CHUNK_PROTO_E_INVAL;
	if (in_flight(s, req->req_id))
		return chunk_sender_reject(s, req->req_id, CHUNK_ERR_BAD_REQUEST, 0);
	if (chunk_sender_inflight(s) >= CHUNK_PROTO_MAX_INFLIGHT) {
		s->busy_rejects++;
		return chunk_sender_reject(s, req->req_id, CHUNK_ERR_BUSY, 0);
	}
	unsigned i = (s->q_head + s->q_len++) % CHUNK_PROTO_MAX_INFLIGHT;
	s->queue[i] = (struct chunk_sender_get){ req->req_id, req->id, req->offset, req->length };
	return CHUNK_PROTO_OK;
}

bool chunk_sender_cancel(struct chunk_sender *s, uint32_t req_id)
{
	if (s->active && s->cur_req_id == req_id) {
		drop_current(s);
		s->cancelled++;
		return true;
	}
	for (unsigned k = 0; k < s->q_len; k++) {
		unsigned i = (s->q_head + k) % CHUNK_PROTO_MAX_INFLIGHT;
		if (s->queue[i].req_id != req_id)
			continue;
		/* close the gap, keeping FIFO order */
		for (unsigned j = k; j + 1 < s->q_len; j++)
			s->queue[(s->q_head + j) % CHUNK_PROTO_MAX_INFLIGHT] =
				s->queue[(s->q_head + j + 1) % CHUNK_PROTO_MAX_INFLIGHT];
		s->q_len--;
		s->cancelled++;
		return true;
	}
	return false;
}

/* One request message (GET or CANCEL of its exact length). */
static int on_request(struct chunk_sender *s, const uint8_t *msg, size_t len)
{
	struct chunk_request req;
	int rc = chunk_proto_parse_request(msg, len, &req);

	if (rc < 0) {
		uint8_t code = rc == CHUNK_PROTO_E_RANGE ? CHUNK_ERR_RANGE : CHUNK_ERR_BAD_REQUEST;
		int q = chunk_sender_reject(s, req.req_id, code, 0);
		return q < 0 ? q : rc;
	}
	if (req.type == CHUNK_PROTO_CANCEL) {
		chunk_sender_cancel(s, req.req_id); /* unknown ids: already done, ignore */
		return CHUNK_PROTO_OK;
	}
	return chunk_sender_submit(s, &req);
}

/* A GET batch (docs/chunk-protocol.md "GET batch"): 2..CHUNK_PROTO_MAX_INFLIGHT GETs back
 * to back, each handled as if it came alone, in order.  Anything else that is not one
 * request's exact length is one malformed request. */
int chunk_sender_on_message(struct chunk_sender *s, const uint8_t *msg, size_t len)
{
	size_t n = len / CHUNK_PROTO_GET_LEN;
	int first = CHUNK_PROTO_OK;

	if (!msg || len <= CHUNK_PROTO_GET_LEN || len % CHUNK_PROTO_GET_LEN ||
	    n > CHUNK_PROTO_MAX_INFLIGHT || msg[1] != CHUNK_PROTO_GET)
		return on_request(s, msg, len);
	for (size_t i = 0; i < n; i++) {
		int rc = on_request(s, msg + i * CHUNK_PROTO_GET_LEN, CHUNK_PROTO_GET_LEN);

		if (rc == CHUNK_PROTO_E_OVERLOAD)
			return rc;
		if (rc < 0 && first == CHUNK_PROTO_OK)
			first = rc;
	}
	return first;
}

_Static_assert(CHUNK_PROTO_MAX_PENDING_ERRORS >= CHUNK_PROTO_MAX_INFLIGHT,
	       "start_next must always find room for a failed GET's error");

/* Start the GET at the head of the queue: fetch the chunk and check the range.
 * A failure becomes an ERROR reply.  Returns false when the queue is empty. */
static bool start_next(struct chunk_sender *s)
{
	while (!s->active && s->q_len) {
		struct chunk_sender_get g = s->queue[s->q_head];
		uint8_t *data = NULL;
		size_t len = 0;
		int code;

		s->q_head = (s->q_head + 1) % CHUNK_PROTO_MAX_INFLIGHT;
		s->q_len--;
		code = s->fetch ? s->fetch(s->ctx, &g.id, &data, &len) : CHUNK_ERR_NOT_FOUND;
		if (code == 0 && len > CHUNK_PROTO_MAX_CHUNK_BYTES)
			code = CHUNK_ERR_INTERNAL;
		if (code == 0 && (g.offset > len || (uint64_t)g.offset + g.length > len))
			code = CHUNK_ERR_RANGE;
		if (code != 0) {
			free(data);
			/* Cannot fail: start_next runs only with an empty error
			 * queue, and each of the <= MAX_INFLIGHT queued GETs adds
			 * at most one error (see the static assert below). */
			chunk_sender_reject(s, g.req_id,
					    code_known((uint8_t)code) ? (uint8_t)code
								      : CHUNK_ERR_INTERNAL,
					    0);
			s->requests_done++;
			continue;
		}
		s->active = true;
		s->cur_req_id = g.req_id;
		s->cur_data = data;
		s->cur_total = (uint32_t)len;
		s->cur_pos = g.offset;
		s->cur_end = g.length ? g.offset + g.length : (uint32_t)len;
	}
	return s->active;
}

size_t chunk_sender_want(struct chunk_sender *s)
{
	if (s->e_len == 0)
		start_next(s);
	if (s->e_len)
		return CHUNK_PROTO_ERROR_LEN;
	if (!s->active)
		return 0;
	size_t rest = s->cur_end - s->cur_pos;
	size_t room = s->max_frame - CHUNK_PROTO_DATA_HDR_LEN;
	return CHUNK_PROTO_DATA_HDR_LEN + (rest < room ? rest : room);
}

int chunk_sender_next(struct chunk_sender *s, uint8_t *out, size_t cap, size_t budget,
		      size_t *out_len)
{
	int rc;

	if (!s || !out || !out_len)
		return CHUNK_PROTO_E_INVAL;
	if (s->e_len == 0)
		start_next(s);
	if (s->e_len) {
		struct chunk_sender_err *e = &s->errors[s->e_head];
		if (budget < CHUNK_PROTO_ERROR_LEN)
			return 0;
		rc = chunk_proto_encode_error(out, cap, e->req_id, e->code, e->retry_after_ms,
					      out_len);
		if (rc < 0)
			return rc;
		s->e_head = (s->e_head + 1) % CHUNK_PROTO_MAX_PENDING_ERRORS;
		s->e_len--;
		s->frames_sent++;
		return 1;
	}
	if (!s->active)
		return 0;

	size_t limit = s->max_frame;
	if (budget < limit)
		limit = budget;
	if (cap < limit)
		limit = cap;
	size_t rest = s->cur_end - s->cur_pos;
	if (limit < CHUNK_PROTO_DATA_HDR_LEN + (rest ? 1 : 0))
		return 0;
	size_t n = limit - CHUNK_PROTO_DATA_HDR_LEN;
	if (n > rest)
		n = rest;
	uint8_t flags = n == rest ? CHUNK_PROTO_FLAG_LAST : 0;
	rc = chunk_proto_encode_data(out, cap, s->cur_req_id, s->cur_pos, s->cur_total, flags,
				     s->cur_data ? s->cur_data + s->cur_pos : NULL, n, out_len);
	if (rc < 0)
		return rc;
	s->cur_pos += (uint32_t)n;
	s->frames_sent++;
	s->payload_bytes_sent += n;
	if (flags & CHUNK_PROTO_FLAG_LAST) {
		drop_current(s);
		s->requests_done++;
	}
	return 1;
}

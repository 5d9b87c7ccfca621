/* libFuzzer: chunk_proto parsing and the per-connection sender.
 *
 * 1. The whole input as one request and as one response: whatever parses must
 *    re-encode to exactly the same bytes (the encoding is canonical).
 * 2. The input as a script for a chunk_sender: a series of
 *    [op][len][len bytes] records; op & 1 feeds the bytes as a message from the
 *    browser, otherwise the sender is drained with a budget taken from the
 *    bytes.  Every produced frame must decode, respect budget and max frame,
 *    and DATA for a request must arrive in order without gaps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[CHUNK_PROTO_MAX_FRAME];

/* Any id is "stored": size from its first bytes, NOT_FOUND / INTERNAL for some. */
static int fuzz_fetch(void *ctx, const struct chunk_id *id, uint8_t **out, size_t *len)
{
	if (id->bytes[0] == 0xee)
		return CHUNK_ERR_NOT_FOUND;
	if (id->bytes[0] == 0xef)
		return 200; /* bogus code: must become INTERNAL */
	size_t n = ((size_t)id->bytes[1] << 8 | id->bytes[2]) * 3;
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return CHUNK_ERR_INTERNAL;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)i;
	*out = p;
	*len = n;
	return 0;
}

static void round_trips(const uint8_t *data, size_t size)
{
	struct chunk_request req;
	struct chunk_response resp;
	static uint8_t out[CHUNK_PROTO_MAX_FRAME];
	size_t n;

	if (chunk_proto_parse_request(data, size, &req) == CHUNK_PROTO_OK) {
		if (chunk_proto_encode_request(out, sizeof(out), &req, &n) != CHUNK_PROTO_OK ||
		    n != size || memcmp(out, data, n) != 0)
			abort();
	}
	if (chunk_proto_decode_response(data, size, &resp) == CHUNK_PROTO_OK) {
		int rc = resp.type == CHUNK_PROTO_DATA
				 ? chunk_proto_encode_data(out, sizeof(out), resp.req_id, resp.offset,
							   resp.total, resp.flags, resp.payload,
							   resp.payload_len, &n)
				 : chunk_proto_encode_error(out, sizeof(out), resp.req_id, resp.code,
							    resp.retry_after_ms, &n);
		if (rc != CHUNK_PROTO_OK || n != size || memcmp(out, data, n) != 0)
			abort();
	}
}

/* The request being streamed.  The sender serves GETs one at a time, so
 * consecutive DATA frames of one req_id must be contiguous; input fed between
 * pulls (a CANCEL, a re-used req_id) resets what we can check. */
struct progress {
	bool in_progress;
	uint32_t req_id, next_off;
};

static void check_frame(struct chunk_sender *s, size_t len, size_t budget, struct progress *pg)
{
	struct chunk_response r;

	if (len > budget || len > s->max_frame || len > sizeof(frame))
		abort();
	if (chunk_proto_decode_response(frame, len, &r) != CHUNK_PROTO_OK)
		abort();
	if (r.type != CHUNK_PROTO_DATA)
		return;
	if (pg->in_progress && r.req_id == pg->req_id && r.offset != pg->next_off)
		abort();
	for (size_t i = 0; i < r.payload_len; i++)
		if (r.payload[i] != (uint8_t)(r.offset + i))
			abort();
	pg->in_progress = !(r.flags & CHUNK_PROTO_FLAG_LAST);
	pg->req_id = r.req_id;
	pg->next_off = r.offset + (uint32_t)r.payload_len;
}

static void run_sender(const uint8_t *data, size_t size)
{
	struct chunk_sender s;
	struct progress pg = { 0 };
	size_t len;

	if (size < 1)
		return;
	chunk_sender_init(&s, (size_t)data[0] * 512, fuzz_fetch, NULL);
	data++;
	size--;
	while (size >= 2) {
		uint8_t op = data[0];
		/* up to 1023 bytes: a GET batch of 16 (736 bytes) and more */
		size_t n = data[1] + ((size_t)(op & 0x30) << 4);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (op & 1) {
			chunk_sender_on_message(&s, data, n);
			pg.in_progress = false;
		} else if (op & 2) {
			chunk_sender_cancel(&s, n);
			pg.in_progress = false;
		} else {
			size_t budget = (size_t)n * 97;
			(void)chunk_sender_want(&s);
			if (chunk_sender_next(&s, frame, sizeof(frame), budget, &len) == 1)
				check_frame(&s, len, budget, &pg);
		}
		data += n;
		size -= n;
	}
	/* Drain: must finish (everything is bounded) and produce valid frames. */
	for (int i = 0; i < 100000; i++) {
		if (chunk_sender_next(&s, frame, sizeof(frame), SIZE_MAX, &len) != 1)
			break;
		check_frame(&s, len, SIZE_MAX, &pg);
	}
	if (chunk_sender_want(&s) != 0 || chunk_sender_inflight(&s) != 0)
		abort();
	chunk_sender_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	round_trips(data, size);
	run_sender(data, size);
	return 0;
}

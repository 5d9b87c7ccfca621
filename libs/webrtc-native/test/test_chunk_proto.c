#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_proto.h"
#include "test.h"
#include "token_bucket.h"

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		if (*hex == ' ') {
			hex--;
			continue;
		}
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* The vectors in docs/chunk-protocol.md. */
static const char GET_HEX[] = "01 01 00000007"
			      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
			      "00001000 00002000";
static const char CANCEL_HEX[] = "01 02 00000007";
static const char DATA_HEX[] = "01 81 01 00 00000007 00000001 00000004 626364";
static const char ERROR_HEX[] = "01 82 03 00 00000009 000005dc";

TEST(request_vectors)
{
	uint8_t wire[64], out[64];
	struct chunk_request r;
	struct chunk_id abc;
	size_t n, len = 0;

	chunk_id_of(&abc, "abc", 3);
	n = unhex(wire, GET_HEX);
	CHECK_EQ_INT(n, CHUNK_PROTO_GET_LEN);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_OK);
	CHECK_EQ_INT(r.type, CHUNK_PROTO_GET);
	CHECK_EQ_INT(r.req_id, 7);
	CHECK(chunk_id_equal(&r.id, &abc));
	CHECK_EQ_INT(r.offset, 0x1000);
	CHECK_EQ_INT(r.length, 0x2000);
	CHECK_EQ_INT(chunk_proto_encode_request(out, sizeof(out), &r, &len), CHUNK_PROTO_OK);
	CHECK_EQ_INT(len, n);
	CHECK_MEM(out, wire, n);
	CHECK_EQ_INT(chunk_proto_encode_request(out, n - 1, &r, &len), CHUNK_PROTO_E_NOSPACE);

	n = unhex(wire, CANCEL_HEX);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_OK);
	CHECK_EQ_INT(r.type, CHUNK_PROTO_CANCEL);
	CHECK_EQ_INT(r.req_id, 7);
	CHECK_EQ_INT(chunk_proto_encode_request(out, sizeof(out), &r, &len), CHUNK_PROTO_OK);
	CHECK(len == n && memcmp(out, wire, n) == 0);
}

TEST(request_parse_is_strict)
{
	uint8_t wire[64];
	struct chunk_request r;
	size_t n = unhex(wire, GET_HEX);

	CHECK_EQ_INT(chunk_proto_parse_request(wire, n - 1, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(r.req_id, 7); /* still known for the error reply */
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n + 1, &r), CHUNK_PROTO_E_LENGTH);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, 0, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(chunk_proto_parse_request(NULL, 0, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, 5, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(r.req_id, 0);
	wire[0] = 2;
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_VERSION);
	wire[0] = 1;
	wire[1] = 0x03;
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_TYPE);
	wire[1] = CHUNK_PROTO_DATA; /* a response is not a request */
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_TYPE);
	wire[1] = CHUNK_PROTO_GET;
	/* offset past 1 MiB; offset + length wrapping u32; length alone too big */
	memcpy(wire + 38, "\x00\x10\x00\x01\x00\x00\x00\x00", 8);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_RANGE);
	memcpy(wire + 38, "\x00\x08\x00\x00\xff\xff\xff\xff", 8);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_RANGE);
	memcpy(wire + 38, "\x00\x08\x00\x00\x00\x08\x00\x01", 8);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_E_RANGE);
	memcpy(wire + 38, "\x00\x08\x00\x00\x00\x08\x00\x00", 8); /* exactly to 1 MiB */
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n, &r), CHUNK_PROTO_OK);
	n = unhex(wire, CANCEL_HEX);
	CHECK_EQ_INT(chunk_proto_parse_request(wire, n + 1, &r), CHUNK_PROTO_E_LENGTH);
	CHECK(strcmp(chunk_proto_strerror(CHUNK_PROTO_E_RANGE), "unknown chunk protocol error"));
	CHECK_EQ_STR(chunk_proto_strerror(-100), "unknown chunk protocol error");
}

TEST(response_vectors)
{
	uint8_t wire[64], out[64];
	struct chunk_response r;
	size_t n, len = 0;

	n = unhex(wire, DATA_HEX);
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_OK);
	CHECK_EQ_INT(r.type, CHUNK_PROTO_DATA);
	CHECK_EQ_INT(r.req_id, 7);
	CHECK_EQ_INT(r.offset, 1);
	CHECK_EQ_INT(r.total, 4);
	CHECK_EQ_INT(r.flags, CHUNK_PROTO_FLAG_LAST);
	CHECK(r.payload_len == 3 && memcmp(r.payload, "bcd", 3) == 0);
	CHECK_EQ_INT(chunk_proto_encode_data(out, sizeof(out), 7, 1, 4, CHUNK_PROTO_FLAG_LAST,
					     (const uint8_t *)"bcd", 3, &len),
		     CHUNK_PROTO_OK);
	CHECK(len == n && memcmp(out, wire, n) == 0);

	n = unhex(wire, ERROR_HEX);
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_OK);
	CHECK_EQ_INT(r.type, CHUNK_PROTO_ERROR);
	CHECK_EQ_INT(r.req_id, 9);
	CHECK_EQ_INT(r.code, CHUNK_ERR_RATE_LIMITED);
	CHECK_EQ_INT(r.retry_after_ms, 1500);
	CHECK_EQ_INT(chunk_proto_encode_error(out, sizeof(out), 9, CHUNK_ERR_RATE_LIMITED, 1500, &len),
		     CHUNK_PROTO_OK);
	CHECK(len == n && memcmp(out, wire, n) == 0);
	CHECK_EQ_STR(chunk_proto_code_name(CHUNK_ERR_RATE_LIMITED), "RATE_LIMITED");
	CHECK(chunk_proto_code_name(0) == NULL && chunk_proto_code_name(7) == NULL);
}

TEST(response_decode_is_strict)
{
	uint8_t wire[64];
	struct chunk_response r;
	size_t n = unhex(wire, DATA_HEX);

	wire[3] = 1; /* reserved */
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_FIELD);
	wire[3] = 0;
	wire[2] = 0x03; /* unknown flag */
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_FIELD);
	wire[2] = 0x01;
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n + 1, &r), CHUNK_PROTO_E_RANGE); /* past total */
	CHECK_EQ_INT(chunk_proto_decode_response(wire, 15, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(chunk_proto_decode_response(wire, 16, &r), CHUNK_PROTO_OK); /* empty, LAST */
	wire[2] = 0;
	CHECK_EQ_INT(chunk_proto_decode_response(wire, 16, &r), CHUNK_PROTO_E_RANGE); /* empty, not LAST */
	wire[2] = 1;
	wire[12] = 0x7f; /* total > 1 MiB */
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_RANGE);
	wire[1] = CHUNK_PROTO_GET;
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_TYPE);

	n = unhex(wire, ERROR_HEX);
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n - 1, &r), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n + 1, &r), CHUNK_PROTO_E_LENGTH);
	wire[2] = 0;
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_FIELD);
	wire[2] = 7;
	CHECK_EQ_INT(chunk_proto_decode_response(wire, n, &r), CHUNK_PROTO_E_FIELD);

	size_t len;
	uint8_t out[64];
	CHECK_EQ_INT(chunk_proto_encode_error(out, sizeof(out), 1, 0, 0, &len), CHUNK_PROTO_E_FIELD);
	CHECK_EQ_INT(chunk_proto_encode_error(out, 11, 1, 1, 0, &len), CHUNK_PROTO_E_NOSPACE);
	CHECK_EQ_INT(chunk_proto_encode_data(out, sizeof(out), 1, 5, 4, 1, out, 0, &len),
		     CHUNK_PROTO_E_RANGE);
	CHECK_EQ_INT(chunk_proto_encode_data(out, 20, 1, 0, 100, 0, out + 30, 5, &len),
		     CHUNK_PROTO_E_NOSPACE);
}

/* ---- sender ---- */

struct fake_store {
	struct chunk_id ids[4];
	uint8_t *data[4];
	size_t len[4];
	int n;
	int fetches;
};

static int fake_fetch(void *ctx, const struct chunk_id *id, uint8_t **data, size_t *len)
{
	struct fake_store *fs = ctx;

	fs->fetches++;
	for (int i = 0; i < fs->n; i++) {
		if (!chunk_id_equal(id, &fs->ids[i]))
			continue;
		*data = malloc(fs->len[i] ? fs->len[i] : 1);
		if (!*data)
			return CHUNK_ERR_INTERNAL;
		memcpy(*data, fs->data[i], fs->len[i]);
		*len = fs->len[i];
		return 0;
	}
	return CHUNK_ERR_NOT_FOUND;
}

static void fake_add(struct fake_store *fs, size_t len, uint8_t seed)
{
	int i = fs->n++;

	fs->data[i] = malloc(len ? len : 1);
	for (size_t k = 0; k < len; k++)
		fs->data[i][k] = (uint8_t)(k * 31 + seed);
	fs->len[i] = len;
	chunk_id_of(&fs->ids[i], fs->data[i], len);
}

static void fake_free(struct fake_store *fs)
{
	for (int i = 0; i < fs->n; i++)
		free(fs->data[i]);
}

static int send_get(struct chunk_sender *s, uint32_t req_id, const struct chunk_id *id,
		    uint32_t offset, uint32_t length)
{
	struct chunk_request r = { CHUNK_PROTO_GET, req_id, *id, offset, length };
	uint8_t wire[CHUNK_PROTO_GET_LEN];
	size_t n;

	if (chunk_proto_encode_request(wire, sizeof(wire), &r, &n) < 0)
		return -100;
	return chunk_sender_on_message(s, wire, n);
}

static int send_cancel(struct chunk_sender *s, uint32_t req_id)
{
	uint8_t wire[CHUNK_PROTO_CANCEL_LEN];
	struct chunk_request r = { .type = CHUNK_PROTO_CANCEL, .req_id = req_id };
	size_t n;

	chunk_proto_encode_request(wire, sizeof(wire), &r, &n);
	return chunk_sender_on_message(s, wire, n);
}

static uint8_t frame[CHUNK_PROTO_MAX_FRAME];

/* Drain one frame and decode it; returns 1/0 like chunk_sender_next. */
static int pull(struct chunk_sender *s, size_t budget, struct chunk_response *r)
{
	size_t len = 0;
	int rc = chunk_sender_next(s, frame, sizeof(frame), budget, &len);

	if (rc == 1) {
		CHECK(len <= budget && len <= s->max_frame);
		CHECK_EQ_INT(chunk_proto_decode_response(frame, len, r), CHUNK_PROTO_OK);
	}
	return rc;
}

TEST(sender_splits_and_reassembles)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;
	static uint8_t got[300000];
	size_t off = 0;
	int frames = 0;

	fake_add(&fs, 200000, 1);
	chunk_sender_init(&s, 0, fake_fetch, &fs);
	CHECK_EQ_INT(s.max_frame, CHUNK_PROTO_DEFAULT_MAX_FRAME);
	CHECK_EQ_INT(chunk_sender_want(&s), 0);
	CHECK_EQ_INT(send_get(&s, 42, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 1);
	CHECK_EQ_INT(chunk_sender_want(&s), 65536);
	while (pull(&s, SIZE_MAX, &r) == 1) {
		CHECK_EQ_INT(r.type, CHUNK_PROTO_DATA);
		CHECK_EQ_INT(r.req_id, 42);
		CHECK_EQ_INT(r.total, 200000);
		CHECK_EQ_INT(r.offset, off);
		memcpy(got + off, r.payload, r.payload_len);
		off += r.payload_len;
		frames++;
		CHECK_EQ_INT(!!(r.flags & CHUNK_PROTO_FLAG_LAST), off == 200000);
	}
	CHECK_EQ_INT(off, 200000);
	CHECK_EQ_INT(frames, 4); /* 3 x 65520 + 3440 */
	CHECK_MEM(got, fs.data[0], 200000);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 0);
	CHECK_EQ_INT(s.requests_done, 1);
	CHECK_EQ_INT(s.payload_bytes_sent, 200000);

	/* A byte range, with the peer's smaller max-message-size. */
	chunk_sender_set_max_frame(&s, 16384);
	CHECK_EQ_INT(send_get(&s, 43, &fs.ids[0], 1000, 50000), CHUNK_PROTO_OK);
	off = 1000;
	while (pull(&s, SIZE_MAX, &r) == 1) {
		CHECK_EQ_INT(r.offset, off);
		CHECK(r.payload_len <= 16384 - CHUNK_PROTO_DATA_HDR_LEN);
		CHECK_MEM(r.payload, fs.data[0] + off, r.payload_len);
		off += r.payload_len;
	}
	CHECK_EQ_INT(off, 51000);
	chunk_sender_set_max_frame(&s, 10);
	CHECK_EQ_INT(s.max_frame, CHUNK_PROTO_MIN_FRAME);
	/* A tiny peer limit is honoured exactly. */
	chunk_sender_set_max_frame(&s, 100);
	CHECK_EQ_INT(send_get(&s, 44, &fs.ids[0], 0, 1000), CHUNK_PROTO_OK);
	off = 0;
	while (pull(&s, SIZE_MAX, &r) == 1) {
		CHECK(r.payload_len == 84 || (r.flags & CHUNK_PROTO_FLAG_LAST));
		off += r.payload_len;
	}
	CHECK_EQ_INT(off, 1000);
	chunk_sender_free(&s);
	fake_free(&fs);
}

TEST(sender_errors)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;
	struct chunk_id missing;

	fake_add(&fs, 1000, 2);
	fake_add(&fs, 0, 3);
	chunk_id_of(&missing, "nope", 4);
	chunk_sender_init(&s, 4096, fake_fetch, &fs);
	CHECK_EQ_INT(send_get(&s, 1, &missing, 0, 0), CHUNK_PROTO_OK);
	CHECK_EQ_INT(send_get(&s, 2, &fs.ids[0], 999, 2), CHUNK_PROTO_OK); /* past the end */
	CHECK_EQ_INT(send_get(&s, 3, &fs.ids[0], 1000, 0), CHUNK_PROTO_OK); /* empty tail */
	CHECK_EQ_INT(send_get(&s, 4, &fs.ids[1], 0, 0), CHUNK_PROTO_OK);    /* empty chunk */
	uint8_t junk[3] = { 1, 1, 0 };
	CHECK_EQ_INT(chunk_sender_on_message(&s, junk, 3), CHUNK_PROTO_E_SHORT);

	/* The parse error was queued first, so it comes first. */
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BAD_REQUEST && r.req_id == 0);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_NOT_FOUND && r.req_id == 1);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_RANGE && r.req_id == 2);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 3 && r.payload_len == 0 &&
	      r.offset == 1000 && r.total == 1000 && r.flags == CHUNK_PROTO_FLAG_LAST);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 4 && r.payload_len == 0 && r.total == 0);
	CHECK_EQ_INT(pull(&s, 64, &r), 0);

	/* A range that is bad in itself is refused at parse time with RANGE. */
	uint8_t wire[CHUNK_PROTO_GET_LEN];
	struct chunk_request bad = { CHUNK_PROTO_GET, 9, missing, 0, 0 };
	size_t n;
	chunk_proto_encode_request(wire, sizeof(wire), &bad, &n);
	wire[38] = 0xff;
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, n), CHUNK_PROTO_E_RANGE);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.code == CHUNK_ERR_RANGE && r.req_id == 9);

	/* RATE_LIMITED with a retry hint, queued by the caller's policy. */
	CHECK_EQ_INT(chunk_sender_reject(&s, 11, CHUNK_ERR_RATE_LIMITED, 250), CHUNK_PROTO_OK);
	CHECK_EQ_INT(chunk_sender_reject(&s, 11, 99, 0), CHUNK_PROTO_E_FIELD);
	CHECK_EQ_INT(pull(&s, 11, &r), 0); /* budget below an ERROR frame */
	CHECK_EQ_INT(pull(&s, 12, &r), 1);
	CHECK(r.code == CHUNK_ERR_RATE_LIMITED && r.retry_after_ms == 250);
	chunk_sender_free(&s);
	fake_free(&fs);
}

/* A GET batch: GETs back to back in one message, each handled as if alone, in order
 * (docs/chunk-protocol.md "GET batch"). */
TEST(sender_get_batch)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;
	struct chunk_id missing;
	uint8_t wire[(CHUNK_PROTO_MAX_INFLIGHT + 1) * CHUNK_PROTO_GET_LEN];
	size_t n;

	fake_add(&fs, 3000, 4);
	fake_add(&fs, 5000, 5);
	chunk_id_of(&missing, "nope", 4);
	chunk_sender_init(&s, 0, fake_fetch, &fs);
	const struct chunk_id *ids[3] = { &fs.ids[1], &missing, &fs.ids[0] };
	for (int i = 0; i < 3; i++) {
		struct chunk_request q = { CHUNK_PROTO_GET, 20 + i, *ids[i], 0, 0 };
		CHECK_EQ_INT(chunk_proto_encode_request(wire + i * CHUNK_PROTO_GET_LEN,
							 CHUNK_PROTO_GET_LEN, &q, &n),
			     CHUNK_PROTO_OK);
	}
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, 3 * CHUNK_PROTO_GET_LEN), CHUNK_PROTO_OK);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 3);
	/* In order; the missing one's ERROR when its turn comes. */
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 20 && r.total == 5000 &&
	      r.payload_len == 5000 && (r.flags & CHUNK_PROTO_FLAG_LAST));
	CHECK_MEM(r.payload, fs.data[1], 5000);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.req_id == 21 && r.code == CHUNK_ERR_NOT_FOUND);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 22 && r.payload_len == 3000);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 0);

	/* A malformed GET inside a batch is refused alone; the others are served. */
	wire[CHUNK_PROTO_GET_LEN] = 9; /* second GET: unknown version */
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, 3 * CHUNK_PROTO_GET_LEN),
		     CHUNK_PROTO_E_VERSION);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BAD_REQUEST && r.req_id == 21);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 20);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == 22);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 0);

	/* Not a batch: a length that is no multiple of a GET, more GETs than may be in
	 * flight, or a first message that is not a GET: one malformed request. */
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, 2 * CHUNK_PROTO_GET_LEN + 1),
		     CHUNK_PROTO_E_LENGTH);
	for (int i = 0; i <= CHUNK_PROTO_MAX_INFLIGHT; i++)
		memcpy(wire + i * CHUNK_PROTO_GET_LEN, wire + 2 * CHUNK_PROTO_GET_LEN,
		       CHUNK_PROTO_GET_LEN);
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, sizeof(wire)), CHUNK_PROTO_E_LENGTH);
	wire[1] = CHUNK_PROTO_CANCEL;
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire, 2 * CHUNK_PROTO_GET_LEN),
		     CHUNK_PROTO_E_LENGTH);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
		CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BAD_REQUEST);
	}
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 0);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 0);

	/* A batch of 16 fills the window; one more GET is BUSY. */
	for (int i = 0; i < CHUNK_PROTO_MAX_INFLIGHT; i++) {
		struct chunk_request q = { CHUNK_PROTO_GET, 100 + i, fs.ids[0], 0, 0 };
		chunk_proto_encode_request(wire + i * CHUNK_PROTO_GET_LEN, CHUNK_PROTO_GET_LEN, &q,
					   &n);
	}
	CHECK_EQ_INT(chunk_sender_on_message(&s, wire,
					     CHUNK_PROTO_MAX_INFLIGHT * CHUNK_PROTO_GET_LEN),
		     CHUNK_PROTO_OK);
	CHECK_EQ_INT(chunk_sender_inflight(&s), CHUNK_PROTO_MAX_INFLIGHT);
	CHECK_EQ_INT(send_get(&s, 200, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BUSY && r.req_id == 200);
	chunk_sender_free(&s);
	fake_free(&fs);
}

TEST(sender_bounds_inflight_and_errors)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;

	fake_add(&fs, 10, 4);
	chunk_sender_init(&s, 0, fake_fetch, &fs);
	for (uint32_t i = 0; i < CHUNK_PROTO_MAX_INFLIGHT; i++)
		CHECK_EQ_INT(send_get(&s, i, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);
	CHECK_EQ_INT(chunk_sender_inflight(&s), CHUNK_PROTO_MAX_INFLIGHT);
	CHECK_EQ_INT(send_get(&s, 100, &fs.ids[0], 0, 0), CHUNK_PROTO_OK); /* answered BUSY */
	CHECK_EQ_INT(send_get(&s, 3, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);   /* dup id: BAD_REQUEST */
	CHECK_EQ_INT(chunk_sender_inflight(&s), CHUNK_PROTO_MAX_INFLIGHT);
	CHECK_EQ_INT(s.busy_rejects, 1);
	CHECK_EQ_INT(fs.fetches, 0); /* nothing read before the channel is writable */
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BUSY && r.req_id == 100);
	CHECK_EQ_INT(pull(&s, 64, &r), 1);
	CHECK(r.type == CHUNK_PROTO_ERROR && r.code == CHUNK_ERR_BAD_REQUEST && r.req_id == 3);
	for (uint32_t i = 0; i < CHUNK_PROTO_MAX_INFLIGHT; i++) {
		CHECK_EQ_INT(pull(&s, 64, &r), 1);
		CHECK(r.type == CHUNK_PROTO_DATA && r.req_id == i && r.payload_len == 10);
	}
	CHECK_EQ_INT(fs.fetches, CHUNK_PROTO_MAX_INFLIGHT);

	/* A peer that floods garbage without reading: bounded, then OVERLOAD. */
	uint8_t junk[1] = { 0 };
	for (int i = 0; i < CHUNK_PROTO_MAX_PENDING_ERRORS; i++)
		CHECK_EQ_INT(chunk_sender_on_message(&s, junk, 1), CHUNK_PROTO_E_SHORT);
	CHECK_EQ_INT(chunk_sender_on_message(&s, junk, 1), CHUNK_PROTO_E_OVERLOAD);
	CHECK_EQ_INT(send_get(&s, 7, &fs.ids[0], 0, 0), CHUNK_PROTO_OK); /* GETs still queue */
	chunk_sender_free(&s);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 0);
	fake_free(&fs);
}

TEST(sender_cancel)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;

	fake_add(&fs, 100000, 5);
	chunk_sender_init(&s, 8192, fake_fetch, &fs);
	for (uint32_t i = 1; i <= 4; i++)
		CHECK_EQ_INT(send_get(&s, i, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);
	CHECK_EQ_INT(pull(&s, SIZE_MAX, &r), 1);
	CHECK_EQ_INT(r.req_id, 1);
	CHECK_EQ_INT(send_cancel(&s, 1), CHUNK_PROTO_OK); /* in progress */
	CHECK_EQ_INT(send_cancel(&s, 3), CHUNK_PROTO_OK); /* queued, middle */
	CHECK_EQ_INT(send_cancel(&s, 77), CHUNK_PROTO_OK); /* unknown: ignored */
	CHECK(!chunk_sender_cancel(&s, 3));
	CHECK_EQ_INT(s.cancelled, 2);
	CHECK_EQ_INT(chunk_sender_inflight(&s), 2);
	uint32_t seen[8] = { 0 };
	while (pull(&s, SIZE_MAX, &r) == 1) {
		CHECK(r.type == CHUNK_PROTO_DATA);
		if (r.req_id < 8)
			seen[r.req_id]++;
	}
	CHECK_EQ_INT(seen[1], 0);
	CHECK_EQ_INT(seen[3], 0);
	CHECK_EQ_INT(seen[2], 13); /* ceil(100000 / 8176) */
	CHECK_EQ_INT(seen[4], 13);
	CHECK_EQ_INT(s.requests_done, 2);
	chunk_sender_free(&s);
	fake_free(&fs);
}

/* Back-pressure and a token bucket driving the sender with a synthetic clock:
 * 1 MiB at 100 KiB/s with a 64 KiB burst takes ~ (1 MiB - 64 KiB) / 100 KiB/s. */
TEST(sender_with_budget_and_token_bucket)
{
	struct fake_store fs = { 0 };
	struct chunk_sender s;
	struct chunk_response r;
	struct token_bucket global, peer;
	uint64_t now = 0, got = 0;
	int frames = 0, small = 0;

	fake_add(&fs, CHUNK_PROTO_MAX_CHUNK_BYTES, 6);
	chunk_sender_init(&s, 0, fake_fetch, &fs);
	token_bucket_init(&global, 1000000, 65536, 0);
	token_bucket_init(&peer, 102400, 65536, 0);
	CHECK_EQ_INT(send_get(&s, 5, &fs.ids[0], 0, 0), CHUNK_PROTO_OK);

	/* A budget smaller than a header makes no progress; a tiny one sends a
	 * tiny frame. */
	CHECK_EQ_INT(pull(&s, CHUNK_PROTO_DATA_HDR_LEN, &r), 0);
	CHECK_EQ_INT(pull(&s, CHUNK_PROTO_DATA_HDR_LEN + 1, &r), 1);
	CHECK_EQ_INT(r.payload_len, 1);
	got = 1;
	while (got < CHUNK_PROTO_MAX_CHUNK_BYTES && now < 60000) {
		size_t want = chunk_sender_want(&s);
		uint64_t wait = token_bucket_wait2_ms(&global, &peer, want, now);
		CHECK(wait != TOKEN_BUCKET_NEVER);
		now += wait;
		/* SCTP buffered-amount room of 48 KiB at most per turn. */
		size_t budget = (size_t)token_bucket_available2(&global, &peer, now);
		if (budget > 49152)
			budget = 49152;
		size_t len = 0;
		CHECK_EQ_INT(chunk_sender_next(&s, frame, sizeof(frame), budget, &len), 1);
		CHECK(len <= budget);
		CHECK(token_bucket_take2(&global, &peer, len, now));
		CHECK_EQ_INT(chunk_proto_decode_response(frame, len, &r), CHUNK_PROTO_OK);
		CHECK_EQ_INT(r.offset, got);
		got += r.payload_len;
		frames++;
		if (len < 49152)
			small++;
	}
	CHECK_EQ_INT(got, CHUNK_PROTO_MAX_CHUNK_BYTES);
	CHECK_EQ_INT(chunk_sender_want(&s), 0);
	/* bytes on the wire = payload + 16 per frame; the first 64 KiB are burst */
	uint64_t wire = CHUNK_PROTO_MAX_CHUNK_BYTES + 16u * (uint64_t)(frames + 1);
	uint64_t expect = (wire - 65536) * 1000 / 102400;
	printf("  1 MiB at 100 KiB/s: %d frames, %llu ms simulated (expected %llu)\n", frames,
	       (unsigned long long)now, (unsigned long long)expect);
	CHECK(now + 50 >= expect && now <= expect + 50);
	CHECK(small <= 2);
	chunk_sender_free(&s);
	fake_free(&fs);
}

int main(void)
{
	RUN(request_vectors);
	RUN(request_parse_is_strict);
	RUN(response_vectors);
	RUN(response_decode_is_strict);
	RUN(sender_splits_and_reassembles);
	RUN(sender_errors);
	RUN(sender_get_batch);
	RUN(sender_bounds_inflight_and_errors);
	RUN(sender_cancel);
	RUN(sender_with_budget_and_token_bucket);
	return test_summary();
}

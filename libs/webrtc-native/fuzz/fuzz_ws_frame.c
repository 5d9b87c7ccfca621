/* libFuzzer: ws_parser_feed (frames from the coordinator) never crashes, never reads
 * outside its input, keeps its caps, and gives the same messages and result whether the
 * input comes at once or byte by byte.
 *
 * Invariants checked on every delivered message: a data message is at most max_message
 * bytes, a control frame at most 125, a text message and a close reason are UTF-8, a
 * close code is one that may be sent (or 1005 for none).  Then the writer: each message
 * written back as an unmasked frame parses to the same message.
 *
 * The first input byte picks max_message (64 << (b & 15) bytes). */
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	size_t max;
	uint32_t hash;
	unsigned n;
	bool check_roundtrip;
};

static int on_message(void *user, const struct ws_message *m);
static const struct ws_parser_cb cb = { on_message };

static int echo_message(void *user, const struct ws_message *m)
{
	const struct ws_message *want = user;

	if (m->opcode != want->opcode || m->len != want->len || memcmp(m->data, want->data, m->len))
		abort();
	return 0;
}

static const struct ws_parser_cb echo_cb = { echo_message };

/* Write m as one unmasked frame and parse it back. */
static void roundtrip(const struct ws_message *m, size_t max)
{
	uint8_t *f = malloc(WS_FRAME_MAX_HEADER + m->len + 1);
	struct ws_parser p;
	size_t used;
	int h = ws_frame_header(f, m->opcode, true, m->len, NULL), rc;

	if (h < 0)
		abort();
	memcpy(f + h, m->data, m->len);
	ws_parser_init(&p, max, &echo_cb, (void *)m);
	rc = ws_parser_feed(&p, f, (size_t)h + m->len, &used);
	if (rc != (m->opcode == WS_OP_CLOSE ? WS_FRAME_CLOSED : WS_FRAME_NEED_MORE) ||
	    used != (size_t)h + m->len)
		abort();
	ws_parser_free(&p);
	free(f);
}

static int on_message(void *user, const struct ws_message *m)
{
	struct sink *s = user;

	switch (m->opcode) {
	case WS_OP_TEXT:
		if (!ws_utf8_valid(m->data, m->len))
			abort();
		/* fallthrough */
	case WS_OP_BINARY:
		if (m->len > s->max)
			abort();
		break;
	case WS_OP_CLOSE:
		if (m->code != WS_CLOSE_NO_STATUS && !ws_close_code_valid(m->code))
			abort();
		if (m->reason_len && !ws_utf8_valid((const uint8_t *)m->reason, m->reason_len))
			abort();
		/* fallthrough */
	case WS_OP_PING:
	case WS_OP_PONG:
		if (m->len > WS_FRAME_MAX_CONTROL)
			abort();
		break;
	default:
		abort();
	}
	s->hash = s->hash * 31 + m->opcode;
	for (size_t i = 0; i < m->len; i++)
		s->hash = s->hash * 31 + m->data[i];
	s->hash = s->hash * 31 + (uint32_t)m->len;
	s->n++;
	if (s->check_roundtrip)
		roundtrip(m, s->max);
	return 0;
}

static int run(struct sink *s, const uint8_t *data, size_t size, size_t step, size_t *taken)
{
	struct ws_parser p;
	size_t off = 0;
	int rc = WS_FRAME_NEED_MORE;

	ws_parser_init(&p, s->max, &cb, s);
	while (off < size) {
		size_t n = step && size - off > step ? step : size - off, used;
		rc = ws_parser_feed(&p, data + off, n, &used);
		if (used > n || (rc == WS_FRAME_NEED_MORE && used != n))
			abort();
		off += used;
		if (rc != WS_FRAME_NEED_MORE)
			break;
	}
	if (ws_parser_buffered(&p) > s->max && ws_parser_buffered(&p) > WS_FRAME_KEEP_BUF)
		abort();
	ws_parser_free(&p);
	*taken = off;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = { 0 }, b = { 0 };
	size_t ta, tb;
	int ra, rb;

	if (size < 1)
		return 0;
	a.max = b.max = (size_t)64 << (data[0] & 15);
	a.check_roundtrip = true;
	ra = run(&a, data + 1, size - 1, 0, &ta);
	rb = run(&b, data + 1, size - 1, 1, &tb);
	if (ra != rb || a.hash != b.hash || a.n != b.n || ta != tb)
		abort();
	if (ra < 0 && ws_frame_close_code(ra) < 1000)
		abort();
	return 0;
}

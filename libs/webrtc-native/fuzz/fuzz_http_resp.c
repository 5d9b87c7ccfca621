/* libFuzzer: http_resp_feed (responses from origins and the coordinator, chunked decoding
 * included) never crashes, never reads outside its input, keeps its caps, and gives the
 * same result and body whether the input comes at once or byte by byte.
 *
 * The first input byte picks HEAD or not and whether on_head stops after the head. */
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint64_t body_len;
	uint32_t hash;
	bool stop_after_head;
};

static int on_head(void *user, const struct http_resp *r)
{
	struct sink *s = user;

	if (r->n_fields > HTTP_RESP_MAX_FIELDS || r->status < 100 || r->status > 599)
		abort();
	return s->stop_after_head ? 1 : 0;
}

static int on_body(void *user, const uint8_t *data, size_t len)
{
	struct sink *s = user;

	for (size_t i = 0; i < len; i++)
		s->hash = s->hash * 31 + data[i];
	s->body_len += len;
	return 0;
}

static const struct http_resp_cb cb = { on_head, on_body };

static int run(struct http_resp *r, struct sink *s, const uint8_t *data, size_t size, bool head,
	       size_t step, size_t *taken)
{
	size_t off = 0;
	int rc = HTTP_RESP_NEED_MORE;

	http_resp_init(r, head, &cb, s);
	while (off < size) {
		size_t n = step && size - off > step ? step : size - off, used;
		rc = http_resp_feed(r, data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (rc != HTTP_RESP_NEED_MORE)
			break;
	}
	if (rc == HTTP_RESP_NEED_MORE)
		rc = http_resp_eof(r);
	*taken = off;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_resp r;
	struct sink a = { 0 }, b = { 0 };
	size_t ta, tb;
	bool head;
	int ra, rb;

	if (size < 1)
		return 0;
	head = data[0] & 1;
	a.stop_after_head = b.stop_after_head = data[0] & 2;
	ra = run(&r, &a, data + 1, size - 1, head, 0, &ta);
	rb = run(&r, &b, data + 1, size - 1, head, 1, &tb);
	if (ra != rb || a.body_len != b.body_len || a.hash != b.hash || ta != tb)
		abort();
	return 0;
}

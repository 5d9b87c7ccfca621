#include <stdlib.h>

#include "http_resp.h"
#include "test.h"

struct sink {
	int heads;
	int status;
	int head_ret;
	char body[4096];
	size_t body_len;
};

static int on_head(void *user, const struct http_resp *r)
{
	struct sink *s = user;
	s->heads++;
	s->status = r->status;
	return s->head_ret;
}

static int on_body(void *user, const uint8_t *data, size_t len)
{
	struct sink *s = user;
	if (s->body_len + len > sizeof(s->body))
		return -1;
	memcpy(s->body + s->body_len, data, len);
	s->body_len += len;
	return 0;
}

static const struct http_resp_cb cb = { on_head, on_body };

/* Feed text in pieces of `step` bytes (0: all at once), then EOF when eof is set.
 * Returns the final result; *consumed_total counts bytes taken. */
static int parse(struct http_resp *r, struct sink *s, const char *text, size_t step, bool eof,
		 size_t *consumed_total)
{
	size_t len = strlen(text), off = 0;
	int rc = HTTP_RESP_NEED_MORE;

	memset(s->body, 0, sizeof(s->body));
	s->body_len = 0;
	s->heads = 0;
	http_resp_init(r, false, &cb, s);
	while (off < len) {
		size_t n = step ? (len - off < step ? len - off : step) : len - off, used;
		rc = http_resp_feed(r, (const uint8_t *)text + off, n, &used);
		off += used;
		if (rc != HTTP_RESP_NEED_MORE)
			break;
	}
	if (rc == HTTP_RESP_NEED_MORE && eof)
		rc = http_resp_eof(r);
	if (consumed_total)
		*consumed_total = off;
	return rc;
}

static struct http_resp *R;

/* Every split gives the same result and body. */
static void check_all_splits(const char *text, bool eof, int want_rc, int want_status,
			     const char *want_body)
{
	struct sink s = { 0 };

	for (size_t step = 0; step <= 7; step++) {
		int rc = parse(R, &s, text, step, eof, NULL);
		CHECK_EQ_INT(rc, want_rc);
		if (want_rc == HTTP_RESP_DONE) {
			CHECK_EQ_INT(s.heads, 1);
			CHECK_EQ_INT(s.status, want_status);
			CHECK_EQ_INT(s.body_len, strlen(want_body));
			CHECK_EQ_STR(s.body, want_body);
		}
	}
}

TEST(content_length_body)
{
	struct sink s = { 0 };
	size_t used;

	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \r\n\r\nhello", false,
			 HTTP_RESP_DONE, 200, "hello");
	/* bytes after the body are left alone */
	CHECK_EQ_INT(parse(R, &s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA", 0, false,
			   &used),
		     HTTP_RESP_DONE);
	CHECK_EQ_INT(used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
	CHECK_EQ_STR(http_resp_field_value(R, "x-nothing") ? "x" : "", "");
	CHECK_EQ_INT(R->version_minor, 1);
	/* LF-only lines, obs-fold */
	check_all_splits("HTTP/1.0 404 Not Found\nContent-Length: 3\nX-F: a\n  b\n\nabc", false,
			 HTTP_RESP_DONE, 404, "abc");
	CHECK_EQ_INT(parse(R, &s, "HTTP/1.1 200 OK\r\nX-F: a\r\n\tb\r\nContent-Length: 0\r\n\r\n", 0,
			   false, NULL),
		     HTTP_RESP_DONE);
	CHECK_EQ_STR(http_resp_field_value(R, "X-F"), "a  \tb");
	/* equal duplicates are fine, differing ones are not (RFC 9110 §8.6) */
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false,
			 HTTP_RESP_DONE, 200, "x");
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
			 false, HTTP_RESP_E_LENGTH, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false,
			 HTTP_RESP_E_LENGTH, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false,
			 HTTP_RESP_E_LENGTH, 0, "");
	/* short body then close */
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", true,
			 HTTP_RESP_E_TRUNCATED, 0, "");
}

TEST(chunked_body)
{
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "5\r\nhello\r\n1;ext=\"x\"\r\n \r\nA \r\n0123456789\r\n0\r\n"
			 "Trailer-A: 1\r\n\r\n",
			 false, HTTP_RESP_DONE, 200, "hello 0123456789");
	/* TE wins over Content-Length (RFC 9112 §6.3) */
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 99\r\ntransfer-encoding: Chunked\r\n"
			 "\r\n2\nab\n0\n\n",
			 false, HTTP_RESP_DONE, 200, "ab");
	/* bad sizes and framing */
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
			 HTTP_RESP_E_CHUNK, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false,
			 HTTP_RESP_E_CHUNK, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "1000000000000000\r\n",
			 false, HTTP_RESP_E_CHUNK, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
			 false, HTTP_RESP_E_CHUNK, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", true,
			 HTTP_RESP_E_TRUNCATED, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
			 HTTP_RESP_E_CODING, 0, "");
	{
		/* an endless chunk extension hits the line cap */
		char *t = malloc(HTTP_RESP_MAX_CHUNK_LINE + 200);
		strcpy(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
		memset(t + strlen(t), 'x', HTTP_RESP_MAX_CHUNK_LINE + 10);
		t[strlen("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;") +
		  HTTP_RESP_MAX_CHUNK_LINE + 10] = 0;
		check_all_splits(t, false, HTTP_RESP_E_CHUNK, 0, "");
		free(t);
	}
}

TEST(close_delimited_interim_and_no_body)
{
	struct sink s = { 0 };

	check_all_splits("HTTP/1.1 200 OK\r\n\r\nuntil close", true, HTTP_RESP_DONE, 200,
			 "until close");
	check_all_splits("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
			 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			 false, HTTP_RESP_DONE, 200, "ok");
	check_all_splits("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false,
			 HTTP_RESP_DONE, 204, "");
	check_all_splits("HTTP/1.1 304 Not Modified\r\n\r\n", false, HTTP_RESP_DONE, 304, "");
	/* HEAD: no body whatever the fields say */
	http_resp_init(R, true, &cb, &s);
	{
		const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
		size_t used;
		CHECK_EQ_INT(http_resp_feed(R, (const uint8_t *)t, strlen(t), &used),
			     HTTP_RESP_DONE);
		CHECK_EQ_INT(used, strlen(t));
	}
	/* 101 with on_head asking to stop: the frame bytes after the head stay */
	{
		const char *t = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi";
		size_t used;
		s.head_ret = 1;
		http_resp_init(R, false, &cb, &s);
		CHECK_EQ_INT(http_resp_feed(R, (const uint8_t *)t, strlen(t), &used),
			     HTTP_RESP_DONE);
		CHECK_EQ_INT(used, strlen(t) - 4);
		CHECK_EQ_STR(R->known[HTTP_F_UPGRADE], "websocket");
		s.head_ret = 0;
	}
}

TEST(hostile_heads)
{
	char *big = malloc(HTTP_RESP_MAX_HEAD + 100);

	check_all_splits("HTTP/2 200 OK\r\n\r\n", false, HTTP_RESP_E_STATUS, 0, "");
	check_all_splits("HTTP/1.1 20 OK\r\n\r\n", false, HTTP_RESP_E_STATUS, 0, "");
	check_all_splits("HTTP/1.1 600 Nope\r\n\r\n", false, HTTP_RESP_E_STATUS, 0, "");
	check_all_splits("ICY 200 OK\r\n\r\n", false, HTTP_RESP_E_STATUS, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, HTTP_RESP_E_FIELD, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nName : x\r\n\r\n", false, HTTP_RESP_E_FIELD, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", false, HTTP_RESP_E_FIELD, 0, "");
	check_all_splits("HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n", false, HTTP_RESP_E_FIELD, 0, "");
	check_all_splits("HTTP/1.1 301 Moved\r\nLocation: /a\r\nLocation: /b\r\n\r\n", false,
			 HTTP_RESP_E_FIELD, 0, "");
	/* oversized head */
	strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
	memset(big + strlen(big), 'a', HTTP_RESP_MAX_HEAD);
	big[HTTP_RESP_MAX_HEAD + 20] = 0;
	check_all_splits(big, false, HTTP_RESP_E_HEAD_TOO_LARGE, 0, "");
	/* too many fields */
	strcpy(big, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= HTTP_RESP_MAX_FIELDS; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	check_all_splits(big, false, HTTP_RESP_E_HEAD_TOO_LARGE, 0, "");
	/* truncated head */
	check_all_splits("HTTP/1.1 200 OK\r\nContent-Le", true, HTTP_RESP_E_TRUNCATED, 0, "");
	free(big);
}

int main(void)
{
	R = malloc(sizeof(*R));
	RUN(content_length_body);
	RUN(chunked_body);
	RUN(close_delimited_interim_and_no_body);
	RUN(hostile_heads);
	free(R);
	return test_summary();
}

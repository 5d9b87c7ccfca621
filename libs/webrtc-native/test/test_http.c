#include <stdlib.h>

#include "http.h"
#include "test.h"

static int feed_all(struct http_req *r, const char *s, size_t *consumed)
{
	http_req_init(r);
	return http_req_feed(r, s, strlen(s), consumed);
}

TEST(parses_simple_get)
{
	static struct http_req r;
	const char *req = "GET /chunks/abc?x=1 HTTP/1.1\r\nHost: router.lan:8080\r\n"
			  "Range: bytes=0-99\r\nIf-None-Match: \"abc\"\r\nUser-Agent:  curl/8 \r\n\r\n";
	size_t used;

	CHECK_EQ_INT(feed_all(&r, req, &used), HTTP_DONE);
	CHECK_EQ_INT(used, strlen(req));
	CHECK_EQ_INT(r.method, HTTP_METHOD_GET);
	CHECK_EQ_STR(r.method_name, "GET");
	CHECK_EQ_STR(r.target, "/chunks/abc?x=1");
	CHECK_EQ_INT(r.version_minor, 1);
	CHECK_EQ_STR(r.host, "router.lan:8080");
	CHECK_EQ_STR(r.range, "bytes=0-99");
	CHECK_EQ_STR(r.if_none_match, "\"abc\"");
	CHECK(r.keep_alive);
	CHECK_EQ_INT(r.n_headers, 4);
	CHECK_EQ_STR(http_req_header(&r, "user-agent"), "curl/8");
	CHECK(http_req_header(&r, "Accept") == NULL);
	/* sticky result, nothing more consumed */
	CHECK_EQ_INT(http_req_feed(&r, "GET", 3, &used), HTTP_DONE);
	CHECK_EQ_INT(used, 0);
}

TEST(versions_methods_and_connection)
{
	static struct http_req r;
	size_t used;

	CHECK_EQ_INT(feed_all(&r, "HEAD /healthz HTTP/1.0\n\n", &used), HTTP_DONE);
	CHECK_EQ_INT(r.method, HTTP_METHOD_HEAD);
	CHECK_EQ_INT(r.version_minor, 0);
	CHECK(r.host == NULL);
	CHECK(!r.keep_alive);
	CHECK_EQ_INT(feed_all(&r, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &used),
		     HTTP_DONE);
	CHECK(r.keep_alive);
	CHECK_EQ_INT(feed_all(&r, "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
			      &used),
		     HTTP_DONE);
	CHECK(!r.keep_alive);
	CHECK_EQ_INT(feed_all(&r, "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", &used), HTTP_DONE);
	CHECK_EQ_INT(r.method, HTTP_METHOD_OTHER);
	CHECK_EQ_STR(r.method_name, "POST");
	CHECK_EQ_INT(feed_all(&r, "get / HTTP/1.1\r\nHost: a\r\n\r\n", &used), HTTP_DONE);
	CHECK_EQ_INT(r.method, HTTP_METHOD_OTHER); /* methods are case-sensitive */
	CHECK_EQ_INT(feed_all(&r, "GET / HTTP/1.7\r\nHost: a\r\n\r\n", &used), HTTP_DONE);
	CHECK_EQ_INT(r.version_minor, 1);
	CHECK_EQ_INT(feed_all(&r, "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &used), HTTP_DONE);
	CHECK_EQ_STR(r.target, "/");
	CHECK_EQ_INT(feed_all(&r, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
				  "Content-Length: 0\r\n\r\n",
			      &used),
		     HTTP_DONE);
}

TEST(bad_requests)
{
	static const struct {
		const char *req;
		int err;
	} cases[] = {
		{ "GET /\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.10\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_E_VERSION },
		{ "GET / HTTP/0.9\r\n\r\n", HTTP_E_VERSION },
		{ "GET / HTTP/1.1\r\n\r\n", HTTP_E_BAD_REQUEST }, /* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
		  HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", HTTP_E_TOO_LARGE },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		  HTTP_E_TOO_LARGE },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 00\r\n\r\n",
		  HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", HTTP_E_BAD_REQUEST },
		{ "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		  HTTP_E_NOT_IMPLEMENTED },
		{ "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_E_BAD_REQUEST },
	};
	static struct http_req r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t used;
		int rc = feed_all(&r, cases[i].req, &used);
		if (rc != cases[i].err)
			fprintf(stderr, "  case %zu: got %d (%s)\n", i, rc, r.error ? r.error : "");
		CHECK_EQ_INT(rc, cases[i].err);
		if (rc < 0)
			CHECK(r.error != NULL);
	}
}

TEST(nul_byte_in_head)
{
	static const char req[] = "GET /a HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	static struct http_req r;
	size_t used;

	http_req_init(&r);
	CHECK_EQ_INT(http_req_feed(&r, req, sizeof(req) - 1, &used), HTTP_E_BAD_REQUEST);
}

TEST(size_caps)
{
	static struct http_req r;
	static char buf[HTTP_MAX_HEAD_BYTES * 2];
	size_t used, n;

	/* 32 headers are fine, 33 are 431 */
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (int i = 0; i < HTTP_MAX_HEADERS - 1 + extra; i++)
			n += (size_t)sprintf(buf + n, "X-%d: v\r\n", i);
		strcpy(buf + n, "\r\n");
		CHECK_EQ_INT(feed_all(&r, buf, &used), extra ? HTTP_E_HEADERS_TOO_LARGE : HTTP_DONE);
	}
	/* a head of exactly the cap parses; one byte more is 431 */
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
		memset(buf + n, 'v', HTTP_MAX_HEAD_BYTES - n - 4 + (size_t)extra);
		strcpy(buf + HTTP_MAX_HEAD_BYTES - 4 + extra, "\r\n\r\n");
		CHECK_EQ_INT(strlen(buf), HTTP_MAX_HEAD_BYTES + extra);
		CHECK_EQ_INT(feed_all(&r, buf, &used), extra ? HTTP_E_HEADERS_TOO_LARGE : HTTP_DONE);
	}
	/* a long target: 414 once the line is complete, or when it fills the head */
	n = (size_t)sprintf(buf, "GET /");
	memset(buf + n, 'a', HTTP_MAX_TARGET);
	strcpy(buf + n + HTTP_MAX_TARGET, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ_INT(feed_all(&r, buf, &used), HTTP_E_URI_TOO_LONG);
	memset(buf + n, 'a', HTTP_MAX_HEAD_BYTES + 10);
	buf[n + HTTP_MAX_HEAD_BYTES + 10] = '\0';
	CHECK_EQ_INT(feed_all(&r, buf, &used), HTTP_E_URI_TOO_LONG);
}

TEST(pipelined_requests)
{
	const char *stream = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			     "HEAD /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
			     "GET /c HTT";
	static struct http_req r;
	size_t off = 0, used, n = strlen(stream);

	http_req_init(&r);
	CHECK_EQ_INT(http_req_feed(&r, stream, n, &used), HTTP_DONE);
	CHECK_EQ_STR(r.target, "/a");
	off += used;
	http_req_init(&r);
	CHECK_EQ_INT(http_req_feed(&r, stream + off, n - off, &used), HTTP_DONE);
	CHECK_EQ_STR(r.target, "/b");
	CHECK(!r.keep_alive);
	off += used;
	http_req_init(&r);
	CHECK_EQ_INT(http_req_feed(&r, stream + off, n - off, &used), HTTP_NEED_MORE);
	CHECK_EQ_INT(used, n - off);
	CHECK_EQ_INT(http_req_feed(&r, "P/1.1\r\nHost: h\r\n\r\nrest", 22, &used), HTTP_DONE);
	CHECK_EQ_INT(used, 18);
	CHECK_EQ_STR(r.target, "/c");
}

/* Compare a whole-buffer parse with byte-at-a-time and every 2-way split. */
static void check_split_equivalence(const char *req)
{
	static struct http_req whole, part;
	size_t n = strlen(req), used_whole, used;
	int rc_whole;

	rc_whole = feed_all(&whole, req, &used_whole);
	for (size_t split = 0; split <= n; split++) {
		size_t total = 0;
		int rc;

		http_req_init(&part);
		rc = http_req_feed(&part, req, split, &used);
		total += used;
		if (rc == HTTP_NEED_MORE) {
			rc = http_req_feed(&part, req + split, n - split, &used);
			total += used;
		}
		CHECK_EQ_INT(rc, rc_whole);
		if (rc == HTTP_DONE) {
			CHECK_EQ_INT(total, used_whole);
			CHECK_EQ_STR(part.target, whole.target);
			CHECK_EQ_INT(part.n_headers, whole.n_headers);
		}
	}
	http_req_init(&part);
	{
		size_t total = 0;
		int rc = HTTP_NEED_MORE;
		for (size_t i = 0; i < n && rc == HTTP_NEED_MORE; i++) {
			rc = http_req_feed(&part, req + i, 1, &used);
			total += used;
		}
		CHECK_EQ_INT(rc, rc_whole);
		if (rc == HTTP_DONE) {
			CHECK_EQ_INT(total, used_whole);
			CHECK_EQ_STR(part.method_name, whole.method_name);
			CHECK_EQ_STR(part.target, whole.target);
			CHECK((part.host == NULL) == (whole.host == NULL));
			if (whole.host)
				CHECK_EQ_STR(part.host, whole.host);
			CHECK_EQ_INT(part.keep_alive, whole.keep_alive);
			for (unsigned h = 0; h < whole.n_headers; h++) {
				CHECK_EQ_STR(part.headers[h].name, whole.headers[h].name);
				CHECK_EQ_STR(part.headers[h].value, whole.headers[h].value);
			}
		}
	}
}

TEST(split_at_every_byte)
{
	check_split_equivalence("GET /chunks/00ff HTTP/1.1\r\nHost: x\r\nRange: bytes=-5\r\n"
				"Connection: keep-alive\r\n\r\nGET /next HTTP/1.1\r\n");
	check_split_equivalence("\r\nHEAD /metrics HTTP/1.0\nX: y\n\n");
	check_split_equivalence("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n");
	check_split_equivalence("GET / HTTP/3.0\r\n\r\n");
}

TEST(ranges)
{
	static const struct {
		const char *v;
		uint64_t size;
		int rc;
		uint64_t first, last;
	} cases[] = {
		{ "bytes=0-99", 1000, HTTP_RANGE_OK, 0, 99 },
		{ "bytes=0-0", 1, HTTP_RANGE_OK, 0, 0 },
		{ "bytes=500-", 1000, HTTP_RANGE_OK, 500, 999 },
		{ "bytes=-100", 1000, HTTP_RANGE_OK, 900, 999 },
		{ "bytes=-5000", 1000, HTTP_RANGE_OK, 0, 999 }, /* suffix longer than size */
		{ "bytes=900-5000", 1000, HTTP_RANGE_OK, 900, 999 },
		{ "bytes=0-99999999999999999999999", 1000, HTTP_RANGE_OK, 0, 999 },
		{ "Bytes = 1-2 ", 10, HTTP_RANGE_OK, 1, 2 },
		{ "bytes=999-999", 1000, HTTP_RANGE_OK, 999, 999 },
		{ "bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=99999999999999999999999-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-1,5-6", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=0-1 , 5-6", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=5-1", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=-", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=a-b", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=1-2x", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytes=--1", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "items=0-1", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "bytesx=0-1", 1000, HTTP_RANGE_IGNORE, 0, 0 },
		{ "", 1000, HTTP_RANGE_IGNORE, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t first = 7777, last = 7777;
		int rc = http_range_parse(cases[i].v, cases[i].size, &first, &last);
		if (rc != cases[i].rc)
			fprintf(stderr, "  range case %zu \"%s\": got %d\n", i, cases[i].v, rc);
		CHECK_EQ_INT(rc, cases[i].rc);
		if (cases[i].rc == HTTP_RANGE_OK) {
			CHECK_EQ_INT(first, cases[i].first);
			CHECK_EQ_INT(last, cases[i].last);
		}
	}
}

TEST(response_head)
{
	char buf[512];
	struct http_head_fields f = { 0 };
	const char *want = "HTTP/1.1 206 Partial Content\r\n"
			   "Content-Type: application/octet-stream\r\n"
			   "Content-Length: 100\r\n"
			   "Content-Range: bytes 0-99/1000\r\n"
			   "Accept-Ranges: bytes\r\n"
			   "ETag: \"abc\"\r\n"
			   "Cache-Control: public, max-age=31536000, immutable\r\n"
			   "Connection: close\r\n"
			   "\r\n";
	int n;

	f.content_type = "application/octet-stream";
	f.has_content_length = true;
	f.content_length = 100;
	f.has_content_range = true;
	f.range_first = 0;
	f.range_last = 99;
	f.range_size = 1000;
	f.accept_ranges = true;
	f.etag = "\"abc\"";
	f.cache_control = "public, max-age=31536000, immutable";
	f.close = true;
	n = http_write_head(buf, sizeof(buf), 206, &f);
	CHECK_EQ_INT(n, strlen(want));
	CHECK_EQ_STR(buf, want);
	for (size_t cap = 1; cap <= strlen(want); cap++) {
		CHECK_EQ_INT(http_write_head(buf, cap, 206, &f), HTTP_W_E_BUFFER);
		CHECK_EQ_INT(buf[0], '\0');
	}

	memset(&f, 0, sizeof(f));
	f.has_content_range = true;
	f.range_size = 1000;
	f.has_content_length = true;
	f.keep_alive = true;
	CHECK(http_write_head(buf, sizeof(buf), 416, &f) > 0);
	CHECK_EQ_STR(buf, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n"
			  "Content-Range: bytes */1000\r\nConnection: keep-alive\r\n\r\n");

	CHECK_EQ_INT(http_write_head(buf, sizeof(buf), 299, &f), HTTP_W_E_INVALID);
	f.etag = "\"x\"\r\nSet-Cookie: a=b";
	CHECK_EQ_INT(http_write_head(buf, sizeof(buf), 200, &f), HTTP_W_E_INVALID);
}

TEST(status_text_and_strerror)
{
	CHECK_EQ_STR(http_status_text(404), "Not Found");
	CHECK_EQ_STR(http_status_text(431), "Request Header Fields Too Large");
	CHECK(http_status_text(299) == NULL);
	CHECK_EQ_STR(http_strerror(HTTP_E_VERSION), "HTTP Version Not Supported");
	CHECK_EQ_STR(http_strerror(HTTP_RANGE_UNSATISFIABLE), "Range Not Satisfiable");
	CHECK_EQ_STR(http_strerror(HTTP_W_E_BUFFER), "output buffer too small");
	CHECK_EQ_STR(http_strerror(-12345), "unknown HTTP error");
}

int main(void)
{
	RUN(parses_simple_get);
	RUN(versions_methods_and_connection);
	RUN(bad_requests);
	RUN(nul_byte_in_head);
	RUN(size_caps);
	RUN(pipelined_requests);
	RUN(split_at_every_byte);
	RUN(ranges);
	RUN(response_head);
	RUN(status_text_and_strerror);
	return test_summary();
}

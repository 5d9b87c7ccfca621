#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "http_client.h"
#include "net_test_support.h"
#include "test.h"

/* The origin: node:http (and node:https with the test certificate).  Body byte i of every
 * generated body is (offset + i) % 251, so any slice can be checked. */
static const char *origin_js =
	"const http = require('http'), https = require('https'), fs = require('fs');\n"
	"const pat = (off, n) => { const b = Buffer.alloc(n);\n"
	"  for (let i = 0; i < n; i++) b[i] = (off + i) % 251; return b; };\n"
	"function handle(req, res) {\n"
	"  const u = new URL(req.url, 'http://x'); const n = +(u.searchParams.get('n') || 0);\n"
	"  if (u.pathname === '/bytes') {\n"
	"    const m = /^bytes=(\\d+)-(\\d*)$/.exec(req.headers.range || '');\n"
	"    if (m) { const f = +m[1], l = m[2] ? Math.min(+m[2], n - 1) : n - 1;\n"
	"      res.writeHead(206, { 'Content-Length': l - f + 1, 'Content-Range': `bytes ${f}-${l}/${n}` });\n"
	"      return res.end(req.method === 'HEAD' ? undefined : pat(f, l - f + 1)); }\n"
	"    res.writeHead(200, { 'Content-Length': n });\n"
	"    if (req.method === 'HEAD') return res.end();\n"
	"    let off = 0; const step = 1 << 20;\n"
	"    const more = () => { while (off < n) { const k = Math.min(step, n - off);\n"
	"      const ok = res.write(pat(off, k)); off += k; if (!ok) return res.once('drain', more); }\n"
	"      res.end(); }; return more(); }\n"
	"  if (u.pathname === '/chunked') { res.writeHead(200, {});\n"
	"    let off = 0; while (off < n) { const k = Math.min(1 + (off * 7) % 3000, n - off);\n"
	"      res.write(pat(off, k)); off += k; } return res.end(); }\n"
	"  if (u.pathname === '/close') { res.useChunkedEncodingByDefault = false;\n"
	"    res.shouldKeepAlive = false; res.writeHead(200, { Connection: 'close' });\n"
	"    return res.end(pat(0, n)); }\n"
	"  if (u.pathname === '/redirect') { res.writeHead(+(u.searchParams.get('code') || 302),\n"
	"    { Location: u.searchParams.get('to'), 'Content-Length': 0 }); return res.end(); }\n"
	"  if (u.pathname === '/wrongrange') { res.writeHead(206, { 'Content-Range': 'bytes 5-9/100',\n"
	"    'Content-Length': 5 }); return res.end('12345'); }\n"
	"  if (u.pathname === '/echo') { const parts = []; req.on('data', (d) => parts.push(d));\n"
	"    return req.on('end', () => { const b = Buffer.concat(parts);\n"
	"      res.writeHead(200, { 'Content-Type': 'text/plain' });\n"
	"      res.end(`${req.method} ${req.headers['content-type']} ${req.headers['x-test']} ${b.length} ${b}`); }); }\n"
	"  if (u.pathname === '/slow') return; /* never answers */\n"
	"  res.writeHead(404, { 'Content-Length': 0 }); res.end(); }\n"
	"const a = http.createServer(handle).listen(0, '127.0.0.1', () => {\n"
	"  const b = https.createServer({ cert: fs.readFileSync(process.argv[1]),\n"
	"    key: fs.readFileSync(process.argv[2]) }, handle).listen(0, '127.0.0.1', () => {\n"
	"    console.log('PORTS ' + b.address().port + ':' + a.address().port); }); });\n";

static struct net_test_dir dir;
static struct net_test_proc origin;
static unsigned http_port, https_port;
static struct tls_client_ctx *pinned;

struct result {
	bool done;
	int err;
	int status;
	int heads;
	uint64_t body_len;
	uint64_t first; /* expected offset of the first body byte */
	bool pattern_ok;
	char text[256]; /* first bytes of the body */
	int abort_after; /* on_body returns 1 after this many bytes (0: never) */
	struct http_client *c;
};

static int on_head(void *user, const struct http_resp *r)
{
	struct result *res = user;

	res->heads++;
	res->status = r->status;
	return 0;
}

static int on_body(void *user, const uint8_t *data, size_t len)
{
	struct result *res = user;

	for (size_t i = 0; i < len; i++)
		if (data[i] != (res->first + res->body_len + i) % 251)
			res->pattern_ok = false;
	if (res->body_len < sizeof(res->text) - 1) {
		size_t n = sizeof(res->text) - 1 - res->body_len;
		memcpy(res->text + res->body_len, data, len < n ? len : n);
	}
	res->body_len += len;
	if (res->abort_after && res->body_len >= (uint64_t)res->abort_after)
		return 1;
	return 0;
}

static void on_done(void *user, int err)
{
	struct result *res = user;

	res->done = true;
	res->err = err;
}

static const struct http_client_cb cb = { on_head, on_body, on_done };

static char url_buf[512];

static const char *url(bool tls, const char *path)
{
	snprintf(url_buf, sizeof(url_buf), "%s://%s:%u%s", tls ? "https" : "http",
		 tls ? "localhost" : "127.0.0.1", tls ? https_port : http_port, path);
	return url_buf;
}

static void fetch(struct http_client_opts *o, struct result *r)
{
	struct loop *l = loop_new();
	int abort_after = r->abort_after;

	memset(r, 0, sizeof(*r));
	r->abort_after = abort_after;
	r->pattern_ok = true;
	r->first = o->range ? o->range_first : 0;
	if (!o->tls)
		o->tls = pinned;
	CHECK_EQ_INT(http_client_request(&r->c, l, o, &cb, r), 0);
	CHECK(!r->done);
	net_test_run_until(l, &r->done, 20000);
	CHECK(r->done);
	http_client_free(r->c);
	loop_free(l);
}

TEST(get_content_length_chunked_close_over_tcp_and_tls)
{
	struct result r = { 0 };

	for (int tls = 0; tls < 2; tls++) {
		struct http_client_opts o = { .url = url(tls, "/bytes?n=300000") };
		fetch(&o, &r);
		CHECK_EQ_INT(r.err, 0);
		CHECK_EQ_INT(r.status, 200);
		CHECK_EQ_INT(r.body_len, 300000);
		CHECK(r.pattern_ok);
		o.url = url(tls, "/chunked?n=100000");
		fetch(&o, &r);
		CHECK_EQ_INT(r.err, 0);
		CHECK_EQ_INT(r.body_len, 100000);
		CHECK(r.pattern_ok);
		o.url = url(tls, "/close?n=5000");
		fetch(&o, &r);
		CHECK_EQ_INT(r.err, 0);
		CHECK_EQ_INT(r.body_len, 5000);
		CHECK(r.pattern_ok);
		o.url = url(tls, "/nothing");
		fetch(&o, &r);
		CHECK_EQ_INT(r.err, 0);
		CHECK_EQ_INT(r.status, 404);
	}
}

TEST(range_head_post)
{
	struct result r = { 0 };
	struct http_client_opts o = { .url = url(false, "/bytes?n=1000000"), .range = true,
				      .range_first = 262144, .range_last = 262144 * 2 - 1 };
	const char *hdrs[] = { "X-Test: yes", NULL };

	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.status, 206);
	CHECK_EQ_INT(r.body_len, 262144);
	CHECK(r.pattern_ok);
	o.range_last = UINT64_MAX; /* open-ended */
	fetch(&o, &r);
	CHECK_EQ_INT(r.body_len, 1000000 - 262144);
	CHECK(r.pattern_ok);
	o = (struct http_client_opts){ .url = url(false, "/wrongrange"), .range = true,
				       .range_first = 0, .range_last = 4 };
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_RANGE);
	o = (struct http_client_opts){ .url = url(true, "/bytes?n=1000"),
				       .method = HTTP_CLIENT_HEAD };
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_INT(r.body_len, 0);
	o = (struct http_client_opts){ .url = url(false, "/echo"), .method = HTTP_CLIENT_POST,
				       .body = "hello", .body_len = 5, .headers = hdrs,
				       .content_type = "text/x-fog" };
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_STR(r.text, "POST text/x-fog yes 5 hello");
}

TEST(redirects)
{
	struct result r = { 0 };
	char to[256], path[512];
	struct http_client_opts o = { .max_redirects = -1 }; /* -1: the default, 5 */

	/* http -> https (allowed), relative Location on the same server */
	snprintf(to, sizeof(to), "https://localhost:%u/bytes?n=10", https_port);
	snprintf(path, sizeof(path), "/redirect?code=301&to=%s", to);
	o.url = url(false, path);
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.heads, 1);
	CHECK_EQ_INT(r.body_len, 10);
	o.url = url(false, "/redirect?code=307&to=/bytes%3Fn%3D7");
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.body_len, 7);
	/* https -> http refused */
	snprintf(to, sizeof(to), "http://127.0.0.1:%u/bytes?n=10", http_port);
	snprintf(path, sizeof(path), "/redirect?to=%s", to);
	o.url = url(true, path);
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_REDIRECT);
	CHECK_EQ_INT(r.heads, 0);
	/* a loop stops at max_redirects */
	o.url = url(false, "/redirect?to=/redirect%3Fto%3D/bytes");
	o.max_redirects = 1;
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_REDIRECT);
	/* not followed at all: the 302 is the answer */
	o.max_redirects = 0;
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.status, 302);
}

TEST(limits_timeout_abort_errors)
{
	struct result r = { 0 };
	struct http_client_opts o = { .url = url(false, "/bytes?n=100000"),
				      .max_body_bytes = 99999 };
	struct loop *l;
	struct http_client *c;
	const char *bad_hdrs[] = { "Host: evil", NULL };
	const char *crlf_hdrs[] = { "X-A: b\r\nX-B: c", NULL };

	fetch(&o, &r); /* Content-Length over the limit: refused before the body */
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_BODY_TOO_LARGE);
	CHECK_EQ_INT(r.body_len, 0);
	o.url = url(false, "/chunked?n=100000");
	fetch(&o, &r); /* chunked: stops at the limit */
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_BODY_TOO_LARGE);
	CHECK(r.body_len <= 99999);
	o = (struct http_client_opts){ .url = url(false, "/slow"), .timeout_ms = 300 };
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_TIMEOUT);
	o = (struct http_client_opts){ .url = url(true, "/bytes?n=100000") };
	r.abort_after = 1;
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, HTTP_CLIENT_E_ABORTED);
	r.abort_after = 0;
	/* an untrusted server */
	{
		int err;
		struct tls_client_ctx *sys = tls_client_ctx_new(NULL, &err);
		o.tls = sys;
		fetch(&o, &r);
		CHECK_EQ_INT(r.err, TLS_CLIENT_E_VERIFY);
		CHECK_EQ_STR(http_client_strerror(r.err), "server certificate not trusted");
		tls_client_ctx_unref(sys);
	}
	o = (struct http_client_opts){ .url = "http://127.0.0.1:1/x" };
	fetch(&o, &r);
	CHECK_EQ_INT(r.err, TCP_CLIENT_E_REFUSED);
	l = loop_new();
	o.url = "ftp://x/";
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), HTTP_CLIENT_E_INVALID);
	o.url = "http://user@x/";
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), HTTP_CLIENT_E_INVALID);
	o.url = "http://x/";
	o.headers = bad_hdrs;
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), HTTP_CLIENT_E_INVALID);
	o.headers = crlf_hdrs;
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), HTTP_CLIENT_E_INVALID);
	o.headers = NULL;
	o.body_len = 3; /* a body on GET */
	o.body = "abc";
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), HTTP_CLIENT_E_INVALID);
	/* free before anything happened: no callback */
	o = (struct http_client_opts){ .url = url(false, "/bytes?n=10"), .tls = pinned };
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(http_client_request(&c, l, &o, &cb, &r), 0);
	http_client_free(c);
	for (int i = 0; i < 10; i++)
		loop_run_once(l, 5);
	CHECK(!r.done);
	loop_free(l);
}

/* Canned raw responses from a socket in this process: accept, then (on the loop, never
 * blocking: the client under test shares the thread) read the request, answer, close. */
struct canned {
	struct loop_fd lfd, conn;
	struct loop *loop;
	const char *text;
};

static void canned_on_request(struct loop_fd *conn, uint32_t ev)
{
	struct canned *k = container_of(conn, struct canned, conn);
	char buf[2048];

	if (read(conn->fd, buf, sizeof(buf)) <= 0 ||
	    write(conn->fd, k->text, strlen(k->text)) != (ssize_t)strlen(k->text))
		fprintf(stderr, "  canned server: short read or write\n");
	loop_fd_del(k->loop, conn);
	close(conn->fd);
	conn->fd = -1;
}

static void canned_on_accept(struct loop_fd *lfd, uint32_t ev)
{
	struct canned *k = container_of(lfd, struct canned, lfd);

	k->conn.fd = accept(lfd->fd, NULL, NULL);
	k->conn.cb = canned_on_request;
	loop_fd_del(k->loop, lfd);
	if (k->conn.fd >= 0)
		loop_fd_add(k->loop, &k->conn, EPOLLIN);
}

static int canned_fetch(const char *text, struct result *r)
{
	struct loop *l = loop_new();
	struct canned k = { .loop = l, .text = text, .conn.fd = -1 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char u[64];
	struct http_client_opts o = { .url = u };

	k.lfd.fd = socket(AF_INET, SOCK_STREAM, 0);
	k.lfd.cb = canned_on_accept;
	bind(k.lfd.fd, (struct sockaddr *)&sa, sizeof(sa));
	listen(k.lfd.fd, 1);
	getsockname(k.lfd.fd, (struct sockaddr *)&sa, &sl);
	loop_fd_add(l, &k.lfd, EPOLLIN);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
	memset(r, 0, sizeof(*r));
	r->pattern_ok = true;
	CHECK_EQ_INT(http_client_request(&r->c, l, &o, &cb, r), 0);
	net_test_run_until(l, &r->done, 5000);
	http_client_free(r->c);
	if (k.lfd.registered)
		loop_fd_del(l, &k.lfd);
	close(k.lfd.fd);
	if (k.conn.registered)
		loop_fd_del(l, &k.conn);
	if (k.conn.fd >= 0)
		close(k.conn.fd);
	loop_free(l);
	return r->err;
}

TEST(hostile_origins)
{
	struct result r = { 0 };

	CHECK_EQ_INT(canned_fetch("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &r),
		     HTTP_RESP_E_TRUNCATED);
	CHECK_EQ_INT(canned_fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "fffffffffffffffff\r\n",
				  &r),
		     HTTP_RESP_E_CHUNK);
	CHECK_EQ_INT(canned_fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5\r\nabc",
				  &r),
		     HTTP_RESP_E_TRUNCATED);
	CHECK_EQ_INT(canned_fetch("garbage\r\n\r\n", &r), HTTP_RESP_E_STATUS);
	CHECK_EQ_INT(canned_fetch("", &r), HTTP_RESP_E_TRUNCATED);
	CHECK_EQ_STR(http_client_strerror(HTTP_RESP_E_TRUNCATED),
		     "connection closed inside the response");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 64 MiB over loopback; prints MB/s (report figure; the assertion is on the bytes). */
TEST(throughput_64mib)
{
	struct result r = { 0 };
	struct http_client_opts o = { .url = url(false, "/bytes?n=67108864") };
	double t0 = now_s(), dt;

	fetch(&o, &r);
	dt = now_s() - t0;
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.body_len, 67108864);
	CHECK(r.pattern_ok);
	printf("  http_client 64 MiB over loopback: %.2f s, %.1f MB/s (with pattern check)\n", dt,
	       67108864 / dt / 1e6);
}

int main(void)
{
	int err;

	if (!net_test_dir_make(&dir)) {
		fprintf(stderr, "cannot make a test certificate with openssl\n");
		return 1;
	}
	{
		char *argv[] = { "node", "-e", (char *)origin_js, dir.cert, dir.key, NULL };
		https_port = net_test_spawn(&origin, argv, "PORTS");
		if (https_port &&
		    sscanf(origin.line, "PORTS %u:%u", &https_port, &http_port) != 2)
			https_port = 0;
	}
	if (!https_port) {
		fprintf(stderr, "node origin did not start\n");
		return 1;
	}
	pinned = tls_client_ctx_new(&(struct tls_client_ctx_opts){ .ca_file = dir.cert }, &err);
	RUN(get_content_length_chunked_close_over_tcp_and_tls);
	RUN(range_head_post);
	RUN(redirects);
	RUN(limits_timeout_abort_errors);
	RUN(hostile_origins);
	RUN(throughput_64mib);
	tls_client_ctx_unref(pinned);
	net_test_kill(&origin);
	net_test_dir_remove(&dir);
	return test_summary();
}

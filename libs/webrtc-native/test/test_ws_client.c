#include <time.h>

#include "net_test_support.h"
#include "test.h"
#include "ws_client.h"

/* Servers, in one node process: the npm `ws` package over http and https (the test
 * certificate), one path per behaviour, and a raw TCP server for hostile answers that
 * `ws` would never give.  Prints "PORTS wss ws raw". */
static const char *server_js =
	"const http = require('http'), https = require('https'), net = require('net'),\n"
	"  fs = require('fs'), crypto = require('crypto');\n"
	"const { WebSocketServer } = require(process.argv[3]);\n"
	"const wss = new WebSocketServer({ noServer: true, maxPayload: 8 << 20 });\n"
	"let lastClose = 'none';\n"
	"function onConn(ws, req) {\n"
	"  const u = new URL(req.url, 'http://x');\n"
	"  ws.on('close', (code, reason) => { lastClose = code + ' ' + reason; });\n"
	"  switch (u.pathname) {\n"
	"  case '/echo': ws.on('message', (d, bin) => ws.send(d, { binary: bin })); break;\n"
	"  case '/ping': ws.on('pong', (d) => ws.send('pong:' + d)); ws.ping('hi'); break;\n"
	"  case '/close': ws.close(4000, 'bye'); break;\n"
	"  case '/big': ws.send('a'.repeat(+u.searchParams.get('n'))); break;\n"
	"  case '/lastclose': ws.send(lastClose); break;\n"
	"  case '/frag': ws.on('pong', (d) => ws.send('pong:' + d));\n"
	"    ws.send('abc', { fin: false }); ws.ping('p'); ws.send('d\u00e9f', { fin: false });\n"
	"    ws.send('!', { fin: true }); break;\n"
	"  case '/stall': ws._socket.pause(); ws.send('stalled'); break;\n"
	"  case '/headers': ws.send(req.headers['sec-websocket-version'] + ' ' +\n"
	"    req.headers.host + ' ' + (req.headers['sec-websocket-protocol'] || '-')); break;\n"
	"  }\n"
	"}\n"
	"const upgrade = (req, sock, head) => wss.handleUpgrade(req, sock, head, (ws) => onConn(ws, req));\n"
	"const accept = (key) => crypto.createHash('sha1')\n"
	"  .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');\n"
	"const raw = net.createServer((s) => { let buf = '';\n"
	"  s.on('error', () => {});\n"
	"  s.on('data', (d) => { if (buf === null) return; buf += d.toString('latin1');\n"
	"    if (!buf.includes('\\r\\n\\r\\n')) return;\n"
	"    const path = buf.split(' ')[1], key = /Sec-WebSocket-Key: (.*)\\r/i.exec(buf)[1];\n"
	"    buf = null;\n"
	"    const ok = 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n' +\n"
	"      'Connection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept(key) + '\\r\\n\\r\\n';\n"
	"    const hs = Buffer.from(ok, 'latin1');\n"
	"    switch (path) {\n"
	"    case '/404': s.end('HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\n\\r\\n'); break;\n"
	"    case '/badaccept': s.write(ok.replace(accept(key), accept('x'))); break;\n"
	"    case '/noupgrade': s.write(ok.replace('Upgrade: websocket\\r\\n', '')); break;\n"
	"    case '/extension': s.write(ok.replace('\\r\\n\\r\\n', '\\r\\nSec-WebSocket-Extensions: permessage-deflate\\r\\n\\r\\n')); break;\n"
	"    case '/garbage': s.write(Buffer.concat([hs, Buffer.from([0x83, 0x00, 1, 2, 3])])); break;\n"
	"    case '/masked': s.write(Buffer.concat([hs, Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61])])); break;\n"
	"    case '/badutf8': s.write(Buffer.concat([hs, Buffer.from([0x81, 0x02, 0xc3, 0x28])])); break;\n"
	"    case '/drop': s.write(Buffer.concat([hs, Buffer.from([0x81, 0x02, 0x68, 0x69])]));\n"
	"      setTimeout(() => s.destroy(), 50); break;\n"
	"    case '/idle': s.write(hs); break; /* then never a byte */\n"
	"    case '/silent': break;\n"
	"    }\n"
	"  });\n"
	"});\n"
	"const a = http.createServer().on('upgrade', upgrade).listen(0, '127.0.0.1', () => {\n"
	"  const b = https.createServer({ cert: fs.readFileSync(process.argv[1]),\n"
	"    key: fs.readFileSync(process.argv[2]) }).on('upgrade', upgrade).listen(0, '127.0.0.1', () => {\n"
	"    raw.listen(0, '127.0.0.1', () => console.log('PORTS ' + b.address().port + ' ' +\n"
	"      a.address().port + ' ' + raw.address().port)); }); });\n";

static struct net_test_dir dir;
static struct net_test_proc server;
static unsigned ws_port, wss_port, raw_port;
static struct tls_client_ctx *pinned;

struct session {
	struct ws_client *c;
	bool opened, closed;
	int err;
	unsigned code;
	char reason[128];
	int n_msgs;
	bool last_text;
	size_t last_len;
	char last[256];
	uint8_t *big; /* a copy of the last message when it is long */
	/* behaviour */
	const char *send_on_open;
	bool close_on_open;
	bool free_on_message;
};

static void on_open(void *user)
{
	struct session *s = user;

	s->opened = true;
	if (s->send_on_open)
		CHECK_EQ_INT(ws_client_send(s->c, true, s->send_on_open, strlen(s->send_on_open)), 0);
	if (s->close_on_open)
		CHECK_EQ_INT(ws_client_close(s->c, 1000, "done"), 0);
}

static void on_message(void *user, bool text, const uint8_t *data, size_t len)
{
	struct session *s = user;

	s->n_msgs++;
	s->last_text = text;
	s->last_len = len;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)(len < 255 ? len : 255), (const char *)data);
	free(s->big);
	s->big = malloc(len ? len : 1);
	memcpy(s->big, data, len);
	if (s->free_on_message) {
		ws_client_free(s->c);
		s->c = NULL;
		s->closed = true;
	}
}

static void on_close(void *user, int err, unsigned code, const char *reason)
{
	struct session *s = user;

	CHECK(!s->closed);
	s->closed = true;
	s->err = err;
	s->code = code;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

static const struct ws_client_cb cb = { on_open, on_message, on_close };

static char url_buf[256];

static const char *url(int kind, const char *path)
{
	/* 0: ws, 1: wss, 2: raw */
	snprintf(url_buf, sizeof(url_buf), "%s://%s:%u%s", kind == 1 ? "wss" : "ws",
		 kind == 1 ? "localhost" : "127.0.0.1",
		 kind == 0 ? ws_port : kind == 1 ? wss_port : raw_port, path);
	return url_buf;
}

static struct loop *loop;

static void open_session(struct session *s, struct ws_client_opts *o)
{
	if (!o->tls)
		o->tls = pinned;
	CHECK_EQ_INT(ws_client_connect(&s->c, loop, o, &cb, s), 0);
	CHECK(!s->opened);
}

static void run_until(const bool *flag, int ms)
{
	net_test_run_until(loop, flag, ms);
}

static void end_session(struct session *s)
{
	ws_client_free(s->c);
	free(s->big);
	memset(s, 0, sizeof(*s));
}

TEST(echo_text_and_binary_over_ws_and_wss)
{
	for (int kind = 0; kind < 2; kind++) {
		struct session s = { .send_on_open = "hello é" };
		struct ws_client_opts o = { .url = url(kind, "/echo") };
		static const uint8_t bin[] = { 0, 1, 2, 255 };
		int n;

		open_session(&s, &o);
		run_until(&s.opened, 5000);
		CHECK(s.opened);
		CHECK_EQ_INT(ws_client_state(s.c), WS_CLIENT_OPEN);
		n = s.n_msgs;
		while (s.n_msgs == n && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(s.last, "hello é");
		CHECK(s.last_text);
		CHECK_EQ_INT(ws_client_send(s.c, false, bin, sizeof(bin)), 0);
		n = s.n_msgs;
		while (s.n_msgs == n && !s.closed)
			loop_run_once(loop, 10);
		CHECK(!s.last_text);
		CHECK_EQ_INT(s.last_len, 4);
		CHECK_MEM(s.big, bin, 4);
		/* 200 messages queued at once arrive in order */
		n = s.n_msgs;
		for (int i = 0; i < 200; i++) {
			char m[16];
			snprintf(m, sizeof(m), "m%d", i);
			CHECK_EQ_INT(ws_client_send(s.c, true, m, strlen(m)), 0);
		}
		while (s.n_msgs < n + 200 && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(s.last, "m199");
		CHECK_EQ_INT(ws_client_send(s.c, true, "\xff", 1), WS_CLIENT_E_INVALID);
		/* client-initiated close handshake: on_close after the server's close */
		CHECK_EQ_INT(ws_client_close(s.c, 1000, "done"), 0);
		CHECK_EQ_INT(ws_client_send(s.c, true, "x", 1), WS_CLIENT_E_STATE);
		run_until(&s.closed, 5000);
		CHECK(s.closed);
		CHECK_EQ_INT(s.err, 0);
		CHECK_EQ_INT(s.code, 1000);
		end_session(&s);
	}
	{ /* the server saw our close code and reason */
		struct session s = { 0 };
		struct ws_client_opts o = { .url = url(0, "/lastclose") };
		open_session(&s, &o);
		while (!s.n_msgs && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(s.last, "1000 done");
		end_session(&s);
	}
	{ /* the request head the server saw */
		struct session s = { 0 };
		struct ws_client_opts o = { .url = url(0, "/headers"), .protocol = "pear-fog.v1" };
		open_session(&s, &o);
		while (!s.n_msgs && !s.closed)
			loop_run_once(loop, 10);
		/* ws refuses a subprotocol it does not pick?  It answers without one: fine */
		snprintf(url_buf, sizeof(url_buf), "13 127.0.0.1:%u pear-fog.v1", ws_port);
		CHECK_EQ_STR(s.last, url_buf);
		end_session(&s);
	}
}

TEST(ping_pong_and_server_close)
{
	struct session s = { 0 };
	struct ws_client_opts o = { .url = url(0, "/ping") };

	open_session(&s, &o);
	while (!s.n_msgs && !s.closed)
		loop_run_once(loop, 10);
	CHECK_EQ_STR(s.last, "pong:hi");
	end_session(&s);

	{ /* a message in three fragments with a ping between them (§5.4) */
		struct session f = { 0 };
		struct ws_client_opts p = { .url = url(1, "/frag") };
		open_session(&f, &p);
		while (f.n_msgs < 1 && !f.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(f.last, "abcd\xc3\xa9" "f!");
		while (f.n_msgs < 2 && !f.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_INT(f.n_msgs, 2);
		CHECK_EQ_STR(f.last, "pong:p");
		end_session(&f);
	}
	/* server closes first: we echo its code; on_close(0, 4000, "bye") */
	for (int kind = 0; kind < 2; kind++) {
		struct session t = { 0 };
		struct ws_client_opts p = { .url = url(kind, "/close") };
		open_session(&t, &p);
		run_until(&t.closed, 5000);
		CHECK(t.opened);
		CHECK_EQ_INT(t.err, 0);
		CHECK_EQ_INT(t.code, 4000);
		CHECK_EQ_STR(t.reason, "bye");
		end_session(&t);
		t.close_on_open = false;
	}
	{
		struct session t = { 0 };
		struct ws_client_opts p = { .url = url(0, "/lastclose") };
		open_session(&t, &p);
		while (!t.n_msgs && !t.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(t.last, "4000 "); /* we echoed its code (§5.5.1), not the reason */
		end_session(&t);
	}
}

TEST(big_messages_and_cap)
{
	size_t sizes[] = { 125, 126, 65535, 65536, 900000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct session s = { 0 };
		char path[64];
		struct ws_client_opts o = { .url = NULL };

		snprintf(path, sizeof(path), "/big?n=%zu", sizes[i]);
		o.url = url(i % 2, path);
		open_session(&s, &o);
		while (!s.n_msgs && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_INT(s.last_len, sizes[i]);
		CHECK(s.big && s.big[0] == 'a' && s.big[sizes[i] - 1] == 'a');
		end_session(&s);
	}
	{ /* over max_message: failed with 1009, which the server receives */
		struct session s = { 0 };
		struct ws_client_opts o = { .url = url(0, "/big?n=70000"), .max_message = 65536 };
		open_session(&s, &o);
		run_until(&s.closed, 5000);
		CHECK_EQ_INT(s.n_msgs, 0);
		CHECK_EQ_INT(s.err, WS_FRAME_E_TOO_BIG);
		CHECK_EQ_INT(s.code, 1009);
		end_session(&s);
		o.url = url(0, "/lastclose");
		o.max_message = 0;
		open_session(&s, &o);
		while (!s.n_msgs && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_STR(s.last, "1009 ");
		end_session(&s);
	}
	{ /* 4 MiB echo both ways (server maxPayload 8 MiB; ours raised to 5 MiB) */
		struct session s = { 0 };
		struct ws_client_opts o = { .url = url(1, "/echo"),
					    .max_message = 5u << 20,
					    .max_queued = 5u << 20 };
		size_t n = 4u << 20;
		uint8_t *m = malloc(n);
		for (size_t i = 0; i < n; i++)
			m[i] = (uint8_t)(i % 251);
		open_session(&s, &o);
		run_until(&s.opened, 5000);
		CHECK_EQ_INT(ws_client_send(s.c, false, m, n), 0);
		while (!s.n_msgs && !s.closed)
			loop_run_once(loop, 10);
		CHECK_EQ_INT(s.last_len, n);
		CHECK(s.big && memcmp(s.big, m, n) == 0);
		free(m);
		end_session(&s);
	}
}

/* A server that stops reading: sends fail with QUEUE_FULL once max_queued bytes wait;
 * the queue never grows past it. */
TEST(bounded_output_queue)
{
	struct session s = { 0 };
	struct ws_client_opts o = { .url = url(0, "/stall"),
				    .max_queued = 256 << 10,
				    .close_timeout_ms = 300 };
	static uint8_t chunk[64 << 10];
	int rc = 0, sent = 0;

	open_session(&s, &o);
	while (!s.n_msgs && !s.closed)
		loop_run_once(loop, 10);
	CHECK_EQ_STR(s.last, "stalled");
	for (int i = 0; i < 4000 && rc == 0; i++) {
		rc = ws_client_send(s.c, false, chunk, sizeof(chunk));
		if (rc == 0)
			sent++;
		CHECK(ws_client_buffered(s.c) <= (256 << 10) + 64);
		loop_run_once(loop, 0);
	}
	CHECK_EQ_INT(rc, WS_CLIENT_E_QUEUE_FULL);
	printf("  queue full after %d x 64 KiB (kernel buffers took the rest)\n", sent);
	CHECK_EQ_INT(ws_client_state(s.c), WS_CLIENT_OPEN);
	/* the close frame still fits behind a full queue; the stalled server never answers:
	 * on_close after close_timeout_ms */
	CHECK_EQ_INT(ws_client_close(s.c, 1000, "bye"), 0);
	CHECK_EQ_INT(ws_client_state(s.c), WS_CLIENT_CLOSING);
	run_until(&s.closed, 5000);
	CHECK_EQ_INT(s.err, WS_CLIENT_E_TIMEOUT);
	CHECK_EQ_INT(s.code, 1006);
	end_session(&s);
}

TEST(hostile_servers)
{
	static const struct {
		const char *path;
		int err;
		unsigned code;
		int msgs;
	} cases[] = {
		{ "/404", WS_CLIENT_E_HANDSHAKE, 1006, 0 },
		{ "/badaccept", WS_CLIENT_E_ACCEPT, 1006, 0 },
		{ "/noupgrade", WS_CLIENT_E_HANDSHAKE, 1006, 0 },
		{ "/extension", WS_CLIENT_E_HANDSHAKE, 1006, 0 },
		{ "/garbage", WS_FRAME_E_OPCODE, 1002, 0 },
		{ "/masked", WS_FRAME_E_MASKED, 1002, 0 },
		{ "/badutf8", WS_FRAME_E_UTF8, 1007, 0 },
		{ "/drop", WS_CLIENT_E_DROPPED, 1006, 1 },
		{ "/silent", WS_CLIENT_E_TIMEOUT, 1006, 0 },
		{ "/idle", WS_CLIENT_E_IDLE, 1001, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct session s = { 0 };
		struct ws_client_opts o = { .url = url(2, cases[i].path),
					    .handshake_timeout_ms = 500,
					    .idle_timeout_ms = 400,
					    .close_timeout_ms = 300 };
		open_session(&s, &o);
		run_until(&s.closed, 5000);
		if (s.err != cases[i].err)
			fprintf(stderr, "  %s: %d %s (%s)\n", cases[i].path, s.err,
				ws_client_strerror(s.err), ws_client_error_detail(s.c));
		CHECK(s.closed);
		CHECK_EQ_INT(s.err, cases[i].err);
		CHECK_EQ_INT(s.code, cases[i].code);
		CHECK_EQ_INT(s.n_msgs, cases[i].msgs);
		if (cases[i].err == WS_CLIENT_E_HANDSHAKE && !strcmp(cases[i].path, "/404"))
			CHECK_EQ_STR(ws_client_error_detail(s.c), "HTTP 404 Not Found");
		end_session(&s);
	}
	{ /* nobody listening; wss to a plain server; a pinned CA that does not match */
		struct session s = { 0 };
		struct ws_client_opts o = { .url = "ws://127.0.0.1:9/x" };
		open_session(&s, &o);
		run_until(&s.closed, 5000);
		CHECK(s.err < 0 && !s.opened);
		end_session(&s);
		snprintf(url_buf, sizeof(url_buf), "wss://127.0.0.1:%u/echo", ws_port);
		o.url = url_buf;
		o.handshake_timeout_ms = 1000;
		open_session(&s, &o);
		run_until(&s.closed, 5000);
		CHECK(s.err < 0 && !s.opened);
		end_session(&s);
	}
	{ /* bad arguments */
		struct ws_client *c;
		struct session s = { 0 };
		struct ws_client_opts o = { .url = "http://127.0.0.1/" };
		CHECK_EQ_INT(ws_client_connect(&c, loop, &o, &cb, &s), WS_CLIENT_E_INVALID);
		o.url = "ws://127.0.0.1/";
		o.protocol = "a b";
		CHECK_EQ_INT(ws_client_connect(&c, loop, &o, &cb, &s), WS_CLIENT_E_INVALID);
		CHECK(c == NULL);
	}
}

/* Callbacks that free or close: no further callback, nothing leaks (ASan). */
TEST(free_and_close_from_callbacks)
{
	struct session s = { .send_on_open = "x", .free_on_message = true };
	struct ws_client_opts o = { .url = url(0, "/echo") };

	open_session(&s, &o);
	run_until(&s.closed, 5000);
	CHECK_EQ_INT(s.n_msgs, 1);
	CHECK(s.c == NULL);
	end_session(&s);
	{ /* close inside on_open */
		struct session t = { .close_on_open = true };
		open_session(&t, &o);
		run_until(&t.closed, 5000);
		CHECK_EQ_INT(t.err, 0);
		CHECK_EQ_INT(t.code, 1000);
		end_session(&t);
	}
	{ /* close before the handshake completes: on_close(DROPPED) on a later turn */
		struct session t = { 0 };
		open_session(&t, &o);
		CHECK_EQ_INT(ws_client_close(t.c, 1000, NULL), 0);
		CHECK(!t.closed);
		run_until(&t.closed, 5000);
		CHECK_EQ_INT(t.err, WS_CLIENT_E_DROPPED);
		CHECK(!t.opened);
		end_session(&t);
	}
	{ /* free right after connect */
		struct session t = { 0 };
		open_session(&t, &o);
		ws_client_free(t.c);
		t.c = NULL;
		for (int i = 0; i < 10; i++)
			loop_run_once(loop, 5);
		CHECK(!t.closed && !t.opened);
		end_session(&t);
	}
}

TEST(accept_key)
{
	char out[32];

	/* RFC 6455 §1.3's example */
	CHECK_EQ_INT(ws_client_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
	int err;
	char *argv[7];

	if (!net_test_dir_make(&dir)) {
		fprintf(stderr, "cannot make a test certificate with openssl\n");
		return 1;
	}
	if (!net_test_ws_module()) {
		fprintf(stderr, "no node_modules/ws (npm ci)\n");
		net_test_dir_remove(&dir);
		return 1;
	}
	argv[0] = "node";
	argv[1] = "-e";
	argv[2] = (char *)server_js;
	argv[3] = dir.cert;
	argv[4] = dir.key;
	argv[5] = (char *)net_test_ws_module();
	argv[6] = NULL;
	net_test_spawn(&server, argv, "PORTS"); /* the line has no ':'; ports parsed here */
	if (sscanf(server.line, "PORTS %u %u %u", &wss_port, &ws_port, &raw_port) != 3) {
		fprintf(stderr, "ws server did not start\n");
		net_test_kill(&server);
		net_test_dir_remove(&dir);
		return 1;
	}
	pinned = tls_client_ctx_new(&(struct tls_client_ctx_opts){ .ca_file = dir.cert }, &err);
	loop = loop_new();
	RUN(accept_key);
	RUN(echo_text_and_binary_over_ws_and_wss);
	RUN(ping_pong_and_server_close);
	RUN(big_messages_and_cap);
	RUN(bounded_output_queue);
	RUN(hostile_servers);
	RUN(free_and_close_from_callbacks);
	loop_free(loop);
	tls_client_ctx_unref(pinned);
	net_test_kill(&server);
	net_test_dir_remove(&dir);
	return test_summary();
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "net_test_support.h"
#include "test.h"
#include "tls_client.h"

struct state {
	struct tls_client *c;
	bool connected, done;
	int err;	/* on_error, or the read result that ended the exchange */
	char got[16384];
	size_t got_len;
	const char *request;
};

static void on_connect(void *user)
{
	struct state *s = user;
	size_t len = strlen(s->request);

	s->connected = true;
	CHECK_EQ_INT(tls_client_write(s->c, s->request, len), len);
}

static void on_event(void *user, uint32_t ev)
{
	struct state *s = user;

	for (;;) {
		ssize_t r = tls_client_read(s->c, s->got + s->got_len,
					    sizeof(s->got) - 1 - s->got_len);
		if (r == TLS_CLIENT_E_AGAIN)
			return;
		if (r <= 0) {
			s->done = true;
			s->err = (int)r;
			tls_client_set_events(s->c, 0);
			return;
		}
		s->got_len += (size_t)r;
		s->got[s->got_len] = 0;
	}
}

static void on_error(void *user, int err)
{
	struct state *s = user;

	s->done = true;
	s->err = err;
}

static const struct tls_client_cb cb = { on_connect, on_event, on_error };

static struct net_test_dir dir;
static struct net_test_proc srv;
static unsigned srv_port;

static void run(struct tls_client_ctx *ctx, const char *host, const struct dns_lookup_opts *dns,
		uint16_t port, uint32_t timeout_ms, struct state *s)
{
	struct loop *l = loop_new();
	struct tls_client_opts o = { .host = host, .port = port, .ctx = ctx, .dns = dns,
				     .connect_timeout_ms = timeout_ms };

	memset(s, 0, sizeof(*s));
	s->request = "GET / HTTP/1.0\r\n\r\n";
	CHECK_EQ_INT(tls_client_open(&s->c, l, &o, &cb, s), 0);
	CHECK(!s->connected);
	net_test_run_until(l, &s->done, 5000);
	CHECK(s->done);
	tls_client_free(s->c);
	loop_free(l);
}

TEST(pinned_ca_by_name_and_by_ip)
{
	int err;
	struct tls_client_ctx *ctx = tls_client_ctx_new(
		&(struct tls_client_ctx_opts){ .ca_file = dir.cert }, &err);
	struct state s;

	CHECK(ctx != NULL);
	run(ctx, "localhost", NULL, (uint16_t)srv_port, 0, &s);
	CHECK(s.connected);
	/* s_server -www answers and closes; either close_notify (0) or a bare close */
	CHECK(s.err == 0 || s.err == TLS_CLIENT_E_TRUNCATED);
	CHECK(strncmp(s.got, "HTTP/1.0 200 ok", 15) == 0);
	CHECK(strstr(s.got, "TLSv1.3") != NULL); /* the page names the negotiated version */

	run(ctx, "127.0.0.1", NULL, (uint16_t)srv_port, 0, &s);
	CHECK(s.connected);
	CHECK(strncmp(s.got, "HTTP/1.0 200 ok", 15) == 0);
	tls_client_ctx_unref(ctx);
}

TEST(verification_failures)
{
	int err;
	struct tls_client_ctx *sys = tls_client_ctx_new(NULL, &err);
	struct tls_client_ctx *pinned = tls_client_ctx_new(
		&(struct tls_client_ctx_opts){ .ca_file = dir.cert }, &err);
	struct tls_client_ctx *insecure = tls_client_ctx_new(
		&(struct tls_client_ctx_opts){ .insecure_skip_verify = true }, &err);
	const char *hosts = "/tmp/pearfog-test-tls-hosts";
	FILE *f = fopen(hosts, "w");
	struct dns_lookup_opts dns = { .hosts = hosts };
	struct state s;

	CHECK(sys && pinned && insecure);
	fputs("127.0.0.1 other.fog.test\n", f);
	fclose(f);
	/* a self-signed certificate is not in the system store */
	run(sys, "localhost", NULL, (uint16_t)srv_port, 0, &s);
	CHECK(!s.connected);
	CHECK_EQ_INT(s.err, TLS_CLIENT_E_VERIFY);
	/* trusted CA, but the certificate is not for this name (RFC 6125 §6) */
	run(pinned, "other.fog.test", &dns, (uint16_t)srv_port, 0, &s);
	CHECK(!s.connected);
	CHECK_EQ_INT(s.err, TLS_CLIENT_E_VERIFY);
	CHECK_EQ_STR(tls_client_strerror(s.err), "server certificate not trusted");
	/* the test-only flag accepts it */
	run(insecure, "other.fog.test", &dns, (uint16_t)srv_port, 0, &s);
	CHECK(s.connected);
	CHECK(strncmp(s.got, "HTTP/1.0 200 ok", 15) == 0);
	unlink(hosts);
	tls_client_ctx_unref(sys);
	tls_client_ctx_unref(pinned);
	tls_client_ctx_unref(insecure);

	CHECK(tls_client_ctx_new(&(struct tls_client_ctx_opts){ .ca_file = "/nonexistent" },
				 &err) == NULL);
	CHECK_EQ_INT(err, TLS_CLIENT_E_CA);
}

/* A TCP server that accepts and then either says nothing or talks plain HTTP. */
static int plain_listener(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	listen(fd, 4);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	return fd;
}

struct plain_peer {
	struct loop_fd lfd;
	struct loop *loop;
	int conn;
	bool talk;
};

static void plain_on_accept(struct loop_fd *lfd, uint32_t ev)
{
	struct plain_peer *p = container_of(lfd, struct plain_peer, lfd);
	const char *junk = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

	p->conn = accept(lfd->fd, NULL, NULL);
	if (p->talk && write(p->conn, junk, strlen(junk)) < 0)
		p->talk = false;
	loop_fd_del(p->loop, lfd);
}

static void plain_case(bool talk, uint32_t timeout_ms, struct state *s)
{
	struct loop *l = loop_new();
	int err;
	struct tls_client_ctx *ctx = tls_client_ctx_new(
		&(struct tls_client_ctx_opts){ .ca_file = dir.cert }, &err);
	struct plain_peer p = { .loop = l, .conn = -1, .talk = talk };
	uint16_t port;
	struct tls_client_opts o = { .host = "127.0.0.1", .ctx = ctx,
				     .connect_timeout_ms = timeout_ms };

	p.lfd.fd = plain_listener(&port);
	p.lfd.cb = plain_on_accept;
	loop_fd_add(l, &p.lfd, EPOLLIN);
	o.port = port;
	memset(s, 0, sizeof(*s));
	s->request = "";
	CHECK_EQ_INT(tls_client_open(&s->c, l, &o, &cb, s), 0);
	net_test_run_until(l, &s->done, 3000);
	tls_client_free(s->c);
	tls_client_ctx_unref(ctx);
	if (p.lfd.registered)
		loop_fd_del(l, &p.lfd);
	close(p.lfd.fd);
	if (p.conn >= 0)
		close(p.conn);
	loop_free(l);
}

TEST(handshake_timeout_and_garbage)
{
	struct state s;

	plain_case(false, 200, &s);
	CHECK(!s.connected);
	CHECK(s.err == TLS_CLIENT_E_TIMEOUT || s.err == TCP_CLIENT_E_TIMEOUT);
	plain_case(true, 3000, &s);
	CHECK(!s.connected);
	CHECK_EQ_INT(s.err, TLS_CLIENT_E_HANDSHAKE);
}

int main(void)
{
	char port_arg[32];

	if (!net_test_dir_make(&dir)) {
		fprintf(stderr, "cannot make a test certificate with openssl\n");
		return 1;
	}
	{
		char *argv[] = { "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", dir.cert,
				 "-key", dir.key, "-www", NULL };
		srv_port = net_test_spawn(&srv, argv, "ACCEPT");
	}
	(void)port_arg;
	if (!srv_port) {
		fprintf(stderr, "openssl s_server did not start\n");
		return 1;
	}
	RUN(pinned_ca_by_name_and_by_ip);
	RUN(verification_failures);
	RUN(handshake_timeout_and_garbage);
	net_test_kill(&srv);
	net_test_dir_remove(&dir);
	return test_summary();
}

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byteorder.h"
#include "tcp_client.h"
#include "test.h"

struct state {
	struct tcp_client *c;
	bool connected, failed, eof;
	int err;
	char got[64];
	size_t got_len;
};

static void on_connect(void *user)
{
	struct state *s = user;
	s->connected = true;
	CHECK_EQ_INT(tcp_client_write(s->c, "ping", 4), 4);
}

static void on_event(void *user, uint32_t ev)
{
	struct state *s = user;
	for (;;) {
		ssize_t r = tcp_client_read(s->c, s->got + s->got_len, sizeof(s->got) - s->got_len);
		if (r == TCP_CLIENT_E_AGAIN)
			return;
		if (r <= 0) {
			s->eof = true;
			tcp_client_set_events(s->c, 0);
			return;
		}
		s->got_len += (size_t)r;
	}
}

static void on_error(void *user, int err)
{
	struct state *s = user;
	s->failed = true;
	s->err = err;
}

static const struct tcp_client_cb cb = { on_connect, on_event, on_error };

/* A listening socket; the test accepts, echoes "pong" and closes. */
static int listen_on(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 4) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void run_until(struct loop *l, const bool *flag, int ms)
{
	uint64_t end = loop_update_time(l) + (uint64_t)ms;
	while (!*flag && loop_now_ms(l) < end)
		loop_run_once(l, 10);
}

static void exchange(int family, const char *host, const struct dns_lookup_opts *dns, int lfd,
		     uint16_t port)
{
	struct loop *l = loop_new();
	struct state s = { 0 };
	struct tcp_client_opts o = { .host = host, .port = port, .dns = dns };
	int afd;
	char buf[8];

	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), 0);
	CHECK(!s.connected); /* never from inside open */
	CHECK_EQ_INT(tcp_client_read(s.c, buf, sizeof(buf)), TCP_CLIENT_E_NOT_CONNECTED);
	run_until(l, &s.connected, 3000);
	CHECK(s.connected);
	CHECK(tcp_client_fd(s.c) >= 0);
	afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0);
	CHECK_EQ_INT(read(afd, buf, 4), 4);
	CHECK_MEM(buf, "ping", 4);
	CHECK_EQ_INT(write(afd, "pong", 4), 4);
	close(afd);
	run_until(l, &s.eof, 3000);
	CHECK(s.eof);
	CHECK_EQ_INT(s.got_len, 4);
	CHECK_MEM(s.got, "pong", 4);
	CHECK(!s.failed);
	tcp_client_free(s.c);
	loop_free(l);
	(void)family;
}

TEST(connect_ipv4_and_ipv6)
{
	uint16_t port;
	int lfd = listen_on(AF_INET, &port);

	CHECK(lfd >= 0);
	exchange(AF_INET, "127.0.0.1", NULL, lfd, port);
	close(lfd);
	lfd = listen_on(AF_INET6, &port);
	if (lfd < 0) {
		printf("  (no IPv6 loopback here: skipped the ::1 part)\n");
		return;
	}
	exchange(AF_INET6, "[::1]", NULL, lfd, port);
	exchange(AF_INET6, "::1", NULL, lfd, port);
	close(lfd);
}

TEST(connect_by_name_from_hosts_file)
{
	uint16_t port;
	int lfd = listen_on(AF_INET, &port);
	const char *hosts = "/tmp/pearfog-test-tcp-hosts";
	FILE *f = fopen(hosts, "w");
	struct dns_lookup_opts dns = { .hosts = hosts, .resolv_conf = "/nonexistent" };

	fputs("127.0.0.1 origin.fog.test\n", f);
	fclose(f);
	exchange(AF_INET, "origin.fog.test", &dns, lfd, port);
	close(lfd);
	unlink(hosts);
}

TEST(refused_unresolvable_timeout_invalid)
{
	struct loop *l = loop_new();
	struct state s = { 0 };
	uint16_t port;
	int lfd = listen_on(AF_INET, &port);
	struct tcp_client_opts o = { .host = "127.0.0.1", .port = port };
	struct dns_lookup_opts dns = { .hosts = "", .resolv_conf = "/nonexistent" };
	int ufd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	close(lfd); /* nothing listens there now */
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), 0);
	run_until(l, &s.failed, 3000);
	CHECK_EQ_INT(s.err, TCP_CLIENT_E_REFUSED);
	CHECK(!s.connected);
	tcp_client_free(s.c);

	/* no nameserver at all */
	memset(&s, 0, sizeof(s));
	o.host = "nowhere.fog.test";
	o.dns = &dns;
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), 0);
	run_until(l, &s.failed, 3000);
	CHECK_EQ_INT(s.err, DNS_E_NO_SERVERS);
	CHECK_EQ_STR(tcp_client_strerror(s.err), "no nameserver configured");
	tcp_client_free(s.c);

	/* a nameserver that never answers: the connect timeout covers the lookup */
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	bind(ufd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(ufd, (struct sockaddr *)&sa, &sl);
	{
		FILE *f = fopen("/tmp/pearfog-test-tcp-resolv", "w");
		fputs("nameserver 127.0.0.1\n", f);
		fclose(f);
	}
	dns.resolv_conf = "/tmp/pearfog-test-tcp-resolv";
	dns.server_port = ntohs(sa.sin_port);
	memset(&s, 0, sizeof(s));
	o.connect_timeout_ms = 200;
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), 0);
	run_until(l, &s.failed, 3000);
	CHECK_EQ_INT(s.err, TCP_CLIENT_E_TIMEOUT);
	tcp_client_free(s.c);
	close(ufd);
	unlink("/tmp/pearfog-test-tcp-resolv");

	/* free while connecting: no callback afterwards */
	memset(&s, 0, sizeof(s));
	o.host = "127.0.0.1";
	o.dns = NULL;
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), 0);
	tcp_client_free(s.c);
	for (int i = 0; i < 5; i++)
		loop_run_once(l, 5);
	CHECK(!s.failed && !s.connected);

	o.port = 0;
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), TCP_CLIENT_E_INVALID);
	o.port = 1;
	o.host = "";
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), TCP_CLIENT_E_INVALID);
	o.host = "127.0.0.1";
	o.family = AF_INET6;
	CHECK_EQ_INT(tcp_client_open(&s.c, l, &o, &cb, &s), TCP_CLIENT_E_INVALID);
	loop_free(l);
}

int main(void)
{
	RUN(connect_ipv4_and_ipv6);
	RUN(connect_by_name_from_hosts_file);
	RUN(refused_unresolvable_timeout_invalid);
	return test_summary();
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byteorder.h"
#include "dns_client.h"
#include "test.h"

/* A query for example.com A, id 0x1234, RD set (RFC 1035 §4.1). */
static const uint8_t query_example[] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
					 0x00, 0x00, 0x00, 7,	 'e',  'x',  'a',  'm',	 'p',
					 'l',  'e',  3,	   'c',	 'o',  'm',  0,	   0x00, 0x01, 0x00,
					 0x01 };

TEST(query_build_matches_rfc1035_layout)
{
	uint8_t buf[DNS_MAX_MSG];
	int n = dns_query_build(buf, sizeof(buf), 0x1234, "example.com.", DNS_TYPE_A);

	CHECK_EQ_INT(n, sizeof(query_example));
	CHECK_MEM(buf, query_example, sizeof(query_example));
	CHECK_EQ_INT(dns_query_build(buf, 20, 1, "example.com", DNS_TYPE_A), DNS_E_BUFFER);
	CHECK_EQ_INT(dns_query_build(buf, sizeof(buf), 1, "a..b", DNS_TYPE_A), DNS_E_NAME);
	CHECK_EQ_INT(dns_query_build(buf, sizeof(buf), 1, "", DNS_TYPE_A), DNS_E_NAME);
	CHECK_EQ_INT(dns_query_build(buf, sizeof(buf), 1, "a b", DNS_TYPE_A), DNS_E_NAME);
	{
		char label[70];
		memset(label, 'a', 64);
		label[64] = 0;
		CHECK_EQ_INT(dns_query_build(buf, sizeof(buf), 1, label, DNS_TYPE_A), DNS_E_NAME);
	}
}

/* Builds an answer: the question copied from a query, then records. */
struct msg {
	uint8_t b[DNS_MAX_MSG];
	size_t len;
};

static void msg_answer_start(struct msg *m, const char *name, uint16_t id, uint16_t qtype,
			     uint16_t rcode, uint16_t ancount)
{
	m->len = (size_t)dns_query_build(m->b, sizeof(m->b), id, name, qtype);
	wr16(m->b + 2, (uint16_t)(0x8180 | rcode));
	wr16(m->b + 6, ancount);
}

static void msg_rr(struct msg *m, const uint8_t *owner, size_t olen, uint16_t type,
		   const uint8_t *rdata, uint16_t rdlen)
{
	memcpy(m->b + m->len, owner, olen);
	m->len += olen;
	wr16(m->b + m->len, type);
	wr16(m->b + m->len + 2, 1);
	wr32(m->b + m->len + 4, 60);
	wr16(m->b + m->len + 8, rdlen);
	m->len += 10;
	memcpy(m->b + m->len, rdata, rdlen);
	m->len += rdlen;
}

static const uint8_t ptr_qname[] = { 0xc0, 12 }; /* compression pointer to the question */

TEST(response_a_and_cname_chain)
{
	struct msg m;
	struct dns_addr out[DNS_MAX_ADDRS];
	size_t n = 0;
	const uint8_t a1[] = { 192, 0, 2, 1 }, a2[] = { 192, 0, 2, 2 };
	/* www.example.com CNAME cdn.example.net ; cdn.example.net A 192.0.2.1, 192.0.2.2 ;
	 * plus an unrelated A that must be ignored */
	const uint8_t cname[] = { 3, 'c', 'd', 'n', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				  3, 'n', 'e', 't', 0 };
	const uint8_t other[] = { 5, 'e', 'v', 'i', 'l', 'x', 0 };
	size_t cname_off;

	msg_answer_start(&m, "www.example.com", 7, DNS_TYPE_A, 0, 4);
	cname_off = m.len + 12; /* rdata position of the CNAME record */
	msg_rr(&m, ptr_qname, 2, DNS_TYPE_CNAME, cname, sizeof(cname));
	msg_rr(&m, other, sizeof(other), DNS_TYPE_A, (const uint8_t[]){ 6, 6, 6, 6 }, 4);
	{
		uint8_t p[2] = { 0xc0, (uint8_t)cname_off };
		msg_rr(&m, p, 2, DNS_TYPE_A, a1, 4);
		msg_rr(&m, p, 2, DNS_TYPE_A, a2, 4);
	}
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 7, "WWW.example.com.", DNS_TYPE_A, out,
					DNS_MAX_ADDRS, &n),
		     0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(out[0].family, AF_INET);
	CHECK_MEM(out[0].addr, a1, 4);
	CHECK_MEM(out[1].addr, a2, 4);
	/* a cap of one keeps one */
	n = 0;
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 7, "www.example.com", DNS_TYPE_A, out, 1, &n),
		     0);
	CHECK_EQ_INT(n, 1);
	/* wrong id, wrong name, wrong type: not ours */
	n = 0;
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 8, "www.example.com", DNS_TYPE_A, out, 8, &n),
		     DNS_E_MISMATCH);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 7, "ww.example.com", DNS_TYPE_A, out, 8, &n),
		     DNS_E_MISMATCH);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 7, "www.example.com", DNS_TYPE_AAAA, out, 8,
					&n),
		     DNS_E_MISMATCH);
	/* every truncation fails cleanly */
	for (size_t cut = 0; cut < m.len; cut++) {
		n = 0;
		int rc = dns_response_parse(m.b, cut, 7, "www.example.com", DNS_TYPE_A, out, 8, &n);
		CHECK(rc < 0);
	}
}

TEST(response_aaaa_nxdomain_servfail)
{
	struct msg m;
	struct dns_addr out[4];
	size_t n = 0;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	msg_answer_start(&m, "v6.test", 9, DNS_TYPE_AAAA, 0, 1);
	msg_rr(&m, ptr_qname, 2, DNS_TYPE_AAAA, a6, 16);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 9, "v6.test", DNS_TYPE_AAAA, out, 4, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(out[0].family, AF_INET6);
	CHECK_MEM(out[0].addr, a6, 16);
	/* AAAA with a 4-byte rdata is malformed */
	msg_answer_start(&m, "v6.test", 9, DNS_TYPE_AAAA, 0, 1);
	msg_rr(&m, ptr_qname, 2, DNS_TYPE_AAAA, a6, 4);
	n = 0;
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 9, "v6.test", DNS_TYPE_AAAA, out, 4, &n),
		     DNS_E_MALFORMED);
	msg_answer_start(&m, "no.test", 9, DNS_TYPE_A, 3, 0);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 9, "no.test", DNS_TYPE_A, out, 4, &n),
		     DNS_E_NXDOMAIN);
	msg_answer_start(&m, "no.test", 9, DNS_TYPE_A, 2, 0);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 9, "no.test", DNS_TYPE_A, out, 4, &n),
		     DNS_E_SERVFAIL);
}

TEST(response_hostile_pointers)
{
	struct msg m;
	struct dns_addr out[4];
	size_t n = 0;
	/* owner name is a pointer to itself: must not loop */
	msg_answer_start(&m, "loop.test", 1, DNS_TYPE_A, 0, 1);
	{
		uint8_t self[2] = { 0xc0, (uint8_t)m.len };
		msg_rr(&m, self, 2, DNS_TYPE_A, (const uint8_t[]){ 1, 2, 3, 4 }, 4);
	}
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 1, "loop.test", DNS_TYPE_A, out, 4, &n),
		     DNS_E_MALFORMED);
	/* pointer past the end */
	msg_answer_start(&m, "loop.test", 1, DNS_TYPE_A, 0, 1);
	msg_rr(&m, (const uint8_t[]){ 0xc1, 0xff }, 2, DNS_TYPE_A, (const uint8_t[]){ 1, 2, 3, 4 },
	       4);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 1, "loop.test", DNS_TYPE_A, out, 4, &n),
		     DNS_E_MALFORMED);
	/* rdlength past the end */
	msg_answer_start(&m, "loop.test", 1, DNS_TYPE_A, 0, 1);
	msg_rr(&m, ptr_qname, 2, DNS_TYPE_A, (const uint8_t[]){ 1, 2, 3, 4 }, 4);
	wr16(m.b + m.len - 6, 400);
	CHECK_EQ_INT(dns_response_parse(m.b, m.len, 1, "loop.test", DNS_TYPE_A, out, 4, &n),
		     DNS_E_MALFORMED);
	CHECK_EQ_INT(n, 0);
}

TEST(resolv_conf_and_hosts)
{
	struct sockaddr_storage s[DNS_MAX_SERVERS];
	struct dns_addr a[4];
	size_t n = 0;
	const char *conf = "# comment\nsearch lan\nnameserver 192.0.2.53\n"
			   "nameserver fe80::1%eth0\nnameserver ::1\nnameserver bogus\n"
			   "nameserver 10.0.0.1\nnameserver 10.0.0.2\n";
	const char *hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost # x\n"
			    "192.0.2.7\tfog.lan fog # comment\n#192.0.2.8 fog\n";

	CHECK_EQ_INT(dns_resolv_conf_parse(conf, s, DNS_MAX_SERVERS), 3);
	CHECK_EQ_INT(s[0].ss_family, AF_INET);
	CHECK_EQ_INT(ntohs(((struct sockaddr_in *)&s[0])->sin_port), 53);
	CHECK_EQ_INT(s[1].ss_family, AF_INET6);
	CHECK_EQ_INT(s[2].ss_family, AF_INET);
	dns_hosts_lookup(hosts, "FOG", AF_UNSPEC, a, 4, &n);
	CHECK_EQ_INT(n, 1);
	CHECK_MEM(a[0].addr, ((const uint8_t[]){ 192, 0, 2, 7 }), 4);
	n = 0;
	dns_hosts_lookup(hosts, "localhost", AF_UNSPEC, a, 4, &n);
	CHECK_EQ_INT(n, 2);
	n = 0;
	dns_hosts_lookup(hosts, "localhost", AF_INET6, a, 4, &n);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(a[0].family, AF_INET6);
}

/* ---- lookups against a fake nameserver on the loop ---- */

struct fake_ns {
	struct loop_fd lfd;
	uint16_t port;
	bool silent;   /* never answer */
	unsigned seen; /* queries received */
};

static void fake_ns_on_fd(struct loop_fd *lfd, uint32_t ev)
{
	struct fake_ns *ns = container_of(lfd, struct fake_ns, lfd);
	uint8_t q[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t r = recvfrom(lfd->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	struct msg m;
	char name[64];
	size_t off = 12, nl = 0;
	uint16_t qtype;

	if (r < 17)
		return;
	ns->seen++;
	if (ns->silent)
		return;
	while (off < (size_t)r && q[off]) { /* uncompressed question */
		if (nl)
			name[nl++] = '.';
		memcpy(name + nl, q + off + 1, q[off]);
		nl += q[off];
		off += q[off] + 1u;
	}
	name[nl] = 0;
	qtype = rd16(q + off + 1);
	/* junk first (wrong id): must be ignored */
	msg_answer_start(&m, name, (uint16_t)(rd16(q) + 1), qtype, 0, 0);
	sendto(lfd->fd, m.b, m.len, 0, (struct sockaddr *)&from, fl);
	if (strcmp(name, "fog.test") == 0) {
		msg_answer_start(&m, name, rd16(q), qtype, 0, 1);
		if (qtype == DNS_TYPE_A)
			msg_rr(&m, ptr_qname, 2, DNS_TYPE_A, (const uint8_t[]){ 127, 0, 0, 1 }, 4);
		else
			wr16(m.b + 6, 0); /* NODATA for AAAA */
	} else {
		msg_answer_start(&m, name, rd16(q), qtype, 3, 0);
	}
	sendto(lfd->fd, m.b, m.len, 0, (struct sockaddr *)&from, fl);
}

static void fake_ns_start(struct loop *l, struct fake_ns *ns)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	ns->lfd.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ns->lfd.cb = fake_ns_on_fd;
	bind(ns->lfd.fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(ns->lfd.fd, (struct sockaddr *)&sa, &sl);
	ns->port = ntohs(sa.sin_port);
	loop_fd_add(l, &ns->lfd, EPOLLIN);
}

static void fake_ns_stop(struct loop *l, struct fake_ns *ns)
{
	loop_fd_del(l, &ns->lfd);
	close(ns->lfd.fd);
}

struct result {
	bool done;
	int err;
	size_t n;
	struct dns_addr a[DNS_MAX_ADDRS];
};

static void on_result(void *user, int err, const struct dns_addr *addrs, size_t n)
{
	struct result *r = user;
	r->done = true;
	r->err = err;
	r->n = n;
	if (n)
		memcpy(r->a, addrs, n * sizeof(*addrs));
}

static void run_until(struct loop *l, const bool *flag, int ms)
{
	uint64_t end = loop_update_time(l) + (uint64_t)ms;
	while (!*flag && loop_now_ms(l) < end)
		loop_run_once(l, 10);
}

static const char *conf_path = "/tmp/pearfog-test-dns-resolv.conf";

TEST(lookup_on_loop)
{
	struct loop *l = loop_new();
	struct fake_ns ns = { 0 };
	struct dns_lookup *q;
	struct result r = { 0 };
	FILE *f = fopen(conf_path, "w");

	fputs("nameserver 127.0.0.1\n", f);
	fclose(f);
	fake_ns_start(l, &ns);
	struct dns_lookup_opts o = { .resolv_conf = conf_path, .hosts = "", .server_port = ns.port };
	CHECK_EQ_INT(dns_lookup_start(&q, l, "fog.test", &o, on_result, &r), 0);
	run_until(l, &r.done, 3000);
	CHECK(r.done);
	CHECK_EQ_INT(r.err, 0);
	CHECK_EQ_INT(r.n, 1);
	CHECK_MEM(r.a[0].addr, ((const uint8_t[]){ 127, 0, 0, 1 }), 4);

	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(dns_lookup_start(&q, l, "missing.test", &o, on_result, &r), 0);
	run_until(l, &r.done, 3000);
	CHECK_EQ_INT(r.err, DNS_E_NXDOMAIN);
	CHECK_EQ_INT(r.n, 0);

	/* silent server: every try times out (2 attempts x 1 server x 50 ms) */
	ns.silent = true;
	ns.seen = 0;
	o.try_timeout_ms = 50;
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(dns_lookup_start(&q, l, "fog.test", &o, on_result, &r), 0);
	run_until(l, &r.done, 3000);
	CHECK_EQ_INT(r.err, DNS_E_TIMEOUT);
	CHECK_EQ_INT(ns.seen, 2 * DNS_ATTEMPTS);

	/* cancel: no callback, no leak */
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(dns_lookup_start(&q, l, "fog.test", &o, on_result, &r), 0);
	dns_lookup_cancel(q);
	for (int i = 0; i < 10; i++)
		loop_run_once(l, 10);
	CHECK(!r.done);

	/* hosts file hit, delivered from the loop, not from inside start */
	o.hosts = "/etc/hosts";
	memset(&r, 0, sizeof(r));
	CHECK_EQ_INT(dns_lookup_start(&q, l, "localhost", &o, on_result, &r), 0);
	CHECK(!r.done);
	run_until(l, &r.done, 1000);
	CHECK_EQ_INT(r.err, 0);
	CHECK(r.n >= 1);

	CHECK_EQ_INT(dns_lookup_start(&q, l, "bad name", &o, on_result, &r), DNS_E_NAME);
	o.resolv_conf = "/nonexistent";
	o.hosts = "";
	CHECK_EQ_INT(dns_lookup_start(&q, l, "fog.test", &o, on_result, &r), DNS_E_NO_SERVERS);
	fake_ns_stop(l, &ns);
	unlink(conf_path);
	loop_free(l);
}

int main(void)
{
	RUN(query_build_matches_rfc1035_layout);
	RUN(response_a_and_cname_chain);
	RUN(response_aaaa_nxdomain_servfail);
	RUN(response_hostile_pointers);
	RUN(resolv_conf_and_hosts);
	RUN(lookup_on_loop);
	return test_summary();
}

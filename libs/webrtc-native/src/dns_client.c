#include "dns_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "byteorder.h"

#define DNS_HEADER_LEN 12
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_CLASS_IN 1
#define DNS_MAX_POINTERS 32 /* compression pointers followed per name */

/* RFC 1035 §2.3.1 host names: letters, digits, hyphen; we also allow '_' (seen in the
 * wild) and require labels of 1..63 bytes. */
static bool name_valid(const char *name, size_t *len_out)
{
	size_t len = strlen(name), label = 0;

	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	*len_out = len;
	return true;
}

int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
	size_t len, pos = DNS_HEADER_LEN, label_start;

	if (!name_valid(name, &len))
		return DNS_E_NAME;
	/* header + labels (len + 2 bytes) + QTYPE + QCLASS (RFC 1035 §4.1.2) */
	if (cap < DNS_HEADER_LEN + len + 2 + 4)
		return DNS_E_BUFFER;
	memset(buf, 0, DNS_HEADER_LEN);
	wr16(buf, id);
	wr16(buf + 2, DNS_FLAG_RD);
	wr16(buf + 4, 1); /* QDCOUNT */
	label_start = pos++;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			buf[label_start] = (uint8_t)(pos - label_start - 1);
			label_start = pos++;
		} else {
			buf[pos++] = (uint8_t)name[i];
		}
	}
	buf[label_start] = 0;
	wr16(buf + pos, qtype);
	wr16(buf + pos + 2, DNS_CLASS_IN);
	return (int)(pos + 4);
}

/* Expand the (possibly compressed, RFC 1035 §4.1.4) name at msg[*off] into out as
 * lower-case dotted text; *off moves past the name as stored in place. */
static int name_read(const uint8_t *msg, size_t len, size_t *off, char out[DNS_MAX_NAME + 2])
{
	size_t pos = *off, olen = 0, end = 0;
	unsigned jumps = 0;

	for (;;) {
		uint8_t l;
		if (pos >= len)
			return DNS_E_MALFORMED;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t target;
			if (pos + 1 >= len || ++jumps > DNS_MAX_POINTERS)
				return DNS_E_MALFORMED;
			target = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
			if (!end)
				end = pos + 2;
			if (target >= pos) /* pointers go backwards: no loops */
				return DNS_E_MALFORMED;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return DNS_E_MALFORMED;
		pos++;
		if (l == 0)
			break;
		if (pos + l > len || olen + l + 1 > DNS_MAX_NAME + 1)
			return DNS_E_MALFORMED;
		if (olen)
			out[olen++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)msg[pos + i];
			out[olen++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		pos += l;
	}
	out[olen] = 0;
	*off = end ? end : pos;
	return 0;
}

static bool name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

int dns_response_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
		       uint16_t qtype, struct dns_addr *out, size_t max, size_t *n)
{
	char owner[DNS_MAX_NAME + 2], current[DNS_MAX_NAME + 2], target[DNS_MAX_NAME + 2];
	size_t off = DNS_HEADER_LEN, nlen;
	uint16_t flags, qd, an;
	unsigned cnames = 0;
	int rc;

	if (!name_valid(name, &nlen))
		return DNS_E_NAME;
	if (len < DNS_HEADER_LEN)
		return DNS_E_MALFORMED;
	flags = rd16(msg + 2);
	qd = rd16(msg + 4);
	an = rd16(msg + 6);
	if (rd16(msg) != id || !(flags & DNS_FLAG_QR) || (flags >> 11 & 0xf) != 0 || qd != 1)
		return DNS_E_MISMATCH;
	/* the question must be ours (RFC 5452 §9.1) */
	if ((rc = name_read(msg, len, &off, owner)) < 0)
		return rc;
	if (off + 4 > len)
		return DNS_E_MALFORMED;
	if (!name_equal(owner, name) || rd16(msg + off) != qtype ||
	    rd16(msg + off + 2) != DNS_CLASS_IN)
		return DNS_E_MISMATCH;
	off += 4;
	switch (flags & 0xf) { /* RCODE, RFC 1035 §4.1.1 */
	case 0:
		break;
	case 3:
		return DNS_E_NXDOMAIN;
	default:
		return DNS_E_SERVFAIL;
	}
	memcpy(current, name, nlen);
	current[nlen] = 0;
	/* Answer section, RFC 1035 §4.1.3; follow CNAMEs in order (RFC 1034 §3.6.2). */
	for (unsigned i = 0; i < an; i++) {
		uint16_t type, cls, rdlen;
		if ((rc = name_read(msg, len, &off, owner)) < 0)
			return rc;
		if (off + 10 > len)
			return DNS_E_MALFORMED;
		type = rd16(msg + off);
		cls = rd16(msg + off + 2);
		rdlen = rd16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return DNS_E_MALFORMED;
		if (cls == DNS_CLASS_IN && name_equal(owner, current)) {
			if (type == DNS_TYPE_CNAME) {
				size_t t = off;
				if (++cnames > DNS_MAX_CNAMES)
					return DNS_E_MALFORMED;
				if ((rc = name_read(msg, off + rdlen, &t, target)) < 0)
					return rc;
				memcpy(current, target, sizeof(current));
			} else if (type == qtype && *n < max) {
				size_t alen = qtype == DNS_TYPE_A ? 4 : 16;
				if (rdlen != alen)
					return DNS_E_MALFORMED;
				out[*n].family = qtype == DNS_TYPE_A ? AF_INET : AF_INET6;
				memset(out[*n].addr, 0, sizeof(out[*n].addr));
				memcpy(out[*n].addr, msg + off, alen);
				(*n)++;
			}
		}
		off += rdlen;
	}
	return 0;
}

size_t dns_resolv_conf_parse(const char *text, struct sockaddr_storage *servers, size_t max)
{
	size_t n = 0;
	const char *p = text;

	while (*p && n < max) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char line[256], addr[64];

		if (ll < sizeof(line)) {
			memcpy(line, p, ll);
			line[ll] = 0;
			if (sscanf(line, " nameserver %63s", addr) == 1) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&servers[n];
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&servers[n];
				char *pct = strchr(addr, '%'); /* scoped link-local: not supported */
				memset(&servers[n], 0, sizeof(servers[n]));
				if (!pct && inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
					s4->sin_family = AF_INET;
					s4->sin_port = htons(53);
					n++;
				} else if (!pct && inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
					s6->sin6_family = AF_INET6;
					s6->sin6_port = htons(53);
					n++;
				}
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return n;
}

void dns_hosts_lookup(const char *text, const char *name, int family, struct dns_addr *out,
		      size_t max, size_t *n)
{
	const char *p = text;

	while (*p && *n < max) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		char line[512], *save = NULL, *tok, *hash;

		if (ll < sizeof(line)) {
			struct dns_addr a = { 0 };
			memcpy(line, p, ll);
			line[ll] = 0;
			if ((hash = strchr(line, '#')))
				*hash = 0;
			tok = strtok_r(line, " \t\r", &save);
			if (tok && inet_pton(AF_INET, tok, a.addr) == 1)
				a.family = AF_INET;
			else if (tok && inet_pton(AF_INET6, tok, a.addr) == 1)
				a.family = AF_INET6;
			if (a.family && (family == AF_UNSPEC || family == a.family)) {
				while ((tok = strtok_r(NULL, " \t\r", &save))) {
					if (name_equal(tok, name)) {
						out[(*n)++] = a;
						break;
					}
				}
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
}

/* Read a small configuration file; NULL when missing or unreadable. */
static char *file_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	buf = malloc(DNS_MAX_FILE_BYTES + 1);
	if (buf) {
		ssize_t r;
		while (len < DNS_MAX_FILE_BYTES &&
		       (r = read(fd, buf + len, DNS_MAX_FILE_BYTES - len)) > 0)
			len += (size_t)r;
		buf[len] = 0;
	}
	close(fd);
	return buf;
}

/* ---- the lookup on the loop ---- */

struct dns_lookup {
	struct loop *loop;
	struct loop_fd lfd;
	struct loop_timer timer;
	dns_lookup_cb cb;
	void *user;
	char name[DNS_MAX_NAME + 2];
	struct sockaddr_storage servers[DNS_MAX_SERVERS];
	size_t n_servers;
	unsigned try; /* index over n_servers * DNS_ATTEMPTS */
	uint32_t try_timeout_ms;
	uint16_t qtypes[2];
	uint16_t ids[2];
	bool answered[2];
	unsigned n_q;
	int first_err; /* most telling error seen (NXDOMAIN beats NODATA) */
	struct dns_addr v4[DNS_MAX_ADDRS], v6[DNS_MAX_ADDRS];
	size_t n4, n6;
	struct dns_addr hosts[DNS_MAX_ADDRS];
	size_t n_hosts;
};

static void lookup_close_socket(struct dns_lookup *q)
{
	if (q->lfd.fd >= 0) {
		loop_fd_del(q->loop, &q->lfd);
		close(q->lfd.fd);
		q->lfd.fd = -1;
	}
}

void dns_lookup_cancel(struct dns_lookup *q)
{
	if (!q)
		return;
	lookup_close_socket(q);
	loop_timer_cancel(q->loop, &q->timer);
	free(q);
}

static void lookup_finish(struct dns_lookup *q, int err)
{
	struct dns_addr all[DNS_MAX_ADDRS];
	size_t n = 0;
	dns_lookup_cb cb = q->cb;
	void *user = q->user;

	if (q->n_hosts) {
		memcpy(all, q->hosts, q->n_hosts * sizeof(all[0]));
		n = q->n_hosts;
	}
	for (size_t i = 0; i < q->n4 && n < DNS_MAX_ADDRS; i++)
		all[n++] = q->v4[i];
	for (size_t i = 0; i < q->n6 && n < DNS_MAX_ADDRS; i++)
		all[n++] = q->v6[i];
	if (n)
		err = 0;
	else if (!err)
		err = DNS_E_NODATA;
	dns_lookup_cancel(q);
	cb(user, err, n ? all : NULL, n);
}

static int lookup_send(struct dns_lookup *q)
{
	const struct sockaddr_storage *srv = &q->servers[q->try % q->n_servers];
	socklen_t slen = srv->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6);
	int fd, rc;

	lookup_close_socket(q);
	/* a fresh socket (new source port, RFC 5452 §9.2) and new ids per try */
	fd = socket(srv->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return DNS_E_IO;
	if (connect(fd, (const struct sockaddr *)srv, slen) < 0) {
		close(fd);
		return DNS_E_IO;
	}
	q->lfd.fd = fd;
	if ((rc = loop_fd_add(q->loop, &q->lfd, EPOLLIN)) < 0) {
		close(fd);
		q->lfd.fd = -1;
		return DNS_E_IO;
	}
	for (unsigned i = 0; i < q->n_q; i++) {
		uint8_t buf[DNS_MAX_MSG];
		int len;
		if (q->answered[i])
			continue;
		if (getrandom(&q->ids[i], sizeof(q->ids[i]), 0) != sizeof(q->ids[i]))
			q->ids[i] = (uint16_t)(rand() ^ (q->try << 8) ^ i);
		len = dns_query_build(buf, sizeof(buf), q->ids[i], q->name, q->qtypes[i]);
		if (len < 0)
			return len;
		if (send(fd, buf, (size_t)len, 0) != len)
			return DNS_E_IO; /* e.g. no route: next server on the timer */
	}
	return loop_timer_set(q->loop, &q->timer, q->try_timeout_ms) < 0 ? DNS_E_NOMEM : 0;
}

static void lookup_next_try(struct dns_lookup *q)
{
	for (;;) {
		int rc;
		if (++q->try >= q->n_servers * DNS_ATTEMPTS) {
			lookup_finish(q, q->first_err ? q->first_err : DNS_E_TIMEOUT);
			return;
		}
		rc = lookup_send(q);
		if (rc == 0)
			return;
		if (rc == DNS_E_NOMEM) {
			lookup_finish(q, rc);
			return;
		}
	}
}

static void lookup_on_timer(struct loop_timer *t)
{
	struct dns_lookup *q = container_of(t, struct dns_lookup, timer);

	if (q->n_hosts) { /* answered from the hosts file */
		lookup_finish(q, 0);
		return;
	}
	lookup_next_try(q);
}

static void lookup_on_fd(struct loop_fd *lfd, uint32_t events)
{
	struct dns_lookup *q = container_of(lfd, struct dns_lookup, lfd);
	uint8_t buf[DNS_MAX_MSG * 2]; /* bigger answers are truncated and fail to parse */

	for (;;) {
		ssize_t r = recv(lfd->fd, buf, sizeof(buf), 0);
		bool done = true;
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ICMP port unreachable and the like: move on to the next server */
			lookup_next_try(q);
			return;
		}
		for (unsigned i = 0; i < q->n_q; i++) {
			int rc;
			struct dns_addr *dst = q->qtypes[i] == DNS_TYPE_A ? q->v4 : q->v6;
			size_t *dn = q->qtypes[i] == DNS_TYPE_A ? &q->n4 : &q->n6;
			if (q->answered[i])
				continue;
			rc = dns_response_parse(buf, (size_t)r, q->ids[i], q->name, q->qtypes[i], dst,
						DNS_MAX_ADDRS, dn);
			if (rc == DNS_E_MISMATCH || rc == DNS_E_MALFORMED)
				continue; /* not ours, or junk: keep waiting (RFC 5452 §9.1) */
			q->answered[i] = true;
			if (rc == DNS_E_NXDOMAIN || (rc < 0 && !q->first_err))
				q->first_err = rc;
		}
		for (unsigned i = 0; i < q->n_q; i++)
			done = done && q->answered[i];
		if (done) {
			int err = q->first_err;
			/* a server failure for one family with addresses for the other is fine;
			 * SERVFAIL with nothing: try the next server */
			if (!q->n4 && !q->n6 && err == DNS_E_SERVFAIL) {
				for (unsigned i = 0; i < q->n_q; i++)
					q->answered[i] = false;
				lookup_next_try(q);
				return;
			}
			lookup_finish(q, err);
			return;
		}
	}
}

int dns_lookup_start(struct dns_lookup **out, struct loop *l, const char *name,
		     const struct dns_lookup_opts *opts, dns_lookup_cb cb, void *user)
{
	static const struct dns_lookup_opts defaults = { .family = AF_UNSPEC };
	const struct dns_lookup_opts *o = opts ? opts : &defaults;
	struct dns_lookup *q;
	size_t nlen;
	char *text;
	int rc;

	*out = NULL;
	if (!name_valid(name, &nlen))
		return DNS_E_NAME;
	q = calloc(1, sizeof(*q));
	if (!q)
		return DNS_E_NOMEM;
	q->loop = l;
	q->cb = cb;
	q->user = user;
	q->lfd.fd = -1;
	q->lfd.cb = lookup_on_fd;
	q->timer.cb = lookup_on_timer;
	q->try_timeout_ms = o->try_timeout_ms ? o->try_timeout_ms : DNS_TRY_TIMEOUT_MS;
	memcpy(q->name, name, nlen);
	q->name[nlen] = 0;
	if (o->family != AF_INET6)
		q->qtypes[q->n_q++] = DNS_TYPE_A;
	if (o->family != AF_INET)
		q->qtypes[q->n_q++] = DNS_TYPE_AAAA;

	if (!o->hosts || o->hosts[0]) {
		if ((text = file_read(o->hosts ? o->hosts : "/etc/hosts"))) {
			dns_hosts_lookup(text, q->name, o->family, q->hosts, DNS_MAX_ADDRS,
					 &q->n_hosts);
			free(text);
		}
		if (q->n_hosts) {
			if (loop_timer_set(l, &q->timer, 0) < 0) {
				free(q);
				return DNS_E_NOMEM;
			}
			*out = q;
			return 0;
		}
	}
	if ((text = file_read(o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf"))) {
		q->n_servers = dns_resolv_conf_parse(text, q->servers, DNS_MAX_SERVERS);
		free(text);
		for (size_t i = 0; o->server_port && i < q->n_servers; i++) {
			if (q->servers[i].ss_family == AF_INET)
				((struct sockaddr_in *)&q->servers[i])->sin_port = htons(o->server_port);
			else
				((struct sockaddr_in6 *)&q->servers[i])->sin6_port =
					htons(o->server_port);
		}
	}
	if (!q->n_servers) {
		free(q);
		return DNS_E_NO_SERVERS;
	}
	q->try = 0;
	rc = lookup_send(q);
	while (rc < 0 && rc != DNS_E_NOMEM && ++q->try < q->n_servers * DNS_ATTEMPTS)
		rc = lookup_send(q);
	if (rc < 0) {
		dns_lookup_cancel(q);
		return rc;
	}
	*out = q;
	return 0;
}

const char *dns_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case DNS_E_NOMEM:
		return "out of memory";
	case DNS_E_NAME:
		return "invalid host name";
	case DNS_E_NXDOMAIN:
		return "host name not found";
	case DNS_E_NODATA:
		return "host name has no address";
	case DNS_E_TIMEOUT:
		return "no answer from the nameservers";
	case DNS_E_SERVFAIL:
		return "nameserver failure";
	case DNS_E_MALFORMED:
		return "malformed DNS answer";
	case DNS_E_MISMATCH:
		return "DNS answer to another query";
	case DNS_E_NO_SERVERS:
		return "no nameserver configured";
	case DNS_E_IO:
		return "DNS socket error";
	case DNS_E_BUFFER:
		return "DNS buffer too small";
	default:
		return "unknown DNS error";
	}
}

/* dns_client: non-blocking A/AAAA lookups on pear-fogd's loop (stub resolver).
 *
 * getaddrinfo() blocks and getaddrinfo_a() is glibc-only (not on musl/OpenWrt), so names
 * are resolved here: /etc/hosts first, then one UDP query per address family (RFC 1035
 * §4.1, no EDNS, so answers are at most 512 bytes, §2.3.4) to the nameservers listed in
 * /etc/resolv.conf, tried in turn with a per-try timeout.  Numeric addresses are the
 * caller's business (tcp_client does not call this for them).
 *
 * Limits: names up to DNS_MAX_NAME bytes; at most DNS_MAX_ADDRS addresses per lookup
 * (extra records are ignored); at most DNS_MAX_SERVERS nameservers; CNAME chains are
 * followed inside one answer only (DNS_MAX_CNAMES), never by a second query; a truncated
 * (TC) answer is used for what it holds, TCP fallback is not done.
 *
 * Error codes are negative, in [-119, -100], so they can share an int with the other
 * net client modules (tcp_client, tls_client, net_stream, http_client, ws_client). */
#ifndef PEARFOG_DNS_CLIENT_H
#define PEARFOG_DNS_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

#define DNS_MAX_NAME 253	   /* presentation form without the trailing dot (RFC 1035 §2.3.4) */
#define DNS_MAX_ADDRS 8		   /* addresses kept per lookup */
#define DNS_MAX_SERVERS 3	   /* nameservers read from resolv.conf (as glibc's MAXNS) */
#define DNS_MAX_CNAMES 8	   /* CNAME hops followed inside one answer */
#define DNS_MAX_MSG 512		   /* UDP message size without EDNS (RFC 1035 §2.3.4) */
#define DNS_TRY_TIMEOUT_MS 2000	   /* per nameserver try */
#define DNS_ATTEMPTS 2		   /* rounds over all nameservers */
#define DNS_MAX_FILE_BYTES 65536   /* /etc/hosts and resolv.conf are read up to this size */

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28

enum dns_err {
	DNS_E_NOMEM = -100,
	DNS_E_NAME = -101,	/* not a valid host name */
	DNS_E_NXDOMAIN = -102,	/* RCODE 3: the name does not exist */
	DNS_E_NODATA = -103,	/* the name exists but has no A/AAAA record */
	DNS_E_TIMEOUT = -104,	/* no nameserver answered */
	DNS_E_SERVFAIL = -105,	/* RCODE other than 0 and 3 */
	DNS_E_MALFORMED = -106, /* answer that does not parse */
	DNS_E_MISMATCH = -107,	/* answer to another query (id, question) */
	DNS_E_NO_SERVERS = -108, /* resolv.conf lists no usable nameserver */
	DNS_E_IO = -109,	/* socket error */
	DNS_E_BUFFER = -110,	/* output buffer too small */
};

struct dns_addr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes, network order */
};

/* Build a recursive query for name (trailing dot optional) and qtype into buf.
 * Returns the length or a dns_err. */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);

/* Parse an answer to the query (id, name, qtype): follows CNAMEs from name, appends up to
 * max - *n addresses of qtype to out[*n...].  Returns 0 (possibly adding none: NODATA is
 * the caller's call), or a dns_err. */
int dns_response_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name,
		       uint16_t qtype, struct dns_addr *out, size_t max, size_t *n);

/* "nameserver <ip>" lines of resolv.conf text (RFC-less; resolv.conf(5)).  Port 53.
 * Returns the number stored in servers[0..max). */
size_t dns_resolv_conf_parse(const char *text, struct sockaddr_storage *servers, size_t max);

/* Addresses for name in hosts(5) text, appended like dns_response_parse. */
void dns_hosts_lookup(const char *text, const char *name, int family, struct dns_addr *out,
		      size_t max, size_t *n);

struct dns_lookup_opts {
	int family;		 /* AF_UNSPEC (both, IPv4 first), AF_INET or AF_INET6 */
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
	const char *hosts;	 /* NULL: /etc/hosts; "" skips the hosts file */
	uint32_t try_timeout_ms; /* 0: DNS_TRY_TIMEOUT_MS */
	uint16_t server_port;	 /* tests: 0 = 53, else the port used for every nameserver */
};

/* Called once with 0 and n >= 1 addresses, or a dns_err and n == 0.  The lookup is over
 * when this runs; do not cancel it from here (it frees itself after the callback). */
typedef void (*dns_lookup_cb)(void *user, int err, const struct dns_addr *addrs, size_t n);

struct dns_lookup;

/* Start resolving name.  The callback is never called from inside this function (a hosts
 * hit is delivered from a zero timer).  Returns 0 and the handle in *out, or a dns_err. */
int dns_lookup_start(struct dns_lookup **out, struct loop *l, const char *name,
		     const struct dns_lookup_opts *opts, dns_lookup_cb cb, void *user);
/* Stop a pending lookup; its callback will not be called. */
void dns_lookup_cancel(struct dns_lookup *q);

const char *dns_strerror(int err);

#endif

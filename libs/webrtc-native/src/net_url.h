/* net_url: split the absolute URLs the net clients take (RFC 3986 §3) into scheme, host,
 * port and request target.  Schemes: http, https (RFC 9110 §4.2), ws, wss (RFC 6455 §3).
 *
 * Deliberate limits: no userinfo ("user@host" is refused: credentials do not belong in
 * URLs we log); the fragment is dropped; the path and query are kept as given (they must
 * be visible ASCII, no percent-decoding); the host is a name, an IPv4 literal or a
 * bracketed IPv6 literal (no zone ids); at most NET_URL_MAX bytes. */
#ifndef PEARFOG_NET_URL_H
#define PEARFOG_NET_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_URL_MAX 2048 /* bytes of a whole URL */

enum net_url_scheme { NET_URL_HTTP, NET_URL_HTTPS, NET_URL_WS, NET_URL_WSS };

struct net_url {
	enum net_url_scheme scheme;
	bool tls;			/* https or wss */
	char host[256];			/* without brackets */
	bool host_is_ipv6;		/* was bracketed: "[...]" in Host headers */
	uint16_t port;			/* explicit or the scheme's default */
	bool default_port;
	char target[NET_URL_MAX + 1];	/* path + "?query", "/" when empty */
};

/* 0, or -1 for anything outside the grammar and limits above. */
int net_url_parse(const char *s, struct net_url *u);

/* Resolve a Location value (RFC 9110 §10.2.2) against base: an absolute URL, or an
 * absolute path ("/x", "//host/x" is taken as a network-path reference).  Other relative
 * references are refused (-1). */
int net_url_resolve(const struct net_url *base, const char *ref, struct net_url *out);

/* "host" or "host:port" / "[v6]:port" for a Host header (port only when not default). */
int net_url_authority(const struct net_url *u, char *buf, size_t cap);

#endif

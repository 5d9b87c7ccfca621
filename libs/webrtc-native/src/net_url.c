#include "net_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *prefix;
	enum net_url_scheme scheme;
	bool tls;
	uint16_t port;
} schemes[] = {
	{ "http://", NET_URL_HTTP, false, 80 },
	{ "https://", NET_URL_HTTPS, true, 443 },
	{ "ws://", NET_URL_WS, false, 80 },
	{ "wss://", NET_URL_WSS, true, 443 },
};

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

int net_url_parse(const char *s, struct net_url *u)
{
	size_t len = strlen(s), i;
	const char *p = NULL, *auth, *auth_end, *host_end, *t;

	if (len > NET_URL_MAX)
		return -1;
	memset(u, 0, offsetof(struct net_url, target));
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t pl = strlen(schemes[i].prefix);
		if (strncasecmp(s, schemes[i].prefix, pl) == 0) {
			p = s + pl;
			u->scheme = schemes[i].scheme;
			u->tls = schemes[i].tls;
			u->port = schemes[i].port;
			u->default_port = true;
			break;
		}
	}
	if (!p)
		return -1;
	auth = p;
	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)))
		return -1;
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(auth_end - auth));
		if (!close || close == auth + 1 || (size_t)(close - auth - 1) >= sizeof(u->host))
			return -1;
		for (const char *c = auth + 1; c < close; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
			      (*c >= 'A' && *c <= 'F') || *c == ':' || *c == '.'))
				return -1;
		memcpy(u->host, auth + 1, (size_t)(close - auth - 1));
		u->host_is_ipv6 = true;
		host_end = close + 1;
	} else {
		host_end = auth;
		while (host_end < auth_end && *host_end != ':')
			host_end++;
		if (host_end == auth || (size_t)(host_end - auth) >= sizeof(u->host))
			return -1;
		for (const char *c = auth; c < host_end; c++)
			if (!host_char(*c))
				return -1;
		memcpy(u->host, auth, (size_t)(host_end - auth));
	}
	if (host_end < auth_end) {
		unsigned long port = 0;
		const char *c = host_end + 1;
		if (*host_end != ':')
			return -1;
		if (c == auth_end) /* "host:" means the default port (RFC 3986 §3.2.3) */
			goto target;
		for (; c < auth_end; c++) {
			if (*c < '0' || *c > '9' || (port = port * 10 + (unsigned long)(*c - '0')) > 65535)
				return -1;
		}
		if (port == 0)
			return -1;
		u->default_port = port == u->port;
		u->port = (uint16_t)port;
	}
target:
	t = auth_end;
	i = strcspn(t, "#");
	if (*t != '/' && *t != '?' && *t != '#' && *t != 0)
		return -1;
	{
		size_t o = 0;
		if (*t != '/')
			u->target[o++] = '/';
		for (size_t k = 0; k < i; k++) {
			char c = t[k];
			if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f)
				return -1;
			u->target[o++] = c;
		}
		u->target[o] = 0;
	}
	return 0;
}

int net_url_resolve(const struct net_url *base, const char *ref, struct net_url *out)
{
	char buf[NET_URL_MAX + 1];
	char auth[300];
	const char *scheme;

	size_t scheme_len = strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	/* RFC 3986 §3.1: an absolute URL starts with a scheme and ':' ("/x?u=http://y" does not) */
	if (scheme_len > 0 && ref[scheme_len] == ':')
		return net_url_parse(ref, out);
	if (ref[0] != '/')
		return -1;
	scheme = base->scheme == NET_URL_HTTP	 ? "http"
		 : base->scheme == NET_URL_HTTPS ? "https"
		 : base->scheme == NET_URL_WS	 ? "ws"
						 : "wss";
	if (ref[1] == '/') { /* network-path reference */
		if ((size_t)snprintf(buf, sizeof(buf), "%s:%s", scheme, ref) >= sizeof(buf))
			return -1;
		return net_url_parse(buf, out);
	}
	if (net_url_authority(base, auth, sizeof(auth)) < 0 ||
	    (size_t)snprintf(buf, sizeof(buf), "%s://%s%s", scheme, auth, ref) >= sizeof(buf))
		return -1;
	return net_url_parse(buf, out);
}

int net_url_authority(const struct net_url *u, char *buf, size_t cap)
{
	int n;

	if (u->default_port)
		n = snprintf(buf, cap, u->host_is_ipv6 ? "[%s]" : "%s", u->host);
	else
		n = snprintf(buf, cap, u->host_is_ipv6 ? "[%s]:%u" : "%s:%u", u->host,
			     (unsigned)u->port);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

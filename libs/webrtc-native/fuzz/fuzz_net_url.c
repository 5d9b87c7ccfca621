/* libFuzzer: net_url_parse and net_url_resolve (Location headers from origins, coordinator
 * URLs from config) never crash or overrun, and what they accept is canonical: the target
 * starts with '/', holds only visible ASCII, and printing the URL back (scheme, authority,
 * target) parses to the same fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const scheme_names[] = { "http", "https", "ws", "wss" };

static void check_canonical(const struct net_url *u)
{
	char auth[300], again[NET_URL_MAX + 400];
	struct net_url v;

	if (u->target[0] != '/' || u->port == 0 || u->host[0] == 0)
		abort();
	for (const char *c = u->target; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			abort();
	if (net_url_authority(u, auth, sizeof(auth)) < 0)
		abort();
	snprintf(again, sizeof(again), "%s://%s%s", scheme_names[u->scheme], auth, u->target);
	if (strlen(again) > NET_URL_MAX)
		return; /* a leading '/' was added to a URL at the limit */
	if (net_url_parse(again, &v) != 0 || v.scheme != u->scheme || v.port != u->port ||
	    v.tls != u->tls || strcmp(v.host, u->host) != 0 || strcmp(v.target, u->target) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_url base, u;
	char *s;

	if (size > NET_URL_MAX + 16)
		return 0;
	if (!base.port && net_url_parse("https://origin.example:8443/v/a.ts?x=1", &base) != 0)
		abort();
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	if (net_url_parse(s, &u) == 0)
		check_canonical(&u);
	if (net_url_resolve(&base, s, &u) == 0)
		check_canonical(&u);
	free(s);
	return 0;
}

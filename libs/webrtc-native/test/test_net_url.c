/* net_url: the URL grammar the net clients accept (net_url.h), its limits, and Location
 * resolution (RFC 9110 §10.2.2). */
#include <stdlib.h>

#include "net_url.h"
#include "test.h"

TEST(parse_schemes_ports_targets)
{
	struct net_url u;
	char a[300];

	CHECK_EQ_INT(net_url_parse("http://example.org", &u), 0);
	CHECK_EQ_INT(u.scheme, NET_URL_HTTP);
	CHECK(!u.tls);
	CHECK_EQ_INT(u.port, 80);
	CHECK(u.default_port);
	CHECK_EQ_STR(u.host, "example.org");
	CHECK_EQ_STR(u.target, "/");

	CHECK_EQ_INT(net_url_parse("HTTPS://Example.org:8443/a/b?c=d#frag", &u), 0);
	CHECK_EQ_INT(u.scheme, NET_URL_HTTPS);
	CHECK(u.tls);
	CHECK_EQ_INT(u.port, 8443);
	CHECK(!u.default_port);
	CHECK_EQ_STR(u.target, "/a/b?c=d");
	CHECK(net_url_authority(&u, a, sizeof(a)) > 0);
	CHECK_EQ_STR(a, "Example.org:8443");

	CHECK_EQ_INT(net_url_parse("wss://[::1]:9000?x", &u), 0);
	CHECK_EQ_INT(u.scheme, NET_URL_WSS);
	CHECK(u.host_is_ipv6);
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_STR(u.target, "/?x");
	CHECK(net_url_authority(&u, a, sizeof(a)) > 0);
	CHECK_EQ_STR(a, "[::1]:9000");

	/* "host:" is the default port; an explicit default port is still default */
	CHECK_EQ_INT(net_url_parse("ws://h:/p", &u), 0);
	CHECK_EQ_INT(u.port, 80);
	CHECK_EQ_INT(net_url_parse("https://h:443/", &u), 0);
	CHECK(u.default_port);
	CHECK(net_url_authority(&u, a, sizeof(a)) > 0);
	CHECK_EQ_STR(a, "h");
}

TEST(parse_refuses)
{
	static const char *bad[] = {
		"", "example.org", "ftp://h/", "file:///etc/passwd", "http://", "http:///x",
		"http://user@h/", "http://u:p@h/", "http://h:0/", "http://h:65536/",
		"http://h:8x/", "http://[]/", "http://[::1/", "http://[fe80::1%eth0]/",
		"http://h h/", "http://h/a b", "http://h/\x7f", "http://h/\xc3\xa9",
		"http://h\r\nX: y/", "http://h/\r\n",
	};
	struct net_url u;
	char *huge = malloc(NET_URL_MAX + 2);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (net_url_parse(bad[i], &u) != -1) {
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
			CHECK(0);
		}
	}
	memcpy(huge, "http://h/", 9);
	memset(huge + 9, 'a', NET_URL_MAX + 1 - 9);
	huge[NET_URL_MAX + 1] = 0;
	CHECK_EQ_INT(net_url_parse(huge, &u), -1);
	huge[NET_URL_MAX] = 0; /* exactly NET_URL_MAX bytes: accepted */
	CHECK_EQ_INT(net_url_parse(huge, &u), 0);
	CHECK_EQ_INT(strlen(u.target), NET_URL_MAX - 8);
	free(huge);
}

TEST(resolve_location)
{
	struct net_url base, out;

	CHECK_EQ_INT(net_url_parse("https://origin.example:8443/v/seg1.ts?t=1", &base), 0);
	/* absolute path: same scheme and authority */
	CHECK_EQ_INT(net_url_resolve(&base, "/other?q=http://x", &out), 0);
	CHECK(out.tls);
	CHECK_EQ_STR(out.host, "origin.example");
	CHECK_EQ_INT(out.port, 8443);
	CHECK_EQ_STR(out.target, "/other?q=http://x");
	/* network-path reference keeps the scheme */
	CHECK_EQ_INT(net_url_resolve(&base, "//cdn.example/a", &out), 0);
	CHECK(out.tls);
	CHECK_EQ_STR(out.host, "cdn.example");
	CHECK_EQ_INT(out.port, 443);
	/* absolute URL */
	CHECK_EQ_INT(net_url_resolve(&base, "http://127.0.0.1:81/b", &out), 0);
	CHECK(!out.tls);
	CHECK_EQ_INT(out.port, 81);
	CHECK_EQ_STR(out.target, "/b");
	/* refused: relative paths, other schemes, garbage */
	CHECK_EQ_INT(net_url_resolve(&base, "seg2.ts", &out), -1);
	CHECK_EQ_INT(net_url_resolve(&base, "../x", &out), -1);
	CHECK_EQ_INT(net_url_resolve(&base, "javascript:alert(1)", &out), -1);
	CHECK_EQ_INT(net_url_resolve(&base, "", &out), -1);
	CHECK_EQ_INT(net_url_resolve(&base, "//", &out), -1);
}

int main(void)
{
	RUN(parse_schemes_ports_targets);
	RUN(parse_refuses);
	RUN(resolve_location);
	return test_summary();
}

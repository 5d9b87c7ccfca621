/* upnp: SSDP, device description and SOAP pieces for UPnP-IGD (upnp.h). */
#include "upnp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net_url.h"

static const char *const services[] = {
	"urn:schemas-upnp-org:service:WANIPConnection:2",
	"urn:schemas-upnp-org:service:WANIPConnection:1",
	"urn:schemas-upnp-org:service:WANPPPConnection:1",
};

size_t upnp_build_msearch(char *buf, size_t cap, unsigned mx)
{
	int n = snprintf(buf, cap,
			 "M-SEARCH * HTTP/1.1\r\n"
			 "HOST: " UPNP_SSDP_ADDR ":%d\r\n"
			 "MAN: \"ssdp:discover\"\r\n"
			 "MX: %u\r\n"
			 "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
			 "\r\n",
			 UPNP_SSDP_PORT, mx);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* memmem that never reads past len */
static const char *find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0 || len < n)
		return NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

bool upnp_ssdp_location(const char *buf, size_t len, char *loc, size_t cap)
{
	const char *p = buf, *end = buf + len;

	if (len < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0 || cap == 0)
		return false;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));

		if (colon && colon - p == 8 && strncasecmp(p, "LOCATION", 8) == 0) {
			const char *v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			while (le > v && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
				le--;
			if (le == v || (size_t)(le - v) >= cap)
				return false;
			for (const char *c = v; c < le; c++)
				if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
					return false;
			memcpy(loc, v, (size_t)(le - v));
			loc[le - v] = '\0';
			return true;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return false;
}

/* The text between <name> (or <prefix:name>, attributes allowed) and its closing tag,
 * searched in [s, s+len). */
static bool element(const char *s, size_t len, const char *name, const char **text,
		    size_t *tlen)
{
	size_t nl = strlen(name);
	const char *end = s + len;

	for (const char *p = s; p < end; p++) {
		const char *q, *gt, *close;

		if (*p != '<' || p + 1 >= end || p[1] == '/')
			continue;
		q = p + 1;
		/* skip an optional "prefix:" */
		for (const char *c = q; c < end && c - q < 32 && *c != '>' && *c != ' '; c++)
			if (*c == ':') {
				q = c + 1;
				break;
			}
		if ((size_t)(end - q) < nl + 1 || memcmp(q, name, nl) != 0 ||
		    (q[nl] != '>' && q[nl] != ' ' && q[nl] != '\t' && q[nl] != '\r' && q[nl] != '\n'))
			continue;
		if (!(gt = memchr(q, '>', (size_t)(end - q))) || gt[-1] == '/')
			continue; /* <name/>: empty, keep looking */
		if (!(close = memchr(gt, '<', (size_t)(end - gt))))
			return false;
		*text = gt + 1;
		*tlen = (size_t)(close - gt - 1);
		return true;
	}
	return false;
}

static void trim(const char **t, size_t *n)
{
	while (*n && (**t == ' ' || **t == '\t' || **t == '\r' || **t == '\n'))
		(*t)++, (*n)--;
	while (*n && ((*t)[*n - 1] == ' ' || (*t)[*n - 1] == '\t' || (*t)[*n - 1] == '\r' ||
		      (*t)[*n - 1] == '\n'))
		(*n)--;
}

bool upnp_xml_text(const char *xml, size_t len, const char *name, char *out, size_t cap)
{
	const char *t;
	size_t n;

	if (!element(xml, len, name, &t, &n))
		return false;
	trim(&t, &n);
	if (n >= cap)
		return false;
	memcpy(out, t, n);
	out[n] = '\0';
	return true;
}

/* ref against base: absolute URL, absolute path, or relative to base's directory. */
static bool resolve(const char *base, const char *ref, char *out, size_t cap)
{
	struct net_url b, r;
	char authority[300];
	const char *slash;
	int n;

	if (net_url_parse(ref, &r) == 0) {
		n = snprintf(out, cap, "%s", ref);
		return n > 0 && (size_t)n < cap && !r.tls; /* IGDs speak plain HTTP */
	}
	if (net_url_parse(base, &b) != 0 || b.tls || net_url_authority(&b, authority, sizeof(authority)) < 0)
		return false;
	if (ref[0] == '/')
		n = snprintf(out, cap, "http://%s%s", authority, ref);
	else {
		slash = strrchr(b.target, '/');
		n = snprintf(out, cap, "http://%s%.*s/%s", authority,
			     slash ? (int)(slash - b.target) : 0, b.target, ref);
	}
	return n > 0 && (size_t)n < cap && net_url_parse(out, &r) == 0;
}

bool upnp_find_service(const char *xml, size_t len, const char *desc_url, char *service,
		       size_t service_cap, char *control_url, size_t url_cap)
{
	for (size_t s = 0; s < sizeof(services) / sizeof(services[0]); s++) {
		const char *p = find(xml, len, services[s]);
		const char *block_end, *t;
		char ref[UPNP_URL_MAX];
		size_t n, rest;

		if (!p)
			continue;
		/* the <controlURL> of the same <service> block */
		rest = len - (size_t)(p - xml);
		block_end = find(p, rest, "service>"); /* </service> or </x:service> */
		if (!block_end)
			continue;
		if (!element(p, (size_t)(block_end - p), "controlURL", &t, &n))
			continue;
		trim(&t, &n);
		if (n == 0 || n >= sizeof(ref) || strlen(services[s]) >= service_cap)
			continue;
		memcpy(ref, t, n);
		ref[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)ref[i] < 0x21 || (unsigned char)ref[i] > 0x7e)
				return false;
		if (!resolve(desc_url, ref, control_url, url_cap))
			return false;
		strcpy(service, services[s]);
		return true;
	}
	return false;
}

static size_t envelope(char *buf, size_t cap, const char *action, const char *service,
		       const char *args)
{
	int n = snprintf(buf, cap,
			 "<?xml version=\"1.0\"?>\r\n"
			 "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
			 "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
			 "<s:Body><u:%s xmlns:u=\"%s\">%s</u:%s></s:Body></s:Envelope>\r\n",
			 action, service, args, action);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t upnp_soap_add(char *buf, size_t cap, const char *service, uint16_t external_port,
		     uint16_t internal_port, const char *internal_client, uint32_t lease_s,
		     const char *description)
{
	char args[512];
	int n = snprintf(args, sizeof(args),
			 "<NewRemoteHost></NewRemoteHost>"
			 "<NewExternalPort>%u</NewExternalPort>"
			 "<NewProtocol>UDP</NewProtocol>"
			 "<NewInternalPort>%u</NewInternalPort>"
			 "<NewInternalClient>%s</NewInternalClient>"
			 "<NewEnabled>1</NewEnabled>"
			 "<NewPortMappingDescription>%s</NewPortMappingDescription>"
			 "<NewLeaseDuration>%u</NewLeaseDuration>",
			 external_port, internal_port, internal_client, description, lease_s);

	if (n <= 0 || (size_t)n >= sizeof(args))
		return 0;
	return envelope(buf, cap, "AddPortMapping", service, args);
}

size_t upnp_soap_delete(char *buf, size_t cap, const char *service, uint16_t external_port)
{
	char args[256];
	int n = snprintf(args, sizeof(args),
			 "<NewRemoteHost></NewRemoteHost>"
			 "<NewExternalPort>%u</NewExternalPort>"
			 "<NewProtocol>UDP</NewProtocol>",
			 external_port);

	if (n <= 0 || (size_t)n >= sizeof(args))
		return 0;
	return envelope(buf, cap, "DeletePortMapping", service, args);
}

size_t upnp_soap_external_ip(char *buf, size_t cap, const char *service)
{
	return envelope(buf, cap, "GetExternalIPAddress", service, "");
}

/* libFuzzer: the UPnP-IGD parsers (SSDP answers, device descriptions, SOAP answers) on LAN
 * bytes never read outside their input, and what they return fits and is well-formed: a
 * LOCATION of visible ASCII, a control URL net_url parses as plain http. */
#include <stdlib.h>
#include <string.h>

#include "net_url.h"
#include "upnp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char loc[UPNP_URL_MAX], svc[UPNP_SERVICE_MAX], url[UPNP_URL_MAX], text[64];
	struct net_url u;

	if (upnp_ssdp_location(s, size, loc, sizeof(loc))) {
		size_t n = strlen(loc);
		if (n == 0 || n >= sizeof(loc))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)loc[i] < 0x21 || (unsigned char)loc[i] > 0x7e)
				abort();
	}
	if (upnp_find_service(s, size, "http://10.2.0.1:45157/dir/rootDesc.xml", svc, sizeof(svc),
			      url, sizeof(url))) {
		if (strncmp(svc, "urn:schemas-upnp-org:service:WAN", 32) != 0 ||
		    net_url_parse(url, &u) != 0 || u.tls)
			abort();
	}
	if (upnp_xml_text(s, size, "errorCode", text, sizeof(text)) && strlen(text) >= sizeof(text))
		abort();
	return 0;
}

/* libFuzzer: dns_response_parse (answers from the network) and the resolv.conf / hosts
 * parsers never crash, never read outside their input, and keep their caps.
 *
 * The input is parsed as an answer to "example.com" with the id in its own first two
 * bytes, once for A and once for AAAA, so the seeds reach the answer section; the same
 * bytes as text go through dns_resolv_conf_parse and dns_hosts_lookup. */
#include <stdlib.h>
#include <string.h>

#include "dns_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_addr out[DNS_MAX_ADDRS];
	struct sockaddr_storage servers[DNS_MAX_SERVERS];
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	size_t n = 0;
	char *text;

	for (int t = 0; t < 2; t++) {
		uint16_t qtype = t ? DNS_TYPE_AAAA : DNS_TYPE_A;
		int rc = dns_response_parse(data, size, id, "example.com", qtype, out, 3, &n);
		if (rc == 0 && n > 3)
			abort();
		for (size_t i = 0; i < n; i++)
			if (out[i].family != AF_INET && out[i].family != AF_INET6)
				abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (dns_resolv_conf_parse(text, servers, DNS_MAX_SERVERS) > DNS_MAX_SERVERS)
		abort();
	n = 0;
	dns_hosts_lookup(text, "example.com", AF_UNSPEC, out, DNS_MAX_ADDRS, &n);
	if (n > DNS_MAX_ADDRS)
		abort();
	free(text);
	return 0;
}

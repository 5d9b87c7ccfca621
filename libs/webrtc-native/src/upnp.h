/* upnp: the UPnP-IGD pieces pear-fogd's port mapping needs (UPnP Device Architecture 1.1,
 * IGD:1/IGD:2 WANIPConnection / WANPPPConnection).  Pure functions on caller buffers: no
 * I/O, no allocation; every parser takes untrusted bytes from the LAN.
 *
 *   SSDP (UDA 1.1 §1.3): an M-SEARCH for the InternetGatewayDevice, and the LOCATION of
 *     a "HTTP/1.1 200" answer (header names case-insensitive, values trimmed);
 *   description (§2): the first WANIPConnection:2, WANIPConnection:1 or WANPPPConnection:1
 *     <service> and its <controlURL>, resolved against the description's URL (absolute
 *     URL, absolute path, or a path relative to the description's directory);
 *   SOAP (§3.2): the bodies of AddPortMapping, DeletePortMapping and GetExternalIPAddress,
 *     and the text of one element of an answer (<NewExternalIPAddress>, <errorCode>).
 * XML is scanned, not parsed: tags are matched with or without a namespace prefix, and
 * element text must be plain (no CDATA, no entities but &amp; &lt; &gt; &quot; &apos;
 * are left as they are: none of the values used here can contain them). */
#ifndef PEARFOG_UPNP_H
#define PEARFOG_UPNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPNP_SSDP_ADDR "239.255.255.250"
#define UPNP_SSDP_PORT 1900
#define UPNP_URL_MAX 512
#define UPNP_SERVICE_MAX 96

/* The M-SEARCH datagram (MX seconds of answer spread).  Its length, or 0 if cap is short. */
size_t upnp_build_msearch(char *buf, size_t cap, unsigned mx);
/* LOCATION of an SSDP answer into loc (NUL-terminated).  False if it is not a 200
 * answer or has no (or too long a) LOCATION. */
bool upnp_ssdp_location(const char *buf, size_t len, char *loc, size_t cap);
/* From a device description: the WAN connection service's type and absolute control URL.
 * False when there is none, or the URL cannot be resolved or does not fit. */
bool upnp_find_service(const char *xml, size_t len, const char *desc_url, char *service,
		       size_t service_cap, char *control_url, size_t url_cap);
/* SOAP request bodies; their length, or 0 if cap is short. */
size_t upnp_soap_add(char *buf, size_t cap, const char *service, uint16_t external_port,
		     uint16_t internal_port, const char *internal_client, uint32_t lease_s,
		     const char *description);
size_t upnp_soap_delete(char *buf, size_t cap, const char *service, uint16_t external_port);
size_t upnp_soap_external_ip(char *buf, size_t cap, const char *service);
/* The text of the first <name> (or <x:name>) element into out.  False if absent/too long. */
bool upnp_xml_text(const char *xml, size_t len, const char *name, char *out, size_t cap);

#endif

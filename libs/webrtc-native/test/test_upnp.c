/* upnp: SSDP answers, device descriptions (miniupnpd's shape and others), SOAP bodies. */
#include <string.h>

#include "test.h"
#include "upnp.h"

static const char ssdp_ok[] =
	"HTTP/1.1 200 OK\r\n"
	"CACHE-CONTROL: max-age=120\r\n"
	"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	"USN: uuid:3ad788df::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	"EXT:\r\n"
	"SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
	"location:  http://10.2.0.1:45157/rootDesc.xml \r\n"
	"\r\n";

/* trimmed from miniupnpd's rootDesc.xml: the WANIPConnection service sits in a nested
 * device after other services */
static const char desc[] =
	"<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
	"<device><serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
	"<controlURL>/ctl/L3F</controlURL></service></serviceList>"
	"<deviceList><device><serviceList><service>"
	"<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>"
	"<controlURL>/ctl/CmnIfCfg</controlURL></service></serviceList>"
	"<deviceList><device><serviceList><service>\n"
	"  <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\n"
	"  <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>\n"
	"  <controlURL> /ctl/IPConn </controlURL>\n"
	"</service></serviceList></device></deviceList></device></deviceList></device></root>";

TEST(msearch)
{
	char buf[256];
	size_t n = upnp_build_msearch(buf, sizeof(buf), 1);

	CHECK(n > 0);
	CHECK(strncmp(buf, "M-SEARCH * HTTP/1.1\r\n", 21) == 0);
	CHECK(strstr(buf, "MAN: \"ssdp:discover\"\r\n") != NULL);
	CHECK(strstr(buf, "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n") != NULL);
	CHECK(strcmp(buf + n - 4, "\r\n\r\n") == 0);
	CHECK_EQ_INT(upnp_build_msearch(buf, 20, 1), 0);
}

TEST(ssdp_location)
{
	char loc[128];

	CHECK(upnp_ssdp_location(ssdp_ok, strlen(ssdp_ok), loc, sizeof(loc)));
	CHECK_EQ_STR(loc, "http://10.2.0.1:45157/rootDesc.xml");
	CHECK(!upnp_ssdp_location(ssdp_ok, strlen(ssdp_ok), loc, 10)); /* does not fit */
	CHECK(!upnp_ssdp_location("NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n", 41, loc,
				  sizeof(loc)));
	CHECK(!upnp_ssdp_location("HTTP/1.1 200 OK\r\nST: x\r\n\r\n", 26, loc, sizeof(loc)));
	CHECK(!upnp_ssdp_location("HTTP/1.1 200 OK\r\nLOCATION: http://a b/\r\n", 40, loc,
				  sizeof(loc)));
}

TEST(find_service)
{
	char svc[UPNP_SERVICE_MAX], url[UPNP_URL_MAX];
	const char *ppp = "<root><service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1"
			  "</serviceType><controlURL>upnp/control/ppp</controlURL></service></root>";
	const char *abs = "<s:service><s:serviceType>urn:schemas-upnp-org:service:WANIPConnection:2"
			  "</s:serviceType><s:controlURL>http://10.2.0.1:5000/ipc</s:controlURL>"
			  "</s:service>";
	const char *none = "<root><service><serviceType>urn:schemas-upnp-org:service:"
			   "WANIPConnection:1</serviceType></service><controlURL>/x</controlURL>";

	CHECK(upnp_find_service(desc, strlen(desc), "http://10.2.0.1:45157/rootDesc.xml", svc,
				sizeof(svc), url, sizeof(url)));
	CHECK_EQ_STR(svc, "urn:schemas-upnp-org:service:WANIPConnection:1");
	CHECK_EQ_STR(url, "http://10.2.0.1:45157/ctl/IPConn");
	/* relative to the description's directory */
	CHECK(upnp_find_service(ppp, strlen(ppp), "http://10.0.0.1:80/igd/desc.xml", svc,
				sizeof(svc), url, sizeof(url)));
	CHECK_EQ_STR(url, "http://10.0.0.1/igd/upnp/control/ppp");
	CHECK_EQ_STR(svc, "urn:schemas-upnp-org:service:WANPPPConnection:1");
	/* prefixed tags, absolute URL, IGD:2 */
	CHECK(upnp_find_service(abs, strlen(abs), "http://10.2.0.1/d.xml", svc, sizeof(svc), url,
				sizeof(url)));
	CHECK_EQ_STR(url, "http://10.2.0.1:5000/ipc");
	/* a controlURL outside the service block does not count */
	CHECK(!upnp_find_service(none, strlen(none), "http://10.2.0.1/d.xml", svc, sizeof(svc),
				 url, sizeof(url)));
	CHECK(!upnp_find_service("<root/>", 7, "http://10.2.0.1/d.xml", svc, sizeof(svc), url,
				 sizeof(url)));
}

TEST(soap)
{
	char buf[1024], ip[32];
	const char *answer =
		"<?xml version=\"1.0\"?><s:Envelope><s:Body><u:GetExternalIPAddressResponse>"
		"<NewExternalIPAddress>11.0.0.11</NewExternalIPAddress>"
		"</u:GetExternalIPAddressResponse></s:Body></s:Envelope>";
	const char *fault = "<s:Fault><detail><UPnPError><errorCode>718</errorCode>"
			    "<errorDescription>ConflictInMappingEntry</errorDescription>"
			    "</UPnPError></detail></s:Fault>";

	CHECK(upnp_soap_add(buf, sizeof(buf), "urn:schemas-upnp-org:service:WANIPConnection:1",
			    47100, 47100, "10.2.0.2", 7200, "pear-fog") > 0);
	CHECK(strstr(buf, "<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:"
			  "WANIPConnection:1\">") != NULL);
	CHECK(strstr(buf, "<NewExternalPort>47100</NewExternalPort><NewProtocol>UDP</NewProtocol>"
			  "<NewInternalPort>47100</NewInternalPort>"
			  "<NewInternalClient>10.2.0.2</NewInternalClient>") != NULL);
	CHECK(strstr(buf, "<NewLeaseDuration>7200</NewLeaseDuration>") != NULL);
	CHECK(upnp_soap_delete(buf, sizeof(buf), "urn:x", 47100) > 0);
	CHECK(strstr(buf, "<u:DeletePortMapping xmlns:u=\"urn:x\"><NewRemoteHost></NewRemoteHost>"
			  "<NewExternalPort>47100</NewExternalPort>") != NULL);
	CHECK(upnp_soap_external_ip(buf, sizeof(buf), "urn:x") > 0);
	CHECK_EQ_INT(upnp_soap_external_ip(buf, 40, "urn:x"), 0);
	CHECK(upnp_xml_text(answer, strlen(answer), "NewExternalIPAddress", ip, sizeof(ip)));
	CHECK_EQ_STR(ip, "11.0.0.11");
	CHECK(upnp_xml_text(fault, strlen(fault), "errorCode", ip, sizeof(ip)));
	CHECK_EQ_STR(ip, "718");
	CHECK(!upnp_xml_text(fault, strlen(fault), "NewExternalIPAddress", ip, sizeof(ip)));
	CHECK(!upnp_xml_text(answer, strlen(answer), "NewExternalIPAddress", ip, 4)); /* too long */
}

int main(void)
{
	RUN(msearch);
	RUN(ssdp_location);
	RUN(find_service);
	RUN(soap);
	return test_summary();
}

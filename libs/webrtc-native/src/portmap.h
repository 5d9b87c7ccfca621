/* portmap: keep a UDP port mapping on the gateway for pear-fogd's WebRTC port with PCP
 * (RFC 6887) or NAT-PMP (RFC 6886), so that browsers behind any NAT reach the node directly.
 *
 * On start: the default IPv4 gateway from /proc/net/route (or the one given), a UDP socket
 * to its port 5351 and a PCP MAP request (random nonce, our address, lifetime
 * PORTMAP_LIFETIME_S, the internal port suggested as the external one).  A NAT-PMP-only
 * gateway answers with version 0 (RFC 6887 §9) and gets NAT-PMP — the external-address
 * request, then the mapping request.  A gateway silent for PORTMAP_PCP_TRIES is asked with
 * UPnP-IGD: an SSDP M-SEARCH (answers from the gateway's address only), its description,
 * GetExternalIPAddress and AddPortMapping on its WANIPConnection / WANPPPConnection
 * service (conflict 718 → another external port; 725 → a permanent lease), and NAT-PMP
 * after that.  Requests are retransmitted from 250 ms, doubling, PORTMAP_TRIES times
 * (RFC 6886 §3.1); a gateway that does not
 * answer (no NAT-PMP) is asked again after PORTMAP_RETRY_S.  A granted mapping is renewed at
 * half its lifetime (§3.3); a gateway whose epoch went backwards lost its mappings (§3.6)
 * and is asked again at once.  portmap_free() deletes the mapping (lifetime 0, RFC 6886
 * §3.4 / RFC 6887 §15; UPnP DeletePortMapping, blocking at most ~1 s) before closing: the
 * gateway port is not left open when pear-fogd stops.
 *
 * The callback hears every change: mapped (external address + port), or lost (NULL). */
#ifndef PEARFOG_PORTMAP_H
#define PEARFOG_PORTMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

#define PORTMAP_LIFETIME_S 7200	/* asked lifetime (RFC 6886 §3.3 recommends 7200) */
#define PORTMAP_TRIES 6		/* 250 ms .. 8 s: ~16 s before giving up */
#define PORTMAP_PCP_TRIES 3	/* PCP transmissions before trying NAT-PMP */
#define PORTMAP_RETRY_S 300	/* ask a silent gateway again after this long */

#define PORTMAP_PCP 1u		/* RFC 6887 */
#define PORTMAP_NATPMP 2u	/* RFC 6886 */
#define PORTMAP_UPNP 4u		/* UPnP-IGD (WANIPConnection) */
#define PORTMAP_ALL (PORTMAP_PCP | PORTMAP_NATPMP | PORTMAP_UPNP)

struct portmap;

/* ext: the mapped external address and port (AF_INET), or NULL when the mapping is gone. */
typedef void (*portmap_cb)(void *user, const struct sockaddr *ext, socklen_t len);

/* gateway: "a.b.c.d" or NULL/"" for the default route's; protocols: PORTMAP_* (0 = all).
 * NULL on failure with a message (no default route, socket error). */
struct portmap *portmap_start(struct loop *l, uint16_t internal_port, const char *gateway,
			      unsigned protocols, portmap_cb cb, void *user, char *errmsg,
			      size_t errcap);
/* "auto"/"1" → PORTMAP_ALL, "pcp", "natpmp", "upnp" (comma-separated), "off"/"0" → 0.
 * -1 for anything else. */
int portmap_parse_protocols(const char *s);
/* Delete the mapping at the gateway (best effort, one datagram) and free everything. */
void portmap_free(struct portmap *p);
/* Is a mapping in place? */
bool portmap_mapped(const struct portmap *p);
/* The default IPv4 gateway from a /proc/net/route text; false when there is none. */
bool portmap_default_gateway(const char *route_text, uint32_t *gw_be);

#endif

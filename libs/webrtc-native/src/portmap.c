/* portmap: NAT-PMP client on the loop (portmap.h). */
#include "portmap.h"
#include "crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <poll.h>

#include "http_client.h"
#include "log.h"
#include "natpmp.h"
#include "net_url.h"
#include "pcp.h"
#include "upnp.h"

#define PORTMAP_RTO_MS 250 /* RFC 6886 §3.1; RFC 6887 §8.1.1 starts at 3 s, but one LAN hop */

#define PORTMAP_SSDP_TRIES 3 /* M-SEARCH datagrams, one a second */
#define PORTMAP_HTTP_MS 5000 /* UPnP description / SOAP request timeout */
#define PORTMAP_DESC_MAX (64 * 1024)

/* PM_PCP: PCP MAP (RFC 6887) in flight; PM_EXTERNAL/PM_MAP: NAT-PMP (RFC 6886);
 * PM_SSDP, PM_DESC, PM_UPNP_EXT, PM_UPNP_ADD: UPnP-IGD discovery, description, SOAP */
enum pm_state {
	PM_PCP,
	PM_EXTERNAL,
	PM_MAP,
	PM_SSDP,
	PM_DESC,
	PM_UPNP_EXT,
	PM_UPNP_ADD,
	PM_MAPPED,
	PM_IDLE,
};
enum pm_proto { PROTO_PCP, PROTO_NATPMP, PROTO_UPNP };

struct portmap {
	struct loop *loop;
	struct loop_fd lfd;
	struct loop_timer timer;
	uint16_t internal_port;
	struct sockaddr_in gw;
	enum pm_state state;
	unsigned tries;
	uint64_t rto_ms;
	uint8_t external_addr[4];
	bool have_external;
	uint16_t external_port;
	uint32_t lifetime;
	uint32_t epoch;
	uint64_t epoch_at_ms;
	bool have_epoch;
	bool use_pcp;		/* the mapping was made with PCP (renew and delete with it) */
	enum pm_proto proto;	/* what made the mapping */
	unsigned protocols;	/* PORTMAP_* allowed */
	/* UPnP-IGD */
	struct loop_fd ssdp;
	struct http_client *http;
	char *body;		/* description / SOAP answer being received */
	size_t body_len;
	int http_status;
	char location[UPNP_URL_MAX];
	char control_url[UPNP_URL_MAX];
	char service[UPNP_SERVICE_MAX];
	char client_ip[INET_ADDRSTRLEN];
	uint32_t upnp_lease;
	unsigned upnp_add_tries;
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t client_addr[16]; /* our address towards the gateway, IPv4-mapped */
	portmap_cb cb;
	void *user;
};

bool portmap_default_gateway(const char *text, uint32_t *gw_be)
{
	/* /proc/net/route: Iface Destination Gateway Flags ... in hex, host byte order of
	 * the kernel = network order read as a native integer on little-endian */
	const char *line = strchr(text, '\n');

	while (line && *++line) {
		char iface[64];
		unsigned long dest, gw, flags;

		if (sscanf(line, "%63s %lx %lx %lx", iface, &dest, &gw, &flags) == 4 && dest == 0 &&
		    (flags & 0x2) /* RTF_GATEWAY */ && gw != 0) {
			*gw_be = (uint32_t)gw;
			return true;
		}
		line = strchr(line, '\n');
	}
	return false;
}


static const char *proto_name(enum pm_proto pr)
{
	return pr == PROTO_PCP ? "PCP" : pr == PROTO_NATPMP ? "NAT-PMP" : "UPnP-IGD";
}

static void begin(struct portmap *p, enum pm_state st);
static void upnp_http(struct portmap *p, enum pm_state st);

/* The next protocol to try after `failed` (PCP → UPnP-IGD → NAT-PMP), or PM_IDLE. */
static enum pm_state after(struct portmap *p, enum pm_proto failed)
{
	if (failed == PROTO_PCP && (p->protocols & PORTMAP_UPNP))
		return PM_SSDP;
	if (failed != PROTO_NATPMP && (p->protocols & PORTMAP_NATPMP))
		return PM_EXTERNAL;
	return PM_IDLE;
}

static enum pm_state first(const struct portmap *p)
{
	return (p->protocols & PORTMAP_PCP)	 ? PM_PCP
	       : (p->protocols & PORTMAP_UPNP)	 ? PM_SSDP
	       : (p->protocols & PORTMAP_NATPMP) ? PM_EXTERNAL
						 : PM_IDLE;
}

static void send_request(struct portmap *p)
{
	uint8_t buf[PCP_MAP_LEN];
	char ms[256];
	uint16_t suggest = p->external_port ? p->external_port : p->internal_port;
	size_t n;

	if (p->state == PM_SSDP) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UPNP_SSDP_PORT) };
		inet_pton(AF_INET, UPNP_SSDP_ADDR, &to.sin_addr);
		if ((n = upnp_build_msearch(ms, sizeof(ms), 1)) &&
		    sendto(p->ssdp.fd, ms, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			log_debug("SSDP: send: %s", strerror(errno));
		return;
	}
	n = p->state == PM_PCP ? pcp_build_map(buf, sizeof(buf), p->client_addr, p->nonce,
					       p->internal_port, suggest, PORTMAP_LIFETIME_S)
	    : p->state == PM_EXTERNAL
		    ? natpmp_build_external(buf, sizeof(buf))
		    : natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, p->internal_port, suggest,
				       PORTMAP_LIFETIME_S);
	if (n && send(p->lfd.fd, buf, n, 0) < 0)
		log_debug("port mapping: send: %s", strerror(errno));
}

static void idle(struct portmap *p);

static void begin(struct portmap *p, enum pm_state st)
{
	http_client_free(p->http);
	p->http = NULL;
	if (st == PM_IDLE) {
		idle(p);
		return;
	}
	p->state = st;
	p->tries = 1;
	p->rto_ms = st == PM_SSDP ? 1000 : PORTMAP_RTO_MS;
	if (st == PM_DESC || st == PM_UPNP_EXT || st == PM_UPNP_ADD) {
		upnp_http(p, st);
		return;
	}
	send_request(p);
	loop_timer_set(p->loop, &p->timer, p->rto_ms);
}

static void lost(struct portmap *p)
{
	bool had = p->external_port != 0;

	p->external_port = 0;
	if (had && p->cb)
		p->cb(p->user, NULL, 0);
}

static void idle(struct portmap *p)
{
	lost(p);
	http_client_free(p->http);
	p->http = NULL;
	p->state = PM_IDLE;
	loop_timer_set(p->loop, &p->timer, PORTMAP_RETRY_S * 1000ull);
}

static void timer_cb(struct loop_timer *t)
{
	struct portmap *p = container_of(t, struct portmap, timer);
	unsigned max = p->state == PM_PCP ? PORTMAP_PCP_TRIES
		       : p->state == PM_SSDP ? PORTMAP_SSDP_TRIES
					     : PORTMAP_TRIES;

	switch (p->state) {
	case PM_PCP:
	case PM_SSDP:
	case PM_EXTERNAL:
	case PM_MAP:
		if (p->tries >= max) {
			enum pm_proto pr = p->state == PM_PCP	 ? PROTO_PCP
					   : p->state == PM_SSDP ? PROTO_UPNP
								 : PROTO_NATPMP;
			enum pm_state next = after(p, pr);
			if (next == PM_IDLE)
				log_info("port mapping: no answer from the gateway; asking again in %d s",
					 PORTMAP_RETRY_S);
			begin(p, next);
			return;
		}
		p->tries++;
		if (p->state != PM_SSDP)
			p->rto_ms *= 2;
		send_request(p);
		loop_timer_set(p->loop, &p->timer, p->rto_ms);
		return;
	case PM_DESC:
	case PM_UPNP_EXT:
	case PM_UPNP_ADD:
		return; /* the HTTP client has its own timeout */
	case PM_MAPPED: /* renewal at half the lifetime, same protocol (PCP: same nonce) */
		begin(p, p->proto == PROTO_PCP ? PM_PCP : p->proto == PROTO_UPNP ? PM_UPNP_ADD : PM_MAP);
		return;
	case PM_IDLE:
		begin(p, first(p));
		return;
	}
}

/* §3.6: the epoch must advance at least about as fast as our clock (7/8 of it, with 2 s of
 * slack); otherwise the gateway rebooted and forgot its mappings. */
static bool epoch_went_back(struct portmap *p, uint32_t epoch)
{
	uint64_t now = loop_now_ms(p->loop);
	bool back = false;

	if (p->have_epoch) {
		uint64_t elapsed = (now - p->epoch_at_ms) / 1000;
		back = (uint64_t)epoch + 2 < (uint64_t)p->epoch + elapsed * 7 / 8;
	}
	p->epoch = epoch;
	p->epoch_at_ms = now;
	p->have_epoch = true;
	return back;
}

static void mapped(struct portmap *p, uint16_t port, uint32_t lifetime, enum pm_proto pr)
{
	struct sockaddr_in ext = { .sin_family = AF_INET };
	bool changed = p->external_port != port;

	p->external_port = port;
	p->lifetime = lifetime;
	p->proto = pr;
	p->use_pcp = pr == PROTO_PCP;
	p->state = PM_MAPPED;
	/* renew at half the lifetime; a permanent UPnP lease (0) is checked hourly */
	loop_timer_set(p->loop, &p->timer, lifetime ? (uint64_t)lifetime * 500 : 3600000);
	memcpy(&ext.sin_addr, p->external_addr, 4);
	ext.sin_port = htons(port);
	if (changed) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, p->external_addr, a, sizeof(a));
		log_info("%s: %s:%u -> port %u for %u s", proto_name(pr), a, port, p->internal_port,
			 lifetime);
	}
	if (p->cb)
		p->cb(p->user, (struct sockaddr *)&ext, sizeof(ext));
}

/* RFC 6887 §11.3: a MAP response for our nonce and port */
static void on_pcp(struct portmap *p, const uint8_t *buf, size_t n)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct pcp_map_response r;
	int rc = pcp_parse_map(buf, n, &r);

	if (rc == PCP_E_VERSION && n >= 1 && buf[0] == NATPMP_VERSION) {
		/* §9: a NAT-PMP server answers our version 2 with its own version */
		log_debug("PCP: the gateway speaks NAT-PMP only");
		begin(p, (p->protocols & PORTMAP_NATPMP) ? PM_EXTERNAL : after(p, PROTO_NATPMP));
		return;
	}
	if (rc != PCP_OK || memcmp(r.nonce, p->nonce, PCP_NONCE_LEN) != 0 ||
	    r.internal_port != p->internal_port || r.protocol != PCP_PROTO_UDP)
		return;
	if (epoch_went_back(p, r.epoch) && p->state == PM_MAPPED)
		lost(p); /* §8.5: it lost our mapping; this answer re-creates it */
	if (r.result == PCP_RESULT_UNSUPP_VERSION) {
		begin(p, after(p, PROTO_PCP));
		return;
	}
	if (r.result != PCP_RESULT_SUCCESS || !r.lifetime || !r.external_port ||
	    memcmp(r.external_addr, v4mapped, 12) != 0) {
		log_info("PCP: mapping refused: %s", pcp_result_name(r.result));
		idle(p);
		return;
	}
	memcpy(p->external_addr, r.external_addr + 12, 4);
	p->have_external = true;
	mapped(p, r.external_port, r.lifetime, PROTO_PCP);
}

static void on_readable(struct loop_fd *lfd, uint32_t events)
{
	struct portmap *p = container_of(lfd, struct portmap, lfd);
	struct natpmp_response r;
	uint8_t buf[PCP_MAX_MSG];
	ssize_t n;

	(void)events;
	while ((n = recv(lfd->fd, buf, sizeof(buf), 0)) >= 0) {
		if (p->state == PM_PCP || (p->state == PM_MAPPED && p->proto == PROTO_PCP)) {
			on_pcp(p, buf, (size_t)n);
			continue;
		}
		if (natpmp_parse(buf, (size_t)n, &r) != NATPMP_OK)
			continue;
		if (p->state != PM_EXTERNAL && p->state != PM_MAP &&
		    !(p->state == PM_MAPPED && p->proto == PROTO_NATPMP))
			continue;
		if (epoch_went_back(p, r.epoch) && p->state == PM_MAPPED) {
			log_info("NAT-PMP: the gateway restarted; mapping again");
			lost(p);
			begin(p, PM_EXTERNAL);
			return;
		}
		if (p->state == PM_EXTERNAL && r.opcode == NATPMP_RESPONSE + NATPMP_OP_EXTERNAL) {
			if (r.result != NATPMP_RESULT_SUCCESS) {
				log_info("NAT-PMP: external address: %s", natpmp_result_name(r.result));
				idle(p);
				return;
			}
			memcpy(p->external_addr, r.external_addr, 4);
			p->have_external = true;
			begin(p, PM_MAP);
		} else if (p->state == PM_MAP && r.opcode == NATPMP_RESPONSE + NATPMP_OP_MAP_UDP &&
			   r.internal_port == p->internal_port) {
			if (r.result != NATPMP_RESULT_SUCCESS || r.lifetime == 0 || !r.external_port) {
				log_info("NAT-PMP: mapping refused: %s", natpmp_result_name(r.result));
				idle(p);
				return;
			}
			mapped(p, r.external_port, r.lifetime, PROTO_NATPMP);
		}
	}
}

/* ---- UPnP-IGD: SSDP answer → description → GetExternalIPAddress → AddPortMapping ---- */

static void on_ssdp(struct loop_fd *lfd, uint32_t events)
{
	struct portmap *p = container_of(lfd, struct portmap, ssdp);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char buf[1500];
	ssize_t n;

	(void)events;
	while ((n = recvfrom(lfd->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
		fl = sizeof(from);
		/* only our gateway's IGD: it is the NAT in front of us */
		if (p->state != PM_SSDP || from.sin_addr.s_addr != p->gw.sin_addr.s_addr ||
		    !upnp_ssdp_location(buf, (size_t)n, p->location, sizeof(p->location)))
			continue;
		log_debug("UPnP-IGD: description at %s", p->location);
		begin(p, PM_DESC);
		return;
	}
}

static int http_on_head(void *user, const struct http_resp *resp)
{
	struct portmap *p = user;

	p->http_status = resp->status;
	return 0;
}

static int http_on_body(void *user, const uint8_t *data, size_t len)
{
	struct portmap *p = user;
	char *nb;

	if (p->body_len + len > PORTMAP_DESC_MAX)
		return -1;
	if (!(nb = realloc(p->body, p->body_len + len + 1)))
		return -1;
	p->body = nb;
	memcpy(p->body + p->body_len, data, len);
	p->body_len += len;
	p->body[p->body_len] = '\0';
	return 0;
}

static void upnp_failed(struct portmap *p, const char *what)
{
	char code[16] = "";

	if (p->body)
		upnp_xml_text(p->body, p->body_len, "errorCode", code, sizeof(code));
	log_info("UPnP-IGD: %s failed (HTTP %d%s%s)", what, p->http_status, code[0] ? ", error " : "",
		 code);
	begin(p, after(p, PROTO_UPNP));
}

static void http_on_done(void *user, int err)
{
	struct portmap *p = user;
	char ip[64] = "", code[16] = "";
	enum pm_state st = p->state;

	p->http = NULL; /* freed by the client after on_done */
	if (err || p->http_status != 200 || !p->body) {
		/* §AddPortMapping errors: 718 ConflictInMappingEntry → another external
		 * port; 725 OnlyPermanentLeasesSupported → lease 0 */
		if (st == PM_UPNP_ADD && p->body &&
		    upnp_xml_text(p->body, p->body_len, "errorCode", code, sizeof(code)) &&
		    p->upnp_add_tries++ < 3) {
			if (strcmp(code, "725") == 0)
				p->upnp_lease = 0;
			else if (strcmp(code, "718") == 0)
				p->external_port = (uint16_t)(p->internal_port + 1 + p->upnp_add_tries);
			if (!strcmp(code, "725") || !strcmp(code, "718")) {
				begin(p, PM_UPNP_ADD);
				return;
			}
		}
		upnp_failed(p, st == PM_DESC ? "description" : st == PM_UPNP_EXT ? "GetExternalIPAddress"
										   : "AddPortMapping");
		return;
	}
	if (st == PM_DESC) {
		if (!upnp_find_service(p->body, p->body_len, p->location, p->service,
				       sizeof(p->service), p->control_url, sizeof(p->control_url))) {
			upnp_failed(p, "finding a WAN connection service");
			return;
		}
		begin(p, PM_UPNP_EXT);
	} else if (st == PM_UPNP_EXT) {
		if (!upnp_xml_text(p->body, p->body_len, "NewExternalIPAddress", ip, sizeof(ip)) ||
		    inet_pton(AF_INET, ip, p->external_addr) != 1) {
			upnp_failed(p, "GetExternalIPAddress");
			return;
		}
		p->have_external = true;
		p->upnp_add_tries = 0;
		p->upnp_lease = PORTMAP_LIFETIME_S;
		begin(p, PM_UPNP_ADD);
	} else if (st == PM_UPNP_ADD) {
		mapped(p, p->external_port ? p->external_port : p->internal_port, p->upnp_lease,
		       PROTO_UPNP);
	}
}

static const struct http_client_cb http_cbs = { http_on_head, http_on_body, http_on_done };

static void upnp_http(struct portmap *p, enum pm_state st)
{
	char body[1024], action[160];
	const char *headers[] = { action, NULL };
	struct http_client_opts o = { 0 };
	const char *name = NULL;
	size_t n = 0;
	int rc;

	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	p->http_status = 0;
	o.timeout_ms = PORTMAP_HTTP_MS;
	o.max_body_bytes = PORTMAP_DESC_MAX;
	o.max_redirects = 0;
	if (st == PM_DESC) {
		o.url = p->location;
		o.method = HTTP_CLIENT_GET;
	} else {
		if (st == PM_UPNP_EXT) {
			name = "GetExternalIPAddress";
			n = upnp_soap_external_ip(body, sizeof(body), p->service);
		} else {
			name = "AddPortMapping";
			n = upnp_soap_add(body, sizeof(body), p->service,
					  p->external_port ? p->external_port : p->internal_port,
					  p->internal_port, p->client_ip, p->upnp_lease, "pear-fog");
		}
		snprintf(action, sizeof(action), "SOAPAction: \"%s#%s\"", p->service, name);
		o.url = p->control_url;
		o.method = HTTP_CLIENT_POST;
		o.headers = headers;
		o.body = body;
		o.body_len = n;
		o.content_type = "text/xml; charset=\"utf-8\"";
	}
	p->state = st;
	if ((st != PM_DESC && !n) ||
	    (rc = http_client_request(&p->http, p->loop, &o, &http_cbs, p)) != 0) {
		log_info("UPnP-IGD: request to %s failed", o.url);
		begin(p, after(p, PROTO_UPNP));
	}
}

/* DeletePortMapping on stop, blocking for at most ~1 s: the loop is going away. */
static void upnp_delete_now(struct portmap *p)
{
	char body[512], req[1400];
	struct net_url u;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct pollfd pfd;
	size_t n = upnp_soap_delete(body, sizeof(body), p->service, p->external_port);
	int fd, len;

	if (!n || net_url_parse(p->control_url, &u) != 0 || u.tls ||
	    inet_pton(AF_INET, u.host, &to.sin_addr) != 1)
		return;
	to.sin_port = htons(u.port);
	len = snprintf(req, sizeof(req),
		       "POST %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
		       "SOAPAction: \"%s#DeletePortMapping\"\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n%s",
		       u.target, u.host, u.port, p->service, n, body);
	if (len <= 0 || (size_t)len >= sizeof(req))
		return;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if ((connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 || errno == EINPROGRESS) &&
	    poll(&pfd, 1, 500) == 1 && send(fd, req, (size_t)len, MSG_NOSIGNAL) == len) {
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 500) == 1)
			(void)recv(fd, req, sizeof(req), 0); /* the status line; not needed */
	}
	close(fd);
}

struct portmap *portmap_start(struct loop *l, uint16_t internal_port, const char *gateway,
			      unsigned protocols, portmap_cb cb, void *user, char *errmsg,
			      size_t errcap)
{
	struct portmap *p = calloc(1, sizeof(*p));
	uint32_t gw = 0;

	if (!p) {
		snprintf(errmsg, errcap, "out of memory");
		return NULL;
	}
	p->loop = l;
	p->internal_port = internal_port;
	p->protocols = protocols ? protocols : PORTMAP_ALL;
	p->cb = cb;
	p->user = user;
	p->lfd.fd = -1;
	p->ssdp.fd = -1;
	p->timer.cb = timer_cb;
	if (gateway && *gateway) {
		if (inet_pton(AF_INET, gateway, &gw) != 1) {
			snprintf(errmsg, errcap, "gateway '%s' is not an IPv4 address", gateway);
			goto fail;
		}
	} else {
		char text[8192];
		int fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

		if (fd >= 0)
			close(fd);
		text[n > 0 ? n : 0] = '\0';
		if (!portmap_default_gateway(text, &gw)) {
			snprintf(errmsg, errcap, "no default IPv4 gateway");
			goto fail;
		}
	}
	p->gw.sin_family = AF_INET;
	p->gw.sin_port = htons(NATPMP_PORT);
	p->gw.sin_addr.s_addr = gw;
	p->lfd.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd.fd < 0 || connect(p->lfd.fd, (struct sockaddr *)&p->gw, sizeof(p->gw)) < 0) {
		snprintf(errmsg, errcap, "socket: %s", strerror(errno));
		goto fail;
	}
	{
		/* RFC 6887 §5: the client's address as the server sees it = our source address;
		 * UPnP's NewInternalClient is the same */
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		if (getsockname(p->lfd.fd, (struct sockaddr *)&me, &ml) < 0) {
			snprintf(errmsg, errcap, "getsockname: %s", strerror(errno));
			goto fail;
		}
		p->client_addr[10] = p->client_addr[11] = 0xff;
		memcpy(p->client_addr + 12, &me.sin_addr, 4);
		inet_ntop(AF_INET, &me.sin_addr, p->client_ip, sizeof(p->client_ip));
	}
	if (crypto_random(p->nonce, PCP_NONCE_LEN) < 0) {
		snprintf(errmsg, errcap, "random nonce failed");
		goto fail;
	}
	p->lfd.cb = on_readable;
	if (loop_fd_add(l, &p->lfd, EPOLLIN) < 0) {
		snprintf(errmsg, errcap, "loop: %s", strerror(errno));
		goto fail;
	}
	if (p->protocols & PORTMAP_UPNP) {
		unsigned char ttl = 2;

		p->ssdp.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		p->ssdp.cb = on_ssdp;
		if (p->ssdp.fd < 0 ||
		    setsockopt(p->ssdp.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
		    loop_fd_add(l, &p->ssdp, EPOLLIN) < 0) {
			snprintf(errmsg, errcap, "SSDP socket: %s", strerror(errno));
			goto fail;
		}
	}
	begin(p, first(p));
	return p;
fail:
	if (p->lfd.registered)
		loop_fd_del(l, &p->lfd);
	if (p->lfd.fd >= 0)
		close(p->lfd.fd);
	if (p->ssdp.fd >= 0)
		close(p->ssdp.fd);
	free(p);
	return NULL;
}

bool portmap_mapped(const struct portmap *p)
{
	return p && p->state == PM_MAPPED;
}

void portmap_free(struct portmap *p)
{
	uint8_t buf[PCP_MAP_LEN];
	size_t n = 0;

	if (!p)
		return;
	/* delete the mapping: lifetime 0 (RFC 6886 §3.4; RFC 6887 §15, same nonce) as one
	 * best-effort datagram, or UPnP DeletePortMapping */
	if (p->external_port && p->proto == PROTO_UPNP && p->service[0])
		upnp_delete_now(p);
	else if (p->external_port &&
		 (n = p->proto == PROTO_PCP ? pcp_build_map(buf, sizeof(buf), p->client_addr,
							    p->nonce, p->internal_port, 0, 0)
					    : natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP,
							       p->internal_port, 0, 0)))
		(void)send(p->lfd.fd, buf, n, 0);
	http_client_free(p->http);
	free(p->body);
	loop_timer_cancel(p->loop, &p->timer);
	loop_fd_del(p->loop, &p->lfd);
	close(p->lfd.fd);
	if (p->ssdp.fd >= 0) {
		loop_fd_del(p->loop, &p->ssdp);
		close(p->ssdp.fd);
	}
	free(p);
}

int portmap_parse_protocols(const char *s)
{
	char buf[64], *save = NULL;
	int m = 0;

	if (!s || !*s || !strcmp(s, "auto") || !strcmp(s, "1") || !strcmp(s, "on"))
		return PORTMAP_ALL;
	if (!strcmp(s, "off") || !strcmp(s, "0"))
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(t, "pcp"))
			m |= PORTMAP_PCP;
		else if (!strcmp(t, "natpmp"))
			m |= PORTMAP_NATPMP;
		else if (!strcmp(t, "upnp"))
			m |= PORTMAP_UPNP;
		else
			return -1;
	}
	return m ? m : -1;
}

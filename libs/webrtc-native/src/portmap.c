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

#include "log.h"
#include "natpmp.h"
#include "pcp.h"

#define PORTMAP_RTO_MS 250 /* RFC 6886 §3.1; RFC 6887 §8.1.1 starts at 3 s, but one LAN hop */

/* PM_PCP: PCP MAP (RFC 6887) in flight; PM_EXTERNAL/PM_MAP: NAT-PMP (RFC 6886) */
enum pm_state { PM_PCP, PM_EXTERNAL, PM_MAP, PM_MAPPED, PM_IDLE };

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

static void send_request(struct portmap *p)
{
	uint8_t buf[PCP_MAP_LEN];
	uint16_t suggest = p->external_port ? p->external_port : p->internal_port;
	size_t n = p->state == PM_PCP
			   ? pcp_build_map(buf, sizeof(buf), p->client_addr, p->nonce,
					   p->internal_port, suggest, PORTMAP_LIFETIME_S)
		   : p->state == PM_EXTERNAL
			   ? natpmp_build_external(buf, sizeof(buf))
			   : natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, p->internal_port,
					      suggest, PORTMAP_LIFETIME_S);

	if (n && send(p->lfd.fd, buf, n, 0) < 0)
		log_debug("NAT-PMP: send: %s", strerror(errno));
}

static void begin(struct portmap *p, enum pm_state st)
{
	p->state = st;
	p->tries = 1;
	p->rto_ms = PORTMAP_RTO_MS;
	send_request(p);
	loop_timer_set(p->loop, &p->timer, p->rto_ms);
}

static void lost(struct portmap *p)
{
	bool had = p->state == PM_MAPPED;

	p->external_port = 0;
	if (had && p->cb)
		p->cb(p->user, NULL, 0);
}

static void timer_cb(struct loop_timer *t)
{
	struct portmap *p = container_of(t, struct portmap, timer);

	switch (p->state) {
	case PM_PCP:
		if (p->tries >= PORTMAP_PCP_TRIES) {
			begin(p, PM_EXTERNAL); /* maybe a NAT-PMP server that ignores PCP */
			return;
		}
		p->tries++;
		p->rto_ms *= 2;
		send_request(p);
		loop_timer_set(p->loop, &p->timer, p->rto_ms);
		return;
	case PM_EXTERNAL:
	case PM_MAP:
		if (p->tries >= PORTMAP_TRIES) {
			log_info("NAT-PMP: no answer from the gateway; asking again in %d s",
				 PORTMAP_RETRY_S);
			p->state = PM_IDLE;
			loop_timer_set(p->loop, &p->timer, PORTMAP_RETRY_S * 1000ull);
			return;
		}
		p->tries++;
		p->rto_ms *= 2;
		send_request(p);
		loop_timer_set(p->loop, &p->timer, p->rto_ms);
		return;
	case PM_MAPPED: /* renewal at half the lifetime, same protocol (and nonce) */
		begin(p, p->use_pcp ? PM_PCP : PM_MAP);
		return;
	case PM_IDLE:
		begin(p, PM_PCP);
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

static void mapped(struct portmap *p, uint16_t port, uint32_t lifetime, bool pcp)
{
	struct sockaddr_in ext = { .sin_family = AF_INET };
	bool changed = p->external_port != port;

	p->external_port = port;
	p->lifetime = lifetime;
	p->use_pcp = pcp;
	p->state = PM_MAPPED;
	loop_timer_set(p->loop, &p->timer, (uint64_t)lifetime * 500);
	memcpy(&ext.sin_addr, p->external_addr, 4);
	ext.sin_port = htons(port);
	if (changed) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, p->external_addr, a, sizeof(a));
		log_info("%s: %s:%u -> port %u for %u s", pcp ? "PCP" : "NAT-PMP", a, port,
			 p->internal_port, lifetime);
	}
	if (p->cb)
		p->cb(p->user, (struct sockaddr *)&ext, sizeof(ext));
}

static void idle(struct portmap *p)
{
	lost(p);
	p->state = PM_IDLE;
	loop_timer_set(p->loop, &p->timer, PORTMAP_RETRY_S * 1000ull);
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
		begin(p, PM_EXTERNAL);
		return;
	}
	if (rc != PCP_OK || memcmp(r.nonce, p->nonce, PCP_NONCE_LEN) != 0 ||
	    r.internal_port != p->internal_port || r.protocol != PCP_PROTO_UDP)
		return;
	if (epoch_went_back(p, r.epoch) && p->state == PM_MAPPED)
		lost(p); /* §8.5: it lost our mapping; this answer re-creates it */
	if (r.result == PCP_RESULT_UNSUPP_VERSION) {
		begin(p, PM_EXTERNAL);
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
	mapped(p, r.external_port, r.lifetime, true);
}

static void on_readable(struct loop_fd *lfd, uint32_t events)
{
	struct portmap *p = container_of(lfd, struct portmap, lfd);
	struct natpmp_response r;
	uint8_t buf[PCP_MAX_MSG];
	ssize_t n;

	(void)events;
	while ((n = recv(lfd->fd, buf, sizeof(buf), 0)) >= 0) {
		if (p->state == PM_PCP || (p->state == PM_MAPPED && p->use_pcp)) {
			on_pcp(p, buf, (size_t)n);
			continue;
		}
		if (natpmp_parse(buf, (size_t)n, &r) != NATPMP_OK)
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
			mapped(p, r.external_port, r.lifetime, false);
		}
	}
}

struct portmap *portmap_start(struct loop *l, uint16_t internal_port, const char *gateway,
			      portmap_cb cb, void *user, char *errmsg, size_t errcap)
{
	struct portmap *p = calloc(1, sizeof(*p));
	uint32_t gw = 0;

	if (!p) {
		snprintf(errmsg, errcap, "out of memory");
		return NULL;
	}
	p->loop = l;
	p->internal_port = internal_port;
	p->cb = cb;
	p->user = user;
	p->lfd.fd = -1;
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
		/* §5: the client's address as the server sees it = our source address */
		struct sockaddr_in me;
		socklen_t ml = sizeof(me);

		if (getsockname(p->lfd.fd, (struct sockaddr *)&me, &ml) < 0) {
			snprintf(errmsg, errcap, "getsockname: %s", strerror(errno));
			goto fail;
		}
		p->client_addr[10] = p->client_addr[11] = 0xff;
		memcpy(p->client_addr + 12, &me.sin_addr, 4);
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
	begin(p, PM_PCP);
	return p;
fail:
	if (p->lfd.fd >= 0)
		close(p->lfd.fd);
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
	size_t n;

	if (!p)
		return;
	/* lifetime 0 deletes the mapping (RFC 6886 §3.4, RFC 6887 §15: same nonce); one
	 * best-effort datagram */
	if (p->external_port &&
	    (n = p->use_pcp ? pcp_build_map(buf, sizeof(buf), p->client_addr, p->nonce,
					    p->internal_port, 0, 0)
			    : natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, p->internal_port,
					       0, 0)))
		(void)send(p->lfd.fd, buf, n, 0);
	loop_timer_cancel(p->loop, &p->timer);
	loop_fd_del(p->loop, &p->lfd);
	close(p->lfd.fd);
	free(p);
}

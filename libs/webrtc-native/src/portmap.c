/* portmap: NAT-PMP client on the loop (portmap.h). */
#include "portmap.h"

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

#define PORTMAP_RTO_MS 250 /* RFC 6886 §3.1 */

enum pm_state { PM_EXTERNAL, PM_MAP, PM_MAPPED, PM_IDLE };

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
	uint8_t buf[NATPMP_REQ_MAX];
	size_t n = p->state == PM_EXTERNAL
			   ? natpmp_build_external(buf, sizeof(buf))
			   : natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, p->internal_port,
					      p->external_port ? p->external_port : p->internal_port,
					      PORTMAP_LIFETIME_S);

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
	case PM_MAPPED: /* renewal at half the lifetime */
		begin(p, PM_MAP);
		return;
	case PM_IDLE:
		begin(p, PM_EXTERNAL);
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

static void on_readable(struct loop_fd *lfd, uint32_t events)
{
	struct portmap *p = container_of(lfd, struct portmap, lfd);
	struct natpmp_response r;
	uint8_t buf[64];
	ssize_t n;

	(void)events;
	while ((n = recv(lfd->fd, buf, sizeof(buf), 0)) >= 0) {
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
				p->state = PM_IDLE;
				loop_timer_set(p->loop, &p->timer, PORTMAP_RETRY_S * 1000ull);
				return;
			}
			memcpy(p->external_addr, r.external_addr, 4);
			p->have_external = true;
			begin(p, PM_MAP);
		} else if (p->state == PM_MAP && r.opcode == NATPMP_RESPONSE + NATPMP_OP_MAP_UDP &&
			   r.internal_port == p->internal_port) {
			struct sockaddr_in ext = { .sin_family = AF_INET };
			bool changed;

			if (r.result != NATPMP_RESULT_SUCCESS || r.lifetime == 0 || !r.external_port) {
				log_info("NAT-PMP: mapping refused: %s", natpmp_result_name(r.result));
				lost(p);
				p->state = PM_IDLE;
				loop_timer_set(p->loop, &p->timer, PORTMAP_RETRY_S * 1000ull);
				return;
			}
			changed = p->external_port != r.external_port;
			p->external_port = r.external_port;
			p->lifetime = r.lifetime;
			p->state = PM_MAPPED;
			loop_timer_set(p->loop, &p->timer, (uint64_t)r.lifetime * 500);
			memcpy(&ext.sin_addr, p->external_addr, 4);
			ext.sin_port = htons(r.external_port);
			if (changed) {
				char a[INET_ADDRSTRLEN];
				inet_ntop(AF_INET, p->external_addr, a, sizeof(a));
				log_info("NAT-PMP: %s:%u -> port %u for %u s", a, r.external_port,
					 p->internal_port, r.lifetime);
			}
			if (p->cb)
				p->cb(p->user, (struct sockaddr *)&ext, sizeof(ext));
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
	p->lfd.cb = on_readable;
	if (loop_fd_add(l, &p->lfd, EPOLLIN) < 0) {
		snprintf(errmsg, errcap, "loop: %s", strerror(errno));
		goto fail;
	}
	begin(p, PM_EXTERNAL);
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
	uint8_t buf[NATPMP_REQ_MAX];
	size_t n;

	if (!p)
		return;
	/* §3.4: lifetime 0 deletes the mapping; one best-effort datagram */
	if (p->external_port &&
	    (n = natpmp_build_map(buf, sizeof(buf), NATPMP_OP_MAP_UDP, p->internal_port, 0, 0)))
		(void)send(p->lfd.fd, buf, n, 0);
	loop_timer_cancel(p->loop, &p->timer);
	loop_fd_del(p->loop, &p->lfd);
	close(p->lfd.fd);
	free(p);
}

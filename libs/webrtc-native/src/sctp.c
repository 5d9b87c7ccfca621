/* sctp: usrsctp (no-threads mode) behind a small callback API; see sctp.h for the
 * re-entrancy rules.  RFC 8261 (SCTP over DTLS), RFC 8831 §6 (SCTP usage for data
 * channels), RFC 6525 (stream reset), RFC 3758 (PR-SCTP). */
#include "sctp.h"
#include "monotime.h"

#include "crc32c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <usrsctp.h>

/* Not in usrsctp.h but handled by its getsockopt (FreeBSD netinet/sctp.h): bytes in the
 * association's output queue, i.e. queued or in flight and not yet acknowledged. */
#ifndef SCTP_GET_SNDBUF_USE
#define SCTP_GET_SNDBUF_USE 0x00001101
struct sctp_sockstat {
	sctp_assoc_t ss_assoc_id;
	uint32_t ss_total_sndbuf;
	uint32_t ss_total_recv_buf;
};
#endif

#define SCTP_ID_BUCKETS 256 /* id -> association hash buckets */
#define SCTP_PACKET_MIN 576 /* smallest packet_max accepted */

const struct sctp_assoc_config sctp_assoc_config_default = SCTP_ASSOC_CONFIG_DEFAULTS;

#define SCTP_CWND_CAP_PERIOD_MS 100 /* how often the cap follows the path's SRTT */
#define SCTP_SRTT_WINDOW 100	    /* rounds (10 s) a lowest SRTT is kept */
#define SCTP_CWND_CAP_MAX (4u << 20) /* the cap never exceeds 4 MiB */

struct sctp_assoc {
	uintptr_t id; /* usrsctp's AF_CONN address; looked up, never dereferenced */
	struct sctp_assoc *next, *prev; /* all associations */
	struct sctp_assoc *hnext;       /* id bucket chain */
	struct socket *so;
	struct sctp_assoc_config cfg;
	struct sctp_callbacks cb;
	void *user;
	enum sctp_state state;
	uint16_t in_streams, out_streams;
	bool pending;     /* upcall fired: the socket has something to read */
	bool dispatching; /* callbacks of this association are running */
	bool blocked;     /* a send returned SCTP_E_AGAIN: on_writable is owed */
	bool dead;        /* freed by the user; reaped when the outermost call returns */
	/* reassembly of partial deliveries (RFC 6458 §8.1.20 partial delivery) */
	uint8_t *reasm;
	size_t reasm_len;
	uint16_t reasm_stream;
	uint32_t reasm_ppid;
	bool reasm_drop; /* discarding the rest of an oversize message */
	bool notif_cont; /* the next notification read continues a long one */
	uint32_t cwnd_cap_now; /* SCTP_MAX_CWND as last set (cwnd_cap_update) */
	uint32_t srtt_min_ms;  /* lowest SRTT seen in this window */
	uint32_t srtt_window;  /* cap update rounds left in the window */
	struct sctp_stats stats;
};

static struct {
	bool inited;
	uintptr_t next_id;
	uint32_t cwnd_cap_elapsed_ms; /* since the last cwnd_cap_update round */
	uint64_t (*clock)(void);       /* milliseconds (sctp_set_clock; default monotonic) */
	uint64_t clock_ms;             /* clock() when usrsctp's timers last moved */
	struct sctp_assoc *head;
	size_t count;
	struct sctp_assoc *buckets[SCTP_ID_BUCKETS];
	unsigned in_stack;   /* > 0 while inside a usrsctp call */
	unsigned depth;      /* > 0 while inside a public call or its callbacks */
	unsigned drain_depth;
	unsigned n_dead;
	uint8_t rbuf[SCTP_RECV_CHUNK];
} g;

static struct sctp_assoc *assoc_lookup(uintptr_t id)
{
	struct sctp_assoc *a = g.buckets[id % SCTP_ID_BUCKETS];

	while (a && a->id != id)
		a = a->hnext;
	return a;
}

static void assoc_link(struct sctp_assoc *a)
{
	struct sctp_assoc **b = &g.buckets[a->id % SCTP_ID_BUCKETS];

	a->hnext = *b;
	*b = a;
	a->next = g.head;
	if (g.head)
		g.head->prev = a;
	g.head = a;
	g.count++;
}

static void assoc_unlink(struct sctp_assoc *a)
{
	struct sctp_assoc **p = &g.buckets[a->id % SCTP_ID_BUCKETS];

	while (*p && *p != a)
		p = &(*p)->hnext;
	if (*p)
		*p = a->hnext;
	if (a->prev)
		a->prev->next = a->next;
	else
		g.head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	g.count--;
}

/* usrsctp's AF_CONN output: one SCTP packet for the DTLS layer (RFC 8261 §4). */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
	struct sctp_assoc *a = assoc_lookup((uintptr_t)addr);

	if (!a || a->dead)
		return 0;
	/* CRC32c offload is on (see sctp_global_init): fill in the checksum here, RFC 9260
	 * §6.8 / Appendix A, with the CPU's CRC instruction when it has one (crc32c.h). */
	crc32c_sctp_fill(buf, len);
	a->stats.packets_out++;
	a->cb.send_packet(a->user, buf, len);
	return 0;
}

static void upcall(struct socket *so, void *arg, int flags)
{
	struct sctp_assoc *a = assoc_lookup((uintptr_t)arg);

	if (a)
		a->pending = true;
}

static void assoc_destroy(struct sctp_assoc *a)
{
	if (a->so) {
		usrsctp_set_upcall(a->so, NULL, NULL);
		g.in_stack++;
		usrsctp_close(a->so); /* SO_LINGER 0: ABORT via conn_output unless dead */
		g.in_stack--;
	}
	assoc_unlink(a); /* after close: conn_output looks the ABORT's sender up */
	usrsctp_deregister_address((void *)a->id);
	free(a->reasm);
	free(a);
}

static void reap_dead(void)
{
	struct sctp_assoc *a = g.head, *next;

	while (a && g.n_dead) {
		next = a->next;
		if (a->dead) {
			g.n_dead--;
			assoc_destroy(a);
		}
		a = next;
	}
}

static void enter(void)
{
	g.depth++;
}

static void leave(void)
{
	if (--g.depth == 0 && g.n_dead)
		reap_dead();
}

/* usrsctp counts a timer's deadline from its own tick counter, which moves only when
 * usrsctp_handle_timers() is called; between two calls it stands still.  A timer armed
 * 9 ms after the last call therefore expired 9 ms early: with ticks SCTP_TICK_MS apart, a
 * T3-rtx armed at RTO.Min (20 ms) fired after 10-20 ms, and every such spurious expiry
 * cuts the congestion window to one packet (RFC 9260 §7.2.3) with nothing lost.  So every
 * packet in and message out first brings usrsctp's tick counter to now (firing what is due
 * by then) and the data timers count from the moment they are armed.  Returns true when
 * time moved.  Call with g.in_stack == 0 (timer callbacks may send packets). */
static bool clock_sync(void)
{
	uint64_t now = g.clock();
	uint64_t elapsed;

	if (now <= g.clock_ms)
		return false;
	elapsed = now - g.clock_ms;
	if (elapsed > UINT32_MAX / 2)
		elapsed = UINT32_MAX / 2;
	g.clock_ms = now;
	g.in_stack++;
	usrsctp_handle_timers((uint32_t)elapsed);
	g.in_stack--;
	g.cwnd_cap_elapsed_ms += (uint32_t)elapsed;
	return true;
}

size_t sctp_assoc_buffered(const struct sctp_assoc *a)
{
	struct sctp_sockstat ss = { 0 };
	socklen_t len = sizeof(ss);

	if (!a->so || a->state != SCTP_ST_CONNECTED)
		return 0;
	if (usrsctp_getsockopt(a->so, IPPROTO_SCTP, SCTP_GET_SNDBUF_USE, &ss, &len) < 0)
		return 0;
	return ss.ss_total_sndbuf;
}

static void set_state(struct sctp_assoc *a, enum sctp_state st)
{
	if (a->state == st)
		return;
	a->state = st;
	if (a->cb.on_state)
		a->cb.on_state(a->user, st);
}

/* RFC 6458 §6.1 notifications we subscribed to. */
static void on_notification(struct sctp_assoc *a, const uint8_t *buf, size_t len)
{
	const union sctp_notification *n = (const void *)buf;

	if (len < sizeof(n->sn_header))
		return;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE: {
		const struct sctp_assoc_change *c = &n->sn_assoc_change;

		if (len < sizeof(*c))
			return;
		switch (c->sac_state) {
		case SCTP_COMM_UP:
		case SCTP_RESTART:
			a->out_streams = c->sac_outbound_streams;
			a->in_streams = c->sac_inbound_streams;
			set_state(a, SCTP_ST_CONNECTED);
			break;
		case SCTP_COMM_LOST:
		case SCTP_SHUTDOWN_COMP:
		case SCTP_CANT_STR_ASSOC:
			set_state(a, SCTP_ST_CLOSED);
			break;
		}
		break;
	}
	case SCTP_STREAM_RESET_EVENT: {
		const struct sctp_stream_reset_event *r = &n->sn_strreset_event;
		unsigned flags = 0;
		size_t cnt;

		if (len < sizeof(*r) || r->strreset_length > len ||
		    r->strreset_length < sizeof(*r))
			return;
		cnt = (r->strreset_length - sizeof(*r)) / sizeof(uint16_t);
		if (r->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
			flags |= SCTP_RST_INCOMING;
		if (r->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
			flags |= SCTP_RST_OUTGOING;
		if (r->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED))
			flags |= SCTP_RST_FAILED;
		for (size_t i = 0; i < cnt && !a->dead; i++) {
			uint16_t sid;

			memcpy(&sid, buf + sizeof(*r) + i * sizeof(uint16_t), sizeof(sid));
			if (a->cb.on_stream_reset)
				a->cb.on_stream_reset(a->user, sid, flags);
		}
		break;
	}
	case SCTP_SEND_FAILED_EVENT:
		a->stats.send_failed++;
		break;
	default: /* SCTP_SENDER_DRY_EVENT: the writable check after draining covers it */
		break;
	}
}

static void deliver(struct sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *d,
		    size_t len)
{
	a->stats.msgs_in++;
	a->stats.bytes_in += len;
	if (a->cb.on_message)
		a->cb.on_message(a->user, sid, ppid, d, len);
}

/* One piece of user data; eor = last piece of the message. */
static void on_data(struct sctp_assoc *a, const struct sctp_rcvinfo *ri, const uint8_t *d,
		    size_t len, bool eor)
{
	uint16_t sid = ri->rcv_sid;
	uint32_t ppid = ntohl(ri->rcv_ppid);
	uint8_t *nb;

	if (a->reasm_drop) {
		a->reasm_drop = !eor;
		return;
	}
	if (!len && !eor)
		return;
	if (!a->reasm_len && eor && len <= a->cfg.max_message_size) {
		deliver(a, sid, ppid, d, len); /* whole message in one read: no copy */
		return;
	}
	if (!a->reasm_len) {
		a->reasm_stream = sid;
		a->reasm_ppid = ppid;
	}
	if (a->reasm_len + len > a->cfg.max_message_size ||
	    !(nb = realloc(a->reasm, a->reasm_len + len))) {
		a->stats.oversize_dropped++;
		free(a->reasm);
		a->reasm = NULL;
		a->reasm_len = 0;
		a->reasm_drop = !eor;
		return;
	}
	a->reasm = nb;
	memcpy(a->reasm + a->reasm_len, d, len);
	a->reasm_len += len;
	if (!eor)
		return;
	/* Take the buffer first: the callback may free the association. */
	nb = a->reasm;
	len = a->reasm_len;
	a->reasm = NULL;
	a->reasm_len = 0;
	deliver(a, a->reasm_stream, a->reasm_ppid, nb, len);
	free(nb);
}

static void drain(struct sctp_assoc *a)
{
	uint8_t *buf = g.drain_depth ? malloc(SCTP_RECV_CHUNK) : g.rbuf;

	if (!buf)
		return;
	g.drain_depth++;
	while (!a->dead) {
		struct sctp_rcvinfo ri;
		struct sockaddr_conn from;
		socklen_t fromlen = sizeof(from), infolen = sizeof(ri);
		unsigned int infotype = 0;
		int flags = 0;
		ssize_t n;

		memset(&ri, 0, sizeof(ri));
		g.in_stack++;
		n = usrsctp_recvv(a->so, buf, SCTP_RECV_CHUNK, (struct sockaddr *)&from, &fromlen,
				  &ri, &infolen, &infotype, &flags);
		g.in_stack--;
		if (n < 0 || (n == 0 && !(flags & MSG_NOTIFICATION)))
			break;
		if (flags & MSG_NOTIFICATION) {
			/* Only the first piece of a notification is parsed: a long one (a
			 * SEND_FAILED_EVENT carries the failed message) continues in later
			 * reads, which must not be mistaken for new notifications. */
			if (!a->notif_cont)
				on_notification(a, buf, (size_t)n);
			a->notif_cont = !(flags & MSG_EOR);
		} else if (infotype == SCTP_RECVV_RCVINFO) {
			on_data(a, &ri, buf, (size_t)n, flags & MSG_EOR);
		}
	}
	g.drain_depth--;
	if (buf != g.rbuf)
		free(buf);
}

/* Deliver what usrsctp queued for this association; on_writable when owed. */
static void dispatch(struct sctp_assoc *a)
{
	if (a->dispatching || a->dead)
		return;
	a->dispatching = true;
	while (a->pending && !a->dead) {
		a->pending = false;
		drain(a);
	}
	if (!a->dead && a->blocked && a->state == SCTP_ST_CONNECTED &&
	    sctp_assoc_buffered(a) <= a->cfg.writable_low) {
		a->blocked = false;
		if (a->cb.on_writable)
			a->cb.on_writable(a->user);
	}
	a->dispatching = false;
}

/* What timers of other associations caused (sctp_timers_run does the periodic sweep). */
static void dispatch_pending(void)
{
	for (struct sctp_assoc *a = g.head; a; a = a->next)
		if (a->pending)
			dispatch(a);
}

int sctp_global_init(void)
{
	if (g.inited)
		return SCTP_OK;
	usrsctp_init_nothreads(0, conn_output, NULL);
	if (!g.clock)
		g.clock = monotime_ms;
	g.clock_ms = g.clock();
	/* Incoming SCTP packets are not CRC32c-checked: they arrived inside DTLS records
	 * whose AEAD/MAC already authenticated every byte (RFC 8261), and the table CRC was
	 * ~40% of SCTP CPU in the in-memory benchmark.  Outgoing packets still carry a
	 * correct checksum (conn_output), as peers verify it.  libdatachannel does the same. */
	usrsctp_enable_crc32c_offload();
	/* RFC 8831 §6.2: PR-SCTP and stream reconfiguration are required; ECN, ASCONF and
	 * AUTH are not used by WebRTC peers (dcsctp does not implement them). */
	usrsctp_sysctl_set_sctp_pr_enable(1);
	usrsctp_sysctl_set_sctp_reconfig_enable(1);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	usrsctp_sysctl_set_sctp_asconf_enable(0);
	usrsctp_sysctl_set_sctp_auth_enable(0);
	usrsctp_sysctl_set_sctp_nrsack_enable(0);
	usrsctp_sysctl_set_sctp_pktdrop_enable(0);
	usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
	usrsctp_sysctl_set_sctp_rto_initial_default(1000);
	/* RTO.Min (RFC 9260 §6.3.1 suggests 1 s; WebRTC stacks use ~200 ms) is what a lost
	 * tail costs: the last packets of a response have no later packet to trigger fast
	 * retransmit, so SCTP waits for T3-rtx.  A browser on a busy machine drops datagrams
	 * from its full UDP receive buffer (208 KiB by default) at any send rate, so tails do
	 * get lost: with 200 ms, 3-7 of 1000 four-chunk segments took ~400 ms (two RTOs);
	 * with 20 ms none took 100 ms (`npm run bench -- segment`).  RTO = SRTT + 4 RTTVAR
	 * still governs paths slower than that, and SACK-IMMEDIATELY on every message
	 * (sctp_assoc_send) keeps a receiver's delayed SACK from firing it spuriously; QUIC's
	 * probe timeout (RFC 9002 §6.2) has no floor beyond 1 ms. */
	usrsctp_sysctl_set_sctp_rto_min_default(SCTP_RTO_MIN_MS);
	usrsctp_sysctl_set_sctp_rto_max_default(10000);
	usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
	usrsctp_sysctl_set_sctp_initial_cwnd(10);
	g.inited = true;
	return SCTP_OK;
}

void sctp_global_shutdown(void)
{
	if (!g.inited)
		return;
	while (g.head) {
		g.head->dead = true;
		assoc_destroy(g.head);
	}
	g.n_dead = 0;
	/* Aborted associations are released on the next timer run. */
	for (int i = 0; i < 10 && usrsctp_finish() != 0; i++)
		usrsctp_handle_timers(SCTP_TICK_MS * 10);
	g.inited = false;
}

static int setopt(struct socket *so, int level, int name, const void *v, socklen_t len)
{
	return usrsctp_setsockopt(so, level, name, v, len) < 0 ? SCTP_E_STACK : SCTP_OK;
}

static int assoc_value(struct socket *so, int name, uint32_t value)
{
	struct sctp_assoc_value av = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = value };

	return setopt(so, IPPROTO_SCTP, name, &av, sizeof(av));
}

/* The association's SCTP_STATUS (primary path: SRTT, RTO, cwnd ...); false if refused. */
static bool assoc_status(const struct sctp_assoc *a, struct sctp_status *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	return usrsctp_getsockopt(a->so, IPPROTO_SCTP, SCTP_STATUS, st, &len) == 0;
}

/* The congestion window cap (sctp_assoc_config.cwnd_cap) and why.  usrsctp's window grows
 * until a loss (RFC 9260 §7.2.1 slow start; it has no delay signal) and, as max_burst
 * resets it to flight + 4 packets after an idle spell, only a SACK clock spaces the packets.
 * Between processes on one host or a LAN there is no slower link to queue in, so a whole
 * window lands in the receiver's UDP socket buffer while its WebRTC thread decrypts
 * ~20 us per packet; past that buffer the kernel drops, and a dropped last packet of a
 * message waits for T3-rtx.  Measured (`npm run bench -- segment --gap-ms 500`, 100
 * segments of 4 x 64 KiB): no cap 13-42 datagrams dropped and 4-6 T3 timeouts per 100
 * segments, p99 21-62 ms; cap 64 KiB none dropped, p99 14 ms.  TCP gets the same bound from
 * its receive window, which is the socket buffer.  On a farther path the bottleneck link
 * paces the packets and throughput needs window = rate x RTT, so the cap follows
 * max(cwnd_cap, cwnd_cap_rate x RTT).  The RTT is the lowest SRTT of the last ~10 s, read
 * every SCTP_CWND_CAP_PERIOD_MS: SRTT itself grows with the queue in the receiver's
 * buffer, which would raise the cap that fills it (BBR takes its min RTT the same way). */
static void cwnd_cap_update(struct sctp_assoc *a)
{
	struct sctp_status st;
	uint32_t srtt;
	uint64_t cap;

	if (!a->cfg.cwnd_cap || a->state != SCTP_ST_CONNECTED || a->dead)
		return;
	if (!assoc_status(a, &st))
		return;
	srtt = st.sstat_primary.spinfo_srtt;
	if (!a->srtt_window--) {
		a->srtt_window = SCTP_SRTT_WINDOW;
		a->srtt_min_ms = srtt;
	} else if (srtt < a->srtt_min_ms) {
		a->srtt_min_ms = srtt;
	}
	cap = (uint64_t)a->cfg.cwnd_cap_rate * a->srtt_min_ms / 1000;
	if (cap < a->cfg.cwnd_cap)
		cap = a->cfg.cwnd_cap;
	if (cap > SCTP_CWND_CAP_MAX)
		cap = SCTP_CWND_CAP_MAX;
	if (cap == a->cwnd_cap_now)
		return;
	if (assoc_value(a->so, SCTP_MAX_CWND, (uint32_t)cap) == SCTP_OK)
		a->cwnd_cap_now = (uint32_t)cap;
}

uint32_t sctp_assoc_cwnd_cap(const struct sctp_assoc *a)
{
	return a->cwnd_cap_now;
}

uint32_t sctp_assoc_rto_ms(const struct sctp_assoc *a)
{
	struct sctp_status st;

	if (a->dead || g.in_stack || !assoc_status(a, &st))
		return 0;
	return st.sstat_primary.spinfo_rto;
}

void sctp_set_clock(uint64_t (*now_ms)(void))
{
	g.clock = now_ms ? now_ms : monotime_ms;
	g.clock_ms = g.clock(); /* a switch neither fires nor holds back a timer */
}

int sctp_timers_run(void)
{
	if (!g.inited)
		return SCTP_E_INIT;
	if (g.in_stack)
		return SCTP_E_BUSY;
	enter();
	clock_sync();
	if (g.cwnd_cap_elapsed_ms >= SCTP_CWND_CAP_PERIOD_MS) {
		g.cwnd_cap_elapsed_ms = 0;
		g.in_stack++;
		for (struct sctp_assoc *a = g.head; a; a = a->next)
			cwnd_cap_update(a);
		g.in_stack--;
	}
	dispatch_pending();
	leave();
	return SCTP_OK;
}

size_t sctp_assoc_count(void)
{
	return g.count;
}

/* RFC 8831 §6 option set (libdatachannel's SctpTransport is the model). */
static int configure_socket(struct sctp_assoc *a)
{
	static const uint16_t events[] = {
		SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT,
		SCTP_SEND_FAILED_EVENT,
	};
	struct socket *so = a->so;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sctp_initmsg im = { .sinit_num_ostreams = a->cfg.streams,
				   .sinit_max_instreams = a->cfg.streams };
	int one = 1, rc = 0;
	int sndbuf = (int)a->cfg.send_buffer, rcvbuf = (int)a->cfg.recv_buffer;

	if (usrsctp_set_non_blocking(so, 1) < 0)
		return SCTP_E_STACK;
	rc |= setopt(so, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	rc |= setopt(so, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	rc |= setopt(so, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	rc |= assoc_value(so, SCTP_ENABLE_STREAM_RESET, SCTP_ENABLE_RESET_STREAM_REQ);
	rc |= assoc_value(so, SCTP_PR_SUPPORTED, 1);
	rc |= assoc_value(so, SCTP_RECONFIG_SUPPORTED, 1);
	rc |= assoc_value(so, SCTP_ECN_SUPPORTED, 0);
	rc |= assoc_value(so, SCTP_ASCONF_SUPPORTED, 0);
	rc |= assoc_value(so, SCTP_AUTH_SUPPORTED, 0);
	rc |= setopt(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &one, sizeof(one));
	rc |= setopt(so, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof(one));
	rc |= setopt(so, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im));
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct sctp_event ev = { .se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i],
					 .se_on = 1 };

		rc |= setopt(so, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev));
	}
	/* 12-byte common header + 16-byte DATA chunk header */
	rc |= assoc_value(so, SCTP_MAXSEG, a->cfg.packet_max - 28u);
	if (a->cfg.cwnd_cap)
		rc |= assoc_value(so, SCTP_MAX_CWND, a->cfg.cwnd_cap);
	a->cwnd_cap_now = a->cfg.cwnd_cap;
	return rc ? SCTP_E_STACK : SCTP_OK;
}

/* Fixed path MTU: the DTLS record must fit one 1200-byte datagram (no PMTUD over DTLS,
 * RFC 8261 §5).  usrsctp applies it to existing paths only (the path address must be
 * given), so this runs after connect. */
static int set_path_mtu(struct sctp_assoc *a, const struct sockaddr_conn *remote)
{
	struct sctp_paddrparams pp;

	memset(&pp, 0, sizeof(pp));
	memcpy(&pp.spp_address, remote, sizeof(*remote));
	pp.spp_flags = SPP_PMTUD_DISABLE;
	/* usrsctp's AF_CONN path MTU excludes the 12-byte common header (measured: packets
	 * reach spp_pathmtu + 12), so subtract it to keep whole packets <= packet_max. */
	pp.spp_pathmtu = a->cfg.packet_max - 12u;
	if (setopt(a->so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp)) != SCTP_OK)
		return SCTP_E_STACK;
	/* 12-byte common header + 16-byte DATA chunk header */
	return assoc_value(a->so, SCTP_MAXSEG, a->cfg.packet_max - 28u);
}

static bool config_valid(struct sctp_assoc_config *c)
{
	if (!c->local_port || !c->remote_port || !c->streams)
		return false;
	if (!c->max_message_size || c->max_message_size > SCTP_MAX_MESSAGE_CAP)
		return false;
	if (c->packet_max < SCTP_PACKET_MIN || !c->recv_buffer)
		return false;
	if (c->send_buffer < c->max_message_size)
		c->send_buffer = c->max_message_size;
	if (c->writable_low >= c->send_buffer)
		c->writable_low = c->send_buffer / 2;
	return true;
}

struct sctp_assoc *sctp_assoc_new(const struct sctp_assoc_config *cfg,
				  const struct sctp_callbacks *cb, void *user)
{
	struct sctp_assoc *a;
	struct sockaddr_conn sc;

	if (!cb || !cb->send_packet || g.in_stack || sctp_global_init() != SCTP_OK)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cfg = cfg ? *cfg : sctp_assoc_config_default;
	if (!config_valid(&a->cfg)) {
		free(a);
		return NULL;
	}
	a->cb = *cb;
	a->user = user;
	a->id = ++g.next_id;
	a->state = SCTP_ST_CONNECTING;
	assoc_link(a);
	usrsctp_register_address((void *)a->id);
	enter();
	a->so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!a->so || configure_socket(a) != SCTP_OK)
		goto fail;
	usrsctp_set_upcall(a->so, upcall, (void *)a->id);
	memset(&sc, 0, sizeof(sc));
	sc.sconn_family = AF_CONN;
	sc.sconn_port = htons(a->cfg.local_port);
	sc.sconn_addr = (void *)a->id;
	if (usrsctp_bind(a->so, (struct sockaddr *)&sc, sizeof(sc)) < 0)
		goto fail;
	sc.sconn_port = htons(a->cfg.remote_port);
	g.in_stack++;
	if (usrsctp_connect(a->so, (struct sockaddr *)&sc, sizeof(sc)) < 0 &&
	    errno != EINPROGRESS) {
		g.in_stack--;
		goto fail;
	}
	g.in_stack--;
	if (set_path_mtu(a, &sc) != SCTP_OK)
		goto fail;
	leave();
	return a;
fail:
	a->dead = true; /* silent: nothing was sent yet */
	assoc_destroy(a);
	leave();
	return NULL;
}

int sctp_assoc_on_packet(struct sctp_assoc *a, const uint8_t *pkt, size_t len)
{
	bool synced;

	if (g.in_stack)
		return SCTP_E_BUSY;
	if (a->dead)
		return SCTP_E_STATE;
	if (!len)
		return SCTP_E_INVAL;
	enter();
	synced = clock_sync();
	a->stats.packets_in++;
	g.in_stack++;
	usrsctp_conninput((void *)a->id, pkt, len, 0);
	g.in_stack--;
	dispatch(a);
	if (synced)
		dispatch_pending();
	leave();
	return SCTP_OK;
}

int sctp_assoc_send(struct sctp_assoc *a, uint16_t stream, uint32_t ppid, const uint8_t *data,
		    size_t len, const struct sctp_send_opts *o)
{
	struct sctp_sendv_spa spa;
	ssize_t n;
	int err, rc = SCTP_OK;
	bool synced;

	if (g.in_stack)
		return SCTP_E_BUSY;
	if (a->dead || a->state != SCTP_ST_CONNECTED)
		return SCTP_E_STATE;
	if (!len || stream >= a->out_streams)
		return SCTP_E_INVAL;
	if (len > a->cfg.max_message_size)
		return SCTP_E_TOO_BIG;
	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_sid = stream;
	spa.sendv_sndinfo.snd_ppid = htonl(ppid);
	if (o && o->unordered)
		spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
	/* RFC 7053 §4.1: the I bit on the message's last DATA chunk asks the receiver to SACK
	 * it at once rather than after its delayed-SACK timer (up to 200 ms, RFC 9260 §6.2),
	 * which would otherwise race our short RTO.Min at the end of every response. */
	spa.sendv_sndinfo.snd_flags |= SCTP_SACK_IMMEDIATELY;
	if (o && o->pr_policy != SCTP_PRP_NONE) {
		spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
		spa.sendv_prinfo.pr_policy =
			o->pr_policy == SCTP_PRP_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
		spa.sendv_prinfo.pr_value = o->pr_value;
	}
	enter();
	synced = clock_sync();
	g.in_stack++;
	n = usrsctp_sendv(a->so, data, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
	err = errno;
	g.in_stack--;
	if (n < 0) {
		if (err == EWOULDBLOCK || err == EAGAIN) {
			a->blocked = true;
			rc = SCTP_E_AGAIN;
		} else {
			rc = err == EMSGSIZE ? SCTP_E_TOO_BIG : SCTP_E_STACK;
		}
	} else {
		a->stats.msgs_out++;
		a->stats.bytes_out += len;
	}
	dispatch(a);
	if (synced)
		dispatch_pending();
	leave();
	return rc;
}

int sctp_assoc_reset_stream(struct sctp_assoc *a, uint16_t stream)
{
	uint32_t buf[(sizeof(struct sctp_reset_streams) + sizeof(uint16_t) + 3) / 4];
	struct sctp_reset_streams *rs = (void *)buf;
	int rc;

	if (g.in_stack)
		return SCTP_E_BUSY;
	if (a->dead || a->state != SCTP_ST_CONNECTED)
		return SCTP_E_STATE;
	if (stream >= a->out_streams)
		return SCTP_E_INVAL;
	memset(buf, 0, sizeof(buf));
	rs->srs_assoc_id = SCTP_ALL_ASSOC;
	rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
	rs->srs_number_streams = 1;
	rs->srs_stream_list[0] = stream;
	enter();
	g.in_stack++;
	rc = setopt(a->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs,
		    sizeof(*rs) + sizeof(uint16_t));
	g.in_stack--;
	dispatch(a);
	leave();
	return rc;
}

int sctp_assoc_close(struct sctp_assoc *a)
{
	int rc = SCTP_OK;

	if (g.in_stack)
		return SCTP_E_BUSY;
	if (a->dead || a->state == SCTP_ST_CLOSED)
		return SCTP_E_STATE;
	enter();
	g.in_stack++;
	if (usrsctp_shutdown(a->so, SHUT_WR) < 0)
		rc = SCTP_E_STACK;
	g.in_stack--;
	dispatch(a);
	leave();
	return rc;
}

void sctp_assoc_free(struct sctp_assoc *a)
{
	if (!a || a->dead)
		return;
	if (g.depth || g.in_stack) {
		a->dead = true;
		g.n_dead++;
		return;
	}
	enter();
	assoc_destroy(a);
	leave();
}

enum sctp_state sctp_assoc_state(const struct sctp_assoc *a)
{
	return a->state;
}

uint16_t sctp_assoc_out_streams(const struct sctp_assoc *a)
{
	return a->out_streams;
}

uint16_t sctp_assoc_in_streams(const struct sctp_assoc *a)
{
	return a->in_streams;
}

uint32_t sctp_assoc_max_message_size(const struct sctp_assoc *a)
{
	return a->cfg.max_message_size;
}

const struct sctp_stats *sctp_assoc_stats(const struct sctp_assoc *a)
{
	return &a->stats;
}

void sctp_global_stats(struct sctp_global_stats *out)
{
	struct sctpstat st;

	memset(out, 0, sizeof(*out));
	if (!g.inited)
		return;
	usrsctp_get_stat(&st);
	out->data_chunks_sent = st.sctps_senddata;
	out->data_chunks_retransmitted = st.sctps_sendretransdata;
	out->fast_retransmits = st.sctps_sendfastretrans;
	out->t3_timeouts = st.sctps_timodata;
}

const char *sctp_strerror(int err)
{
	switch (err) {
	case SCTP_OK:
		return "ok";
	case SCTP_E_INVAL:
		return "invalid argument";
	case SCTP_E_NOMEM:
		return "out of memory";
	case SCTP_E_AGAIN:
		return "send buffer full";
	case SCTP_E_STATE:
		return "association not connected";
	case SCTP_E_TOO_BIG:
		return "message too big";
	case SCTP_E_BUSY:
		return "called from inside send_packet";
	case SCTP_E_STACK:
		return "usrsctp error";
	case SCTP_E_INIT:
		return "sctp not initialised";
	default:
		return "unknown error";
	}
}

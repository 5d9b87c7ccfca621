/* ice_agent: full ICE, controlled role (RFC 8445); see ice_agent.h. */
#include "ice_agent.h"
#include "crypto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* §5.1.2.1 with type preference 126 (host) for our base, 110 for the peer-reflexive
 * candidate our checks announce in PRIORITY (§7.2.2). */
#define LOCAL_HOST_PRIORITY ((126u << 24) | (65535u << 8) | 255u)
#define PRFLX_PRIORITY ((110u << 24) | (65535u << 8) | 255u)

int ice_agent_init(struct ice_agent *a, const char *remote_ufrag, const char *remote_pwd,
		   bool full, int family)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = ice_lite_init(&a->lite, remote_ufrag, remote_pwd)) != ICE_LITE_OK)
		return rc;
	a->full = full;
	a->family = family == AF_INET6 ? AF_INET6 : AF_INET;
	a->local_priority = LOCAL_HOST_PRIORITY;
	if (crypto_random(&a->tie_breaker, sizeof(a->tie_breaker)) < 0)
		return ICE_LITE_E_RANDOM;
	return ICE_LITE_OK;
}

/* §6.1.2.3: G is the controlling agent's (the browser's) priority, D ours. */
static uint64_t pair_priority(uint32_t g, uint32_t d)
{
	uint64_t mn = g < d ? g : d, mx = g < d ? d : g;

	return (mn << 32) + 2 * mx + (g > d ? 1 : 0);
}

/* An IP literal into the socket's family (IPv4 → v4-mapped on an IPv6 socket). */
static bool literal_to_sockaddr(int family, const char *s, uint16_t port,
				struct sockaddr_storage *ss, socklen_t *len)
{
	uint8_t b[16];

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, b) == 1) {
		if (family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)ss;
			in->sin_family = AF_INET;
			in->sin_port = htons(port);
			memcpy(&in->sin_addr, b, 4);
			*len = sizeof(*in);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			in6->sin6_addr.s6_addr[10] = 0xff;
			in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], b, 4);
			*len = sizeof(*in6);
		}
		return true;
	}
	if (family == AF_INET6 && inet_pton(AF_INET6, s, b) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, b, 16);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

static int pair_find(const struct ice_agent *a, const struct sockaddr *sa, socklen_t len)
{
	for (unsigned i = 0; i < a->n_pairs; i++)
		if (ice_lite_addr_equal((const struct sockaddr *)&a->pairs[i].addr,
					a->pairs[i].addrlen, sa, len))
			return (int)i;
	return -1;
}

static int pair_add(struct ice_agent *a, const struct sockaddr *sa, socklen_t len,
		    uint32_t prio, enum sdp_cand_type type)
{
	struct ice_pair *p;

	if (a->n_pairs >= ICE_MAX_PAIRS)
		return -1;
	p = &a->pairs[a->n_pairs];
	memset(p, 0, sizeof(*p));
	memcpy(&p->addr, sa, (size_t)len);
	p->addrlen = len;
	p->remote_priority = prio;
	p->type = type;
	p->priority = pair_priority(prio, a->local_priority);
	p->state = ICE_PAIR_WAITING;
	return (int)a->n_pairs++;
}

/* Addresses a signalled candidate may not name (RFC 8445 §19.5 "voice hammer" and a
 * router's own services): loopback, unspecified, multicast, broadcast.  A peer really
 * behind one still reaches us, and is then learned from its checks (peer-reflexive). */
static bool forbidden(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		return b[0] == 127 || b[0] == 0 || b[0] >= 224;
	}
	{
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127 || a->s6_addr[12] == 0 || a->s6_addr[12] >= 224;
		return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		       IN6_IS_ADDR_MULTICAST(a);
	}
}

int ice_agent_add_remote(struct ice_agent *a, const struct sdp_candidate *c, uint64_t now_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int i;

	(void)now_ms;
	if (!a->full)
		return ICE_AGENT_E_LITE;
	/* one component (BUNDLE, rtcp-mux), UDP only, IP literals only (an mDNS name
	 * would need a resolver; such a peer still reaches us as peer-reflexive) */
	if (c->component != 1 || c->transport != SDP_TRANSPORT_UDP || c->port == 0 ||
	    !literal_to_sockaddr(a->family, c->address, c->port, &ss, &len) || forbidden(&ss))
		return ICE_AGENT_E_SKIPPED;
	if ((i = pair_find(a, (const struct sockaddr *)&ss, len)) >= 0) {
		/* a prflx candidate learned earlier now has its signalled type (§7.3.1.3) */
		if (a->pairs[i].type == SDP_CAND_PRFLX)
			a->pairs[i].type = c->type;
		return ICE_AGENT_OK;
	}
	if (pair_add(a, (const struct sockaddr *)&ss, len, c->priority, c->type) < 0)
		return ICE_AGENT_E_FULL;
	a->counters.remote_candidates++;
	return ICE_AGENT_OK;
}

bool ice_agent_owns(const struct ice_agent *a, const uint8_t txid[STUN_TXID_LEN])
{
	if (a->consent_in_flight && memcmp(a->consent_txid, txid, STUN_TXID_LEN) == 0)
		return true;
	for (unsigned i = 0; i < a->n_pairs; i++)
		if (a->pairs[i].state == ICE_PAIR_IN_PROGRESS &&
		    memcmp(a->pairs[i].txid, txid, STUN_TXID_LEN) == 0)
			return true;
	return false;
}

/* Priority of the pair the browser nominated (0 when none, or not in our list). */
static uint64_t selected_priority(const struct ice_agent *a)
{
	socklen_t sl = 0;
	const struct sockaddr *sel = ice_lite_selected(&a->lite, &sl);
	int i;

	if (!sel)
		return 0;
	i = pair_find(a, sel, sl);
	return i >= 0 ? a->pairs[i].priority : UINT64_MAX;
}

/* §7.3.1.4: a check from `from` was answered: check back (triggered), learning a
 * peer-reflexive remote candidate first if the address is new (§7.3.1.3). */
static void trigger(struct ice_agent *a, const struct sockaddr *from, socklen_t fromlen,
		    uint32_t prio)
{
	struct sockaddr_storage ss;
	socklen_t len = fromlen;
	int i;

	if (!a->full || (size_t)fromlen > sizeof(ss))
		return;
	memcpy(&ss, from, (size_t)fromlen);
	if ((i = pair_find(a, (const struct sockaddr *)&ss, len)) < 0) {
		if ((i = pair_add(a, (const struct sockaddr *)&ss, len, prio, SDP_CAND_PRFLX)) < 0)
			return;
		a->counters.prflx++;
	}
	/* after a nomination only better pairs are worth checking (§8.3.1) */
	if (ice_lite_selected(&a->lite, NULL) && a->pairs[i].priority <= selected_priority(a))
		return;
	if (a->pairs[i].state == ICE_PAIR_WAITING || a->pairs[i].state == ICE_PAIR_FAILED) {
		a->pairs[i].state = ICE_PAIR_WAITING;
		a->pairs[i].triggered = true;
		a->pairs[i].tries = 0;
	}
}

/* §7.2.5: a response to one of our requests. */
static void on_response(struct ice_agent *a, const uint8_t *pkt, size_t len,
			const struct stun_msg *m, const struct sockaddr *from, socklen_t fromlen,
			uint64_t now_ms)
{
	const char *pwd = a->lite.remote_pwd;
	bool consent = a->consent_in_flight &&
		       memcmp(a->consent_txid, m->txid, STUN_TXID_LEN) == 0;
	struct ice_pair *p = NULL;
	socklen_t sl = 0;
	const struct sockaddr *sel;

	if (!consent)
		for (unsigned i = 0; i < a->n_pairs && !p; i++)
			if (a->pairs[i].state == ICE_PAIR_IN_PROGRESS &&
			    memcmp(a->pairs[i].txid, m->txid, STUN_TXID_LEN) == 0)
				p = &a->pairs[i];
	if (!consent && !p)
		return;
	/* §7.2.5.1: responses are signed with the peer's password (401/400 are not,
	 * RFC 8489 §9.1.3, and tell us nothing we could act on safely) */
	if (!(m->present & STUN_HAS_MI) ||
	    !stun_msg_check_integrity(pkt, len, m, (const uint8_t *)pwd, strlen(pwd))) {
		a->counters.bad_responses++;
		return;
	}
	if (consent) {
		sel = ice_lite_selected(&a->lite, &sl);
		if (!sel || !ice_lite_addr_equal(sel, sl, from, fromlen)) {
			a->counters.bad_responses++;
			return;
		}
		a->consent_in_flight = false;
		if (m->cls == STUN_CLASS_SUCCESS) {
			a->counters.consent_ok++;
			ice_lite_consent_refresh(&a->lite, from, fromlen, now_ms);
		}
		return;
	}
	/* §7.2.5.2.1: the response must come from where the request went */
	if (!ice_lite_addr_equal((const struct sockaddr *)&p->addr, p->addrlen, from, fromlen)) {
		a->counters.bad_responses++;
		p->state = ICE_PAIR_FAILED;
		a->counters.checks_failed++;
		return;
	}
	if (m->cls == STUN_CLASS_ERROR) {
		/* 487 (§7.2.5.1) cannot happen to a controlled agent whose peer is
		 * controlling; any error fails the pair */
		p->state = ICE_PAIR_FAILED;
		a->counters.checks_failed++;
		return;
	}
	p->state = ICE_PAIR_SUCCEEDED;
	a->counters.checks_ok++;
	/* §7.2.5.3: the pair is valid; the address may carry DTLS from now on */
	ice_lite_consent_refresh(&a->lite, from, fromlen, now_ms);
}

enum ice_lite_result ice_agent_on_stun(struct ice_agent *a, const uint8_t *pkt, size_t len,
				       const struct sockaddr *from, socklen_t fromlen,
				       uint64_t now_ms, uint8_t *resp, size_t *resp_len)
{
	struct stun_msg m;
	enum ice_lite_result r;

	if (a->full && stun_msg_parse(pkt, len, &m) == STUN_OK &&
	    (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR)) {
		a->lite.counters.rx++;
		if (!ice_lite_expired(&a->lite, now_ms) && m.method == STUN_METHOD_BINDING &&
		    stun_msg_check_fingerprint(pkt, len, &m))
			on_response(a, pkt, len, &m, from, fromlen, now_ms);
		*resp_len = 0;
		return ICE_LITE_DROP;
	}
	r = ice_lite_on_stun(&a->lite, pkt, len, from, fromlen, now_ms, resp, resp_len);
	if (r == ICE_LITE_RESPOND || r == ICE_LITE_RESPOND_NOMINATED) {
		/* the priority the browser's check announced is the prflx candidate's */
		struct stun_msg req;
		uint32_t prio = stun_msg_parse(pkt, len, &req) == STUN_OK ? req.priority : 0;
		trigger(a, from, fromlen, prio);
	}
	return r;
}

/* §7.2.2: Binding request with USERNAME, PRIORITY, ICE-CONTROLLED, MESSAGE-INTEGRITY
 * (the peer's password) and FINGERPRINT. */
static size_t build_check(struct ice_agent *a, const uint8_t txid[STUN_TXID_LEN], uint8_t *buf,
			  size_t cap)
{
	char user[2 * ICE_LITE_CRED_MAX + 2];
	struct stun_builder b;
	size_t n = 0;
	int ul;

	ul = snprintf(user, sizeof(user), "%s:%s", a->lite.remote_ufrag, a->lite.local_ufrag);
	if (ul < 0 || (size_t)ul >= sizeof(user))
		return 0;
	stun_builder_init(&b, buf, cap, stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST),
			  txid);
	stun_builder_add(&b, STUN_ATTR_USERNAME, user, (size_t)ul);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, PRFLX_PRIORITY);
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLED, a->tie_breaker);
	if (stun_builder_finish(&b, (const uint8_t *)a->lite.remote_pwd,
				strlen(a->lite.remote_pwd), &n) != STUN_OK)
		return 0;
	return n;
}

static size_t send_pair(struct ice_agent *a, struct ice_pair *p, uint64_t now_ms, uint8_t *buf,
			size_t cap, struct sockaddr_storage *to, socklen_t *tolen)
{
	size_t n;

	if (p->state != ICE_PAIR_IN_PROGRESS) {
		if (crypto_random(p->txid, STUN_TXID_LEN) < 0)
			return 0;
		p->state = ICE_PAIR_IN_PROGRESS;
		p->tries = 0;
		p->rto_ms = ICE_CHECK_RTO_MS;
	}
	p->triggered = false;
	if (!(n = build_check(a, p->txid, buf, cap)))
		return 0;
	p->tries++;
	p->next_ms = now_ms + p->rto_ms;
	p->rto_ms *= 2;
	memcpy(to, &p->addr, (size_t)p->addrlen);
	*tolen = p->addrlen;
	a->counters.checks_sent++;
	a->next_tx_ms = now_ms + ICE_TA_MS;
	return n;
}

static size_t send_consent(struct ice_agent *a, uint64_t now_ms, uint8_t *buf, size_t cap,
			   struct sockaddr_storage *to, socklen_t *tolen)
{
	socklen_t sl = 0;
	const struct sockaddr *sel = ice_lite_selected(&a->lite, &sl);
	uint8_t r = 0;
	size_t n;

	if (!sel || (size_t)sl > sizeof(*to))
		return 0;
	/* RFC 7675 §5.1: every ICE_CONSENT_MS, randomised by ±20 % */
	if (crypto_random(&r, 1) < 0 || crypto_random(a->consent_txid, STUN_TXID_LEN) < 0)
		return 0;
	a->next_consent_ms = now_ms + ICE_CONSENT_MS * 8 / 10 + (uint64_t)r * ICE_CONSENT_MS * 4 / 10 / 255;
	if (!(n = build_check(a, a->consent_txid, buf, cap)))
		return 0;
	a->consent_in_flight = true;
	memcpy(to, sel, (size_t)sl);
	*tolen = sl;
	a->counters.consent_sent++;
	return n;
}

size_t ice_agent_poll(struct ice_agent *a, uint64_t now_ms, uint8_t *buf, size_t cap,
		      struct sockaddr_storage *to, socklen_t *tolen)
{
	struct ice_pair *best = NULL;
	uint64_t floor = 0;

	if (!a->full || a->lite.state == ICE_LITE_FAILED)
		return 0;
	if (ice_lite_selected(&a->lite, NULL)) {
		/* §8.3: nominated.  Consent freshness on the selected pair; checks go on
		 * only for pairs better than it (§8.3.1: the browser may still switch to
		 * a direct pair after nominating a relayed one, and our checks are what
		 * open our NAT for it) */
		if (!a->next_consent_ms)
			a->next_consent_ms = now_ms + ICE_CONSENT_MS;
		if (now_ms >= a->next_consent_ms)
			return send_consent(a, now_ms, buf, cap, to, tolen);
		floor = selected_priority(a);
	}
	if (now_ms < a->next_tx_ms)
		return 0;
	/* retransmissions that are due, then triggered checks, then the best waiting pair
	 * (§6.1.4.2: one check per Ta; all pairs share a single base, so no freezing) */
	for (unsigned i = 0; i < a->n_pairs; i++) {
		struct ice_pair *p = &a->pairs[i];
		if (p->state != ICE_PAIR_IN_PROGRESS || now_ms < p->next_ms)
			continue;
		if (p->priority <= floor) {
			p->state = ICE_PAIR_FAILED; /* §8.3.1: ceased, not retransmitted */
			continue;
		}
		if (p->tries >= ICE_CHECK_RC) {
			p->state = ICE_PAIR_FAILED;
			a->counters.checks_failed++;
			continue;
		}
		if (!best)
			best = p;
	}
	for (unsigned i = 0; i < a->n_pairs && !best; i++)
		if (a->pairs[i].state == ICE_PAIR_WAITING && a->pairs[i].triggered &&
		    a->pairs[i].priority > floor)
			best = &a->pairs[i];
	if (!best)
		for (unsigned i = 0; i < a->n_pairs; i++)
			if (a->pairs[i].state == ICE_PAIR_WAITING && a->pairs[i].priority > floor &&
			    (!best || a->pairs[i].priority > best->priority))
				best = &a->pairs[i];
	if (!best)
		return 0;
	return send_pair(a, best, now_ms, buf, cap, to, tolen);
}

unsigned ice_agent_count(const struct ice_agent *a, enum ice_pair_state st)
{
	unsigned n = 0;

	for (unsigned i = 0; i < a->n_pairs; i++)
		n += a->pairs[i].state == st;
	return n;
}

bool ice_agent_checking(const struct ice_agent *a)
{
	uint64_t floor = selected_priority(a);

	if (!a->full || a->lite.state == ICE_LITE_FAILED)
		return false;
	for (unsigned i = 0; i < a->n_pairs; i++)
		if ((a->pairs[i].state == ICE_PAIR_WAITING ||
		     a->pairs[i].state == ICE_PAIR_IN_PROGRESS) &&
		    a->pairs[i].priority > floor)
			return true;
	return false;
}

/* ice_lite: checks built like a browser builds them, answered and verified. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ice_lite.h"
#include "stun.h"
#include "test.h"

#define L_UFRAG "LoCa"
#define L_PWD "localpasswordlocalpass"
#define R_UFRAG "rEm1"
#define R_PWD "remote+password/remote+"

struct check_opts {
	enum stun_class cls;
	const char *username;	/* NULL: L_UFRAG ":" R_UFRAG; "" : none */
	const char *pwd;	/* NULL: L_PWD; "": no MI */
	bool use_candidate;
	bool controlled;	/* ICE-CONTROLLED instead of ICE-CONTROLLING */
	bool no_fingerprint;
	uint16_t extra_attr;	/* non-zero: add this empty attribute */
	uint16_t method;	/* 0: Binding */
	uint8_t txid0;
};

/* A connectivity check the way Chrome sends one (RFC 8445 §7.2.2). */
static size_t build_check(uint8_t *buf, size_t cap, const struct check_opts *o)
{
	const char *user = o->username ? o->username : L_UFRAG ":" R_UFRAG;
	const char *pwd = o->pwd ? o->pwd : L_PWD;
	uint8_t txid[12] = { o->txid0, 0x11, 0x22, 0x33, 0x44, 0x55,
			     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb };
	struct stun_builder b;
	size_t len = 0;

	stun_builder_init(&b, buf, cap, stun_msg_type(o->method ? o->method : 1, o->cls), txid);
	if (*user)
		stun_builder_add(&b, STUN_ATTR_USERNAME, user, strlen(user));
	stun_builder_add_u32(&b, 0xC057, 0x00010000); /* GOOG-NETWORK-INFO, optional */
	if (o->cls == STUN_CLASS_REQUEST) {
		stun_builder_add_u64(&b, o->controlled ? STUN_ATTR_ICE_CONTROLLED
						      : STUN_ATTR_ICE_CONTROLLING,
				     UINT64_C(0x0123456789abcdef));
		if (o->use_candidate)
			stun_builder_add(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
		stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e7f1eff);
	}
	if (o->extra_attr)
		stun_builder_add(&b, o->extra_attr, NULL, 0);
	if (*pwd)
		stun_builder_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
	if (!o->no_fingerprint)
		stun_builder_add_fingerprint(&b);
	if (b.err)
		return 0;
	len = b.len;
	return len;
}

static struct sockaddr_in peer4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 peer6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

static void agent(struct ice_lite *a)
{
	CHECK_EQ_INT(ice_lite_init(a, R_UFRAG, R_PWD), ICE_LITE_OK);
	CHECK_EQ_INT(ice_lite_set_local_creds(a, L_UFRAG, L_PWD), ICE_LITE_OK);
}

/* Feed a check; return the result, response parsed into *m. */
static enum ice_lite_result feed(struct ice_lite *a, const struct check_opts *o,
				 const void *from, socklen_t fromlen, uint64_t now,
				 uint8_t *resp, size_t *resp_len, struct stun_msg *m)
{
	uint8_t pkt[256];
	size_t n = build_check(pkt, sizeof(pkt), o);
	enum ice_lite_result r;

	CHECK(n > 0);
	*resp_len = ICE_LITE_RESP_MAX;
	r = ice_lite_on_stun(a, pkt, n, (const struct sockaddr *)from, fromlen, now, resp,
			     resp_len);
	memset(m, 0, sizeof(*m));
	if (*resp_len)
		CHECK_EQ_INT(stun_msg_parse(resp, *resp_len, m), STUN_OK);
	return r;
}

TEST(init_generates_credentials)
{
	struct ice_lite a, b;

	CHECK_EQ_INT(ice_lite_init(&a, R_UFRAG, R_PWD), ICE_LITE_OK);
	CHECK_EQ_INT(ice_lite_init(&b, R_UFRAG, R_PWD), ICE_LITE_OK);
	CHECK_EQ_INT(strlen(ice_lite_local_ufrag(&a)), ICE_LITE_UFRAG_LEN);
	CHECK_EQ_INT(strlen(ice_lite_local_pwd(&a)), ICE_LITE_PWD_LEN);
	CHECK(ice_lite_cred_valid(ice_lite_local_ufrag(&a), 4));
	CHECK(ice_lite_cred_valid(ice_lite_local_pwd(&a), 22));
	CHECK(strcmp(ice_lite_local_pwd(&a), ice_lite_local_pwd(&b)) != 0);
	CHECK_EQ_INT(a.state, ICE_LITE_NEW);
	CHECK(ice_lite_selected(&a, NULL) == NULL);

	CHECK_EQ_INT(ice_lite_init(&a, "abc", R_PWD), ICE_LITE_E_CRED);
	CHECK_EQ_INT(ice_lite_init(&a, R_UFRAG, "tooshorttooshorttoosh"), ICE_LITE_E_CRED);
	CHECK_EQ_INT(ice_lite_init(&a, "ab:c", R_PWD), ICE_LITE_E_CRED);
	CHECK_EQ_INT(ice_lite_init(&a, NULL, R_PWD), ICE_LITE_E_CRED);
	CHECK_EQ_INT(ice_lite_set_local_creds(&b, "a b c", L_PWD), ICE_LITE_E_CRED);
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(!ice_lite_cred_valid(big, 4));
	big[256] = 0;
	CHECK(ice_lite_cred_valid(big, 4));
}

TEST(check_answered_and_nominated)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	/* ordinary check: success, valid pair, not selected */
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1000, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK_EQ_INT(m.cls, STUN_CLASS_SUCCESS);
	CHECK_EQ_INT(m.method, STUN_METHOD_BINDING);
	CHECK_EQ_INT(m.txid[1], 0x11);
	CHECK(stun_msg_check_integrity(resp, n, &m, (const uint8_t *)L_PWD, strlen(L_PWD)));
	CHECK(!stun_msg_check_integrity(resp, n, &m, (const uint8_t *)R_PWD, strlen(R_PWD)));
	CHECK(stun_msg_check_fingerprint(resp, n, &m));
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET);
	CHECK_EQ_INT(m.xor_mapped.port, 51234);
	CHECK_MEM(m.xor_mapped.addr, &p.sin_addr, 4);
	CHECK_EQ_INT(a.state, ICE_LITE_CHECKING);
	CHECK(ice_lite_addr_is_valid(&a, (struct sockaddr *)&p, sizeof(p)));
	CHECK(!ice_lite_addr_is_selected(&a, (struct sockaddr *)&p, sizeof(p)));
	CHECK_EQ_INT(a.valid[0].priority, 0x6e7f1eff);

	/* USE-CANDIDATE: selected */
	o.use_candidate = true;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1100, resp, &n, &m), ICE_LITE_RESPOND_NOMINATED);
	CHECK_EQ_INT(a.state, ICE_LITE_CONNECTED);
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p, sizeof(p)));
	socklen_t sl = 0;
	const struct sockaddr *sel = ice_lite_selected(&a, &sl);
	CHECK(sel && sl == sizeof(p) && memcmp(sel, &p, sizeof(p)) == 0);
	/* nominated again on the same pair: plain respond, no new nomination */
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1200, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK_EQ_INT(a.counters.nominations, 1);
	CHECK_EQ_INT(a.counters.requests, 3);

	/* other ports/addresses are not selected */
	struct sockaddr_in q = peer4("192.0.2.33", 51235);
	CHECK(!ice_lite_addr_is_selected(&a, (struct sockaddr *)&q, sizeof(q)));
	CHECK(!ice_lite_addr_is_valid(&a, (struct sockaddr *)&q, sizeof(q)));
}

TEST(renomination_switches)
{
	struct ice_lite a;
	struct sockaddr_in p1 = peer4("192.0.2.33", 51234);
	struct sockaddr_in6 p2 = peer6("2001:db8::33", 40000);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .use_candidate = true };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	CHECK_EQ_INT(feed(&a, &o, &p1, sizeof(p1), 1000, resp, &n, &m),
		     ICE_LITE_RESPOND_NOMINATED);
	CHECK_EQ_INT(feed(&a, &o, &p2, sizeof(p2), 2000, resp, &n, &m),
		     ICE_LITE_RESPOND_NOMINATED);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET6);
	CHECK_EQ_INT(m.xor_mapped.port, 40000);
	CHECK_MEM(m.xor_mapped.addr, &p2.sin6_addr, 16);
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p2, sizeof(p2)));
	CHECK(!ice_lite_addr_is_selected(&a, (struct sockaddr *)&p1, sizeof(p1)));
	CHECK(ice_lite_addr_is_valid(&a, (struct sockaddr *)&p1, sizeof(p1)));
	/* back to the first one */
	CHECK_EQ_INT(feed(&a, &o, &p1, sizeof(p1), 3000, resp, &n, &m),
		     ICE_LITE_RESPOND_NOMINATED);
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p1, sizeof(p1)));
	CHECK_EQ_INT(a.counters.nominations, 3);
	/* a non-nominating check on the other pair keeps the selection */
	o.use_candidate = false;
	CHECK_EQ_INT(feed(&a, &o, &p2, sizeof(p2), 3100, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p1, sizeof(p1)));
}

TEST(v4mapped_source_matches_ipv4)
{
	struct ice_lite a;
	struct sockaddr_in6 p = peer6("::ffff:192.0.2.9", 5000);
	struct sockaddr_in p4 = peer4("192.0.2.9", 5000);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .use_candidate = true };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_NOMINATED);
	CHECK_EQ_INT(m.xor_mapped.family, AF_INET);
	CHECK_MEM(m.xor_mapped.addr, &p4.sin_addr, 4);
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p4, sizeof(p4)));
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&p, sizeof(p)));
}

TEST(auth_failures)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	/* wrong local ufrag → 401 without MI */
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .username = "LoCb:" R_UFRAG };
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 401);
	CHECK(!(m.present & STUN_HAS_MI));
	CHECK(stun_msg_check_fingerprint(resp, n, &m));
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_USERNAME);
	/* wrong remote ufrag, a prefix, no colon */
	o.username = L_UFRAG ":rEm2";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 401);
	o.username = L_UFRAG ":" R_UFRAG "x";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	o.username = L_UFRAG R_UFRAG "x";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 401);
	/* wrong pwd (e.g. signed with the remote pwd) → 401 */
	o.username = NULL;
	o.pwd = R_PWD;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 401);
	CHECK(!(m.present & STUN_HAS_MI));
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_INTEGRITY);
	/* no MI, no USERNAME → 400 */
	o.pwd = "";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 400);
	o.pwd = NULL;
	o.username = "";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 400);
	CHECK_EQ_INT(a.counters.auth_failures, 5);
	/* none of it validated anything */
	CHECK_EQ_INT(a.state, ICE_LITE_NEW);
	CHECK_EQ_INT(a.n_valid, 0);
	CHECK(!ice_lite_addr_is_valid(&a, (struct sockaddr *)&p, sizeof(p)));
	CHECK(!ice_lite_expired(&a, 1000000));
}

TEST(tampered_request)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .use_candidate = true };
	uint8_t pkt[256], resp[ICE_LITE_RESP_MAX];
	size_t n, rl;

	agent(&a);
	n = build_check(pkt, sizeof(pkt), &o);
	/* bad fingerprint → silently dropped */
	pkt[n - 1] ^= 0x80;
	rl = sizeof(resp);
	CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, n, (struct sockaddr *)&p, sizeof(p), 1, resp, &rl),
		     ICE_LITE_DROP);
	CHECK_EQ_INT(rl, 0);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_FINGERPRINT);
	pkt[n - 1] ^= 0x80;
	/* truncated at every length → dropped (length mismatch) */
	for (size_t k = 0; k < n; k++) {
		rl = sizeof(resp);
		CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, k, (struct sockaddr *)&p, sizeof(p), 1,
					      resp, &rl),
			     ICE_LITE_DROP);
		CHECK_EQ_INT(rl, 0);
	}
	/* a body byte flipped with the fingerprint recomputed: MI fails → 401 */
	pkt[67] ^= 1; /* PRIORITY value: USERNAME 16, GOOG 8, CONTROLLING 12, USE-CAND 4 */
	struct stun_msg m;
	CHECK_EQ_INT(stun_msg_parse(pkt, n, &m), STUN_OK);
	uint32_t crc = stun_crc32(0, pkt, m.fingerprint_offset) ^ STUN_FINGERPRINT_XOR;
	pkt[n - 4] = (uint8_t)(crc >> 24);
	pkt[n - 3] = (uint8_t)(crc >> 16);
	pkt[n - 2] = (uint8_t)(crc >> 8);
	pkt[n - 1] = (uint8_t)crc;
	rl = sizeof(resp);
	CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, n, (struct sockaddr *)&p, sizeof(p), 1, resp, &rl),
		     ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_INTEGRITY);
	/* no FINGERPRINT at all → dropped */
	o.no_fingerprint = true;
	n = build_check(pkt, sizeof(pkt), &o);
	rl = sizeof(resp);
	CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, n, (struct sockaddr *)&p, sizeof(p), 1, resp, &rl),
		     ICE_LITE_DROP);
	/* response buffer too small → dropped, nothing validated */
	o.no_fingerprint = false;
	n = build_check(pkt, sizeof(pkt), &o);
	rl = 40;
	CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, n, (struct sockaddr *)&p, sizeof(p), 1, resp, &rl),
		     ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_BUFFER);
	CHECK_EQ_INT(a.n_valid, 0);
	/* a non-IP source */
	struct sockaddr un = { .sa_family = AF_UNIX };
	rl = sizeof(resp);
	CHECK_EQ_INT(ice_lite_on_stun(&a, pkt, n, &un, sizeof(un), 1, resp, &rl), ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_ADDRESS);
	/* DTLS-looking datagram */
	static const uint8_t dtls[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					0,  0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0 };
	rl = sizeof(resp);
	CHECK_EQ_INT(ice_lite_on_stun(&a, dtls, sizeof(dtls), (struct sockaddr *)&p, sizeof(p), 1,
				      resp, &rl),
		     ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_PARSE);
	CHECK_EQ_INT(a.state, ICE_LITE_NEW);
}

TEST(wrong_class_and_method)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	struct check_opts o = { .cls = STUN_CLASS_SUCCESS };
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_CLASS);
	o.cls = STUN_CLASS_ERROR;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_DROP);
	o.cls = STUN_CLASS_REQUEST;
	o.method = 0x003; /* TURN Allocate */
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_METHOD);
	/* indication from an address that never passed a check: dropped */
	o.method = 0;
	o.cls = STUN_CLASS_INDICATION;
	o.pwd = "";
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_NOT_VALID);
	CHECK_EQ_INT(a.counters.dropped, 4);
	CHECK_EQ_INT(a.counters.rx, 4);
}

TEST(role_conflict_and_unknown)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .controlled = true,
				.use_candidate = true };
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 487);
	CHECK(stun_msg_check_integrity(resp, n, &m, (const uint8_t *)L_PWD, strlen(L_PWD)));
	CHECK(stun_msg_check_fingerprint(resp, n, &m));
	CHECK_EQ_INT(a.counters.role_conflicts, 1);
	CHECK_EQ_INT(a.n_valid, 0);
	CHECK_EQ_INT(a.selected, -1);

	/* unknown comprehension-required attribute → 420 listing it */
	o.controlled = false;
	o.extra_attr = 0x0031;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(m.error_code, 420);
	CHECK(m.present & STUN_HAS_UNKNOWN_ATTRS);
	CHECK(stun_msg_check_integrity(resp, n, &m, (const uint8_t *)L_PWD, strlen(L_PWD)));
	CHECK_EQ_INT(a.n_valid, 0);
	/* an unknown optional one is fine */
	o.extra_attr = 0xC001;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 1, resp, &n, &m), ICE_LITE_RESPOND_NOMINATED);
}

TEST(rfc5769_request_to_lite_agent)
{
	/* RFC 5769 §2.1 is a check "evtj:h6vY" with ICE-CONTROLLED: an agent whose local
	 * ufrag is evtj and pwd the vector's answers 487 (both controlled). */
	static const uint8_t req[] = {
		0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
		0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
		0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
		0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
		0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
		0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
		0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
		0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
		0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
	};
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.1", 32853);
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n = sizeof(resp);

	CHECK_EQ_INT(ice_lite_init(&a, "h6vY", "remotepasswordremotepa"), ICE_LITE_OK);
	CHECK_EQ_INT(ice_lite_set_local_creds(&a, "evtj", "VOkJxbRl1RmTxUk/WvJxBt"), ICE_LITE_OK);
	CHECK_EQ_INT(ice_lite_on_stun(&a, req, sizeof(req), (struct sockaddr *)&p, sizeof(p), 5,
				      resp, &n),
		     ICE_LITE_RESPOND_ERROR);
	CHECK_EQ_INT(stun_msg_parse(resp, n, &m), STUN_OK);
	CHECK_EQ_INT(m.error_code, 487);
	CHECK_MEM(m.txid, req + 8, 12);
}

TEST(keepalive_and_consent_expiry)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	struct sockaddr_in p2 = peer4("198.51.100.2", 6000);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST, .use_candidate = true };
	struct check_opts ind = { .cls = STUN_CLASS_INDICATION, .username = "", .pwd = "" };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	CHECK(!ice_lite_expired(&a, 100000)); /* no check yet: caller's timeout */
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 100000, resp, &n, &m),
		     ICE_LITE_RESPOND_NOMINATED);
	/* indication: keepalive, refreshes rx but not consent */
	CHECK_EQ_INT(feed(&a, &ind, &p, sizeof(p), 120000, resp, &n, &m), ICE_LITE_KEEPALIVE);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(a.last_rx_ms, 120000);
	CHECK_EQ_INT(a.counters.indications, 1);
	CHECK(!ice_lite_expired(&a, 100000 + ICE_LITE_CONSENT_TIMEOUT_MS - 1));
	/* consent check at +25 s moves the deadline */
	o.use_candidate = false;
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 125000, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK(!ice_lite_expired(&a, 150000));
	/* checks on another (non-selected) pair do not keep the selected one alive */
	CHECK_EQ_INT(feed(&a, &o, &p2, sizeof(p2), 150000, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK(!ice_lite_expired(&a, 125000 + ICE_LITE_CONSENT_TIMEOUT_MS - 1));
	/* clock going backwards is no time passing */
	CHECK(!ice_lite_expired(&a, 5));
	CHECK(ice_lite_expired(&a, 125000 + ICE_LITE_CONSENT_TIMEOUT_MS));
	CHECK_EQ_INT(a.state, ICE_LITE_FAILED);
	/* sticky: a later check is dropped, nothing is selected any more */
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 155001, resp, &n, &m), ICE_LITE_DROP);
	CHECK_EQ_INT(a.last_reason, ICE_LITE_WHY_EXPIRED);
	CHECK(ice_lite_expired(&a, 155001));
	CHECK(!ice_lite_addr_is_selected(&a, (struct sockaddr *)&p, sizeof(p)));
	CHECK(!ice_lite_addr_is_valid(&a, (struct sockaddr *)&p, sizeof(p)));
	CHECK(ice_lite_selected(&a, NULL) == NULL);
}

TEST(expiry_before_nomination)
{
	struct ice_lite a;
	struct sockaddr_in p = peer4("192.0.2.33", 51234);
	struct check_opts o = { .cls = STUN_CLASS_REQUEST };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 0, resp, &n, &m), ICE_LITE_RESPOND);
	CHECK(!ice_lite_expired(&a, ICE_LITE_CONSENT_TIMEOUT_MS - 1));
	CHECK(ice_lite_expired(&a, ICE_LITE_CONSENT_TIMEOUT_MS));
}

TEST(valid_list_is_bounded)
{
	struct ice_lite a;
	struct check_opts o = { .cls = STUN_CLASS_REQUEST };
	uint8_t resp[ICE_LITE_RESP_MAX];
	struct stun_msg m;
	size_t n;

	agent(&a);
	struct sockaddr_in sel = peer4("192.0.2.1", 1000);
	o.use_candidate = true;
	CHECK_EQ_INT(feed(&a, &o, &sel, sizeof(sel), 1, resp, &n, &m), ICE_LITE_RESPOND_NOMINATED);
	o.use_candidate = false;
	for (unsigned i = 0; i < 3 * ICE_LITE_MAX_VALID; i++) {
		struct sockaddr_in p = peer4("192.0.2.2", (uint16_t)(2000 + i));

		CHECK_EQ_INT(feed(&a, &o, &p, sizeof(p), 10 + i, resp, &n, &m), ICE_LITE_RESPOND);
		CHECK(ice_lite_addr_is_valid(&a, (struct sockaddr *)&p, sizeof(p)));
	}
	CHECK_EQ_INT(a.n_valid, ICE_LITE_MAX_VALID);
	/* the selected pair survived even though it is the oldest */
	CHECK(ice_lite_addr_is_selected(&a, (struct sockaddr *)&sel, sizeof(sel)));
	struct sockaddr_in old = peer4("192.0.2.2", 2000);
	CHECK(!ice_lite_addr_is_valid(&a, (struct sockaddr *)&old, sizeof(old)));
}

TEST(names)
{
	CHECK_EQ_STR(ice_lite_result_name(ICE_LITE_RESPOND_NOMINATED), "respond-nominated");
	CHECK_EQ_STR(ice_lite_reason_name(ICE_LITE_WHY_EXPIRED), "expired");
	CHECK_EQ_STR(ice_lite_reason_name((enum ice_lite_reason)99), "?");
	CHECK_EQ_STR(ice_lite_strerror(ICE_LITE_E_CRED), "bad ICE ufrag/pwd");
}

int main(void)
{
	RUN(init_generates_credentials);
	RUN(check_answered_and_nominated);
	RUN(renomination_switches);
	RUN(v4mapped_source_matches_ipv4);
	RUN(auth_failures);
	RUN(tampered_request);
	RUN(wrong_class_and_method);
	RUN(role_conflict_and_unknown);
	RUN(rfc5769_request_to_lite_agent);
	RUN(keepalive_and_consent_expiry);
	RUN(expiry_before_nomination);
	RUN(valid_list_is_bounded);
	RUN(names);
	return test_summary();
}

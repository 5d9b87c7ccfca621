/* ice_agent: the controlled agent's own checks, answered the way a browser answers them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ice_agent.h"
#include "sdp.h"
#include "stun.h"
#include "test.h"

#define R_UFRAG "rEm1"
#define R_PWD "remote+password/remote+"
#define L_UFRAG "LoCa"
#define L_PWD "localpasswordlocalpass"

static struct sockaddr_in addr4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static void agent(struct ice_agent *a, bool full)
{
	CHECK_EQ_INT(ice_agent_init(a, R_UFRAG, R_PWD, full, AF_INET), 0);
	CHECK_EQ_INT(ice_lite_set_local_creds(&a->lite, L_UFRAG, L_PWD), 0);
}

static struct sdp_candidate cand(const char *line)
{
	struct sdp_candidate c;

	CHECK_EQ_INT(sdp_candidate_parse(line, strlen(line), &c), SDP_OK);
	return c;
}

/* The browser's answer to our check: success with XOR-MAPPED-ADDRESS, signed with its pwd. */
static size_t answer(const uint8_t *req, size_t len, const struct sockaddr_in *mapped,
		     const char *pwd, uint8_t *out, size_t cap)
{
	struct stun_msg m;
	size_t n = 0;

	CHECK_EQ_INT(stun_msg_parse(req, len, &m), STUN_OK);
	CHECK_EQ_INT(stun_build_binding_success(out, cap, m.txid, (const struct sockaddr *)mapped,
						sizeof(*mapped), (const uint8_t *)pwd, strlen(pwd), &n),
		     STUN_OK);
	return n;
}

/* A check from the browser (controlling), as Chrome sends it. */
static size_t browser_check(uint8_t *buf, size_t cap, bool use_candidate, uint8_t t0)
{
	uint8_t txid[12] = { t0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct stun_builder b;
	size_t n = 0;

	stun_builder_init(&b, buf, cap, stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), txid);
	stun_builder_add(&b, STUN_ATTR_USERNAME, L_UFRAG ":" R_UFRAG, strlen(L_UFRAG ":" R_UFRAG));
	stun_builder_add_u64(&b, STUN_ATTR_ICE_CONTROLLING, 42);
	stun_builder_add_u32(&b, STUN_ATTR_PRIORITY, 0x6e7f1eff);
	if (use_candidate)
		stun_builder_add(&b, STUN_ATTR_USE_CANDIDATE, NULL, 0);
	CHECK_EQ_INT(stun_builder_finish(&b, (const uint8_t *)L_PWD, strlen(L_PWD), &n), STUN_OK);
	return n;
}

TEST(check_format)
{
	struct ice_agent a;
	struct sdp_candidate c = cand("candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host");
	uint8_t buf[ICE_REQ_MAX];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	struct stun_msg m;
	size_t n;

	agent(&a, true);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &c, 0), ICE_AGENT_OK);
	n = ice_agent_poll(&a, 0, buf, sizeof(buf), &to, &tolen);
	CHECK(n > 0);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	CHECK_EQ_INT(m.cls, STUN_CLASS_REQUEST);
	/* RFC 8445 §7.2.2: USERNAME remote:local, PRIORITY, ICE-CONTROLLED, MI, FINGERPRINT */
	CHECK(m.username_len == strlen(R_UFRAG ":" L_UFRAG) &&
	      memcmp(m.username, R_UFRAG ":" L_UFRAG, m.username_len) == 0);
	CHECK(m.present & STUN_HAS_PRIORITY);
	CHECK(m.present & STUN_HAS_ICE_CONTROLLED);
	CHECK(!(m.present & STUN_HAS_ICE_CONTROLLING));
	CHECK(!(m.present & STUN_HAS_USE_CANDIDATE));
	CHECK_EQ_INT((m.priority >> 24), 110); /* peer-reflexive type preference */
	CHECK(stun_msg_check_integrity(buf, n, &m, (const uint8_t *)R_PWD, strlen(R_PWD)));
	CHECK(stun_msg_check_fingerprint(buf, n, &m));
	CHECK(ice_agent_owns(&a, m.txid));
	CHECK_EQ_INT(((struct sockaddr_in *)&to)->sin_port, htons(50000));
}

TEST(pacing_priority_and_success)
{
	struct ice_agent a;
	struct sdp_candidate host = cand("candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host");
	struct sdp_candidate srflx = cand(
		"candidate:2 1 udp 1686052607 198.51.100.9 40000 typ srflx raddr 192.0.2.7 rport 50000");
	uint8_t buf[ICE_REQ_MAX], resp[256];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	struct sockaddr_in from;
	size_t n, rl;
	uint8_t none[8];
	size_t none_len = sizeof(none);

	agent(&a, true);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &srflx, 0), 0);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &host, 0), 0);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &host, 0), 0); /* duplicate: one pair */
	CHECK_EQ_INT(a.n_pairs, 2);
	/* highest priority first: the host candidate */
	n = ice_agent_poll(&a, 1000, buf, sizeof(buf), &to, &tolen);
	CHECK(n > 0);
	CHECK_EQ_INT(((struct sockaddr_in *)&to)->sin_port, htons(50000));
	/* §14.2 pacing: nothing more until Ta has passed */
	CHECK_EQ_INT(ice_agent_poll(&a, 1000 + ICE_TA_MS - 1, buf, sizeof(buf), &to, &tolen), 0);
	n = ice_agent_poll(&a, 1000 + ICE_TA_MS, buf, sizeof(buf), &to, &tolen);
	CHECK(n > 0);
	CHECK_EQ_INT(((struct sockaddr_in *)&to)->sin_port, htons(40000));
	/* the srflx check is answered from where it went: the pair succeeds and the
	 * address becomes valid (DTLS may come from it) */
	from = addr4("198.51.100.9", 40000);
	rl = answer(buf, n, &from, R_PWD, resp, sizeof(resp));
	CHECK_EQ_INT(ice_agent_on_stun(&a, resp, rl, (struct sockaddr *)&from, sizeof(from), 1100,
				       none, &none_len),
		     ICE_LITE_DROP);
	CHECK_EQ_INT(a.counters.checks_ok, 1);
	CHECK_EQ_INT(ice_agent_count(&a, ICE_PAIR_SUCCEEDED), 1);
	CHECK(ice_lite_addr_is_valid(&a.lite, (struct sockaddr *)&from, sizeof(from)));
}

TEST(response_checks)
{
	struct ice_agent a;
	struct sdp_candidate c = cand("candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host");
	uint8_t buf[ICE_REQ_MAX], resp[256];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	struct sockaddr_in right = addr4("192.0.2.7", 50000), wrong = addr4("192.0.2.8", 50000);
	uint8_t none[8];
	size_t none_len = sizeof(none), n, rl;

	agent(&a, true);
	ice_agent_add_remote(&a, &c, 0);
	n = ice_agent_poll(&a, 0, buf, sizeof(buf), &to, &tolen);
	/* signed with the wrong password: ignored, the pair stays in progress */
	rl = answer(buf, n, &right, "not+the+right+password", resp, sizeof(resp));
	ice_agent_on_stun(&a, resp, rl, (struct sockaddr *)&right, sizeof(right), 10, none,
			  &none_len);
	CHECK_EQ_INT(a.counters.bad_responses, 1);
	CHECK_EQ_INT(ice_agent_count(&a, ICE_PAIR_IN_PROGRESS), 1);
	/* §7.2.5.2.1: from another address than the request went to: the pair fails */
	rl = answer(buf, n, &right, R_PWD, resp, sizeof(resp));
	ice_agent_on_stun(&a, resp, rl, (struct sockaddr *)&wrong, sizeof(wrong), 10, none,
			  &none_len);
	CHECK_EQ_INT(ice_agent_count(&a, ICE_PAIR_FAILED), 1);
	CHECK(!ice_lite_addr_is_valid(&a.lite, (struct sockaddr *)&wrong, sizeof(wrong)));
}

TEST(retransmit_then_fail)
{
	struct ice_agent a;
	struct sdp_candidate c = cand("candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host");
	uint8_t buf[ICE_REQ_MAX];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	uint64_t now = 0;
	unsigned sent = 0;

	agent(&a, true);
	ice_agent_add_remote(&a, &c, 0);
	/* RTO doubles from ICE_CHECK_RTO_MS; ICE_CHECK_RC transmissions, then failed */
	for (now = 0; now < 200000 && ice_agent_checking(&a); now += 10)
		sent += ice_agent_poll(&a, now, buf, sizeof(buf), &to, &tolen) > 0;
	CHECK_EQ_INT(sent, ICE_CHECK_RC);
	CHECK_EQ_INT(ice_agent_count(&a, ICE_PAIR_FAILED), 1);
	/* 250 + 500 + ... + 250*2^6 */
	CHECK(now >= (uint64_t)ICE_CHECK_RTO_MS * ((1u << ICE_CHECK_RC) - 1));
}

TEST(prflx_triggered_and_nomination)
{
	struct ice_agent a;
	uint8_t req[256], resp[ICE_LITE_RESP_MAX], buf[ICE_REQ_MAX];
	struct sockaddr_in from = addr4("203.0.113.5", 61000);
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	size_t n, rl = sizeof(resp);

	agent(&a, true);
	/* a check from an address we have no candidate for (symmetric NAT): answered,
	 * learned as peer-reflexive (§7.3.1.3) and checked back at once (§7.3.1.4) */
	n = browser_check(req, sizeof(req), false, 1);
	CHECK_EQ_INT(ice_agent_on_stun(&a, req, n, (struct sockaddr *)&from, sizeof(from), 0, resp,
				       &rl),
		     ICE_LITE_RESPOND);
	CHECK_EQ_INT(a.counters.prflx, 1);
	CHECK_EQ_INT(a.pairs[0].type, SDP_CAND_PRFLX);
	CHECK(a.pairs[0].triggered);
	n = ice_agent_poll(&a, 0, buf, sizeof(buf), &to, &tolen);
	CHECK(n > 0);
	CHECK_EQ_INT(((struct sockaddr_in *)&to)->sin_port, htons(61000));
	/* USE-CANDIDATE selects it */
	rl = sizeof(resp);
	n = browser_check(req, sizeof(req), true, 2);
	CHECK_EQ_INT(ice_agent_on_stun(&a, req, n, (struct sockaddr *)&from, sizeof(from), 5, resp,
				       &rl),
		     ICE_LITE_RESPOND_NOMINATED);
	CHECK(ice_lite_selected(&a.lite, NULL) != NULL);
}

TEST(after_nomination_only_better_pairs_and_consent)
{
	struct ice_agent a;
	struct sdp_candidate relay = cand(
		"candidate:3 1 udp 41885439 198.51.100.3 40001 typ relay raddr 0.0.0.0 rport 0");
	struct sdp_candidate srflx = cand(
		"candidate:2 1 udp 1686052607 198.51.100.9 40000 typ srflx raddr 0.0.0.0 rport 0");
	struct sockaddr_in via_relay = addr4("198.51.100.3", 40001);
	uint8_t req[256], resp[ICE_LITE_RESP_MAX], buf[ICE_REQ_MAX], ans[256];
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	size_t n, rl = sizeof(resp);
	uint64_t now;
	bool saw_srflx = false, saw_consent = false;
	struct stun_msg m;
	uint8_t none[8];
	size_t none_len = sizeof(none);

	agent(&a, true);
	ice_agent_add_remote(&a, &relay, 0);
	ice_agent_add_remote(&a, &srflx, 0);
	/* the browser nominates the relayed pair first */
	n = browser_check(req, sizeof(req), true, 3);
	CHECK_EQ_INT(ice_agent_on_stun(&a, req, n, (struct sockaddr *)&via_relay,
				       sizeof(via_relay), 0, resp, &rl),
		     ICE_LITE_RESPOND_NOMINATED);
	/* the better (srflx) pair is still checked (§8.3.1); the relay pair is not */
	for (now = 0; now < 2000; now += 10) {
		if (!(n = ice_agent_poll(&a, now, buf, sizeof(buf), &to, &tolen)))
			continue;
		if (((struct sockaddr_in *)&to)->sin_port == htons(40000))
			saw_srflx = true;
		CHECK(((struct sockaddr_in *)&to)->sin_port != htons(40001));
	}
	CHECK(saw_srflx);
	/* RFC 7675: consent requests on the selected pair, every ~5 s */
	for (now = 2000; now < 2000 + ICE_CONSENT_MS * 2 && !saw_consent; now += 10) {
		if (!(n = ice_agent_poll(&a, now, buf, sizeof(buf), &to, &tolen)))
			continue;
		if (((struct sockaddr_in *)&to)->sin_port == htons(40001))
			saw_consent = true;
	}
	CHECK(saw_consent);
	CHECK_EQ_INT(a.counters.consent_sent, 1);
	CHECK_EQ_INT(stun_msg_parse(buf, n, &m), STUN_OK);
	rl = answer(buf, n, &via_relay, R_PWD, ans, sizeof(ans));
	ice_agent_on_stun(&a, ans, rl, (struct sockaddr *)&via_relay, sizeof(via_relay), now, none,
			  &none_len);
	CHECK_EQ_INT(a.counters.consent_ok, 1);
	/* consent answered at `now`: not expired ~29 s later, expired after 30 s of nothing */
	CHECK(!ice_lite_expired(&a.lite, now + ICE_LITE_CONSENT_TIMEOUT_MS - 1000));
}

TEST(skipped_candidates_and_lite)
{
	struct ice_agent a;
	struct sdp_candidate mdns = cand("candidate:1 1 udp 2122260223 abcd-1234.local 50000 typ host");
	struct sdp_candidate tcp = cand("candidate:1 1 tcp 1518280447 192.0.2.7 9 typ host tcptype active");
	struct sdp_candidate v6 = cand("candidate:1 1 udp 2122262783 2001:db8::1 50000 typ host");
	struct sdp_candidate rtcp = cand("candidate:1 2 udp 2122260222 192.0.2.7 50001 typ host");
	uint8_t buf[ICE_REQ_MAX];
	struct sockaddr_storage to;
	socklen_t tolen = 0;

	agent(&a, true);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &mdns, 0), ICE_AGENT_E_SKIPPED);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &tcp, 0), ICE_AGENT_E_SKIPPED);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &v6, 0), ICE_AGENT_E_SKIPPED); /* IPv4 socket */
	CHECK_EQ_INT(ice_agent_add_remote(&a, &rtcp, 0), ICE_AGENT_E_SKIPPED);
	{
		static const char *const bad[] = {
			"candidate:1 1 udp 1 127.0.0.1 53 typ host",
			"candidate:1 1 udp 1 0.0.0.0 5000 typ host",
			"candidate:1 1 udp 1 239.255.255.250 1900 typ host",
			"candidate:1 1 udp 1 255.255.255.255 5000 typ host",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct sdp_candidate b = cand(bad[i]);
			CHECK_EQ_INT(ice_agent_add_remote(&a, &b, 0), ICE_AGENT_E_SKIPPED);
		}
	}
	CHECK_EQ_INT(a.n_pairs, 0);
	/* an IPv6 socket takes both families (IPv4 as v4-mapped) */
	CHECK_EQ_INT(ice_agent_init(&a, R_UFRAG, R_PWD, true, AF_INET6), 0);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &v6, 0), ICE_AGENT_OK);
	{
		struct sdp_candidate lo6 = cand("candidate:1 1 udp 1 ::1 5000 typ host");
		struct sdp_candidate lo4 = cand("candidate:1 1 udp 1 127.0.0.1 5000 typ host");
		CHECK_EQ_INT(ice_agent_add_remote(&a, &lo6, 0), ICE_AGENT_E_SKIPPED);
		CHECK_EQ_INT(ice_agent_add_remote(&a, &lo4, 0), ICE_AGENT_E_SKIPPED); /* v4-mapped */
	}
	/* ICE-lite: no check list, nothing sent */
	agent(&a, false);
	CHECK_EQ_INT(ice_agent_add_remote(&a, &rtcp, 0), ICE_AGENT_E_LITE);
	CHECK_EQ_INT(ice_agent_poll(&a, 0, buf, sizeof(buf), &to, &tolen), 0);
}

TEST(full_list)
{
	struct ice_agent a;
	char line[128];
	struct sdp_candidate c;

	agent(&a, true);
	for (unsigned i = 0; i < ICE_MAX_PAIRS + 2; i++) {
		snprintf(line, sizeof(line), "candidate:1 1 udp 100 192.0.2.%u 5000 typ host", i + 1);
		c = cand(line);
		CHECK_EQ_INT(ice_agent_add_remote(&a, &c, 0),
			     i < ICE_MAX_PAIRS ? ICE_AGENT_OK : ICE_AGENT_E_FULL);
	}
}

int main(void)
{
	RUN(check_format);
	RUN(pacing_priority_and_success);
	RUN(response_checks);
	RUN(retransmit_then_fail);
	RUN(prflx_triggered_and_nomination);
	RUN(after_nomination_only_better_pairs_and_consent);
	RUN(skipped_candidates_and_lite);
	RUN(full_list);
	return test_summary();
}

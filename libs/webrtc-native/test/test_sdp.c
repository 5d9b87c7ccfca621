#include <stdlib.h>

#include "sdp.h"
#include "test.h"

/* Captured 2026-11-22 from Debian chromium 156.0.8078.79 (playwright-core):
 * new RTCPeerConnection(); createDataChannel('x'); setLocalDescription(createOffer()). */
static const char chrome_offer[] =
	"v=0\r\n"
	"o=- 7740261320994080946 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=candidate:4170703351 1 udp 2113937151 a14a3397-a40b-47c3-945f-8e1a7fee7005.local "
	"60771 typ host generation 0 network-cost 999\r\n"
	"a=candidate:4293233991 1 udp 2113942271 dbf528d1-6d05-4fbb-9949-e23d3a19a2c0.local "
	"44965 typ host generation 0 network-cost 999\r\n"
	"a=ice-ufrag:U6aA\r\n"
	"a=ice-pwd:xE7wP3G9sA8CSOGb/ey5fFSd\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 87:E0:5A:D8:F2:CA:74:A9:5F:C0:9D:77:AE:89:22:F6:1D:29:C9:E3:5D:C0:"
	"EA:09:D4:7F:7E:56:4B:1A:57:FD\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Captured the same day from npm @roamhq/wrtc (libwebrtc), after ICE gathering:
 * real host candidates, IPv6 and TCP ones, non-9 m-line port. */
static const char wrtc_offer[] =
	"v=0\r\n"
	"o=- 8410211300861031358 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=application 44051 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 192.0.2.2\r\n"
	"a=candidate:3077952869 1 udp 2122265343 fd00::2 48305 typ host generation 0 network-id 2\r\n"
	"a=candidate:3229573512 1 udp 2122194687 192.0.2.2 44051 typ host generation 0 network-id 1\r\n"
	"a=candidate:559267639 1 udp 2122136831 ::1 53188 typ host generation 0 network-id 4\r\n"
	"a=candidate:1510613869 1 udp 2122063615 127.0.0.1 57947 typ host generation 0 network-id 3\r\n"
	"a=candidate:4193659285 1 tcp 1518285567 fd00::2 58515 typ host tcptype passive generation 0 "
	"network-id 2\r\n"
	"a=candidate:2398920056 1 tcp 1518214911 192.0.2.2 45255 typ host tcptype passive generation 0 "
	"network-id 1\r\n"
	"a=candidate:1876313031 1 tcp 1518157055 ::1 53377 typ host tcptype passive generation 0 "
	"network-id 4\r\n"
	"a=candidate:344579997 1 tcp 1518083839 127.0.0.1 52161 typ host tcptype passive generation 0 "
	"network-id 3\r\n"
	"a=ice-ufrag:R2M5\r\n"
	"a=ice-pwd:Amw/JAT00ws/D0oeaJp9J23F\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 EB:A6:F2:C8:EC:46:4B:43:C2:DA:55:FF:56:E4:90:2B:49:9B:94:89:C2:A6:A8:"
	"34:4D:87:C9:A8:E1:B1:BE:09\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Firefox (hand-written in Firefox 12x's shape, not captured): session-level
 * fingerprint and ice-options, a=sendrecv, huge max-message-size, LF-only
 * line ends to exercise that path. */
static const char firefox_offer[] =
	"v=0\n"
	"o=mozilla...THIS_IS_SDPARTA-99.0 4870279532009386476 0 IN IP4 0.0.0.0\n"
	"s=-\n"
	"t=0 0\n"
	"a=fingerprint:sha-256 5B:0D:43:6E:9C:1A:AE:F1:60:8D:42:57:5E:C6:A1:0F:34:A5:3E:99:E2:0C:"
	"07:D8:C4:2B:71:AA:E5:3F:11:93\n"
	"a=group:BUNDLE 0\n"
	"a=ice-options:trickle\n"
	"a=msid-semantic:WMS *\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
	"c=IN IP4 0.0.0.0\n"
	"a=sendrecv\n"
	"a=ice-pwd:6b1cbd3b3b39ab8b5fc7e2ab6f1e8c4e\n"
	"a=ice-ufrag:2a7fa1c3\n"
	"a=mid:0\n"
	"a=setup:actpass\n"
	"a=sctp-port:5000\n"
	"a=max-message-size:1073741823\n";

static int parse_str(const char *s, struct sdp_offer *o)
{
	return sdp_offer_parse(s, strlen(s), o);
}

TEST(parses_chrome_offer)
{
	static const uint8_t fp[32] = { 0x87, 0xE0, 0x5A, 0xD8, 0xF2, 0xCA, 0x74, 0xA9,
					0x5F, 0xC0, 0x9D, 0x77, 0xAE, 0x89, 0x22, 0xF6,
					0x1D, 0x29, 0xC9, 0xE3, 0x5D, 0xC0, 0xEA, 0x09,
					0xD4, 0x7F, 0x7E, 0x56, 0x4B, 0x1A, 0x57, 0xFD };
	struct sdp_offer o;

	CHECK_EQ_INT(parse_str(chrome_offer, &o), SDP_OK);
	CHECK_EQ_STR(o.ice_ufrag, "U6aA");
	CHECK_EQ_STR(o.ice_pwd, "xE7wP3G9sA8CSOGb/ey5fFSd");
	CHECK(o.ice_trickle);
	CHECK(!o.ice_lite);
	CHECK_MEM(o.fingerprint, fp, 32);
	CHECK_EQ_INT(o.setup, SDP_SETUP_ACTPASS);
	CHECK_EQ_INT(o.port, 9);
	CHECK_EQ_STR(o.mid, "0");
	CHECK_EQ_INT(o.sctp_port, 5000);
	CHECK_EQ_INT(o.max_message_size, 262144);
	CHECK_EQ_INT(o.n_bundle, 1);
	CHECK_EQ_STR(o.bundle[0], "0");
	CHECK_EQ_INT(o.n_media, 1);
	CHECK_EQ_INT(o.app_index, 0);
	CHECK_EQ_STR(o.media[0].kind, "application");
	CHECK_EQ_INT(o.n_candidates, 2);
	CHECK_EQ_STR(o.candidates[0].foundation, "4170703351");
	CHECK_EQ_INT(o.candidates[0].component, 1);
	CHECK_EQ_INT(o.candidates[0].transport, SDP_TRANSPORT_UDP);
	CHECK_EQ_INT(o.candidates[0].priority, 2113937151u);
	CHECK_EQ_STR(o.candidates[0].address, "a14a3397-a40b-47c3-945f-8e1a7fee7005.local");
	CHECK_EQ_INT(o.candidates[0].port, 60771);
	CHECK_EQ_INT(o.candidates[0].type, SDP_CAND_HOST);
	CHECK_EQ_INT(o.candidates[1].port, 44965);
	CHECK(!o.end_of_candidates);
}

TEST(parses_wrtc_offer)
{
	struct sdp_offer o;

	CHECK_EQ_INT(parse_str(wrtc_offer, &o), SDP_OK);
	CHECK_EQ_STR(o.ice_ufrag, "R2M5");
	CHECK_EQ_STR(o.ice_pwd, "Amw/JAT00ws/D0oeaJp9J23F");
	CHECK_EQ_INT(o.fingerprint[0], 0xEB);
	CHECK_EQ_INT(o.fingerprint[31], 0x09);
	CHECK_EQ_INT(o.port, 44051);
	CHECK_EQ_INT(o.n_candidates, 8);
	CHECK_EQ_INT(o.n_candidates_dropped, 0);
	CHECK_EQ_STR(o.candidates[0].address, "fd00::2");
	CHECK_EQ_INT(o.candidates[0].priority, 2122265343u);
	CHECK_EQ_STR(o.candidates[1].address, "192.0.2.2");
	CHECK_EQ_INT(o.candidates[1].port, 44051);
	CHECK_EQ_INT(o.candidates[4].transport, SDP_TRANSPORT_TCP);
	CHECK_EQ_INT(o.candidates[4].port, 58515);
	CHECK_EQ_STR(o.candidates[7].foundation, "344579997");
}

TEST(parses_firefox_offer)
{
	struct sdp_offer o;

	CHECK_EQ_INT(parse_str(firefox_offer, &o), SDP_OK);
	CHECK_EQ_STR(o.ice_ufrag, "2a7fa1c3");
	CHECK_EQ_STR(o.ice_pwd, "6b1cbd3b3b39ab8b5fc7e2ab6f1e8c4e");
	CHECK(o.ice_trickle); /* session level */
	CHECK_EQ_INT(o.fingerprint[0], 0x5B);
	CHECK_EQ_INT(o.fingerprint[31], 0x93);
	CHECK_EQ_INT(o.setup, SDP_SETUP_ACTPASS);
	CHECK_EQ_STR(o.mid, "0");
	CHECK_EQ_INT(o.max_message_size, 1073741823);
	CHECK_EQ_INT(o.n_candidates, 0);
}

/* Replace the first occurrence of `from` in chrome_offer by `to`. */
static char *edit(const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);
	size_t bl = strlen(base), fl = strlen(from), tl = strlen(to);
	char *s;

	if (!at)
		abort();
	s = malloc(bl - fl + tl + 1);
	memcpy(s, base, (size_t)(at - base));
	memcpy(s + (at - base), to, tl);
	memcpy(s + (at - base) + tl, at + fl, bl - (size_t)(at - base) - fl + 1);
	return s;
}

TEST(media_level_overrides_session_and_defaults_apply)
{
	struct sdp_offer o;
	char *s = edit(chrome_offer, "a=group:BUNDLE 0\r\n",
		       "a=group:BUNDLE 0\r\na=ice-ufrag:SESS\r\na=ice-pwd:sessionsessionsession22\r\n"
		       "a=ice-options:ice2\r\n");
	char *t = edit(s, "a=sctp-port:5000\r\na=max-message-size:262144\r\n", "");

	CHECK_EQ_INT(parse_str(t, &o), SDP_OK);
	CHECK_EQ_STR(o.ice_ufrag, "U6aA");
	CHECK_EQ_STR(o.ice_pwd, "xE7wP3G9sA8CSOGb/ey5fFSd");
	CHECK(o.ice_trickle);
	CHECK_EQ_INT(o.sctp_port, SDP_DEFAULT_SCTP_PORT);
	CHECK_EQ_INT(o.max_message_size, 65536); /* RFC 8841 §6.1 */
	free(s);
	free(t);

	/* only session-level ICE credentials */
	s = edit(chrome_offer, "a=ice-ufrag:U6aA\r\na=ice-pwd:xE7wP3G9sA8CSOGb/ey5fFSd\r\n", "");
	t = edit(s, "t=0 0\r\n", "t=0 0\r\na=ice-ufrag:SESS\r\na=ice-pwd:sessionsessionsession22\r\n");
	CHECK_EQ_INT(parse_str(t, &o), SDP_OK);
	CHECK_EQ_STR(o.ice_ufrag, "SESS");
	CHECK_EQ_STR(o.ice_pwd, "sessionsessionsession22");
	free(s);
	free(t);
}

TEST(other_m_lines_are_recorded_for_rejection)
{
	struct sdp_offer o;
	char *s = edit(chrome_offer, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE a 0\r\n");
	char *t = edit(s, "m=application",
		       "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\nc=IN IP4 0.0.0.0\r\n"
		       "a=ice-ufrag:zzzz\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\nm=application");

	CHECK_EQ_INT(parse_str(t, &o), SDP_OK);
	CHECK_EQ_INT(o.n_media, 2);
	CHECK_EQ_INT(o.app_index, 1);
	CHECK_EQ_STR(o.media[0].kind, "audio");
	CHECK_EQ_STR(o.media[0].proto, "UDP/TLS/RTP/SAVPF");
	CHECK_EQ_STR(o.media[0].fmt, "111");
	CHECK_EQ_STR(o.media[0].mid, "a");
	CHECK_EQ_STR(o.ice_ufrag, "U6aA"); /* audio's ice-ufrag ignored */
	CHECK_EQ_STR(o.mid, "0");
	CHECK_EQ_INT(o.n_bundle, 2);
	free(s);
	free(t);
}

TEST(fingerprint_algorithms)
{
	struct sdp_offer o;
	char *s;

	/* a sha-1 line before the sha-256 one is skipped */
	s = edit(chrome_offer, "a=fingerprint:",
		 "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n"
		 "a=fingerprint:");
	CHECK_EQ_INT(parse_str(s, &o), SDP_OK);
	CHECK_EQ_INT(o.fingerprint[0], 0x87);
	free(s);
	s = edit(chrome_offer, "sha-256 87", "sha-384 87");
	CHECK_EQ_INT(parse_str(s, &o), SDP_E_FINGERPRINT_ALG);
	free(s);
	s = edit(chrome_offer, "sha-256 87", "SHA-256 87"); /* hash names are case-insensitive */
	CHECK_EQ_INT(parse_str(s, &o), SDP_OK);
	free(s);
}

TEST(hostile_inputs)
{
	static const struct {
		const char *from, *to;
		int err;
	} cases[] = {
		{ "v=0\r\n", "v=1\r\n", SDP_E_VERSION },
		{ "v=0\r\n", "", SDP_E_VERSION }, /* first line o= is not v=0 */
		{ "UDP/DTLS/SCTP webrtc-datachannel", "UDP/DTLS/SCTP foo", SDP_E_NO_APPLICATION },
		{ "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		  "m=application 9 DTLS/SCTP 5000", SDP_E_LEGACY_SCTP },
		{ "a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel 1024", SDP_E_LEGACY_SCTP },
		{ "m=application 9 ", "m=application 0 ", SDP_E_PORT_ZERO },
		{ "m=application 9 ", "m=application 65536 ", SDP_E_SYNTAX },
		{ "a=ice-ufrag:U6aA\r\n", "", SDP_E_NO_ICE },
		{ "a=ice-pwd:xE7wP3G9sA8CSOGb/ey5fFSd\r\n", "", SDP_E_NO_ICE },
		{ "a=ice-ufrag:U6aA", "a=ice-ufrag:U6a", SDP_E_BAD_ICE },
		{ "a=ice-ufrag:U6aA", "a=ice-ufrag:U6a!", SDP_E_BAD_ICE },
		{ "a=ice-pwd:xE7wP3G9sA8CSOGb/ey5fFSd", "a=ice-pwd:short", SDP_E_BAD_ICE },
		{ "a=ice-ufrag:U6aA\r\n", "a=ice-ufrag:U6aA\r\na=ice-ufrag:U6aB\r\n", SDP_E_DUPLICATE },
		{ "a=mid:0\r\n", "a=mid:0\r\na=mid:1\r\n", SDP_E_DUPLICATE },
		{ "a=setup:actpass\r\n", "a=setup:actpass\r\na=setup:active\r\n", SDP_E_DUPLICATE },
		{ "a=sctp-port:5000\r\n", "a=sctp-port:5000\r\na=sctp-port:5001\r\n", SDP_E_DUPLICATE },
		{ "a=fingerprint:sha-256 87:E0", "a=fingerprint:sha-256 87:E0:", SDP_E_BAD_FINGERPRINT },
		{ "a=fingerprint:sha-256 87:E0", "a=fingerprint:sha-256 8G:E0", SDP_E_BAD_FINGERPRINT },
		{ "a=fingerprint:sha-256 87:E0", "a=fingerprint:sha-256 87-E0", SDP_E_BAD_FINGERPRINT },
		{ ":57:FD\r\n", ":57\r\n", SDP_E_BAD_FINGERPRINT },
		{ ":57:FD\r\n", ":57:FD extra\r\n", SDP_E_BAD_FINGERPRINT },
		{ "a=fingerprint:sha-256 ", "a=fingerprint:", SDP_E_BAD_FINGERPRINT },
		{ "a=fingerprint:sha-256 ", "a=x-fingerprint:sha-256 ", SDP_E_NO_FINGERPRINT },
		{ "a=setup:actpass", "a=setup:passive", SDP_E_SETUP },
		{ "a=setup:actpass", "a=setup:holdconn", SDP_E_SETUP },
		{ "a=setup:actpass", "a=setup:maybe", SDP_E_SETUP },
		{ "a=mid:0\r\n", "", SDP_E_BAD_MID },  /* BUNDLE but no mid */
		{ "a=mid:0", "a=mid:", SDP_E_BAD_MID },
		{ "a=sctp-port:5000", "a=sctp-port:0", SDP_E_SYNTAX },
		{ "a=sctp-port:5000", "a=sctp-port:5000x", SDP_E_SYNTAX },
		{ "a=max-message-size:262144", "a=max-message-size:99999999999999999999",
		  SDP_E_SYNTAX },
		{ "a=max-message-size:262144", "a=max-message-size:-1", SDP_E_SYNTAX },
		{ " typ host generation 0 network-cost 999", " typ hots", SDP_E_BAD_CANDIDATE },
		{ "udp 2113937151", "sctp 2113937151", SDP_E_BAD_CANDIDATE },
		{ "udp 2113937151", "udp 4294967296", SDP_E_BAD_CANDIDATE },
		{ "4170703351 1 udp", "4170703351 0 udp", SDP_E_BAD_CANDIDATE },
		{ ".local 60771 typ", ".local 60771 type", SDP_E_BAD_CANDIDATE },
		{ "a=extmap-allow-mixed", "b extmap-allow-mixed", SDP_E_SYNTAX },
		{ "a=extmap-allow-mixed", "A=extmap-allow-mixed", SDP_E_SYNTAX },
		{ "a=extmap-allow-mixed\r\n", "a=extmap\rallow-mixed\r\n", SDP_E_SYNTAX },
		{ "a=extmap-allow-mixed\r\n", "a=extmap-allow-mixed\r\n\r\n", SDP_E_SYNTAX },
		{ "a=extmap-allow-mixed", "a=extmap\x01", SDP_E_SYNTAX },
		{ "a=extmap-allow-mixed", "a=ext map", SDP_E_SYNTAX },
		{ "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9",
		  SDP_E_SYNTAX },
		{ "m=application 9 UDP/DTLS", "m=application 9 UDP//DTLS", SDP_E_SYNTAX },
		{ "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		  "m=audio 9 RTP/AVP a=b\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel",
		  SDP_E_SYNTAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sdp_offer o;
		char *s = edit(chrome_offer, cases[i].from, cases[i].to);
		int rc = parse_str(s, &o);
		if (rc != cases[i].err)
			fprintf(stderr, "  case %zu (%s -> %s): got %d (%s)\n", i, cases[i].from,
				cases[i].to, rc, sdp_strerror(rc));
		CHECK_EQ_INT(rc, cases[i].err);
		free(s);
	}
}

TEST(caps_and_nul_bytes)
{
	struct sdp_offer o;
	size_t n = strlen(chrome_offer);
	char *big;

	/* NUL inside a line */
	big = malloc(n + 1);
	memcpy(big, chrome_offer, n + 1);
	big[40] = '\0';
	CHECK_EQ_INT(sdp_offer_parse(big, n, &o), SDP_E_SYNTAX);
	free(big);

	/* one huge attribute line */
	big = malloc(SDP_MAX_LINE + 64);
	memcpy(big, "v=0\r\na=", 7);
	memset(big + 7, 'x', SDP_MAX_LINE + 10);
	CHECK_EQ_INT(sdp_offer_parse(big, SDP_MAX_LINE + 17, &o), SDP_E_TOO_BIG);
	free(big);

	/* too many lines, and too many bytes */
	big = malloc(SDP_MAX_BYTES + 1);
	memcpy(big, "v=0\n", 4);
	for (size_t i = 4; i + 4 <= SDP_MAX_BYTES; i += 4)
		memcpy(big + i, "a=x\n", 4);
	CHECK_EQ_INT(sdp_offer_parse(big, SDP_MAX_BYTES, &o), SDP_E_TOO_BIG);
	CHECK_EQ_INT(sdp_offer_parse(big, SDP_MAX_BYTES + 1, &o), SDP_E_TOO_BIG);
	free(big);

	CHECK_EQ_INT(sdp_offer_parse("", 0, &o), SDP_E_VERSION);
	CHECK_EQ_INT(parse_str("v=0", &o), SDP_E_NO_APPLICATION);
}

TEST(keeps_a_bounded_number_of_candidates)
{
	char *s = malloc(strlen(chrome_offer) + 40 * 80);
	struct sdp_offer o;

	strcpy(s, chrome_offer);
	for (int i = 0; i < 40; i++)
		sprintf(s + strlen(s), "a=candidate:%d 1 udp %d 10.0.0.%d 5000 typ srflx\r\n", i,
			1000 + i, i);
	strcat(s, "a=end-of-candidates\r\n");
	CHECK_EQ_INT(parse_str(s, &o), SDP_OK);
	CHECK_EQ_INT(o.n_candidates, SDP_MAX_CANDIDATES);
	CHECK_EQ_INT(o.n_candidates_dropped, 40 + 2 - SDP_MAX_CANDIDATES);
	CHECK_EQ_INT(o.candidates[2].type, SDP_CAND_SRFLX);
	CHECK(o.end_of_candidates);
	free(s);
}

static const char golden_answer[] =
	"v=0\r\n"
	"o=- 4611686018427387905 2 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=ice-lite\r\n"
	"a=group:BUNDLE 0\r\n"
	"m=application 40000 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 192.168.1.1\r\n"
	"a=mid:0\r\n"
	"a=ice-ufrag:pfog\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
	"a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:"
	"17:18:19:1A:1B:1C:1D:1E:FF\r\n"
	"a=setup:passive\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n"
	"a=candidate:1 1 udp 2130706431 192.168.1.1 40000 typ host\r\n"
	"a=candidate:2 1 udp 2130706175 fd00::1 40000 typ host\r\n"
	"a=end-of-candidates\r\n";

static void answer_params(struct sdp_answer_params *p, const struct sdp_offer *offer,
			  const struct sdp_host_candidate *cands, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->offer = offer;
	p->session_id = 4611686018427387905ull;
	p->session_version = 2;
	p->ice_ufrag = "pfog";
	p->ice_pwd = "abcdefghijklmnopqrstuv";
	for (int i = 0; i < 32; i++)
		p->fingerprint[i] = (uint8_t)i;
	p->fingerprint[31] = 0xFF;
	p->candidates = cands;
	p->n_candidates = n;
}

TEST(answer_golden_and_round_trip)
{
	static const struct sdp_host_candidate cands[] = { { "192.168.1.1", 40000 },
							   { "fd00::1", 40000 } };
	struct sdp_offer offer, back;
	struct sdp_answer_params p;
	char buf[2048], *t;
	size_t len = 0;

	CHECK_EQ_INT(parse_str(chrome_offer, &offer), SDP_OK);
	answer_params(&p, &offer, cands, 2);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_OK);
	CHECK_EQ_STR(buf, golden_answer);
	CHECK_EQ_INT(len, strlen(golden_answer));

	/* our parser accepts our answer (setup:passive is refused in offers, so
	 * rewrite that one word) and gets our values back */
	t = edit(buf, "setup:passive", "setup:active");
	CHECK_EQ_INT(parse_str(t, &back), SDP_OK);
	free(t);
	CHECK_EQ_STR(back.ice_ufrag, "pfog");
	CHECK_EQ_STR(back.ice_pwd, "abcdefghijklmnopqrstuv");
	CHECK_MEM(back.fingerprint, p.fingerprint, 32);
	CHECK_EQ_STR(back.mid, "0");
	CHECK(back.ice_lite);
	CHECK(back.end_of_candidates);
	CHECK_EQ_INT(back.n_candidates, 2);
	CHECK_EQ_INT(back.candidates[0].priority, sdp_candidate_priority(126, 65535, 1));
	CHECK_EQ_INT(back.port, 40000);
	CHECK_EQ_INT(back.max_message_size, 262144);

	/* every too-small buffer fails cleanly */
	for (size_t cap = 1; cap <= len; cap++) {
		size_t l = 99;
		CHECK_EQ_INT(sdp_answer_write(&p, buf, cap, &l), SDP_E_BUFFER);
		CHECK_EQ_INT(l, 0);
		CHECK_EQ_INT(buf[0], '\0');
	}
	CHECK_EQ_INT(sdp_answer_write(&p, buf, len + 1, &len), SDP_OK);
}

TEST(answer_rejects_other_m_lines_and_ipv6_default)
{
	static const struct sdp_host_candidate cands[] = { { "2001:db8::7", 3478 } };
	struct sdp_offer offer, back;
	struct sdp_answer_params p;
	char buf[2048], *s, *t;
	size_t len;

	s = edit(chrome_offer, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE v 0\r\n");
	t = edit(s, "m=application",
		 "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\nm=application");
	CHECK_EQ_INT(parse_str(t, &offer), SDP_OK);
	answer_params(&p, &offer, cands, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_OK);
	CHECK(strstr(buf, "a=group:BUNDLE 0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n"
			  "c=IN IP4 0.0.0.0\r\na=mid:v\r\nm=application 3478 ") != NULL);
	CHECK(strstr(buf, "c=IN IP6 2001:db8::7\r\n") != NULL);
	CHECK(strstr(buf, "a=candidate:1 1 udp 2130706431 2001:db8::7 3478 typ host\r\n") != NULL);
	free(t);
	t = edit(buf, "setup:passive", "setup:active");
	CHECK_EQ_INT(parse_str(t, &back), SDP_OK);
	CHECK_EQ_INT(back.n_media, 2);
	CHECK_EQ_INT(back.media[0].port, 0);
	free(s);
	free(t);

	/* no BUNDLE in the offer → none in the answer */
	s = edit(chrome_offer, "a=group:BUNDLE 0\r\n", "");
	CHECK_EQ_INT(parse_str(s, &offer), SDP_OK);
	answer_params(&p, &offer, cands, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_OK);
	CHECK(strstr(buf, "a=group") == NULL);
	free(s);
}

TEST(answer_invalid_params)
{
	static const struct sdp_host_candidate good[] = { { "10.0.0.1", 1 } };
	static const struct sdp_host_candidate bad_addr[] = { { "router.lan", 1 } };
	static const struct sdp_host_candidate bad_port[] = { { "10.0.0.1", 0 } };
	struct sdp_offer offer;
	struct sdp_answer_params p;
	char buf[2048];
	size_t len;

	CHECK_EQ_INT(parse_str(chrome_offer, &offer), SDP_OK);
	answer_params(&p, &offer, good, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_OK);
	p.ice_ufrag = "ab";
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, &offer, good, 1);
	p.ice_pwd = "has space in it but long";
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, &offer, bad_addr, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, &offer, bad_port, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, &offer, good, 0);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, &offer, good, 1);
	p.session_id = 1ull << 63;
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
	answer_params(&p, NULL, good, 1);
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
}

TEST(priority_and_strerror)
{
	CHECK_EQ_INT(sdp_candidate_priority(126, 65535, 1), 2130706431u);
	CHECK_EQ_INT(sdp_candidate_priority(0, 0, 256), 0);
	CHECK_EQ_INT(sdp_candidate_priority(100, 0, 2), 100u * (1u << 24) + 254);
	for (int e = SDP_OK; e >= SDP_E_INVALID; e--)
		CHECK(strcmp(sdp_strerror(e), "unknown SDP error") != 0);
	CHECK_EQ_STR(sdp_strerror(-999), "unknown SDP error");
}

TEST(answer_full_ice_with_srflx)
{
	static const struct sdp_host_candidate cands[] = { { "10.2.0.2", 40000 } };
	static const struct sdp_srflx_candidate srflx[] = {
		{ "198.51.100.11", 41000, "10.2.0.2", 40000 },
	};
	static const struct sdp_srflx_candidate bad[] = { { "not-an-ip", 1, NULL, 0 } };
	struct sdp_offer offer, back;
	struct sdp_answer_params p;
	char buf[2048], *t;
	size_t len = 0;

	CHECK_EQ_INT(parse_str(chrome_offer, &offer), SDP_OK);
	answer_params(&p, &offer, cands, 1);
	p.srflx = srflx;
	p.n_srflx = 1;
	p.full_ice = true;
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_OK);
	CHECK(strstr(buf, "a=ice-lite") == NULL);
	CHECK(strstr(buf, "a=candidate:s1 1 udp 1694498815 198.51.100.11 41000 typ srflx raddr "
			  "10.2.0.2 rport 40000\r\n") != NULL);
	t = edit(buf, "setup:passive", "setup:active");
	CHECK_EQ_INT(parse_str(t, &back), SDP_OK);
	free(t);
	CHECK(!back.ice_lite);
	CHECK_EQ_INT(back.n_candidates, 2);
	CHECK_EQ_INT(back.candidates[1].type, SDP_CAND_SRFLX);
	CHECK_EQ_INT(back.candidates[1].port, 41000);
	CHECK_EQ_INT(back.port, 40000); /* the host candidate stays the default */
	p.srflx = bad;
	CHECK_EQ_INT(sdp_answer_write(&p, buf, sizeof(buf), &len), SDP_E_INVALID);
}

TEST(trickled_candidate_lines)
{
	struct sdp_candidate c;
	static const char *const bad[] = {
		"",
		"candidate:",
		"a=candidate:1 1 udp",
		"candidate:1 1 sctp 1 1.2.3.4 5 typ host",
		"candidate:1 1 udp 0 1.2.3.4 5 typ host",
		"candidate:1 1 udp 1 1.2.3.4 5 type host",
		"candidate:1 1 udp 1 1.2.3.4 5 typ nat",
		"candidate:1 1 udp 1 1.2.3.4 70000 typ host",
		"candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n",
		"cand:1 1 udp 1 1.2.3.4 5 typ host",
	};

	CHECK_EQ_INT(sdp_candidate_parse("candidate:842163049 1 udp 1677729535 198.51.100.10 "
					 "61573 typ srflx raddr 10.1.0.2 rport 43000 generation 0 "
					 "ufrag x3Ue network-cost 999",
					 strlen("candidate:842163049 1 udp 1677729535 198.51.100.10 "
						"61573 typ srflx raddr 10.1.0.2 rport 43000 generation 0 "
						"ufrag x3Ue network-cost 999"),
					 &c),
		     SDP_OK);
	CHECK_EQ_STR(c.address, "198.51.100.10");
	CHECK_EQ_INT(c.port, 61573);
	CHECK_EQ_INT(c.type, SDP_CAND_SRFLX);
	CHECK_EQ_INT(c.priority, 1677729535u);
	CHECK_EQ_INT(sdp_candidate_parse("a=candidate:1 1 UDP 41885439 198.51.100.3 40001 typ relay",
					 strlen("a=candidate:1 1 UDP 41885439 198.51.100.3 40001 typ relay"),
					 &c),
		     SDP_OK);
	CHECK_EQ_INT(c.type, SDP_CAND_RELAY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(sdp_candidate_parse(bad[i], strlen(bad[i]), &c) < 0);
}

int main(void)
{
	RUN(parses_chrome_offer);
	RUN(parses_wrtc_offer);
	RUN(parses_firefox_offer);
	RUN(media_level_overrides_session_and_defaults_apply);
	RUN(other_m_lines_are_recorded_for_rejection);
	RUN(fingerprint_algorithms);
	RUN(hostile_inputs);
	RUN(caps_and_nul_bytes);
	RUN(keeps_a_bounded_number_of_candidates);
	RUN(answer_golden_and_round_trip);
	RUN(answer_rejects_other_m_lines_and_ipv6_default);
	RUN(answer_invalid_params);
	RUN(priority_and_strerror);
	RUN(answer_full_ice_with_srflx);
	RUN(trickled_candidate_lines);
	return test_summary();
}

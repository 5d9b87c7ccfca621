#include "sdp.h"
#include "hex.h"
#include "textbuf.h"

#include <arpa/inet.h>
#include <string.h>

/* A view of bytes inside the offer; never NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* Where an a= line sits: session level, the data section, or another m-section. */
enum sdp_level { LVL_SESSION, LVL_APP, LVL_OTHER };

/* Per-level values that may appear at session and media level. */
struct level_attrs {
	char ufrag[SDP_ICE_MAX + 1];
	char pwd[SDP_ICE_MAX + 1];
	uint8_t fp[SDP_FINGERPRINT_LEN];
	bool has_ufrag, has_pwd, has_fp, has_other_fp, has_options, trickle;
	enum sdp_setup setup;
};

struct parse_state {
	struct sdp_offer *o;
	enum sdp_level level;
	bool have_app;
	bool app_has_mid, has_sctp_port, has_mms, has_bundle;
	struct level_attrs sess, app;
};

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_eq_nocase(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

/* Split off the next SP-separated token (RFC 8866 §9 uses single SP; we also skip
 * repeated spaces and tabs, as browsers' parsers do). */
static bool next_token(struct span *rest, struct span *tok)
{
	while (rest->n && (*rest->p == ' ' || *rest->p == '\t')) {
		rest->p++;
		rest->n--;
	}
	if (!rest->n)
		return false;
	tok->p = rest->p;
	while (rest->n && *rest->p != ' ' && *rest->p != '\t') {
		rest->p++;
		rest->n--;
	}
	tok->n = (size_t)(rest->p - tok->p);
	return true;
}

static bool parse_u64(struct span s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s.n || s.n > 20)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9 || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool copy_span(char *dst, size_t cap, struct span s)
{
	if (s.n >= cap)
		return false;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return true;
}

/* RFC 8839 §5.4 ice-char = ALPHA / DIGIT / "+" / "/" */
static bool is_ice_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool ice_string_ok(const char *p, size_t n, size_t min)
{
	if (n < min || n > SDP_ICE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ice_char(p[i]))
			return false;
	return true;
}

/* RFC 8866 §9 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 /
 * %x41-5A / %x5E-7E.  With allow_slash, proto = token *("/" token). */
static bool is_token_ex(struct span s, bool allow_slash)
{
	if (!s.n)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '/' && allow_slash && i > 0 && i + 1 < s.n && s.p[i - 1] != '/')
			continue;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]", c))
			return false;
	}
	return true;
}

static bool is_token(struct span s)
{
	return is_token_ex(s, false);
}

/* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); we also accept lowercase. */
static int parse_fingerprint_hex(struct span s, uint8_t out[SDP_FINGERPRINT_LEN])
{
	if (s.n != SDP_FINGERPRINT_LEN * 3 - 1)
		return SDP_E_BAD_FINGERPRINT;
	for (size_t i = 0; i < SDP_FINGERPRINT_LEN; i++) {
		int hi = hex_digit_value(s.p[i * 3]), lo = hex_digit_value(s.p[i * 3 + 1]);
		if (hi < 0 || lo < 0)
			return SDP_E_BAD_FINGERPRINT;
		if (i + 1 < SDP_FINGERPRINT_LEN && s.p[i * 3 + 2] != ':')
			return SDP_E_BAD_FINGERPRINT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return SDP_OK;
}

static struct level_attrs *cur_attrs(struct parse_state *st)
{
	return st->level == LVL_SESSION ? &st->sess : &st->app;
}

/* --- a= attribute handlers (value is what follows "name:", or empty) --- */

static int attr_ice_ufrag(struct parse_state *st, struct span v)
{
	struct level_attrs *a = cur_attrs(st);

	if (a->has_ufrag)
		return SDP_E_DUPLICATE;
	if (!ice_string_ok(v.p, v.n, SDP_ICE_UFRAG_MIN))
		return SDP_E_BAD_ICE;
	copy_span(a->ufrag, sizeof(a->ufrag), v);
	a->has_ufrag = true;
	return SDP_OK;
}

static int attr_ice_pwd(struct parse_state *st, struct span v)
{
	struct level_attrs *a = cur_attrs(st);

	if (a->has_pwd)
		return SDP_E_DUPLICATE;
	if (!ice_string_ok(v.p, v.n, SDP_ICE_PWD_MIN))
		return SDP_E_BAD_ICE;
	copy_span(a->pwd, sizeof(a->pwd), v);
	a->has_pwd = true;
	return SDP_OK;
}

/* RFC 8839 §5.6: ice-options:<token> *(SP <token>) */
static int attr_ice_options(struct parse_state *st, struct span v)
{
	struct level_attrs *a = cur_attrs(st);
	struct span tok;

	if (a->has_options)
		return SDP_E_DUPLICATE;
	a->has_options = true;
	while (next_token(&v, &tok))
		if (span_eq(tok, "trickle"))
			a->trickle = true;
	return SDP_OK;
}

static int attr_ice_lite(struct parse_state *st, struct span v)
{
	if (st->level == LVL_SESSION) /* RFC 8839 §5.3: session level only */
		st->o->ice_lite = true;
	return SDP_OK;
}

/* RFC 8122 §5: fingerprint:<hash-func> SP <fingerprint> */
static int attr_fingerprint(struct parse_state *st, struct span v)
{
	struct level_attrs *a = cur_attrs(st);
	struct span alg, hex, extra;
	int rc;

	if (!next_token(&v, &alg) || !next_token(&v, &hex) || next_token(&v, &extra))
		return SDP_E_BAD_FINGERPRINT;
	if (!span_eq_nocase(alg, "sha-256")) {
		a->has_other_fp = true;
		return SDP_OK;
	}
	if (a->has_fp)
		return SDP_E_DUPLICATE;
	rc = parse_fingerprint_hex(hex, a->fp);
	if (rc == SDP_OK)
		a->has_fp = true;
	return rc;
}

/* RFC 8842 §5.1 / RFC 4145 §4 */
static int attr_setup(struct parse_state *st, struct span v)
{
	static const char *const names[] = { "actpass", "active", "passive", "holdconn" };
	static const enum sdp_setup vals[] = { SDP_SETUP_ACTPASS, SDP_SETUP_ACTIVE,
					       SDP_SETUP_PASSIVE, SDP_SETUP_HOLDCONN };
	struct level_attrs *a = cur_attrs(st);

	if (a->setup != SDP_SETUP_NONE)
		return SDP_E_DUPLICATE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_eq(v, names[i])) {
			a->setup = vals[i];
			return SDP_OK;
		}
	return SDP_E_SETUP;
}

/* RFC 5888 §4: mid:<identification-tag> (token) */
static int attr_mid(struct parse_state *st, struct span v)
{
	struct sdp_media *m;

	if (st->level == LVL_SESSION)
		return SDP_OK; /* meaningless at session level; ignored */
	m = &st->o->media[st->o->n_media - 1];
	if (m->mid[0])
		return SDP_E_DUPLICATE;
	if (!is_token(v) || !copy_span(m->mid, sizeof(m->mid), v))
		return SDP_E_BAD_MID;
	return SDP_OK;
}

/* RFC 8841 §5: sctp-port:<port> */
static int attr_sctp_port(struct parse_state *st, struct span v)
{
	uint64_t port;

	if (st->level != LVL_APP)
		return SDP_OK;
	if (st->has_sctp_port)
		return SDP_E_DUPLICATE;
	if (!parse_u64(v, 65535, &port) || port == 0)
		return SDP_E_SYNTAX;
	st->o->sctp_port = (uint16_t)port;
	st->has_sctp_port = true;
	return SDP_OK;
}

/* RFC 8841 §6: max-message-size:<size> (1*DIGIT; Firefox sends 1073741823) */
static int attr_max_message_size(struct parse_state *st, struct span v)
{
	uint64_t size;

	if (st->level != LVL_APP)
		return SDP_OK;
	if (st->has_mms)
		return SDP_E_DUPLICATE;
	if (!parse_u64(v, UINT64_MAX, &size))
		return SDP_E_SYNTAX;
	st->o->max_message_size = size;
	st->has_mms = true;
	return SDP_OK;
}

/* RFC 8839 §5.1 candidate-attribute value (after "candidate:") into *out */
static int parse_candidate(struct span v, struct sdp_candidate *out)
{
	struct sdp_candidate c;
	struct span f, comp, tr, prio, addr, port, typ, type;
	uint64_t n;

	if (!next_token(&v, &f) || !next_token(&v, &comp) || !next_token(&v, &tr) ||
	    !next_token(&v, &prio) || !next_token(&v, &addr) || !next_token(&v, &port) ||
	    !next_token(&v, &typ) || !next_token(&v, &type) || !span_eq(typ, "typ"))
		return SDP_E_BAD_CANDIDATE;
	memset(&c, 0, sizeof(c));
	if (!ice_string_ok(f.p, f.n, 1) || !copy_span(c.foundation, sizeof(c.foundation), f))
		return SDP_E_BAD_CANDIDATE;
	if (!parse_u64(comp, 256, &n) || n == 0)
		return SDP_E_BAD_CANDIDATE;
	c.component = (unsigned)n;
	if (span_eq_nocase(tr, "udp"))
		c.transport = SDP_TRANSPORT_UDP;
	else if (span_eq_nocase(tr, "tcp"))
		c.transport = SDP_TRANSPORT_TCP;
	else
		return SDP_E_BAD_CANDIDATE;
	if (!parse_u64(prio, UINT32_MAX, &n) || n == 0)
		return SDP_E_BAD_CANDIDATE;
	c.priority = (uint32_t)n;
	if (!copy_span(c.address, sizeof(c.address), addr))
		return SDP_E_BAD_CANDIDATE;
	for (size_t i = 0; i < addr.n; i++) {
		char ch = addr.p[i];
		if (!(is_ice_char(ch) && ch != '+' && ch != '/') && !strchr(".:-%_", ch))
			return SDP_E_BAD_CANDIDATE;
	}
	if (!parse_u64(port, 65535, &n))
		return SDP_E_BAD_CANDIDATE;
	c.port = (uint16_t)n;
	if (span_eq(type, "host"))
		c.type = SDP_CAND_HOST;
	else if (span_eq(type, "srflx"))
		c.type = SDP_CAND_SRFLX;
	else if (span_eq(type, "prflx"))
		c.type = SDP_CAND_PRFLX;
	else if (span_eq(type, "relay"))
		c.type = SDP_CAND_RELAY;
	else
		return SDP_E_BAD_CANDIDATE;
	*out = c;
	return SDP_OK;
}

static int attr_candidate(struct parse_state *st, struct span v)
{
	struct sdp_candidate c;
	int rc;

	if (st->level == LVL_OTHER)
		return SDP_OK;
	if ((rc = parse_candidate(v, &c)) != SDP_OK)
		return rc;
	if (st->o->n_candidates >= SDP_MAX_CANDIDATES) {
		st->o->n_candidates_dropped++;
		return SDP_OK;
	}
	st->o->candidates[st->o->n_candidates++] = c;
	return SDP_OK;
}

int sdp_candidate_parse(const char *line, size_t len, struct sdp_candidate *out)
{
	struct span v = { line, len };

	memset(out, 0, sizeof(*out));
	if (len > SDP_MAX_LINE)
		return SDP_E_TOO_BIG;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return SDP_E_SYNTAX;
	if (v.n >= 2 && memcmp(v.p, "a=", 2) == 0) {
		v.p += 2;
		v.n -= 2;
	}
	if (v.n < 10 || memcmp(v.p, "candidate:", 10) != 0)
		return SDP_E_BAD_CANDIDATE;
	v.p += 10;
	v.n -= 10;
	return parse_candidate(v, out);
}

static int attr_end_of_candidates(struct parse_state *st, struct span v)
{
	if (st->level != LVL_OTHER)
		st->o->end_of_candidates = true;
	return SDP_OK;
}

/* RFC 5888 §5 / RFC 9143: group:BUNDLE <mid> *(SP <mid>); other semantics ignored. */
static int attr_group(struct parse_state *st, struct span v)
{
	struct span sem, mid;

	if (st->level != LVL_SESSION || !next_token(&v, &sem) || !span_eq(sem, "BUNDLE"))
		return SDP_OK;
	if (st->has_bundle)
		return SDP_E_DUPLICATE;
	st->has_bundle = true;
	while (next_token(&v, &mid)) {
		if (st->o->n_bundle >= SDP_MAX_BUNDLE)
			return SDP_E_TOO_BIG;
		if (!is_token(mid) ||
		    !copy_span(st->o->bundle[st->o->n_bundle], SDP_MID_MAX + 1, mid))
			return SDP_E_BAD_MID;
		st->o->n_bundle++;
	}
	return SDP_OK;
}

/* The draft-ietf-mmusic-sctp-sdp-05 form Chrome used before version 57. */
static int attr_sctpmap(struct parse_state *st, struct span v)
{
	return st->level == LVL_APP ? SDP_E_LEGACY_SCTP : SDP_OK;
}

static const struct {
	const char *name;
	int (*handle)(struct parse_state *, struct span);
} attr_table[] = {
	{ "ice-ufrag", attr_ice_ufrag },
	{ "ice-pwd", attr_ice_pwd },
	{ "ice-options", attr_ice_options },
	{ "ice-lite", attr_ice_lite },
	{ "fingerprint", attr_fingerprint },
	{ "setup", attr_setup },
	{ "mid", attr_mid },
	{ "sctp-port", attr_sctp_port },
	{ "max-message-size", attr_max_message_size },
	{ "candidate", attr_candidate },
	{ "end-of-candidates", attr_end_of_candidates },
	{ "group", attr_group },
	{ "sctpmap", attr_sctpmap },
};

/* RFC 8866 §5.13: a=<attribute-name>[:<attribute-value>] */
static int parse_attribute(struct parse_state *st, struct span line)
{
	struct span name = line, value = { line.p + line.n, 0 };
	const char *colon = memchr(line.p, ':', line.n);

	if (colon) {
		name.n = (size_t)(colon - line.p);
		value.p = colon + 1;
		value.n = line.n - name.n - 1;
	}
	if (!is_token(name))
		return SDP_E_SYNTAX;
	if (st->level == LVL_OTHER && !span_eq(name, "mid"))
		return SDP_OK;
	for (size_t i = 0; i < sizeof(attr_table) / sizeof(attr_table[0]); i++)
		if (span_eq(name, attr_table[i].name))
			return attr_table[i].handle(st, value);
	return SDP_OK; /* unknown attributes are ignored (RFC 8866 §5.13) */
}

/* RFC 8866 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int parse_media(struct parse_state *st, struct span v)
{
	struct sdp_media *m;
	struct span kind, port, proto, fmt;
	const char *slash;
	uint64_t n;

	if (st->o->n_media >= SDP_MAX_MEDIA)
		return SDP_E_TOO_BIG;
	m = &st->o->media[st->o->n_media++];
	if (!next_token(&v, &kind) || !next_token(&v, &port) || !next_token(&v, &proto) ||
	    !next_token(&v, &fmt))
		return SDP_E_SYNTAX;
	slash = memchr(port.p, '/', port.n);
	if (slash)
		port.n = (size_t)(slash - port.p);
	if (!parse_u64(port, 65535, &n) || !is_token(kind) || !is_token_ex(proto, true) ||
	    !is_token(fmt))
		return SDP_E_SYNTAX;
	m->port = (uint16_t)n;
	if (!copy_span(m->kind, sizeof(m->kind), kind) ||
	    !copy_span(m->proto, sizeof(m->proto), proto) ||
	    !copy_span(m->fmt, sizeof(m->fmt), fmt))
		return SDP_E_SYNTAX;
	st->level = LVL_OTHER;
	if (!span_eq(kind, "application") || st->have_app)
		return SDP_OK;
	if (span_eq(proto, "DTLS/SCTP"))
		return SDP_E_LEGACY_SCTP;
	if (!span_eq(proto, "UDP/DTLS/SCTP") || !span_eq(fmt, "webrtc-datachannel"))
		return SDP_OK;
	if (m->port == 0)
		return SDP_E_PORT_ZERO;
	st->have_app = true;
	st->level = LVL_APP;
	st->o->app_index = st->o->n_media - 1;
	st->o->port = m->port;
	return SDP_OK;
}

static int parse_line(struct parse_state *st, char type, struct span v)
{
	switch (type) {
	case 'm':
		return parse_media(st, v);
	case 'a':
		return parse_attribute(st, v);
	default:
		/* o=, s=, c=, t=, b=, ... carry nothing we need; RFC 8866 §5 says
		 * unknown types are ignored. */
		return SDP_OK;
	}
}

/* Merge session and media level (media wins) and check what must be present. */
static int finish(struct parse_state *st)
{
	struct sdp_offer *o = st->o;
	const struct level_attrs *s = &st->sess, *a = &st->app;
	const struct sdp_media *m;

	if (!st->have_app)
		return SDP_E_NO_APPLICATION;
	m = &o->media[o->app_index];
	if (!a->has_ufrag && !s->has_ufrag)
		return SDP_E_NO_ICE;
	if (!a->has_pwd && !s->has_pwd)
		return SDP_E_NO_ICE;
	strcpy(o->ice_ufrag, a->has_ufrag ? a->ufrag : s->ufrag);
	strcpy(o->ice_pwd, a->has_pwd ? a->pwd : s->pwd);
	o->ice_trickle = a->has_options ? a->trickle : s->trickle;
	if (a->has_fp)
		memcpy(o->fingerprint, a->fp, SDP_FINGERPRINT_LEN);
	else if (s->has_fp)
		memcpy(o->fingerprint, s->fp, SDP_FINGERPRINT_LEN);
	else if (a->has_other_fp || s->has_other_fp)
		return SDP_E_FINGERPRINT_ALG;
	else
		return SDP_E_NO_FINGERPRINT;
	o->setup = a->setup != SDP_SETUP_NONE ? a->setup : s->setup;
	if (o->setup == SDP_SETUP_PASSIVE || o->setup == SDP_SETUP_HOLDCONN)
		return SDP_E_SETUP;
	if (!m->mid[0] && o->n_bundle)
		return SDP_E_BAD_MID; /* BUNDLE needs mids (RFC 9143 §7.2) */
	strcpy(o->mid, m->mid);
	return SDP_OK;
}

int sdp_offer_parse(const char *sdp, size_t len, struct sdp_offer *out)
{
	struct parse_state st;
	size_t pos = 0, nlines = 0;

	memset(out, 0, sizeof(*out));
	out->sctp_port = SDP_DEFAULT_SCTP_PORT;
	out->max_message_size = SDP_DEFAULT_MAX_MESSAGE_SIZE;
	memset(&st, 0, sizeof(st));
	st.o = out;
	st.level = LVL_SESSION;
	if (len > SDP_MAX_BYTES)
		return SDP_E_TOO_BIG;
	while (pos < len) {
		const char *line = sdp + pos;
		size_t n = 0, next;
		int rc;

		while (pos + n < len && line[n] != '\n')
			n++;
		next = pos + n + (pos + n < len); /* skip the LF */
		if (n && line[n - 1] == '\r')
			n--;
		if (n > SDP_MAX_LINE || ++nlines > SDP_MAX_LINES)
			return SDP_E_TOO_BIG;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return SDP_E_SYNTAX;
		}
		pos = next;
		if (n == 0) {
			/* A trailing empty line is tolerated; one in the middle is not. */
			if (pos < len)
				return SDP_E_SYNTAX;
			continue;
		}
		/* RFC 8866 §5: <type>=<value>, type one lowercase letter */
		if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
			return SDP_E_SYNTAX;
		if (nlines == 1) {
			if (n != 3 || line[0] != 'v' || line[2] != '0')
				return SDP_E_VERSION;
			continue;
		}
		rc = parse_line(&st, line[0], (struct span){ line + 2, n - 2 });
		if (rc != SDP_OK)
			return rc;
	}
	if (nlines == 0)
		return SDP_E_VERSION;
	return finish(&st);
}

/* --- answer --- */

uint32_t sdp_candidate_priority(unsigned type_pref, unsigned local_pref, unsigned component)
{
	return ((uint32_t)(type_pref & 0x7f) << 24) + ((uint32_t)(local_pref & 0xffff) << 8) +
	       (uint32_t)(component >= 1 && component <= 256 ? 256 - component : 0);
}

static void out_fingerprint(struct textbuf *o, const uint8_t fp[SDP_FINGERPRINT_LEN])
{
	textbuf_printf(o, "a=fingerprint:sha-256 ");
	for (size_t i = 0; i < SDP_FINGERPRINT_LEN; i++)
		textbuf_printf(o, "%02X%s", fp[i], i + 1 < SDP_FINGERPRINT_LEN ? ":" : "\r\n");
}

static bool mid_in_bundle(const struct sdp_offer *of, const char *mid)
{
	for (unsigned i = 0; i < of->n_bundle; i++)
		if (strcmp(of->bundle[i], mid) == 0)
			return true;
	return false;
}

static int check_answer_params(const struct sdp_answer_params *p, bool v6[])
{
	const struct sdp_offer *of = p->offer;

	if (!of || !p->ice_ufrag || !p->ice_pwd || of->n_media == 0 ||
	    of->app_index >= of->n_media)
		return SDP_E_INVALID;
	if (p->session_id >> 63)
		return SDP_E_INVALID;
	if (!ice_string_ok(p->ice_ufrag, strlen(p->ice_ufrag), SDP_ICE_UFRAG_MIN) ||
	    !ice_string_ok(p->ice_pwd, strlen(p->ice_pwd), SDP_ICE_PWD_MIN))
		return SDP_E_INVALID;
	if (p->n_candidates == 0 || p->n_candidates > SDP_MAX_CANDIDATES || !p->candidates)
		return SDP_E_INVALID;
	if (p->n_srflx > SDP_MAX_CANDIDATES || (p->n_srflx && !p->srflx))
		return SDP_E_INVALID;
	for (size_t i = 0; i < p->n_srflx; i++) {
		unsigned char a[16];
		const char *addr = p->srflx[i].address, *rel = p->srflx[i].rel_address;
		if (!addr || p->srflx[i].port == 0 ||
		    (inet_pton(AF_INET, addr, a) != 1 && inet_pton(AF_INET6, addr, a) != 1) ||
		    (rel && inet_pton(AF_INET, rel, a) != 1 && inet_pton(AF_INET6, rel, a) != 1))
			return SDP_E_INVALID;
	}
	for (size_t i = 0; i < p->n_candidates; i++) {
		unsigned char a[16];
		const char *addr = p->candidates[i].address;
		if (!addr || p->candidates[i].port == 0)
			return SDP_E_INVALID;
		if (inet_pton(AF_INET, addr, a) == 1)
			v6[i] = false;
		else if (inet_pton(AF_INET6, addr, a) == 1)
			v6[i] = true;
		else
			return SDP_E_INVALID;
	}
	return SDP_OK;
}

/* RFC 8829 §5.3.1 (initial answer): same m-lines in the same order; the data
 * section is accepted, every other one rejected with port 0.  We are ice-lite
 * (RFC 8445 §2.5) so all candidates are in the answer, closed by
 * a=end-of-candidates (RFC 8838 §8.2). */
int sdp_answer_write(const struct sdp_answer_params *p, char *buf, size_t cap, size_t *len)
{
	struct textbuf o = TEXTBUF_INIT(buf, cap);
	bool v6[SDP_MAX_CANDIDATES];
	const struct sdp_offer *of;
	const struct sdp_host_candidate *def;
	bool bundle;
	int rc;

	if (len)
		*len = 0;
	if (!p || !buf || cap == 0)
		return SDP_E_INVALID;
	buf[0] = '\0';
	rc = check_answer_params(p, v6);
	if (rc != SDP_OK)
		return rc;
	of = p->offer;
	def = &p->candidates[0];
	bundle = of->n_bundle && mid_in_bundle(of, of->mid);

	textbuf_printf(&o, "v=0\r\no=- %llu %llu IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
		       (unsigned long long)p->session_id, (unsigned long long)p->session_version);
	if (!p->full_ice)
		textbuf_printf(&o, "a=ice-lite\r\n");
	/* RFC 9143 §7.3.1: the answerer's group lists only accepted mids. */
	if (bundle)
		textbuf_printf(&o, "a=group:BUNDLE %s\r\n", of->mid);
	for (unsigned i = 0; i < of->n_media; i++) {
		const struct sdp_media *m = &of->media[i];

		if (i != of->app_index) {
			textbuf_printf(&o, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind,
				       m->proto, m->fmt);
			if (m->mid[0])
				textbuf_printf(&o, "a=mid:%s\r\n", m->mid);
			continue;
		}
		textbuf_printf(&o, "m=application %u UDP/DTLS/SCTP webrtc-datachannel\r\n",
			       def->port);
		textbuf_printf(&o, "c=IN %s %s\r\n", v6[0] ? "IP6" : "IP4", def->address);
		if (of->mid[0])
			textbuf_printf(&o, "a=mid:%s\r\n", of->mid);
		textbuf_printf(&o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
		out_fingerprint(&o, p->fingerprint);
		textbuf_printf(&o, "a=setup:passive\r\n");
		textbuf_printf(&o, "a=sctp-port:%u\r\n",
			       p->sctp_port ? p->sctp_port : SDP_DEFAULT_SCTP_PORT);
		textbuf_printf(&o, "a=max-message-size:%llu\r\n",
			       (unsigned long long)(p->max_message_size
							    ? p->max_message_size
							    : SDP_OUR_MAX_MESSAGE_SIZE));
		/* RFC 8445 §5.1.2.1: type preference 126 host, 100 server reflexive; local
		 * preference decreasing with the order the caller gave, component 1.
		 * Server-reflexive ones carry raddr/rport (RFC 8839 §5.1).  Every candidate
		 * pear-fogd has is known when it answers (the STUN client keeps the
		 * reflexive address fresh), so the list is closed (RFC 8838 §8.2). */
		for (size_t c = 0; c < p->n_candidates; c++)
			textbuf_printf(&o, "a=candidate:%zu 1 udp %u %s %u typ host\r\n", c + 1,
				       sdp_candidate_priority(126, 65535 - (unsigned)c, 1),
				       p->candidates[c].address, p->candidates[c].port);
		for (size_t c = 0; c < p->n_srflx; c++) {
			const struct sdp_srflx_candidate *sc = &p->srflx[c];

			textbuf_printf(&o,
				       "a=candidate:s%zu 1 udp %u %s %u typ srflx raddr %s rport %u\r\n",
				       c + 1, sdp_candidate_priority(100, 65535 - (unsigned)c, 1),
				       sc->address, sc->port,
				       sc->rel_address ? sc->rel_address : "0.0.0.0", sc->rel_port);
		}
		textbuf_printf(&o, "a=end-of-candidates\r\n");
	}
	if (o.overflow) {
		buf[0] = '\0';
		return SDP_E_BUFFER;
	}
	if (len)
		*len = o.len;
	return SDP_OK;
}

const char *sdp_strerror(int err)
{
	switch (err) {
	case SDP_OK: return "ok";
	case SDP_E_TOO_BIG: return "SDP too large (size, line length or count cap)";
	case SDP_E_SYNTAX: return "SDP syntax error";
	case SDP_E_VERSION: return "SDP must start with v=0";
	case SDP_E_NO_APPLICATION: return "no m=application UDP/DTLS/SCTP webrtc-datachannel section";
	case SDP_E_PORT_ZERO: return "data channel m-line rejected (port 0)";
	case SDP_E_LEGACY_SCTP: return "legacy DTLS/SCTP sctpmap form not supported";
	case SDP_E_NO_ICE: return "ice-ufrag or ice-pwd missing";
	case SDP_E_BAD_ICE: return "ice-ufrag or ice-pwd invalid";
	case SDP_E_NO_FINGERPRINT: return "no a=fingerprint";
	case SDP_E_FINGERPRINT_ALG: return "no sha-256 fingerprint";
	case SDP_E_BAD_FINGERPRINT: return "malformed sha-256 fingerprint";
	case SDP_E_SETUP: return "unsupported a=setup (we are the DTLS server)";
	case SDP_E_DUPLICATE: return "duplicate attribute";
	case SDP_E_BAD_CANDIDATE: return "malformed a=candidate";
	case SDP_E_BAD_MID: return "missing or malformed a=mid";
	case SDP_E_BUFFER: return "output buffer too small";
	case SDP_E_INVALID: return "invalid parameter";
	default: return "unknown SDP error";
	}
}

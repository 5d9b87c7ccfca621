/* ice_lite: ICE-lite agent (RFC 8445) answering browser connectivity checks.
 * See ice_lite.h for the processing order and the RFC sections. */
#include <netinet/in.h>
#include <string.h>

#include "crypto.h"
#include "ice_lite.h"

/* RFC 8839 §5.4 ice-char = ALPHA / DIGIT / "+" / "/": 64 symbols, so one random byte
 * masked to 6 bits picks one uniformly. */
static const char ice_chars[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool is_ice_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

bool ice_lite_cred_valid(const char *s, size_t min)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, ICE_LITE_CRED_MAX + 1);
	if (n < min || n > ICE_LITE_CRED_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ice_char(s[i]))
			return false;
	return true;
}

static int random_ice_string(char *out, size_t n)
{
	uint8_t rnd[ICE_LITE_CRED_MAX];

	if (n > sizeof(rnd) || crypto_random(rnd, n) < 0)
		return ICE_LITE_E_RANDOM;
	for (size_t i = 0; i < n; i++)
		out[i] = ice_chars[rnd[i] & 63];
	out[n] = '\0';
	crypto_cleanse(rnd, n);
	return ICE_LITE_OK;
}

int ice_lite_init(struct ice_lite *a, const char *remote_ufrag, const char *remote_pwd)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->selected = -1;
	a->state = ICE_LITE_NEW;
	if (!ice_lite_cred_valid(remote_ufrag, ICE_LITE_UFRAG_MIN) ||
	    !ice_lite_cred_valid(remote_pwd, ICE_LITE_PWD_MIN))
		return ICE_LITE_E_CRED;
	strcpy(a->remote_ufrag, remote_ufrag); /* lengths checked above */
	strcpy(a->remote_pwd, remote_pwd);
	if ((rc = random_ice_string(a->local_ufrag, ICE_LITE_UFRAG_LEN)) != ICE_LITE_OK ||
	    (rc = random_ice_string(a->local_pwd, ICE_LITE_PWD_LEN)) != ICE_LITE_OK)
		return rc;
	return ICE_LITE_OK;
}

int ice_lite_set_local_creds(struct ice_lite *a, const char *ufrag, const char *pwd)
{
	if (!ice_lite_cred_valid(ufrag, ICE_LITE_UFRAG_MIN) ||
	    !ice_lite_cred_valid(pwd, ICE_LITE_PWD_MIN))
		return ICE_LITE_E_CRED;
	strcpy(a->local_ufrag, ufrag);
	strcpy(a->local_pwd, pwd);
	return ICE_LITE_OK;
}

/* ---- addresses ---- */

/* Family, port and 4/16 address bytes; an IPv4-mapped IPv6 address counts as IPv4 so
 * that a dual-stack socket and an IPv4 one compare alike.  false if not IP. */
struct ip_key {
	int family;
	uint16_t port;
	uint32_t scope;
	uint8_t addr[16];
};

static bool addr_key(const struct sockaddr *sa, socklen_t len, struct ip_key *k)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

	memset(k, 0, sizeof(*k));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		k->family = AF_INET;
		k->port = in->sin_port;
		memcpy(k->addr, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		k->port = in6->sin6_port;
		if (memcmp(&in6->sin6_addr, v4mapped, sizeof(v4mapped)) == 0) {
			k->family = AF_INET;
			memcpy(k->addr, (const uint8_t *)&in6->sin6_addr + 12, 4);
		} else {
			k->family = AF_INET6;
			k->scope = in6->sin6_scope_id;
			memcpy(k->addr, &in6->sin6_addr, 16);
		}
		return true;
	}
	return false;
}

bool ice_lite_addr_equal(const struct sockaddr *x, socklen_t xl, const struct sockaddr *y,
			 socklen_t yl)
{
	struct ip_key kx, ky;

	if (!addr_key(x, xl, &kx) || !addr_key(y, yl, &ky))
		return false;
	return kx.family == ky.family && kx.port == ky.port && kx.scope == ky.scope &&
	       memcmp(kx.addr, ky.addr, sizeof(kx.addr)) == 0;
}

static int valid_find(const struct ice_lite *a, const struct sockaddr *from, socklen_t fromlen)
{
	for (unsigned i = 0; i < a->n_valid; i++)
		if (ice_lite_addr_equal((const struct sockaddr *)&a->valid[i].addr, a->valid[i].addrlen,
			       from, fromlen))
			return (int)i;
	return -1;
}

/* Add or refresh `from` in the valid list; when full, the least recently checked
 * address other than the selected one is replaced.  Returns its index. */
static int valid_add(struct ice_lite *a, const struct sockaddr *from, socklen_t fromlen,
		     uint32_t priority, uint64_t now_ms)
{
	int i = valid_find(a, from, fromlen);

	if (i < 0) {
		if (a->n_valid < ICE_LITE_MAX_VALID) {
			i = (int)a->n_valid++;
		} else {
			i = -1;
			for (unsigned j = 0; j < a->n_valid; j++) {
				if ((int)j == a->selected)
					continue;
				if (i < 0 || a->valid[j].last_ms < a->valid[i].last_ms)
					i = (int)j;
			}
		}
		memset(&a->valid[i], 0, sizeof(a->valid[i]));
		memcpy(&a->valid[i].addr, from, (size_t)fromlen);
		a->valid[i].addrlen = fromlen;
	}
	a->valid[i].priority = priority;
	a->valid[i].last_ms = now_ms;
	return i;
}

/* ---- request processing ---- */

/* RFC 8445 §7.2.2: USERNAME is "<receiver ufrag>:<sender ufrag>". */
static bool username_ok(const struct ice_lite *a, const struct stun_msg *m)
{
	size_t lu = strlen(a->local_ufrag), ru = strlen(a->remote_ufrag);

	return m->username_len == lu + 1 + ru && memcmp(m->username, a->local_ufrag, lu) == 0 &&
	       m->username[lu] == ':' && memcmp(m->username + lu + 1, a->remote_ufrag, ru) == 0;
}

static enum ice_lite_result drop(struct ice_lite *a, enum ice_lite_reason why,
				 size_t *resp_len)
{
	a->last_reason = why;
	a->counters.dropped++;
	*resp_len = 0;
	return ICE_LITE_DROP;
}

/* Error response; authenticated (MI with the local pwd) for 420/487, not for
 * 400/401 (RFC 8489 §9.1.3). */
static enum ice_lite_result respond_error(struct ice_lite *a, const struct stun_msg *m,
					  unsigned code, enum ice_lite_reason why,
					  uint8_t *resp, size_t *resp_len)
{
	bool auth = code != STUN_ERR_BAD_REQUEST && code != STUN_ERR_UNAUTHENTICATED;
	size_t n = 0;
	int rc;

	rc = stun_build_error(resp, *resp_len, m->method, m->txid, code, m->unknown,
			      m->n_unknown, auth ? (const uint8_t *)a->local_pwd : NULL,
			      auth ? strlen(a->local_pwd) : 0, &n);
	if (rc != STUN_OK)
		return drop(a, ICE_LITE_WHY_BUFFER, resp_len);
	a->last_reason = why;
	a->counters.errors_sent++;
	*resp_len = n;
	return ICE_LITE_RESPOND_ERROR;
}

static enum ice_lite_result on_indication(struct ice_lite *a, const struct sockaddr *from,
					  socklen_t fromlen, uint64_t now_ms, size_t *resp_len)
{
	/* RFC 8445 §11: keepalives are Binding indications; only from an address
	 * that already passed an authenticated check */
	if (valid_find(a, from, fromlen) < 0)
		return drop(a, ICE_LITE_WHY_NOT_VALID, resp_len);
	a->last_rx_ms = now_ms;
	a->last_reason = ICE_LITE_WHY_NONE;
	a->counters.indications++;
	*resp_len = 0;
	return ICE_LITE_KEEPALIVE;
}

static enum ice_lite_result on_request(struct ice_lite *a, const uint8_t *pkt, size_t len,
				       const struct stun_msg *m, const struct sockaddr *from,
				       socklen_t fromlen, uint64_t now_ms, uint8_t *resp,
				       size_t *resp_len)
{
	size_t pwd_len = strlen(a->local_pwd), n = 0;
	bool nominated = false;
	int i;

	/* RFC 8489 §9.1.3: short-term credential checks */
	if (!(m->present & STUN_HAS_USERNAME) || !(m->present & STUN_HAS_MI))
		return respond_error(a, m, STUN_ERR_BAD_REQUEST, ICE_LITE_WHY_BAD_REQUEST, resp,
				     resp_len);
	if (!username_ok(a, m)) {
		a->counters.auth_failures++;
		return respond_error(a, m, STUN_ERR_UNAUTHENTICATED, ICE_LITE_WHY_USERNAME, resp,
				     resp_len);
	}
	if (!stun_msg_check_integrity(pkt, len, m, (const uint8_t *)a->local_pwd, pwd_len)) {
		a->counters.auth_failures++;
		return respond_error(a, m, STUN_ERR_UNAUTHENTICATED, ICE_LITE_WHY_INTEGRITY, resp,
				     resp_len);
	}
	/* RFC 8489 §6.3: after authentication, unknown required attributes */
	if (m->n_unknown)
		return respond_error(a, m, STUN_ERR_UNKNOWN_ATTRIBUTE, ICE_LITE_WHY_UNKNOWN_ATTR,
				     resp, resp_len);
	/* RFC 8445 §7.3.1.1: we are controlled; so is the peer → 487, it must switch.
	 * ICE-CONTROLLING (or neither, RFC 5245 peers) is the expected case. */
	if (m->present & STUN_HAS_ICE_CONTROLLED) {
		a->counters.role_conflicts++;
		return respond_error(a, m, STUN_ERR_ROLE_CONFLICT, ICE_LITE_WHY_ROLE_CONFLICT,
				     resp, resp_len);
	}
	if (stun_build_binding_success(resp, *resp_len, m->txid, from, fromlen,
				       (const uint8_t *)a->local_pwd, pwd_len, &n) != STUN_OK)
		return drop(a, ICE_LITE_WHY_BUFFER, resp_len);

	/* RFC 8445 §7.3.1.3: the source is a (peer-reflexive) remote candidate and
	 * the pair is valid once we answer */
	i = valid_add(a, from, fromlen, m->priority, now_ms);
	/* §7.3.1.5 / §8.2: USE-CANDIDATE nominates; a newer nomination replaces the
	 * selected pair (the controlling browser renominated) */
	if ((m->present & STUN_HAS_USE_CANDIDATE) && a->selected != i) {
		a->selected = i;
		a->counters.nominations++;
		nominated = true;
	}
	a->state = a->selected >= 0 ? ICE_LITE_CONNECTED : ICE_LITE_CHECKING;
	a->last_consent_ms = now_ms;
	a->last_rx_ms = now_ms;
	a->had_consent = true;
	a->last_reason = ICE_LITE_WHY_NONE;
	a->counters.requests++;
	*resp_len = n;
	return nominated ? ICE_LITE_RESPOND_NOMINATED : ICE_LITE_RESPOND;
}

enum ice_lite_result ice_lite_on_stun(struct ice_lite *a, const uint8_t *pkt, size_t len,
				      const struct sockaddr *from, socklen_t fromlen,
				      uint64_t now_ms, uint8_t *resp, size_t *resp_len)
{
	struct stun_msg m;
	struct ip_key k;

	a->counters.rx++;
	if (ice_lite_expired(a, now_ms))
		return drop(a, ICE_LITE_WHY_EXPIRED, resp_len);
	if (!addr_key(from, fromlen, &k) || (size_t)fromlen > sizeof(struct sockaddr_storage))
		return drop(a, ICE_LITE_WHY_ADDRESS, resp_len);
	if (stun_msg_parse(pkt, len, &m) != STUN_OK)
		return drop(a, ICE_LITE_WHY_PARSE, resp_len);
	if (!stun_msg_check_fingerprint(pkt, len, &m))
		return drop(a, ICE_LITE_WHY_FINGERPRINT, resp_len);
	if (m.method != STUN_METHOD_BINDING)
		return drop(a, ICE_LITE_WHY_METHOD, resp_len);
	switch (m.cls) {
	case STUN_CLASS_REQUEST:
		return on_request(a, pkt, len, &m, from, fromlen, now_ms, resp, resp_len);
	case STUN_CLASS_INDICATION:
		return on_indication(a, from, fromlen, now_ms, resp_len);
	default:
		return drop(a, ICE_LITE_WHY_CLASS, resp_len);
	}
}

void ice_lite_consent_refresh(struct ice_lite *a, const struct sockaddr *from,
			      socklen_t fromlen, uint64_t now_ms)
{
	struct ip_key k;
	int i;

	if (a->state == ICE_LITE_FAILED || !addr_key(from, fromlen, &k) ||
	    (size_t)fromlen > sizeof(struct sockaddr_storage))
		return;
	i = valid_find(a, from, fromlen);
	i = valid_add(a, from, fromlen, i >= 0 ? a->valid[i].priority : 0, now_ms);
	(void)i;
	if (a->state == ICE_LITE_NEW)
		a->state = ICE_LITE_CHECKING;
	a->last_consent_ms = now_ms;
	a->last_rx_ms = now_ms;
	a->had_consent = true;
}

bool ice_lite_expired(struct ice_lite *a, uint64_t now_ms)
{
	uint64_t last;

	if (a->state == ICE_LITE_FAILED)
		return true;
	if (!a->had_consent)
		return false;
	/* consent is for the pair we send on (RFC 7675 §5.1); before nomination,
	 * any valid pair */
	last = a->selected >= 0 ? a->valid[a->selected].last_ms : a->last_consent_ms;
	if (now_ms <= last || now_ms - last < ICE_LITE_CONSENT_TIMEOUT_MS)
		return false; /* a clock going back counts as no time passing */
	a->state = ICE_LITE_FAILED;
	return true;
}

bool ice_lite_addr_is_selected(const struct ice_lite *a, const struct sockaddr *from,
			       socklen_t fromlen)
{
	if (a->selected < 0 || a->state == ICE_LITE_FAILED)
		return false;
	return ice_lite_addr_equal((const struct sockaddr *)&a->valid[a->selected].addr,
			  a->valid[a->selected].addrlen, from, fromlen);
}

bool ice_lite_addr_is_valid(const struct ice_lite *a, const struct sockaddr *from,
			    socklen_t fromlen)
{
	return a->state != ICE_LITE_FAILED && valid_find(a, from, fromlen) >= 0;
}

const struct sockaddr *ice_lite_selected(const struct ice_lite *a, socklen_t *len)
{
	if (a->selected < 0 || a->state == ICE_LITE_FAILED)
		return NULL;
	if (len)
		*len = a->valid[a->selected].addrlen;
	return (const struct sockaddr *)&a->valid[a->selected].addr;
}

const char *ice_lite_local_ufrag(const struct ice_lite *a)
{
	return a->local_ufrag;
}

const char *ice_lite_local_pwd(const struct ice_lite *a)
{
	return a->local_pwd;
}

const char *ice_lite_result_name(enum ice_lite_result r)
{
	switch (r) {
	case ICE_LITE_DROP: return "drop";
	case ICE_LITE_RESPOND: return "respond";
	case ICE_LITE_RESPOND_NOMINATED: return "respond-nominated";
	case ICE_LITE_RESPOND_ERROR: return "respond-error";
	case ICE_LITE_KEEPALIVE: return "keepalive";
	}
	return "?";
}

const char *ice_lite_reason_name(enum ice_lite_reason r)
{
	static const char *const names[] = {
		[ICE_LITE_WHY_NONE] = "none",
		[ICE_LITE_WHY_PARSE] = "parse",
		[ICE_LITE_WHY_FINGERPRINT] = "fingerprint",
		[ICE_LITE_WHY_METHOD] = "method",
		[ICE_LITE_WHY_CLASS] = "class",
		[ICE_LITE_WHY_NOT_VALID] = "not-valid",
		[ICE_LITE_WHY_BAD_REQUEST] = "bad-request",
		[ICE_LITE_WHY_USERNAME] = "username",
		[ICE_LITE_WHY_INTEGRITY] = "integrity",
		[ICE_LITE_WHY_UNKNOWN_ATTR] = "unknown-attribute",
		[ICE_LITE_WHY_ROLE_CONFLICT] = "role-conflict",
		[ICE_LITE_WHY_ADDRESS] = "address",
		[ICE_LITE_WHY_BUFFER] = "buffer",
		[ICE_LITE_WHY_EXPIRED] = "expired",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]) || !names[r])
		return "?";
	return names[r];
}

const char *ice_lite_strerror(int err)
{
	switch (err) {
	case ICE_LITE_OK: return "ok";
	case ICE_LITE_E_CRED: return "bad ICE ufrag/pwd";
	case ICE_LITE_E_RANDOM: return "random generator failed";
	default: return "unknown error";
	}
}

#include "ws_frame.h"

#include <stdlib.h>
#include <string.h>

/* §5.2 opcodes: which exist, and which are control frames (0x8-0xF, §5.5). */
static const struct {
	const char *name;
	bool known, control;
} opcodes[16] = {
	[WS_OP_CONT] = { "continuation", true, false },
	[WS_OP_TEXT] = { "text", true, false },
	[WS_OP_BINARY] = { "binary", true, false },
	[WS_OP_CLOSE] = { "close", true, true },
	[WS_OP_PING] = { "ping", true, true },
	[WS_OP_PONG] = { "pong", true, true },
};

/* Parser errors: message and the close status code that answers them (§7.4.1). */
static const struct {
	int err;
	unsigned close_code;
	const char *msg;
} errors[] = {
	{ WS_FRAME_E_MASKED, WS_CLOSE_PROTOCOL, "masked frame from the server (RFC 6455 §5.1)" },
	{ WS_FRAME_E_RSV, WS_CLOSE_PROTOCOL, "reserved bits set without an extension (§5.2)" },
	{ WS_FRAME_E_OPCODE, WS_CLOSE_PROTOCOL, "unknown opcode (§5.2)" },
	{ WS_FRAME_E_CONTROL, WS_CLOSE_PROTOCOL,
	  "control frame fragmented or over 125 bytes (§5.5)" },
	{ WS_FRAME_E_CONTINUATION, WS_CLOSE_PROTOCOL, "fragments out of order (§5.4)" },
	{ WS_FRAME_E_LENGTH, WS_CLOSE_PROTOCOL, "bad payload length encoding (§5.2)" },
	{ WS_FRAME_E_TOO_BIG, WS_CLOSE_TOO_BIG, "message over the size limit" },
	{ WS_FRAME_E_UTF8, WS_CLOSE_INVALID_DATA, "text is not UTF-8 (§8.1)" },
	{ WS_FRAME_E_CLOSE, WS_CLOSE_PROTOCOL, "bad close frame payload (§5.5.1, §7.4)" },
	{ WS_FRAME_E_NOMEM, WS_CLOSE_INTERNAL, "out of memory" },
	{ WS_FRAME_E_ABORTED, WS_CLOSE_INTERNAL, "stopped by the receiver" },
	{ WS_FRAME_E_INVALID, WS_CLOSE_INTERNAL, "invalid frame parameters" },
};

/* RFC 3629 §4: lead byte ranges, sequence length and the range of the second byte (the
 * rest are 80..BF).  Excludes overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points over U+10FFFF (F4 90.., F5..FF). */
static const struct {
	uint8_t lo, hi, n, second_lo, second_hi;
} utf8_leads[] = {
	{ 0x00, 0x7f, 1, 0, 0 },       { 0xc2, 0xdf, 2, 0x80, 0xbf }, { 0xe0, 0xe0, 3, 0xa0, 0xbf },
	{ 0xe1, 0xec, 3, 0x80, 0xbf }, { 0xed, 0xed, 3, 0x80, 0x9f }, { 0xee, 0xef, 3, 0x80, 0xbf },
	{ 0xf0, 0xf0, 4, 0x90, 0xbf }, { 0xf1, 0xf3, 4, 0x80, 0xbf }, { 0xf4, 0xf4, 4, 0x80, 0x8f },
};

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t k, j;

		if (s[i] < 0x80) { /* fast path: ASCII */
			i++;
			continue;
		}
		for (k = 1; k < sizeof(utf8_leads) / sizeof(utf8_leads[0]); k++)
			if (s[i] >= utf8_leads[k].lo && s[i] <= utf8_leads[k].hi)
				break;
		if (k == sizeof(utf8_leads) / sizeof(utf8_leads[0]) || len - i < utf8_leads[k].n)
			return false;
		if (s[i + 1] < utf8_leads[k].second_lo || s[i + 1] > utf8_leads[k].second_hi)
			return false;
		for (j = 2; j < utf8_leads[k].n; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += utf8_leads[k].n;
	}
	return true;
}

/* §7.4.1 defined codes that may be sent, IANA-registered 1012-1014 (§11.7), and the
 * library/application ranges 3000-4999 (§7.4.2).  1004, 1005, 1006, 1015 never appear
 * in a close frame; 0-999 and 5000+ are not used. */
bool ws_close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

unsigned ws_frame_close_code(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].err == err)
			return errors[i].close_code;
	return WS_CLOSE_PROTOCOL;
}

const char *ws_frame_strerror(int err)
{
	if (err == WS_FRAME_NEED_MORE)
		return "need more data";
	if (err == WS_FRAME_CLOSED)
		return "closed";
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].err == err)
			return errors[i].msg;
	return "unknown ws_frame error";
}

const char *ws_opcode_name(enum ws_opcode op)
{
	return (unsigned)op < 16 && opcodes[op].known ? opcodes[op].name : "reserved";
}

/* ---- parser ------------------------------------------------------------------------- */

void ws_parser_init(struct ws_parser *p, size_t max_message, const struct ws_parser_cb *cb,
		    void *user)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->user = user;
	p->max_message = max_message ? max_message : WS_FRAME_MAX_MESSAGE;
	p->result = WS_FRAME_NEED_MORE;
}

void ws_parser_free(struct ws_parser *p)
{
	free(p->msg);
	p->msg = NULL;
	p->msg_cap = p->msg_len = 0;
}

size_t ws_parser_buffered(const struct ws_parser *p)
{
	return p->msg_cap;
}

/* Header bytes needed so far: 2, then + 2 or 8 for the extended length (§5.2).  Server
 * frames carry no mask key (refused before we get here). */
static size_t header_need(const struct ws_parser *p)
{
	unsigned len7;

	if (p->hdr_len < 2)
		return 2;
	len7 = p->hdr[1] & 0x7f;
	return len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
}

/* The first two bytes are in: the checks that need no length (§5.2, §5.4, §5.5). */
static int check_first(struct ws_parser *p)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	unsigned op = b0 & 0x0f;

	if (b0 & 0x70)
		return WS_FRAME_E_RSV;
	if (!opcodes[op].known)
		return WS_FRAME_E_OPCODE;
	if (b1 & 0x80)
		return WS_FRAME_E_MASKED;
	p->op = (enum ws_opcode)op;
	p->fin = b0 & 0x80;
	if (opcodes[op].control) {
		if (!p->fin || (b1 & 0x7f) > WS_FRAME_MAX_CONTROL)
			return WS_FRAME_E_CONTROL;
	} else if ((op == WS_OP_CONT) != p->in_message) {
		return WS_FRAME_E_CONTINUATION;
	}
	return 0;
}

/* The whole header is in: the length (§5.2: minimal encoding, 63 bits) and caps. */
static int check_length(struct ws_parser *p)
{
	unsigned len7 = p->hdr[1] & 0x7f;
	uint64_t len = len7;

	if (len7 == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		if (len < 126)
			return WS_FRAME_E_LENGTH;
	} else if (len7 == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p->hdr[i];
		if (len >> 63 || len <= 0xffff)
			return WS_FRAME_E_LENGTH;
	}
	p->remaining = len;
	if (opcodes[p->op].control) {
		p->ctl_len = 0;
		return 0;
	}
	if (p->op != WS_OP_CONT) {
		p->in_message = true;
		p->msg_op = p->op;
		p->msg_len = 0;
	}
	if (len > p->max_message - p->msg_len)
		return WS_FRAME_E_TOO_BIG;
	if (p->msg_len + len > p->msg_cap) {
		size_t cap = p->msg_cap ? p->msg_cap : 256, need = p->msg_len + (size_t)len;
		uint8_t *n;

		while (cap < need)
			cap = cap > p->max_message / 2 ? p->max_message : cap * 2;
		if (!(n = realloc(p->msg, cap)))
			return WS_FRAME_E_NOMEM;
		p->msg = n;
		p->msg_cap = cap;
	}
	return 0;
}

static int deliver(struct ws_parser *p, struct ws_message *m)
{
	return p->cb && p->cb->on_message && p->cb->on_message(p->user, m) ? WS_FRAME_E_ABORTED
									     : 0;
}

#define FRAME_CLOSED 2 /* frame_done: a close frame was delivered */

/* A frame's payload is complete: 0, FRAME_CLOSED or an error. */
static int frame_done(struct ws_parser *p)
{
	struct ws_message m = { .opcode = p->op };
	int rc;

	if (opcodes[p->op].control) {
		m.data = p->ctl;
		m.len = p->ctl_len;
		if (p->op == WS_OP_CLOSE) {
			/* §5.5.1: empty, or a 2-byte code and a UTF-8 reason */
			m.code = WS_CLOSE_NO_STATUS;
			if (m.len == 1)
				return WS_FRAME_E_CLOSE;
			if (m.len >= 2) {
				m.code = (unsigned)p->ctl[0] << 8 | p->ctl[1];
				if (!ws_close_code_valid(m.code))
					return WS_FRAME_E_CLOSE;
				if (!ws_utf8_valid(p->ctl + 2, m.len - 2))
					return WS_FRAME_E_UTF8;
				m.reason = (const char *)p->ctl + 2;
				m.reason_len = m.len - 2;
			}
		}
		if ((rc = deliver(p, &m)) < 0)
			return rc;
		return p->op == WS_OP_CLOSE ? FRAME_CLOSED : 0;
	}
	if (!p->fin)
		return 0;
	p->in_message = false;
	m.opcode = p->msg_op;
	m.data = p->msg ? p->msg : (const uint8_t *)""; /* never NULL, even when empty */
	m.len = p->msg_len;
	if (m.opcode == WS_OP_TEXT && !ws_utf8_valid(m.data, m.len))
		return WS_FRAME_E_UTF8;
	rc = deliver(p, &m);
	p->msg_len = 0;
	if (p->msg_cap > WS_FRAME_KEEP_BUF) { /* a big message's buffer is not kept idle */
		free(p->msg);
		p->msg = NULL;
		p->msg_cap = 0;
	}
	return rc;
}

int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len, size_t *consumed)
{
	size_t off = 0;
	int rc = 0;

	*consumed = 0;
	if (p->result != WS_FRAME_NEED_MORE)
		return p->result;
	while (off < len) {
		if (!p->in_payload) {
			size_t need = header_need(p), n = need - p->hdr_len;

			if (n > len - off)
				n = len - off;
			memcpy(p->hdr + p->hdr_len, data + off, n);
			p->hdr_len += n;
			off += n;
			if (p->hdr_len < need)
				break;
			if (need == 2 && (rc = check_first(p)) < 0)
				break;
			if (header_need(p) > p->hdr_len)
				continue; /* the extended length follows */
			if ((rc = check_length(p)) < 0)
				break;
			p->hdr_len = 0;
			p->in_payload = true;
		} else {
			size_t n = p->remaining < len - off ? (size_t)p->remaining : len - off;

			if (opcodes[p->op].control) {
				memcpy(p->ctl + p->ctl_len, data + off, n);
				p->ctl_len += n;
			} else {
				memcpy(p->msg + p->msg_len, data + off, n);
				p->msg_len += n;
			}
			p->remaining -= n;
			off += n;
		}
		if (p->in_payload && p->remaining == 0) {
			p->in_payload = false;
			if ((rc = frame_done(p)) != 0)
				break;
		}
	}
	*consumed = off;
	if (rc != 0)
		p->result = rc == FRAME_CLOSED ? WS_FRAME_CLOSED : rc;
	return p->result;
}

/* ---- writer ------------------------------------------------------------------------- */

int ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len,
		    const uint8_t mask[4])
{
	size_t n = 2;

	if ((unsigned)op > 15 || !opcodes[op].known || len >> 63 ||
	    (opcodes[op].control && (!fin || len > WS_FRAME_MAX_CONTROL)))
		return WS_FRAME_E_INVALID;
	hdr[0] = (uint8_t)((fin ? 0x80 : 0) | op);
	hdr[1] = mask ? 0x80 : 0;
	if (len < 126) {
		hdr[1] |= (uint8_t)len;
	} else if (len <= 0xffff) {
		hdr[1] |= 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		n = 4;
	} else {
		hdr[1] |= 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(hdr + n, mask, 4);
		n += 4;
	}
	return (int)n;
}

void ws_frame_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off)
{
	size_t i = 0;

	/* §5.3: octet i is XORed with mask[i mod 4]; 8 bytes at a time once aligned */
	while (i < len && (off + i) % 4) {
		data[i] ^= mask[(off + i) % 4];
		i++;
	}
	if (len - i >= 8) {
		uint64_t m8;
		uint8_t rep[8];

		for (int k = 0; k < 8; k++)
			rep[k] = mask[k % 4];
		memcpy(&m8, rep, 8);
		for (; len - i >= 8; i += 8) {
			uint64_t v;
			memcpy(&v, data + i, 8);
			v ^= m8;
			memcpy(data + i, &v, 8);
		}
	}
	for (; i < len; i++)
		data[i] ^= mask[(off + i) % 4];
}

int ws_close_payload(uint8_t out[WS_FRAME_MAX_CONTROL], unsigned code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;

	if (!code)
		return 0;
	if (!ws_close_code_valid(code))
		return WS_FRAME_E_CLOSE;
	if (!ws_utf8_valid((const uint8_t *)reason, rl))
		return WS_FRAME_E_UTF8;
	if (rl > WS_FRAME_MAX_CONTROL - 2) {
		rl = WS_FRAME_MAX_CONTROL - 2;
		while (rl && ((uint8_t)reason[rl] & 0xc0) == 0x80) /* cut at a lead byte */
			rl--;
	}
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (rl)
		memcpy(out + 2, reason, rl);
	return (int)(2 + rl);
}

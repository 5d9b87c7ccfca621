#include "ctl_json.h"
#include "hex.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit_value((unsigned char)p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* RFC 8259 §7.  Decodes in place: the output never outgrows the input. */
static int parse_string(struct cursor *c, const char **out, size_t *out_len)
{
	char *w, *start;

	if (c->p >= c->end || *c->p != '"')
		return CTL_JSON_E_SYNTAX;
	start = w = ++c->p;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20)
			return CTL_JSON_E_BAD_STRING;
		if (ch != '\\') {
			*w++ = *c->p++;
			continue;
		}
		if (c->end - c->p < 2)
			return CTL_JSON_E_BAD_STRING;
		c->p++;
		switch (*c->p++) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (c->end - c->p < 4 || hex4(c->p, &cp) < 0)
				return CTL_JSON_E_BAD_STRING;
			c->p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return CTL_JSON_E_BAD_STRING;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
				    hex4(c->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return CTL_JSON_E_BAD_STRING;
				c->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return CTL_JSON_E_BAD_STRING;
			/* \uXXXX is 6 input bytes; UTF-8 output is at most 4 (8 vs 4 for pairs). */
			w = put_utf8(w, cp);
			break;
		}
		default:
			return CTL_JSON_E_BAD_STRING;
		}
	}
	if (c->p >= c->end)
		return CTL_JSON_E_BAD_STRING;
	*w = '\0'; /* w < c->p here: the closing quote's byte or earlier */
	c->p++;
	*out = start;
	*out_len = (size_t)(w - start);
	return 0;
}

static int parse_number(struct cursor *c, double *out)
{
	char *s = c->p, tmp[64];
	size_t n;

	/* RFC 8259 §6 grammar, checked before strtod (which accepts more: hex, inf, nan). */
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end)
		return CTL_JSON_E_BAD_NUMBER;
	if (*c->p == '0') {
		c->p++;
	} else if (*c->p >= '1' && *c->p <= '9') {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else {
		return CTL_JSON_E_BAD_NUMBER;
	}
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return CTL_JSON_E_BAD_NUMBER;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return CTL_JSON_E_BAD_NUMBER;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	n = (size_t)(c->p - s);
	if (n >= sizeof(tmp))
		return CTL_JSON_E_BAD_NUMBER;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	if (!isfinite(*out))
		return CTL_JSON_E_BAD_NUMBER;
	return 0;
}

static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

static int parse_array(struct cursor *c, struct ctl_json *j, struct ctl_json_member *m)
{
	c->p++; /* '[' */
	m->type = CTL_JSON_ARRAY;
	m->items = &j->item_pool[j->n_pool];
	m->n_items = 0;
	skip_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 0;
	}
	for (;;) {
		const char *s;
		size_t n;
		int rc;

		skip_ws(c);
		if (c->p < c->end && (*c->p == '{' || *c->p == '['))
			return CTL_JSON_E_NESTED;
		if (j->n_pool >= CTL_JSON_MAX_ARRAY)
			return CTL_JSON_E_TOO_MANY;
		if ((rc = parse_string(c, &s, &n)) < 0)
			return rc;
		j->item_pool[j->n_pool++] = s;
		m->n_items++;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return 0;
		}
		return CTL_JSON_E_SYNTAX;
	}
}

static int parse_value(struct cursor *c, struct ctl_json *j, struct ctl_json_member *m)
{
	if (c->p >= c->end)
		return CTL_JSON_E_SYNTAX;
	switch (*c->p) {
	case '"':
		m->type = CTL_JSON_STRING;
		return parse_string(c, &m->str, &m->str_len);
	case '[':
		return parse_array(c, j, m);
	case '{':
		return CTL_JSON_E_NESTED;
	case 't':
	case 'f':
		m->type = CTL_JSON_BOOL;
		m->boolean = *c->p == 't';
		return take_word(c, m->boolean ? "true" : "false") ? 0 : CTL_JSON_E_SYNTAX;
	case 'n':
		m->type = CTL_JSON_NULL;
		return take_word(c, "null") ? 0 : CTL_JSON_E_SYNTAX;
	default:
		m->type = CTL_JSON_NUMBER;
		return parse_number(c, &m->number);
	}
}

int ctl_json_parse(char *buf, size_t len, struct ctl_json *out)
{
	struct cursor c = { buf, buf + len };
	int rc;

	memset(out, 0, sizeof(*out));
	skip_ws(&c);
	if (c.p >= c.end || *c.p != '{')
		return CTL_JSON_E_SYNTAX;
	c.p++;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		struct ctl_json_member *m;
		size_t klen;

		if (out->n_members >= CTL_JSON_MAX_MEMBERS)
			return CTL_JSON_E_TOO_MANY;
		m = &out->members[out->n_members];
		skip_ws(&c);
		if ((rc = parse_string(&c, &m->key, &klen)) < 0)
			return rc;
		if (ctl_json_get(out, m->key))
			return CTL_JSON_E_DUPLICATE;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':')
			return CTL_JSON_E_SYNTAX;
		c.p++;
		skip_ws(&c);
		if ((rc = parse_value(&c, out, m)) < 0)
			return rc;
		out->n_members++;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		return CTL_JSON_E_SYNTAX;
	}
tail:
	skip_ws(&c);
	return c.p == c.end ? 0 : CTL_JSON_E_SYNTAX;
}

const char *ctl_json_strerror(int err)
{
	switch (err) {
	case CTL_JSON_OK: return "ok";
	case CTL_JSON_E_SYNTAX: return "malformed JSON object";
	case CTL_JSON_E_NESTED: return "nested objects or arrays are not accepted";
	case CTL_JSON_E_TOO_MANY: return "too many members or array items";
	case CTL_JSON_E_BAD_STRING: return "malformed string";
	case CTL_JSON_E_BAD_NUMBER: return "malformed number";
	case CTL_JSON_E_DUPLICATE: return "duplicate member";
	default: return "unknown error";
	}
}

const struct ctl_json_member *ctl_json_get(const struct ctl_json *j, const char *key)
{
	for (size_t i = 0; i < j->n_members; i++)
		if (strcmp(j->members[i].key, key) == 0)
			return &j->members[i];
	return NULL;
}

const char *ctl_json_get_str(const struct ctl_json *j, const char *key)
{
	const struct ctl_json_member *m = ctl_json_get(j, key);

	return m && m->type == CTL_JSON_STRING ? m->str : NULL;
}

bool ctl_json_get_u64(const struct ctl_json *j, const char *key, uint64_t *out)
{
	const struct ctl_json_member *m = ctl_json_get(j, key);

	/* 2^53: beyond that a double no longer holds every integer. */
	if (!m || m->type != CTL_JSON_NUMBER || m->number < 0 || m->number > 9007199254740992.0 ||
	    m->number != floor(m->number))
		return false;
	*out = (uint64_t)m->number;
	return true;
}

static bool out_reserve(struct ctl_json_out *o, size_t n)
{
	size_t cap;
	char *b;

	if (o->oom)
		return false;
	if (o->len + n + 1 <= o->cap)
		return true;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + n + 1)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (!b) {
		o->oom = true;
		return false;
	}
	o->buf = b;
	o->cap = cap;
	return true;
}

void ctl_json_out_raw(struct ctl_json_out *o, const char *s, size_t n)
{
	if (!out_reserve(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void ctl_json_out_str(struct ctl_json_out *o, const char *s, size_t n)
{
	ctl_json_out_raw(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			ctl_json_out_raw(o, esc, 2);
		} else if (ch == '\n') {
			ctl_json_out_raw(o, "\\n", 2);
		} else if (ch == '\r') {
			ctl_json_out_raw(o, "\\r", 2);
		} else if (ch == '\t') {
			ctl_json_out_raw(o, "\\t", 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			ctl_json_out_raw(o, esc, 6);
		} else {
			ctl_json_out_raw(o, (const char *)&s[i], 1);
		}
	}
	ctl_json_out_raw(o, "\"", 1);
}

void ctl_json_out_fmt(struct ctl_json_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !out_reserve(o, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

void ctl_json_out_free(struct ctl_json_out *o)
{
	free(o->buf);
	*o = (struct ctl_json_out){ 0 };
}

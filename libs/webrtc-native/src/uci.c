#include "uci.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The arena may grow to this much; with the caps above a 256 KiB file needs far less
 * (every node costs at least a few input bytes), so hitting it means a bug or abuse. */
#define UCI_MAX_ARENA (8u * 1024 * 1024)
#define UCI_ARENA_BLOCK 16384

struct uci_arena_block {
	struct uci_arena_block *next;
	size_t used, cap, total; /* total: bytes in this and all older blocks */
	max_align_t data[];
};

struct lexer {
	const char *p, *end;
	unsigned line;
	size_t wlen;
	char word[UCI_MAX_VALUE + 1];
};

struct parser {
	struct lexer lx;
	struct uci_file *f;
	struct uci_error *err;
	struct uci_section *cur;
};

/* --- arena --- */

static void *arena_alloc(struct uci_file *f, size_t n)
{
	struct uci_arena_block *b = f->arena;
	size_t total = b ? b->total : 0, cap;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (b && b->cap - b->used >= n) {
		void *p = (char *)b->data + b->used;
		b->used += n;
		return p;
	}
	cap = n > UCI_ARENA_BLOCK ? n : UCI_ARENA_BLOCK;
	if (total + cap > UCI_MAX_ARENA)
		return NULL;
	b = malloc(sizeof(*b) + cap);
	if (!b)
		return NULL;
	b->next = f->arena;
	b->used = n;
	b->cap = cap;
	b->total = total + cap;
	f->arena = b;
	return b->data;
}

static char *arena_strdup(struct uci_file *f, const char *s, size_t n)
{
	char *d = arena_alloc(f, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void uci_file_free(struct uci_file *f)
{
	struct uci_arena_block *b, *next;

	if (!f)
		return;
	for (b = f->arena; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(f, 0, sizeof(*f));
}

/* --- errors --- */

__attribute__((format(printf, 4, 5))) static int set_error(struct uci_error *err, int code,
							   unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err)
		return code;
	err->code = code;
	err->line = line;
	if (line)
		n = snprintf(err->msg, sizeof(err->msg), "line %u: ", line);
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

static int parse_error(struct parser *ps, int code, const char *what)
{
	return set_error(ps->err, code, ps->lx.line, "%s", what);
}

/* --- lexer (libuci file.c: parse_str, parse_single_quote, parse_double_quote,
 * parse_backslash) --- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A backslash right before LF or CRLF joins the next line; consume it. */
static bool eat_continuation(struct lexer *lx)
{
	const char *p = lx->p;

	if (p >= lx->end || *p != '\\')
		return false;
	if (p + 1 < lx->end && p[1] == '\n')
		lx->p += 2;
	else if (p + 2 < lx->end && p[1] == '\r' && p[2] == '\n')
		lx->p += 3;
	else
		return false;
	lx->line++;
	return true;
}

static int add_char(struct parser *ps, char c)
{
	if (ps->lx.wlen >= UCI_MAX_VALUE)
		return parse_error(ps, UCI_E_TOO_BIG, "value too long");
	ps->lx.word[ps->lx.wlen++] = c;
	return UCI_OK;
}

/* 1: a word is in lx.word; 0: end of statement (at LF, not consumed) or of input. */
static int next_word(struct parser *ps)
{
	struct lexer *lx = &ps->lx;
	int rc;

	for (;;) {
		while (lx->p < lx->end && is_blank(*lx->p))
			lx->p++;
		if (!eat_continuation(lx))
			break;
	}
	if (lx->p < lx->end && *lx->p == '#')
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
	if (lx->p >= lx->end || *lx->p == '\n')
		return 0;
	lx->wlen = 0;
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\'') {
			for (lx->p++; lx->p < lx->end && *lx->p != '\'' && *lx->p != '\n'; lx->p++)
				if ((rc = add_char(ps, *lx->p)) != UCI_OK)
					return rc;
			if (lx->p >= lx->end || *lx->p != '\'')
				return parse_error(ps, UCI_E_SYNTAX, "unterminated '");
			lx->p++;
		} else if (c == '"') {
			for (lx->p++;;) {
				if (eat_continuation(lx))
					continue;
				if (lx->p >= lx->end || *lx->p == '\n')
					return parse_error(ps, UCI_E_SYNTAX, "unterminated \"");
				if (*lx->p == '"')
					break;
				if (*lx->p == '\\' && ++lx->p >= lx->end)
					return parse_error(ps, UCI_E_SYNTAX, "unterminated \"");
				if ((rc = add_char(ps, *lx->p++)) != UCI_OK)
					return rc;
			}
			lx->p++;
		} else if (c == '\\') {
			if (eat_continuation(lx))
				continue;
			if (++lx->p >= lx->end)
				break; /* a lone backslash at the very end: nothing follows */
			if ((rc = add_char(ps, *lx->p++)) != UCI_OK)
				return rc;
		} else if (c == '#' || c == '\n' || is_blank(c)) {
			break;
		} else {
			if ((rc = add_char(ps, c)) != UCI_OK)
				return rc;
			lx->p++;
		}
	}
	lx->word[lx->wlen] = '\0';
	return 1;
}

/* --- names (libuci util.c uci_validate_*) --- */

static bool valid_name(const char *s, bool allow_dash)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (allow_dash && c == '-')))
			return false;
	}
	return true;
}

/* --- statements --- */

/* Read up to `max` words after the keyword; more is "too many arguments". */
static int read_args(struct parser *ps, const char **args, int min, int max, const char *usage)
{
	int n = 0, rc;

	while ((rc = next_word(ps)) == 1) {
		if (n == max)
			return parse_error(ps, UCI_E_SYNTAX, "too many arguments");
		args[n] = arena_strdup(ps->f, ps->lx.word, ps->lx.wlen);
		if (!args[n])
			return parse_error(ps, UCI_E_NOMEM, "out of memory");
		n++;
	}
	if (rc < 0)
		return rc;
	if (n < min)
		return parse_error(ps, UCI_E_SYNTAX, usage);
	for (int i = n; i < max; i++)
		args[i] = NULL;
	return UCI_OK;
}

static int stmt_package(struct parser *ps)
{
	const char *a[1];
	int rc = read_args(ps, a, 1, 1, "package needs a name");

	if (rc != UCI_OK)
		return rc;
	if (ps->f->package || ps->f->sections)
		return parse_error(ps, UCI_E_SYNTAX, "package must come first, once");
	if (!valid_name(a[0], true))
		return parse_error(ps, UCI_E_SYNTAX, "invalid package name");
	ps->f->package = a[0];
	return UCI_OK;
}

static struct uci_section *find_named(const struct uci_file *f, const char *name)
{
	for (struct uci_section *s = f->sections; s; s = s->next)
		if (s->name && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static int stmt_config(struct parser *ps, unsigned line)
{
	struct uci_section *s;
	const char *a[2];
	int rc = read_args(ps, a, 1, 2, "config needs a type");

	if (rc != UCI_OK)
		return rc;
	if (!valid_name(a[0], true))
		return parse_error(ps, UCI_E_SYNTAX, "invalid section type");
	if (a[1] && !valid_name(a[1], false))
		return parse_error(ps, UCI_E_SYNTAX, "invalid section name");
	if (a[1] && (s = find_named(ps->f, a[1]))) {
		if (strcmp(s->type, a[0]) != 0)
			return parse_error(ps, UCI_E_SYNTAX,
					   "section redefined with a different type");
		ps->cur = s; /* libuci merges into the existing section */
		return UCI_OK;
	}
	if (ps->f->n_sections >= UCI_MAX_SECTIONS)
		return parse_error(ps, UCI_E_TOO_BIG, "too many sections");
	s = arena_alloc(ps->f, sizeof(*s));
	if (!s)
		return parse_error(ps, UCI_E_NOMEM, "out of memory");
	memset(s, 0, sizeof(*s));
	s->type = a[0];
	s->name = a[1];
	s->line = line;
	if (ps->f->last_section)
		ps->f->last_section->next = s;
	else
		ps->f->sections = s;
	ps->f->last_section = s;
	ps->f->n_sections++;
	ps->cur = s;
	return UCI_OK;
}

static int stmt_option(struct parser *ps, unsigned line, bool is_list)
{
	struct uci_section *s = ps->cur;
	struct uci_option *o;
	struct uci_value *v;
	const char *a[2];
	int rc = read_args(ps, a, 2, 2, is_list ? "list needs a name and a value"
						  : "option needs a name and a value");

	if (rc != UCI_OK)
		return rc;
	if (!s)
		return parse_error(ps, UCI_E_SYNTAX, "option or list before the first config");
	if (!valid_name(a[0], false))
		return parse_error(ps, UCI_E_SYNTAX, "invalid option name");
	v = arena_alloc(ps->f, sizeof(*v));
	if (!v)
		return parse_error(ps, UCI_E_NOMEM, "out of memory");
	v->next = NULL;
	v->str = a[1];
	o = (struct uci_option *)uci_option_find(s, a[0]);
	if (!o) {
		if (s->n_options >= UCI_MAX_OPTIONS)
			return parse_error(ps, UCI_E_TOO_BIG, "too many options in section");
		o = arena_alloc(ps->f, sizeof(*o));
		if (!o)
			return parse_error(ps, UCI_E_NOMEM, "out of memory");
		memset(o, 0, sizeof(*o));
		o->name = a[0];
		if (s->last_option)
			s->last_option->next = o;
		else
			s->options = o;
		s->last_option = o;
		s->n_options++;
	}
	o->line = line;
	if (!is_list || !o->values) {
		/* option: replace (last wins); list: first value */
		o->values = o->last_value = v;
		o->n_values = 1;
		o->is_list = is_list;
		return UCI_OK;
	}
	/* list after list appends; list after option converts (libuci uci_add_list) */
	if (o->n_values >= UCI_MAX_LIST)
		return parse_error(ps, UCI_E_TOO_BIG, "too many list values");
	o->last_value->next = v;
	o->last_value = v;
	o->n_values++;
	o->is_list = true;
	return UCI_OK;
}

static int parse_statement(struct parser *ps)
{
	unsigned line = ps->lx.line;
	const char *k = ps->lx.word;

	if (strcmp(k, "package") == 0 || strcmp(k, "p") == 0)
		return stmt_package(ps);
	if (strcmp(k, "config") == 0 || strcmp(k, "c") == 0)
		return stmt_config(ps, line);
	if (strcmp(k, "option") == 0 || strcmp(k, "o") == 0)
		return stmt_option(ps, line, false);
	if (strcmp(k, "list") == 0 || strcmp(k, "l") == 0)
		return stmt_option(ps, line, true);
	return parse_error(ps, UCI_E_SYNTAX, "invalid command");
}

int uci_parse(const char *text, size_t len, struct uci_file *out, struct uci_error *err)
{
	struct parser *ps;
	const char *nul;
	int rc = UCI_OK;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (len > UCI_MAX_BYTES)
		return set_error(err, UCI_E_TOO_BIG, 0, "config larger than %u bytes",
				 (unsigned)UCI_MAX_BYTES);
	nul = memchr(text, '\0', len);
	if (nul) {
		unsigned line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		return set_error(err, UCI_E_SYNTAX, line, "NUL byte");
	}
	ps = malloc(sizeof(*ps)); /* the word buffer is too big for a router's stack */
	if (!ps)
		return set_error(err, UCI_E_NOMEM, 0, "out of memory");
	ps->lx.wlen = 0;
	ps->lx.p = text;
	ps->lx.end = text + len;
	ps->lx.line = 1;
	ps->f = out;
	ps->err = err;
	ps->cur = NULL;
	while (ps->lx.p < ps->lx.end) {
		rc = next_word(ps);
		if (rc < 0)
			break;
		if (rc == 0) {
			if (ps->lx.p < ps->lx.end) { /* at LF */
				ps->lx.p++;
				ps->lx.line++;
			}
			continue;
		}
		rc = parse_statement(ps);
		if (rc != UCI_OK)
			break;
	}
	free(ps);
	if (rc < 0) {
		uci_file_free(out);
		return rc;
	}
	return UCI_OK;
}

/* --- lookup --- */

/* "@type[N]": N counts sections of that type in file order; negative from the end. */
static const struct uci_section *find_indexed(const struct uci_file *f, const char *ref)
{
	const char *open = strchr(ref, '['), *p;
	size_t tlen, count = 0;
	long idx = 0;
	bool neg;

	if (!open || open == ref + 1)
		return NULL;
	tlen = (size_t)(open - ref - 1);
	p = open + 1;
	neg = *p == '-';
	p += neg;
	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (idx > UCI_MAX_SECTIONS)
			return NULL;
		idx = idx * 10 + (*p - '0');
	}
	if (p[0] != ']' || p[1] != '\0')
		return NULL;
	for (const struct uci_section *s = f->sections; s; s = s->next)
		if (strlen(s->type) == tlen && memcmp(s->type, ref + 1, tlen) == 0)
			count++;
	if (neg) {
		if (idx == 0 || (size_t)idx > count)
			return NULL;
		idx = (long)count - idx;
	}
	for (const struct uci_section *s = f->sections; s; s = s->next)
		if (strlen(s->type) == tlen && memcmp(s->type, ref + 1, tlen) == 0 && idx-- == 0)
			return s;
	return NULL;
}

const struct uci_section *uci_section_find(const struct uci_file *f, const char *ref)
{
	if (!f || !ref)
		return NULL;
	if (ref[0] == '@')
		return find_indexed(f, ref);
	return find_named(f, ref);
}

const struct uci_option *uci_option_find(const struct uci_section *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (const struct uci_option *o = s->options; o; o = o->next)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

const char *uci_get(const struct uci_file *f, const char *section, const char *option)
{
	const struct uci_option *o = uci_option_find(uci_section_find(f, section), option);

	return o && !o->is_list ? o->values->str : NULL;
}

const struct uci_value *uci_get_list(const struct uci_file *f, const char *section,
				     const char *option)
{
	const struct uci_option *o = uci_option_find(uci_section_find(f, section), option);

	return o ? o->values : NULL;
}

/* --- typed getters --- */

static int lookup_one(const struct uci_file *f, const char *section, const char *option,
		      const struct uci_option **out, struct uci_error *err)
{
	const char *pkg = f && f->package ? f->package : "uci";
	const struct uci_option *o = uci_option_find(uci_section_find(f, section), option);

	*out = o;
	if (!o)
		return set_error(err, UCI_E_MISSING, 0, "%s.%s.%s: not set", pkg, section, option);
	if (o->is_list)
		return set_error(err, UCI_E_TYPE, o->line, "%s.%s.%s: is a list, want one value",
				 pkg, section, option);
	return UCI_OK;
}

int uci_get_bool(const struct uci_file *f, const char *section, const char *option, bool *out,
		 struct uci_error *err)
{
	static const char *const yes[] = { "1", "yes", "on", "true", "enabled" };
	static const char *const no[] = { "0", "no", "off", "false", "disabled" };
	const struct uci_option *o;
	int rc = lookup_one(f, section, option, &o, err);

	if (rc != UCI_OK)
		return rc;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(o->values->str, yes[i]) == 0) {
			*out = true;
			return UCI_OK;
		}
		if (strcmp(o->values->str, no[i]) == 0) {
			*out = false;
			return UCI_OK;
		}
	}
	return set_error(err, UCI_E_BAD_VALUE, o->line, "%s.%s.%s: '%.40s' is not a boolean",
			 f->package ? f->package : "uci", section, option, o->values->str);
}

struct unit_suffix {
	const char *suffix;
	uint64_t mult;
};

static const struct unit_suffix bytes_units[] = {
	{ "", 1 },
	{ "b", 1 },
	{ "k", 1ull << 10 },  { "kb", 1ull << 10 },  { "kib", 1ull << 10 },
	{ "m", 1ull << 20 },  { "mb", 1ull << 20 },  { "mib", 1ull << 20 },
	{ "g", 1ull << 30 },  { "gb", 1ull << 30 },  { "gib", 1ull << 30 },
	{ "t", 1ull << 40 },  { "tb", 1ull << 40 },  { "tib", 1ull << 40 },
	{ NULL, 0 },
};

/* tc(8) "RATES": bit, kbit, mbit, gbit; bps, kbps, mbps, gbps are bytes/s. */
static const struct unit_suffix bitrate_units[] = {
	{ "", 1 },
	{ "bit", 1 },
	{ "kbit", 1000ull },	     { "mbit", 1000000ull },	      { "gbit", 1000000000ull },
	{ "bps", 8 },
	{ "kbps", 8000ull },	     { "mbps", 8000000ull },	      { "gbps", 8000000000ull },
	{ NULL, 0 },
};

static const struct unit_suffix seconds_units[] = {
	{ "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { NULL, 0 },
};

static const struct unit_suffix none_units[] = { { "", 1 }, { NULL, 0 } };

int uci_parse_uint(const char *value, enum uci_unit unit, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	static const struct unit_suffix *const tables[] = {
		[UCI_UNIT_NONE] = none_units,
		[UCI_UNIT_BYTES] = bytes_units,
		[UCI_UNIT_BITRATE] = bitrate_units,
		[UCI_UNIT_SECONDS] = seconds_units,
	};
	const struct unit_suffix *u;
	const char *p = value;
	uint64_t v = 0;
	bool overflow = false;

	if ((unsigned)unit >= sizeof(tables) / sizeof(tables[0]) || !value)
		return UCI_E_BAD_VALUE;
	if (*p < '0' || *p > '9')
		return UCI_E_BAD_VALUE;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	for (u = tables[unit]; u->suffix; u++)
		if (strcasecmp(p, u->suffix) == 0)
			break;
	if (!u->suffix)
		return UCI_E_BAD_VALUE;
	if (overflow || v > UINT64_MAX / u->mult)
		return UCI_E_RANGE;
	v *= u->mult;
	if (v < min || v > max)
		return UCI_E_RANGE;
	*out = v;
	return UCI_OK;
}

int uci_get_uint(const struct uci_file *f, const char *section, const char *option,
		 enum uci_unit unit, uint64_t min, uint64_t max, uint64_t *out,
		 struct uci_error *err)
{
	const char *pkg = f && f->package ? f->package : "uci";
	const struct uci_option *o;
	int rc = lookup_one(f, section, option, &o, err);

	if (rc != UCI_OK)
		return rc;
	rc = uci_parse_uint(o->values->str, unit, min, max, out);
	if (rc == UCI_E_BAD_VALUE)
		return set_error(err, rc, o->line, "%s.%s.%s: '%.40s' is not a number%s", pkg,
				 section, option, o->values->str,
				 unit == UCI_UNIT_NONE ? "" : " with a known unit");
	if (rc == UCI_E_RANGE)
		return set_error(err, rc, o->line, "%s.%s.%s: '%.40s' outside %llu..%llu", pkg,
				 section, option, o->values->str, (unsigned long long)min,
				 (unsigned long long)max);
	return rc;
}

const char *uci_strerror(int err)
{
	switch (err) {
	case UCI_OK: return "ok";
	case UCI_E_TOO_BIG: return "config too large";
	case UCI_E_SYNTAX: return "config syntax error";
	case UCI_E_NOMEM: return "out of memory";
	case UCI_E_MISSING: return "option not set";
	case UCI_E_BAD_VALUE: return "invalid value";
	case UCI_E_RANGE: return "value out of range";
	case UCI_E_TYPE: return "list where one value is expected";
	default: return "unknown UCI error";
	}
}

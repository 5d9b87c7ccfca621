/* ctl_json: the flat JSON subset (RFC 8259) spoken on pear-fogd's control socket.
 *
 * A control message is one JSON object per line whose member values are strings,
 * numbers, true/false/null, or arrays of strings.  Nested objects are refused: the
 * control protocol does not use them, and refusing keeps the parser small and bounded.
 * Strings are decoded in place into a caller-owned copy of the line (escapes, \uXXXX
 * with surrogate pairs → UTF-8; a NUL (\u0000) is refused). */
#ifndef PEARFOG_CTL_JSON_H
#define PEARFOG_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_JSON_MAX_MEMBERS 32
#define CTL_JSON_MAX_ARRAY 256 /* strings per array member */

enum ctl_json_type { CTL_JSON_NULL, CTL_JSON_BOOL, CTL_JSON_NUMBER, CTL_JSON_STRING, CTL_JSON_ARRAY };

enum ctl_json_err {
	CTL_JSON_OK = 0,
	CTL_JSON_E_SYNTAX = -1,
	CTL_JSON_E_NESTED = -2,
	CTL_JSON_E_TOO_MANY = -3,
	CTL_JSON_E_BAD_STRING = -4,
	CTL_JSON_E_BAD_NUMBER = -5,
	CTL_JSON_E_DUPLICATE = -6,
};

struct ctl_json_member {
	const char *key;
	enum ctl_json_type type;
	bool boolean;
	double number;
	const char *str; /* NUL-terminated; str_len excludes the NUL */
	size_t str_len;
	const char **items; /* array items (NUL-terminated strings) */
	size_t n_items;
};

struct ctl_json {
	struct ctl_json_member members[CTL_JSON_MAX_MEMBERS];
	size_t n_members;
	const char *item_pool[CTL_JSON_MAX_ARRAY];
	size_t n_pool;
};

/* Parse buf[0..len) in place (the buffer is modified: strings are unescaped and
 * NUL-terminated inside it).  Trailing whitespace is allowed, anything else is not. */
int ctl_json_parse(char *buf, size_t len, struct ctl_json *out);
const char *ctl_json_strerror(int err);

const struct ctl_json_member *ctl_json_get(const struct ctl_json *j, const char *key);
/* Typed getters: NULL / false when the key is missing or of another type. */
const char *ctl_json_get_str(const struct ctl_json *j, const char *key);
bool ctl_json_get_u64(const struct ctl_json *j, const char *key, uint64_t *out);

/* Output: a growable buffer, and JSON string escaping. */
struct ctl_json_out {
	char *buf;
	size_t len, cap;
	bool oom;
};

void ctl_json_out_raw(struct ctl_json_out *o, const char *s, size_t n);
void ctl_json_out_str(struct ctl_json_out *o, const char *s, size_t n); /* quoted, escaped */
void ctl_json_out_fmt(struct ctl_json_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_json_out_free(struct ctl_json_out *o);

#endif

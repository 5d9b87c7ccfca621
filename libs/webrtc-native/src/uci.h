/* uci: read OpenWrt UCI config files (/etc/config/pear-fog) the way libuci does.
 *
 * Syntax (libuci file.c):
 *   package <name>
 *   config <type> ['<name>']        anonymous when the name is left out
 *   option <name> '<value>'         a second option with the same name replaces it
 *   list <name> '<value>'           appends; a list after an option of the same name
 *                                   turns it into a list starting with the old value,
 *                                   an option after a list replaces the list
 *   # comment                       '#' outside quotes starts a comment, also after
 *                                   a value ("option a b # note")
 * Words are unquoted, 'single' (no escapes) or "double" quoted (backslash takes the
 * next character literally, as libuci does: "\n" is 'n', "\"" is '"'); pieces next
 * to each other concatenate ('a'"b"c is "abc").  A backslash at the end of a line,
 * outside single quotes, continues the word and statement on the next line.  Lines
 * end in LF or CRLF; the last may lack one.  The keywords may be abbreviated to
 * p/c/o/l as in libuci.
 *
 * Validation as libuci: package and type names are [A-Za-z0-9_-]+, section and option
 * names [A-Za-z0-9_]+; extra words are "too many arguments"; option/list before any
 * config is an error; re-opening a named section merges into it, unless the type
 * differs (error).
 *
 * Deviations from libuci, on purpose: a NUL byte is an error (libuci stops reading
 * there); ';' is an ordinary character, not a statement separator; `del_list` and
 * multiple `package` lines are refused; anonymous sections get no "cfgXXXXXX" names
 * (address them as @type[N]); everything is capped (below).
 *
 * Memory: uci_parse allocates from a chunked arena owned by the uci_file; one
 * uci_file_free releases everything.  No I/O: the caller reads the file. */
#ifndef PEARFOG_UCI_H
#define PEARFOG_UCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UCI_MAX_BYTES (256 * 1024) /* whole file */
#define UCI_MAX_SECTIONS 256
#define UCI_MAX_OPTIONS 128	   /* options and lists per section */
#define UCI_MAX_LIST 256	   /* values per list */
#define UCI_MAX_VALUE 4096	   /* bytes in one decoded word */
#define UCI_ERR_MSG 160

enum uci_err {
	UCI_OK = 0,
	UCI_E_TOO_BIG = -1,	/* input or a cap exceeded (message says which) */
	UCI_E_SYNTAX = -2,	/* parse error; uci_error has line and message */
	UCI_E_NOMEM = -3,
	UCI_E_MISSING = -4,	/* typed getter: section or option absent */
	UCI_E_BAD_VALUE = -5,	/* typed getter: not a boolean / number / known unit */
	UCI_E_RANGE = -6,	/* typed getter: outside [min, max] or overflow */
	UCI_E_TYPE = -7,	/* typed getter: a list where one value is expected */
};

struct uci_error {
	int code;
	unsigned line; /* 1-based; 0 when not about a line */
	char msg[UCI_ERR_MSG]; /* "line 12: unterminated quote" */
};

struct uci_value {
	struct uci_value *next;
	const char *str;
};

struct uci_option {
	struct uci_option *next;
	const char *name;
	bool is_list;
	struct uci_value *values, *last_value; /* one value for a plain option */
	size_t n_values;
	unsigned line;
};

struct uci_section {
	struct uci_section *next;
	const char *type;
	const char *name; /* NULL for an anonymous section */
	struct uci_option *options, *last_option;
	size_t n_options;
	unsigned line;
};

struct uci_arena_block;

struct uci_file {
	const char *package; /* NULL when the file has no package line */
	struct uci_section *sections, *last_section;
	size_t n_sections;
	struct uci_arena_block *arena;
};

/* Parse text[0..len).  On error everything is freed, *out is empty and *err (if
 * not NULL) says what and where.  On success free with uci_file_free. */
int uci_parse(const char *text, size_t len, struct uci_file *out, struct uci_error *err);
void uci_file_free(struct uci_file *f);

/* A section by name ("main") or by type and index ("@pear-fog[0]", "@pear-fog[-1]"
 * for the last), counting named and anonymous sections of that type as libuci. */
const struct uci_section *uci_section_find(const struct uci_file *f, const char *ref);
const struct uci_option *uci_option_find(const struct uci_section *s, const char *name);

/* The value of a plain option; NULL when absent or when it is a list. */
const char *uci_get(const struct uci_file *f, const char *section, const char *option);

/* First value of a list (or of a plain option, as a one-element list); iterate
 * with ->next.  NULL when absent. */
const struct uci_value *uci_get_list(const struct uci_file *f, const char *section,
				     const char *option);

/* Typed getters.  They return UCI_OK and set *out, or an error with err->msg naming
 * the option ("pear-fog.@pear-fog[0].enabled: 'maybe' is not a boolean"), leaving
 * *out untouched so a caller can preload the default and treat UCI_E_MISSING as
 * "keep it".
 *
 * Booleans, as OpenWrt's config_get_bool: 1 yes on true enabled / 0 no off false
 * disabled (lowercase, exact). */
int uci_get_bool(const struct uci_file *f, const char *section, const char *option, bool *out,
		 struct uci_error *err);

/* Unsigned integers: decimal digits, then an optional unit suffix:
 *   UCI_UNIT_NONE     no suffix allowed
 *   UCI_UNIT_BYTES    k K M G T (powers of 1024), optionally followed by "B"/"iB"
 *                     ("512M", "2G", "64KiB", "100"): result in bytes
 *   UCI_UNIT_BITRATE  as tc(8): bit, kbit, mbit, gbit (powers of 1000), also
 *                     kbps/mbps/gbps meaning bytes per second ×8; "10mbit": result
 *                     in bit/s
 *   UCI_UNIT_SECONDS  s m h d ("90s", "15m", "24h", "30d"): result in seconds
 * Suffixes are case-insensitive except none.  Whitespace is not allowed.  The
 * result must be within [min, max] (UCI_E_RANGE otherwise, overflow included). */
enum uci_unit { UCI_UNIT_NONE, UCI_UNIT_BYTES, UCI_UNIT_BITRATE, UCI_UNIT_SECONDS };
int uci_get_uint(const struct uci_file *f, const char *section, const char *option,
		 enum uci_unit unit, uint64_t min, uint64_t max, uint64_t *out,
		 struct uci_error *err);

/* Parse one value as uci_get_uint does (no lookup); UCI_OK / BAD_VALUE / RANGE. */
int uci_parse_uint(const char *value, enum uci_unit unit, uint64_t min, uint64_t max,
		   uint64_t *out);

const char *uci_strerror(int err);

#endif

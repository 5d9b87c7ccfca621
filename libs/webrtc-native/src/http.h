/* http: HTTP/1.1 request heads (RFC 9112), byte ranges (RFC 9110 §14) and response
 * heads for pear-fogd's small HTTP server (GET|HEAD /chunks/<hex>, /metrics, /healthz).
 *
 * The request parser is incremental: feed bytes as they arrive; it copies the head
 * (request line + header fields, at most HTTP_MAX_HEAD_BYTES) into the struct and
 * parses it once the empty line arrives, so results do not depend on how the bytes
 * were split.  It consumes exactly the head; bytes after it (a pipelined request)
 * are left to the caller, who calls http_req_init() and feeds them again.
 *
 * Deliberate limits (a request outside them gets the status in the error code):
 *   - origin-form targets only ("/path?query"); absolute-form, authority-form and
 *     "*" are 400.  Targets must be visible ASCII; no percent-decoding is done.
 *   - HTTP/1.0 and HTTP/1.1 only; another well-formed HTTP/x.y is 505.
 *   - no request bodies: Transfer-Encoding is 501 (RFC 9112 §6.1), Content-Length
 *     above 0 is 413; differing or malformed Content-Length is 400 (RFC 9112 §6.3).
 *   - obs-fold (a line starting with SP/HTAB) is 400 (RFC 9112 §5.2); whitespace
 *     between name and colon is 400 (RFC 9112 §5.1); bare CR is 400 (§2.2).
 *   - HTTP/1.1 without exactly one Host is 400 (RFC 9112 §3.2).
 *   - up to 2 empty lines before the request line are skipped (RFC 9112 §2.2).
 *   - lines may end in CRLF or bare LF (RFC 9112 §2.2 allows recipients to accept it). */
#ifndef PEARFOG_HTTP_H
#define PEARFOG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD_BYTES 8192 /* request line + fields + empty line */
#define HTTP_MAX_TARGET 2048	 /* request-target; longer is 414 */
#define HTTP_MAX_HEADERS 32	 /* more is 431 */

/* http_req_feed results.  Errors are the negated status code to answer with. */
enum http_result {
	HTTP_NEED_MORE = 1,
	HTTP_DONE = 0,
	HTTP_E_BAD_REQUEST = -400,
	HTTP_E_TOO_LARGE = -413,	  /* a request body was announced */
	HTTP_E_URI_TOO_LONG = -414,
	HTTP_E_HEADERS_TOO_LARGE = -431, /* head over HTTP_MAX_HEAD_BYTES or too many fields */
	HTTP_E_NOT_IMPLEMENTED = -501,	 /* Transfer-Encoding */
	HTTP_E_VERSION = -505,
};

enum http_method { HTTP_METHOD_OTHER, HTTP_METHOD_GET, HTTP_METHOD_HEAD };

struct http_header {
	const char *name;  /* as received; compare with strcasecmp */
	const char *value; /* leading/trailing OWS removed */
};

struct http_req {
	/* Results, valid after HTTP_DONE; strings point into head[] and are
	 * NUL-terminated.  Headers not captured below are still in headers[]. */
	enum http_method method; /* OTHER: the caller answers 405 */
	const char *method_name;
	const char *target;
	unsigned version_minor; /* HTTP/1.<minor>: 0 or 1 */
	const char *host;	/* NULL when absent (allowed for HTTP/1.0) */
	const char *range;
	const char *if_none_match;
	bool keep_alive; /* from version and Connection (RFC 9112 §9.3) */
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned n_headers;
	const char *error; /* a short reason after an error, for logs */

	/* Parser state; private. */
	size_t len;	       /* bytes of head[] used (CRs are not stored) */
	size_t raw;	       /* bytes taken so far, CRs included */
	int result;	       /* sticky result once done */
	size_t line_len;       /* bytes in the current line, CR excluded */
	unsigned leading_eols; /* empty lines skipped before the request line */
	bool cr;	       /* the previous byte was CR */
	bool done;
	char head[HTTP_MAX_HEAD_BYTES + 1];
};

void http_req_init(struct http_req *r);

/* Feed data[0..len).  *consumed is set to the bytes taken (always all of them
 * with HTTP_NEED_MORE; up to the end of the head with HTTP_DONE).  After
 * HTTP_DONE or an error, further calls return the same result and consume 0. */
int http_req_feed(struct http_req *r, const char *data, size_t len, size_t *consumed);

/* Case-insensitive header lookup (the first one), NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);

/* RFC 9110 §14.1.2 / §14.2 single byte range against a representation of `size`
 * bytes.  HTTP_RANGE_OK: serve 206 bytes [*first, *last].  HTTP_RANGE_IGNORE: serve
 * the whole representation with 200 (unknown unit, bad syntax, several ranges: the
 * RFC lets a server ignore Range).  HTTP_RANGE_UNSATISFIABLE: answer 416 with
 * "Content-Range: bytes * / size". */
enum http_range_result {
	HTTP_RANGE_OK = 0,
	HTTP_RANGE_IGNORE = 1,
	HTTP_RANGE_UNSATISFIABLE = -416,
};
int http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

/* Fields of a response head; NULL / false ones are omitted. */
struct http_head_fields {
	const char *content_type;
	bool has_content_length;
	uint64_t content_length;
	/* Content-Range: "bytes first-last/size", or "bytes * /size" (no space) for 416 */
	bool has_content_range;
	uint64_t range_first, range_last, range_size;
	const char *etag;	   /* written as given, e.g. "\"<hex>\"" */
	const char *cache_control;
	bool close;		   /* "Connection: close"; else nothing (1.1 default) */
	bool keep_alive;	   /* "Connection: keep-alive" (for HTTP/1.0 clients) */
	bool accept_ranges;	   /* "Accept-Ranges: bytes" */
};

enum http_write_err {
	HTTP_W_E_BUFFER = -1,  /* cap too small */
	HTTP_W_E_INVALID = -2, /* unknown status, or a field with CR/LF/control bytes */
};

/* Write "HTTP/1.1 <status> <reason>\r\n<fields>\r\n" into buf[0..cap), NUL-terminated.
 * Returns the length without the NUL, or an http_write_err. */
int http_write_head(char *buf, size_t cap, int status, const struct http_head_fields *f);

/* Reason phrase for the status codes we send (RFC 9110 §15), NULL for others. */
const char *http_status_text(int status);

/* Text for an http_result / http_range_result / http_write_err value. */
const char *http_strerror(int err);

#endif

/* http_resp: incremental HTTP/1.1 response parser for the net clients (RFC 9112).
 *
 * Feed bytes as they arrive.  The head (status line + fields) is copied into the struct,
 * at most HTTP_RESP_MAX_HEAD bytes, and parsed when its empty line arrives; known fields
 * are found through a policy table.  Interim 1xx responses other than 101 are skipped
 * (RFC 9110 §15.2).  The body is framed per RFC 9112 §6.3 (no body for HEAD, 1xx, 204,
 * 304; chunked when it is the final transfer coding; else Content-Length; else until the
 * connection closes) and handed to cb->on_body in slices that point into the fed data
 * (chunked framing removed), never copied.
 *
 * Limits (errors, not truncation): head over HTTP_RESP_MAX_HEAD bytes or more than
 * HTTP_RESP_MAX_FIELDS fields; a chunk-size line (size + extensions) over
 * HTTP_RESP_MAX_CHUNK_LINE bytes; trailers over HTTP_RESP_MAX_TRAILER bytes in total;
 * chunk sizes and Content-Length up to 2^62.  obs-fold is replaced by SP (§5.2);
 * whitespace between a field name and its colon is refused (§5.1); lines may end in
 * CRLF or LF.  Error codes are in [-189, -170]. */
#ifndef PEARFOG_HTTP_RESP_H
#define PEARFOG_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_RESP_MAX_HEAD 16384      /* status line + fields + empty line, CRs included */
#define HTTP_RESP_MAX_FIELDS 64	      /* field lines */
#define HTTP_RESP_MAX_CHUNK_LINE 1024 /* chunk-size + chunk-ext + CRLF */
#define HTTP_RESP_MAX_TRAILER 8192    /* trailer section bytes */
#define HTTP_RESP_MAX_LENGTH (1ull << 62)

enum http_resp_result {
	HTTP_RESP_NEED_MORE = 1,
	HTTP_RESP_DONE = 0,
	HTTP_RESP_E_HEAD_TOO_LARGE = -170, /* head or field count over the caps */
	HTTP_RESP_E_STATUS = -171,	   /* bad status line or version */
	HTTP_RESP_E_FIELD = -172,	   /* bad field line */
	HTTP_RESP_E_LENGTH = -173,	   /* bad or conflicting Content-Length */
	HTTP_RESP_E_CODING = -174,	   /* a transfer coding other than chunked */
	HTTP_RESP_E_CHUNK = -175,	   /* bad chunk size line or chunk framing */
	HTTP_RESP_E_TRAILER = -176,	   /* trailers too large or malformed */
	HTTP_RESP_E_TRUNCATED = -177,	   /* the connection closed inside the message */
	HTTP_RESP_E_ABORTED = -178,	   /* a callback asked to stop */
};

/* Fields looked up while parsing (table in http_resp.c). */
enum http_resp_field {
	HTTP_F_CONTENT_LENGTH,
	HTTP_F_TRANSFER_ENCODING,
	HTTP_F_LOCATION,
	HTTP_F_CONTENT_TYPE,
	HTTP_F_CONTENT_RANGE,
	HTTP_F_CONNECTION,
	HTTP_F_UPGRADE,
	HTTP_F_SEC_WEBSOCKET_ACCEPT,
	HTTP_F_SEC_WEBSOCKET_PROTOCOL,
	HTTP_F_SEC_WEBSOCKET_EXTENSIONS,
	HTTP_F__COUNT
};

enum http_resp_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };

struct http_resp_field_line {
	const char *name;  /* as received */
	const char *value; /* OWS trimmed */
};

struct http_resp;

struct http_resp_cb {
	/* The final head is parsed.  Return 0 to go on with the body, 1 to end the message
	 * here (the bytes after the head stay unconsumed: a 101 switch, or a redirect we will
	 * not read), or a negative error to fail with it. */
	int (*on_head)(void *user, const struct http_resp *r);
	/* A body slice; return 0, or a negative error to stop. */
	int (*on_body)(void *user, const uint8_t *data, size_t len);
};

struct http_resp {
	/* Results, valid from on_head on; strings point into head[]. */
	int status;
	unsigned version_minor;
	const char *reason;
	struct http_resp_field_line fields[HTTP_RESP_MAX_FIELDS];
	unsigned n_fields;
	const char *known[HTTP_F__COUNT]; /* first value of each known field, or NULL */
	enum http_resp_framing framing;
	uint64_t content_length; /* HTTP_BODY_LENGTH */

	/* Parser state; private. */
	const struct http_resp_cb *cb;
	void *user;
	bool head_request;
	int state;
	size_t head_len;
	uint64_t remaining; /* body or chunk bytes left */
	size_t line_len;    /* chunk-size line or trailer bytes so far */
	unsigned digits;
	bool in_ext;
	bool cr; /* chunk-size line: the last byte was CR */
	int result; /* sticky once DONE or an error */
	char head[HTTP_RESP_MAX_HEAD + 1];
};

void http_resp_init(struct http_resp *r, bool head_request, const struct http_resp_cb *cb,
		    void *user);
/* Feed data[0..len).  HTTP_RESP_NEED_MORE (all consumed), HTTP_RESP_DONE (*consumed up to
 * the end of the message) or an error; DONE and errors are sticky. */
int http_resp_feed(struct http_resp *r, const uint8_t *data, size_t len, size_t *consumed);
/* The connection closed: HTTP_RESP_DONE when that ends a close-delimited body, else
 * HTTP_RESP_E_TRUNCATED (or the earlier sticky result). */
int http_resp_eof(struct http_resp *r);
/* Case-insensitive lookup of any field, the first one; NULL when absent. */
const char *http_resp_field_value(const struct http_resp *r, const char *name);

const char *http_resp_strerror(int err);

#endif

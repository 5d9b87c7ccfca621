#include "http_resp.h"
#include "hex.h"

#include <string.h>
#include <strings.h>

enum state {
	S_HEAD,
	S_BODY_LENGTH,
	S_BODY_CLOSE,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_DATA_END,
	S_TRAILER,
	S_DONE,
};

/* Policy for the fields we act on. */
enum field_flag {
	F_SINGLE = 1, /* several differing values are an error (RFC 9110 §5.3 exceptions) */
};

static const struct {
	const char *name;
	unsigned flags;
} field_policy[HTTP_F__COUNT] = {
	[HTTP_F_CONTENT_LENGTH] = { "content-length", F_SINGLE },
	[HTTP_F_TRANSFER_ENCODING] = { "transfer-encoding", 0 },
	[HTTP_F_LOCATION] = { "location", F_SINGLE },
	[HTTP_F_CONTENT_TYPE] = { "content-type", 0 },
	[HTTP_F_CONTENT_RANGE] = { "content-range", F_SINGLE },
	[HTTP_F_CONNECTION] = { "connection", 0 },
	[HTTP_F_UPGRADE] = { "upgrade", 0 },
	[HTTP_F_SEC_WEBSOCKET_ACCEPT] = { "sec-websocket-accept", F_SINGLE },
	[HTTP_F_SEC_WEBSOCKET_PROTOCOL] = { "sec-websocket-protocol", F_SINGLE },
	[HTTP_F_SEC_WEBSOCKET_EXTENSIONS] = { "sec-websocket-extensions", 0 },
};

void http_resp_init(struct http_resp *r, bool head_request, const struct http_resp_cb *cb,
		    void *user)
{
	/* the head buffer is not cleared: only head[0..head_len) is ever read */
	memset(r, 0, offsetof(struct http_resp, head));
	r->head_request = head_request;
	r->cb = cb;
	r->user = user;
	r->state = S_HEAD;
	r->result = HTTP_RESP_NEED_MORE;
}

/* RFC 9110 §5.6.2 tchar */
static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return HTTP_RESP_E_LENGTH;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return HTTP_RESP_E_LENGTH;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > HTTP_RESP_MAX_LENGTH)
			return HTTP_RESP_E_LENGTH;
	}
	*out = n;
	return 0;
}

/* Parse head[0..head_len): status line and field lines (RFC 9112 §4, §5). */
static int parse_head(struct http_resp *r)
{
	char *p = r->head, *end = r->head + r->head_len, *line, *eol;
	bool te_seen = false;

	*end = 0;
	/* obs-fold: replace CRLF + SP/HTAB by spaces (RFC 9112 §5.2) */
	for (char *q = p; q + 1 < end; q++) {
		if (*q == '\n' && (q[1] == ' ' || q[1] == '\t') && q > p) {
			*q = ' ';
			if (q[-1] == '\r')
				q[-1] = ' ';
		}
	}
	/* status line: HTTP/1.x SP 3DIGIT SP [reason] (RFC 9112 §4) */
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		return HTTP_RESP_E_STATUS;
	*eol = 0;
	if (eol > p && eol[-1] == '\r')
		eol[-1] = 0;
	if (strncmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9' || (p[12] != ' ' && p[12] != 0))
		return HTTP_RESP_E_STATUS;
	r->version_minor = (unsigned)(p[7] - '0');
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	r->reason = p[12] ? p + 13 : p + 12;
	for (line = eol + 1; line < end; line = eol + 1) {
		char *colon, *v, *ve;
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		*eol = 0;
		if (eol > line && eol[-1] == '\r')
			eol[-1] = 0;
		if (!*line)
			break; /* the empty line */
		colon = line;
		while (tchar(*colon))
			colon++;
		if (*colon != ':' || colon == line)
			return HTTP_RESP_E_FIELD; /* includes space before the colon (§5.1) */
		*colon = 0;
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = 0;
		for (char *c = v; c < ve; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return HTTP_RESP_E_FIELD; /* bare CR, NUL, controls */
		if (r->n_fields == HTTP_RESP_MAX_FIELDS)
			return HTTP_RESP_E_HEAD_TOO_LARGE;
		r->fields[r->n_fields].name = line;
		r->fields[r->n_fields++].value = v;
		for (unsigned f = 0; f < HTTP_F__COUNT; f++) {
			if (strcasecmp(line, field_policy[f].name) != 0)
				continue;
			if (!r->known[f])
				r->known[f] = v;
			else if ((field_policy[f].flags & F_SINGLE) && strcmp(r->known[f], v) != 0)
				return f == HTTP_F_CONTENT_LENGTH ? HTTP_RESP_E_LENGTH
								  : HTTP_RESP_E_FIELD;
			if (f == HTTP_F_TRANSFER_ENCODING) {
				/* only "chunked", once (RFC 9112 §6.1, §7: we ask for no other) */
				if (te_seen || strcasecmp(v, "chunked") != 0)
					return HTTP_RESP_E_CODING;
				te_seen = true;
			}
		}
	}
	/* body framing, RFC 9112 §6.3 */
	if (r->head_request || r->status < 200 || r->status == 204 || r->status == 304) {
		r->framing = HTTP_BODY_NONE;
	} else if (te_seen) {
		r->framing = HTTP_BODY_CHUNKED;
	} else if (r->known[HTTP_F_CONTENT_LENGTH]) {
		int rc = parse_length(r->known[HTTP_F_CONTENT_LENGTH], &r->content_length);
		if (rc < 0)
			return rc;
		r->framing = HTTP_BODY_LENGTH;
	} else {
		r->framing = HTTP_BODY_CLOSE;
	}
	return 0;
}

static int body_slice(struct http_resp *r, const uint8_t *data, size_t len)
{
	int rc;

	if (!len || !r->cb->on_body)
		return 0;
	rc = r->cb->on_body(r->user, data, len);
	return rc < 0 ? rc : 0;
}

/* The head is complete: parse it, skip interim responses, pick the body state.
 * Returns 0 to go on, 1 to stop after the head, or an error. */
static int head_done(struct http_resp *r)
{
	int rc = parse_head(r);

	if (rc < 0)
		return rc;
	if (r->status >= 100 && r->status < 200 && r->status != 101) { /* RFC 9110 §15.2 */
		const struct http_resp_cb *cb = r->cb;
		void *user = r->user;
		bool head = r->head_request;
		http_resp_init(r, head, cb, user);
		return 0;
	}
	rc = r->cb->on_head ? r->cb->on_head(r->user, r) : 0;
	if (rc < 0)
		return rc;
	if (rc > 0 || r->framing == HTTP_BODY_NONE ||
	    (r->framing == HTTP_BODY_LENGTH && r->content_length == 0))
		return 1;
	r->state = r->framing == HTTP_BODY_CHUNKED ? S_CHUNK_SIZE
		   : r->framing == HTTP_BODY_LENGTH ? S_BODY_LENGTH
						     : S_BODY_CLOSE;
	r->remaining = r->content_length;
	return 0;
}

int http_resp_feed(struct http_resp *r, const uint8_t *data, size_t len, size_t *consumed)
{
	size_t i = 0;
	int rc;

	*consumed = 0;
	if (r->result != HTTP_RESP_NEED_MORE)
		return r->result;
	while (i < len) {
		uint8_t c = data[i];
		switch (r->state) {
		case S_HEAD:
			if (r->head_len == HTTP_RESP_MAX_HEAD) {
				rc = HTTP_RESP_E_HEAD_TOO_LARGE;
				goto fail;
			}
			r->head[r->head_len++] = (char)c;
			i++;
			if (c == '\n') {
				if (r->line_len == 0) {
					rc = head_done(r);
					if (rc < 0)
						goto fail;
					if (rc > 0)
						goto done;
				}
				r->line_len = 0;
			} else if (c != '\r') {
				r->line_len++;
			}
			break;
		case S_BODY_LENGTH: {
			size_t n = len - i < r->remaining ? len - i : (size_t)r->remaining;
			if ((rc = body_slice(r, data + i, n)) < 0)
				goto fail;
			i += n;
			r->remaining -= n;
			if (!r->remaining)
				goto done;
			break;
		}
		case S_BODY_CLOSE:
			if ((rc = body_slice(r, data + i, len - i)) < 0)
				goto fail;
			i = len;
			break;
		case S_CHUNK_SIZE: /* chunk-size [ chunk-ext ] CRLF, RFC 9112 §7.1 */
			i++;
			if (++r->line_len > HTTP_RESP_MAX_CHUNK_LINE) {
				rc = HTTP_RESP_E_CHUNK;
				goto fail;
			}
			if (r->cr && c != '\n') { /* CR only right before LF */
				rc = HTTP_RESP_E_CHUNK;
				goto fail;
			}
			if (c == '\n') {
				r->cr = false;
				if (!r->digits) {
					rc = HTTP_RESP_E_CHUNK;
					goto fail;
				}
				r->state = r->remaining ? S_CHUNK_DATA : S_TRAILER;
				r->line_len = 0;
				r->digits = 0;
				r->in_ext = false;
			} else if (c == '\r') {
				r->cr = true;
			} else if (r->in_ext) {
				/* extensions are ignored (§7.1.1) */
			} else if (hex_digit_value(c) >= 0) {
				if (++r->digits > 15) { /* < 2^60 */
					rc = HTTP_RESP_E_CHUNK;
					goto fail;
				}
				r->remaining = r->remaining << 4 | (uint64_t)hex_digit_value(c);
			} else if (r->digits && (c == ';' || c == ' ' || c == '\t')) {
				r->in_ext = true;
			} else {
				rc = HTTP_RESP_E_CHUNK;
				goto fail;
			}
			break;
		case S_CHUNK_DATA: {
			size_t n = len - i < r->remaining ? len - i : (size_t)r->remaining;
			if ((rc = body_slice(r, data + i, n)) < 0)
				goto fail;
			i += n;
			r->remaining -= n;
			if (!r->remaining) {
				r->state = S_CHUNK_DATA_END;
				r->line_len = 0;
			}
			break;
		}
		case S_CHUNK_DATA_END: /* CRLF after chunk-data */
			i++;
			if (c == '\r' && r->line_len == 0) {
				r->line_len = 1;
			} else if (c == '\n') {
				r->state = S_CHUNK_SIZE;
				r->line_len = 0;
			} else {
				rc = HTTP_RESP_E_CHUNK;
				goto fail;
			}
			break;
		case S_TRAILER: /* trailer-section CRLF (§7.1.2): fields are dropped */
			i++;
			if (++r->remaining > HTTP_RESP_MAX_TRAILER) {
				rc = HTTP_RESP_E_TRAILER;
				goto fail;
			}
			if (c == '\n') {
				if (r->line_len == 0)
					goto done;
				r->line_len = 0;
			} else if (c != '\r') {
				r->line_len++;
			}
			break;
		default:
			goto done;
		}
	}
	*consumed = i;
	return HTTP_RESP_NEED_MORE;
done:
	*consumed = i;
	r->state = S_DONE;
	return r->result = HTTP_RESP_DONE;
fail:
	*consumed = i;
	return r->result = rc;
}

int http_resp_eof(struct http_resp *r)
{
	if (r->result != HTTP_RESP_NEED_MORE)
		return r->result;
	if (r->state == S_BODY_CLOSE) {
		r->state = S_DONE;
		return r->result = HTTP_RESP_DONE;
	}
	return r->result = HTTP_RESP_E_TRUNCATED;
}

const char *http_resp_field_value(const struct http_resp *r, const char *name)
{
	for (unsigned i = 0; i < r->n_fields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

const char *http_resp_strerror(int err)
{
	switch (err) {
	case HTTP_RESP_NEED_MORE:
		return "need more";
	case HTTP_RESP_DONE:
		return "done";
	case HTTP_RESP_E_HEAD_TOO_LARGE:
		return "response head too large";
	case HTTP_RESP_E_STATUS:
		return "bad status line";
	case HTTP_RESP_E_FIELD:
		return "bad header field";
	case HTTP_RESP_E_LENGTH:
		return "bad Content-Length";
	case HTTP_RESP_E_CODING:
		return "unsupported transfer coding";
	case HTTP_RESP_E_CHUNK:
		return "bad chunked framing";
	case HTTP_RESP_E_TRAILER:
		return "bad or oversized trailers";
	case HTTP_RESP_E_TRUNCATED:
		return "connection closed inside the response";
	case HTTP_RESP_E_ABORTED:
		return "aborted";
	default:
		return "unknown http response error";
	}
}

#include "http.h"
#include "textbuf.h"

#include <string.h>
#include <strings.h>

#define HTTP_MAX_LEADING_EOLS 2

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* RFC 9110 §5.5 field-value characters: VCHAR, obs-text, SP, HTAB. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int fail(struct http_req *r, int result, const char *why)
{
	r->done = true;
	r->result = result;
	r->error = why;
	return result;
}

void http_req_init(struct http_req *r)
{
	memset(r, 0, offsetof(struct http_req, head));
	r->head[0] = '\0';
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
static int parse_request_line(struct http_req *r, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2, *v;

	if (!sp1)
		return fail(r, HTTP_E_BAD_REQUEST, "malformed request line");
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2)
		return fail(r, HTTP_E_BAD_REQUEST, "malformed request line");
	*sp2 = '\0';
	r->method_name = line;
	r->target = sp1 + 1;
	v = sp2 + 1;
	if (!is_token(r->method_name))
		return fail(r, HTTP_E_BAD_REQUEST, "bad method");
	if (strcmp(r->method_name, "GET") == 0)
		r->method = HTTP_METHOD_GET;
	else if (strcmp(r->method_name, "HEAD") == 0)
		r->method = HTTP_METHOD_HEAD;
	if (strlen(r->target) > HTTP_MAX_TARGET)
		return fail(r, HTTP_E_URI_TOO_LONG, "request target too long");
	/* RFC 9112 §3.2.1 origin-form = absolute-path [ "?" query ] */
	if (r->target[0] != '/')
		return fail(r, HTTP_E_BAD_REQUEST, "request target is not origin-form");
	for (const char *t = r->target; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return fail(r, HTTP_E_BAD_REQUEST, "bad byte in request target");
	/* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive) */
	if (strlen(v) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return fail(r, HTTP_E_BAD_REQUEST, "malformed HTTP version");
	if (v[5] != '1')
		return fail(r, HTTP_E_VERSION, "HTTP major version not 1");
	/* RFC 9110 §2.5: a higher minor version is handled as the highest we know */
	r->version_minor = v[7] == '0' ? 0 : 1;
	return HTTP_DONE;
}

/* Connection = #connection-option (RFC 9110 §7.6.1); tokens are case-insensitive. */
static void scan_connection(const char *v, bool *close, bool *keep_alive)
{
	while (*v) {
		size_t n;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strcspn(v, " \t,");
		if (n == 5 && strncasecmp(v, "close", 5) == 0)
			*close = true;
		else if (n == 10 && strncasecmp(v, "keep-alive", 10) == 0)
			*keep_alive = true;
		v += n;
	}
}

/* RFC 9112 §6.3: a body we would have to read is refused; 0 is fine. */
static int check_content_length(struct http_req *r, const char *v, const char **seen)
{
	bool nonzero = false;

	if (!*v)
		return fail(r, HTTP_E_BAD_REQUEST, "empty Content-Length");
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return fail(r, HTTP_E_BAD_REQUEST, "malformed Content-Length");
		nonzero |= *p != '0';
	}
	if (*seen && strcmp(*seen, v) != 0)
		return fail(r, HTTP_E_BAD_REQUEST, "conflicting Content-Length");
	*seen = v;
	if (nonzero)
		return fail(r, HTTP_E_TOO_LARGE, "request body not accepted");
	return HTTP_DONE;
}

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS */
static int parse_field(struct http_req *r, char *line)
{
	char *colon, *v, *end;

	if (line[0] == ' ' || line[0] == '\t')
		return fail(r, HTTP_E_BAD_REQUEST, "obs-fold in header");
	colon = strchr(line, ':');
	if (!colon)
		return fail(r, HTTP_E_BAD_REQUEST, "header without colon");
	*colon = '\0';
	if (!is_token(line))
		return fail(r, HTTP_E_BAD_REQUEST, "bad header name");
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	for (const char *p = v; *p; p++)
		if (!is_field_char((unsigned char)*p))
			return fail(r, HTTP_E_BAD_REQUEST, "control byte in header value");
	if (r->n_headers >= HTTP_MAX_HEADERS)
		return fail(r, HTTP_E_HEADERS_TOO_LARGE, "too many headers");
	r->headers[r->n_headers].name = line;
	r->headers[r->n_headers].value = v;
	r->n_headers++;
	return HTTP_DONE;
}

/* Captured fields; the table keeps the checks for each in one place. */
enum captured { CAP_HOST, CAP_RANGE, CAP_INM, CAP_CONNECTION, CAP_CL, CAP_TE, CAP_N };
static const char *const captured_names[CAP_N] = {
	[CAP_HOST] = "Host",
	[CAP_RANGE] = "Range",
	[CAP_INM] = "If-None-Match",
	[CAP_CONNECTION] = "Connection",
	[CAP_CL] = "Content-Length",
	[CAP_TE] = "Transfer-Encoding",
};

static int interpret_fields(struct http_req *r)
{
	const char *content_length = NULL;
	bool close = false, keep_alive = false;

	for (unsigned i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		int rc = HTTP_DONE, k;

		for (k = 0; k < CAP_N; k++)
			if (strcasecmp(h->name, captured_names[k]) == 0)
				break;
		switch (k) {
		case CAP_HOST:
			if (r->host) /* RFC 9112 §3.2 */
				return fail(r, HTTP_E_BAD_REQUEST, "duplicate Host");
			r->host = h->value;
			break;
		case CAP_RANGE:
			if (r->range)
				return fail(r, HTTP_E_BAD_REQUEST, "duplicate Range");
			r->range = h->value;
			break;
		case CAP_INM:
			if (r->if_none_match)
				return fail(r, HTTP_E_BAD_REQUEST, "duplicate If-None-Match");
			r->if_none_match = h->value;
			break;
		case CAP_CONNECTION:
			scan_connection(h->value, &close, &keep_alive);
			break;
		case CAP_CL:
			rc = check_content_length(r, h->value, &content_length);
			break;
		case CAP_TE: /* RFC 9112 §6.1 */
			return fail(r, HTTP_E_NOT_IMPLEMENTED, "Transfer-Encoding in request");
		default:
			break;
		}
		if (rc != HTTP_DONE)
			return rc;
	}
	if (r->version_minor == 1 && !r->host)
		return fail(r, HTTP_E_BAD_REQUEST, "HTTP/1.1 request without Host");
	/* RFC 9112 §9.3 persistence */
	r->keep_alive = !close && (r->version_minor == 1 || keep_alive);
	return HTTP_DONE;
}

static int parse_head(struct http_req *r)
{
	char *line = r->head, *nl;
	int rc;

	r->head[r->len] = '\0';
	/* every stored line ends in '\n'; NUL bytes from the wire end a line early,
	 * so check for them first */
	if (memchr(r->head, '\0', r->len))
		return fail(r, HTTP_E_BAD_REQUEST, "NUL byte in request head");
	nl = strchr(line, '\n');
	*nl = '\0';
	rc = parse_request_line(r, line);
	if (rc != HTTP_DONE)
		return rc;
	for (line = nl + 1; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		rc = parse_field(r, line);
		if (rc != HTTP_DONE)
			return rc;
	}
	rc = interpret_fields(r);
	if (rc != HTTP_DONE)
		return rc;
	r->done = true;
	r->result = HTTP_DONE;
	return HTTP_DONE;
}

int http_req_feed(struct http_req *r, const char *data, size_t len, size_t *consumed)
{
	size_t i;

	*consumed = 0;
	if (r->done)
		return r->result;
	for (i = 0; i < len; i++) {
		char c = data[i];

		if (++r->raw > HTTP_MAX_HEAD_BYTES) {
			*consumed = i;
			if (memchr(r->head, '\n', r->len) == NULL && r->len > HTTP_MAX_TARGET)
				return fail(r, HTTP_E_URI_TOO_LONG, "request line too long");
			return fail(r, HTTP_E_HEADERS_TOO_LARGE, "request head too large");
		}
		if (r->cr && c != '\n') {
			*consumed = i;
			return fail(r, HTTP_E_BAD_REQUEST, "bare CR");
		}
		if (c == '\r') {
			r->cr = true;
			continue;
		}
		r->cr = false;
		if (c != '\n') {
			r->head[r->len++] = c;
			r->line_len++;
			continue;
		}
		if (r->line_len) {
			r->head[r->len++] = '\n';
			r->line_len = 0;
			continue;
		}
		if (r->len == 0) { /* RFC 9112 §2.2: empty lines before the request */
			if (++r->leading_eols > HTTP_MAX_LEADING_EOLS) {
				*consumed = i + 1;
				return fail(r, HTTP_E_BAD_REQUEST, "empty lines before request");
			}
			continue;
		}
		*consumed = i + 1;
		return parse_head(r);
	}
	*consumed = len;
	return HTTP_NEED_MORE;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
	for (unsigned i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* 1*DIGIT, saturating at UINT64_MAX; returns the end or NULL when no digit. */
static const char *parse_pos(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = p;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return p == start ? NULL : p;
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set, with
 * range-spec = int-range / suffix-range (other-range is ignored). */
int http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p = value;
	uint64_t a, b;
	bool has_a, has_b;

	if (strncasecmp(p, "bytes", 5) != 0)
		return HTTP_RANGE_IGNORE; /* §14.2: unknown units are ignored */
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return HTTP_RANGE_IGNORE;
	p = skip_ows(p);
	has_a = *p != '-';
	if (has_a && !(p = parse_pos(p, &a)))
		return HTTP_RANGE_IGNORE;
	if (*p++ != '-')
		return HTTP_RANGE_IGNORE;
	has_b = *p >= '0' && *p <= '9';
	if (has_b)
		p = parse_pos(p, &b);
	else if (!has_a)
		return HTTP_RANGE_IGNORE; /* "-" alone */
	p = skip_ows(p);
	if (*p == ',')
		return HTTP_RANGE_IGNORE; /* several ranges: we serve 200 (§14.2) */
	if (*p)
		return HTTP_RANGE_IGNORE;
	if (!has_a) { /* suffix-range: the last b bytes (§14.1.2) */
		if (b == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		*first = size - (b < size ? b : size);
		*last = size - 1;
		return HTTP_RANGE_OK;
	}
	if (has_b && b < a)
		return HTTP_RANGE_IGNORE; /* invalid int-range */
	if (a >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	*first = a;
	*last = has_b && b < size - 1 ? b : size - 1;
	return HTTP_RANGE_OK;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return NULL;
	}
}

const char *http_strerror(int err)
{
	switch (err) {
	case HTTP_NEED_MORE: return "need more data";
	case HTTP_DONE: return "ok";
	case HTTP_W_E_BUFFER: return "output buffer too small";
	case HTTP_W_E_INVALID: return "invalid status or header value";
	default: break;
	}
	if (err < 0 && http_status_text(-err))
		return http_status_text(-err);
	return "unknown HTTP error";
}

/* A caller-given value must not be able to inject a header (no CR/LF/CTL). */
static bool safe_value(const char *v)
{
	if (!v)
		return true;
	for (; *v; v++)
		if (!is_field_char((unsigned char)*v))
			return false;
	return true;
}

int http_write_head(char *buf, size_t cap, int status, const struct http_head_fields *f)
{
	struct textbuf o = TEXTBUF_INIT(buf, cap);
	const char *reason = http_status_text(status);

	if (!buf || cap == 0)
		return HTTP_W_E_BUFFER;
	buf[0] = '\0';
	if (!reason || !f || !safe_value(f->content_type) || !safe_value(f->etag) ||
	    !safe_value(f->cache_control))
		return HTTP_W_E_INVALID;
	textbuf_printf(&o, "HTTP/1.1 %d %s\r\n", status, reason);
	if (f->content_type)
		textbuf_printf(&o, "Content-Type: %s\r\n", f->content_type);
	if (f->has_content_length)
		textbuf_printf(&o, "Content-Length: %llu\r\n",
			       (unsigned long long)f->content_length);
	if (f->has_content_range && status == 416) /* RFC 9110 §14.4 unsatisfied-range */
		textbuf_printf(&o, "Content-Range: bytes */%llu\r\n",
			       (unsigned long long)f->range_size);
	else if (f->has_content_range)
		textbuf_printf(&o, "Content-Range: bytes %llu-%llu/%llu\r\n",
			       (unsigned long long)f->range_first,
			       (unsigned long long)f->range_last,
			       (unsigned long long)f->range_size);
	if (f->accept_ranges)
		textbuf_printf(&o, "Accept-Ranges: bytes\r\n");
	if (f->etag)
		textbuf_printf(&o, "ETag: %s\r\n", f->etag);
	if (f->cache_control)
		textbuf_printf(&o, "Cache-Control: %s\r\n", f->cache_control);
	if (f->close)
		textbuf_printf(&o, "Connection: close\r\n");
	else if (f->keep_alive)
		textbuf_printf(&o, "Connection: keep-alive\r\n");
	textbuf_printf(&o, "\r\n");
	if (o.overflow) {
		buf[0] = '\0';
		return HTTP_W_E_BUFFER;
	}
	return (int)o.len;
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"
#include "metrics.h"
#include "test.h"

static uint8_t chunk[1000];
static struct chunk_id chunk_name;
static uint64_t counted;

static int get_chunk(void *user, const struct chunk_id *id, uint8_t **data, size_t *len)
{
	if (!chunk_id_equal(id, &chunk_name))
		return -1;
	*data = malloc(sizeof(chunk));
	memcpy(*data, chunk, sizeof(chunk));
	*len = sizeof(chunk);
	return 0;
}

static void render(void *user, struct ctl_json_out *o)
{
	metrics_render_prometheus(o);
}

static void on_bytes(void *user, uint64_t n)
{
	counted += n;
}

static const struct http_server_source src = { get_chunk, render, on_bytes };

/* Send req, pump the loop, return everything read until the server closes or quiet. */
static size_t exchange(struct loop *l, uint16_t port, const char *req, char *out, size_t cap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t len = 0;
	int quiet = 0;

	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 0;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 0;
	while (quiet < 20 && len < cap - 1) {
		ssize_t n;
		loop_run_once(l, 5);
		n = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			quiet = 0;
		} else if (n == 0) {
			break;
		} else {
			quiet++;
		}
	}
	out[len] = '\0';
	close(fd);
	return len;
}

TEST(serves_chunks_ranges_metrics_and_errors)
{
	struct loop *l = loop_new();
	int err = 0;
	struct http_server *s = http_server_new(l, "127.0.0.1", 0, &src, NULL, &err);
	char hex[CHUNK_ID_HEX_LEN + 1], req[512], out[8192];
	size_t n;
	char *body;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7);
	chunk_id_of(&chunk_name, chunk, sizeof(chunk));
	chunk_id_format(&chunk_name, hex);
	CHECK(s != NULL);

	snprintf(req, sizeof(req), "GET /chunks/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", hex);
	n = exchange(l, http_server_port(s), req, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(out, "Content-Length: 1000\r\n") != NULL);
	body = strstr(out, "\r\n\r\n");
	CHECK(body && n - (size_t)(body + 4 - out) == sizeof(chunk));
	CHECK(body && memcmp(body + 4, chunk, sizeof(chunk)) == 0);
	CHECK_EQ_INT(counted, 1000);

	snprintf(req, sizeof(req), "GET /chunks/%s HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n", hex);
	n = exchange(l, http_server_port(s), req, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 206 ", 13) == 0);
	CHECK(strstr(out, "Content-Range: bytes 10-19/1000\r\n") != NULL);
	body = strstr(out, "\r\n\r\n");
	CHECK(body && n - (size_t)(body + 4 - out) == 10 && memcmp(body + 4, chunk + 10, 10) == 0);

	snprintf(req, sizeof(req), "GET /chunks/%s HTTP/1.1\r\nHost: x\r\nRange: bytes=5000-\r\nConnection: close\r\n\r\n", hex);
	exchange(l, http_server_port(s), req, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 416 ", 13) == 0);
	CHECK(strstr(out, "Content-Range: bytes */1000\r\n") != NULL);

	snprintf(req, sizeof(req), "HEAD /chunks/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", hex);
	n = exchange(l, http_server_port(s), req, out, sizeof(out));
	CHECK(strstr(out, "Content-Length: 1000\r\n") != NULL);
	CHECK(strstr(out, "\r\n\r\n") + 4 == out + n); /* no body */

	hex[0] = hex[0] == 'a' ? 'b' : 'a';
	snprintf(req, sizeof(req), "GET /chunks/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", hex);
	exchange(l, http_server_port(s), req, out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 404 ", 13) == 0);

	exchange(l, http_server_port(s), "GET /chunks/xyz HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	exchange(l, http_server_port(s), "POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 405 ", 13) == 0);
	exchange(l, http_server_port(s), "GARBAGE\r\n\r\n", out, sizeof(out));
	CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);

	/* keep-alive: two pipelined requests on one connection, both answered */
	n = exchange(l, http_server_port(s),
		     "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		     out, sizeof(out));
	CHECK(strstr(out, "ok\n") != NULL);
	CHECK(strstr(out, "pearfog_http_requests_total") != NULL);
	CHECK(strstr(out, "pearfog_bad_http_total 2\n") != NULL);
	http_server_free(s);
	loop_free(l);
}

int main(void)
{
	RUN(serves_chunks_ranges_metrics_and_errors);
	return test_summary();
}

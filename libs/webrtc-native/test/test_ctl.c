#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "test.h"

static void op_echo(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	const char *text = ctl_json_get_str(req, "text");

	(*(int *)ctx)++;
	if (!text) {
		ctl_reply_error(r, "bad_request", "missing \"text\"");
		return;
	}
	ctl_json_out_raw(r->out, ",\"text\":", 8);
	ctl_json_out_str(r->out, text, strlen(text));
}

static const struct ctl_op ops[] = { { "echo", op_echo } };

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Pump the loop until `want` newline-terminated lines arrived on fd. */
static size_t read_lines(struct loop *l, int fd, char *buf, size_t cap, int want)
{
	size_t len = 0;
	int lines = 0;

	for (int spins = 0; spins < 200 && lines < want; spins++) {
		ssize_t n;
		loop_run_once(l, 10);
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				lines += buf[len + (size_t)i] == '\n';
			len += (size_t)n;
		} else if (n == 0) {
			break;
		}
	}
	buf[len] = '\0';
	return len;
}

TEST(requests_and_errors)
{
	char path[] = "/tmp/pearfog-ctl-test-XXXXXX";
	char sock[64], buf[4096];
	struct loop *l = loop_new();
	struct ctl_server *s;
	int err = 0, calls = 0, fd;
	const char *req = "{\"id\":1,\"op\":\"echo\",\"text\":\"hi\\n\"}\n"
			  "{\"id\":\"x\",\"op\":\"nope\"}\n"
			  "not json\n"
			  "{\"id\":3,\"op\":\"echo\"}\n";

	CHECK(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", path);
	s = ctl_server_new(l, sock, ops, 1, &calls, &err);
	CHECK(s != NULL);
	/* a second server on a live socket refuses */
	CHECK(ctl_server_new(l, sock, ops, 1, &calls, &err) == NULL);
	CHECK_EQ_INT(err, -EADDRINUSE);
	fd = connect_to(sock);
	CHECK(fd >= 0);
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	read_lines(l, fd, buf, sizeof(buf), 4);
	CHECK_EQ_STR(buf, "{\"id\":1,\"ok\":true,\"text\":\"hi\\n\"}\n"
			  "{\"id\":\"x\",\"ok\":false,\"error\":\"unknown_op\",\"message\":\"nope\"}\n"
			  "{\"id\":null,\"ok\":false,\"error\":\"bad_request\",\"message\":\"malformed JSON object\"}\n"
			  "{\"id\":3,\"ok\":false,\"error\":\"bad_request\",\"message\":\"missing \\\"text\\\"\"}\n");
	CHECK_EQ_INT(calls, 2);
	close(fd);
	ctl_server_free(s);
	CHECK(access(sock, F_OK) != 0); /* socket file removed */
	rmdir(path);
	loop_free(l);
}

TEST(oversized_line_is_refused_and_closed)
{
	char path[] = "/tmp/pearfog-ctl-test-XXXXXX";
	char sock[64], buf[4096];
	struct loop *l = loop_new();
	struct ctl_server *s;
	int err = 0, calls = 0, fd;
	size_t big = CTL_MAX_LINE + 8192, sent = 0;
	char *junk = malloc(big);

	memset(junk, 'a', big);
	CHECK(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", path);
	s = ctl_server_new(l, sock, ops, 1, &calls, &err);
	fd = connect_to(sock);
	while (sent < big) {
		ssize_t n = send(fd, junk + sent, big - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;
		loop_run_once(l, 1);
	}
	read_lines(l, fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "\"error\":\"too_large\"") != NULL);
	CHECK_EQ_INT(calls, 0);
	close(fd);
	free(junk);
	ctl_server_free(s);
	rmdir(path);
	loop_free(l);
}

int main(void)
{
	RUN(requests_and_errors);
	RUN(oversized_line_is_refused_and_closed);
	return test_summary();
}

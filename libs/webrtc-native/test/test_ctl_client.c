#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"
#include "test.h"

static void op_echo(void *ctx, const struct ctl_json *req, struct ctl_reply *r)
{
	const char *text = ctl_json_get_str(req, "text");

	if (!text) {
		ctl_reply_error(r, "bad_request", "missing \"text\"");
		return;
	}
	ctl_json_out_raw(r->out, ",\"text\":", 8);
	ctl_json_out_str(r->out, text, strlen(text));
}

static const struct ctl_op ops[] = { { "echo", op_echo } };

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(request_line)
{
	char msg[200];
	int err;
	char *r;

	r = ctl_client_request("status", NULL, &err, msg, sizeof(msg));
	CHECK_EQ_STR(r, "{\"id\":1,\"op\":\"status\"}\n");
	free(r);
	r = ctl_client_request("sharing", " { \"enabled\" : false }\n", &err, msg, sizeof(msg));
	CHECK_EQ_STR(r, "{\"id\":1,\"op\":\"sharing\",\"enabled\" : false }\n");
	free(r);
	r = ctl_client_request("status", "{}", &err, msg, sizeof(msg));
	CHECK_EQ_STR(r, "{\"id\":1,\"op\":\"status\"}\n");
	free(r);
	r = ctl_client_request("a\"b", NULL, &err, msg, sizeof(msg)); /* op is escaped */
	CHECK_EQ_STR(r, "{\"id\":1,\"op\":\"a\\\"b\"}\n");
	free(r);

	/* refused before anything is sent */
	const char *bad[] = { "[1]", "{\"a\":{\"b\":1}}", "{\"a\":1", "1", "{\"op\":\"x\"}",
			      "{\"id\":2}", "{\"a\":1}{\"b\":2}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = ctl_client_request("status", bad[i], &err, msg, sizeof(msg));
		CHECK(r == NULL);
		CHECK_EQ_INT(err, CTL_CLIENT_E_ARGS);
		CHECK(msg[0] != '\0');
	}
	CHECK(ctl_client_request("", NULL, &err, msg, sizeof(msg)) == NULL);
	CHECK_EQ_INT(err, CTL_CLIENT_E_ARGS);
}

TEST(call_against_server)
{
	char dir[] = "/tmp/pearfog-ctlc-XXXXXX", sock[80], msg[200], *reply;
	int ok, rc, status;
	pid_t pid;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	/* nothing listening yet */
	rc = ctl_client_call(sock, "echo", NULL, 500, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_E_CONNECT);
	CHECK(strstr(msg, "is pear-fogd running?") != NULL);

	pid = fork();
	if (pid == 0) {
		struct loop *l = loop_new();
		int err = 0;
		struct ctl_server *s = ctl_server_new(l, sock, ops, 1, NULL, &err);

		for (int i = 0; s && i < 300; i++)
			loop_run_once(l, 10);
		ctl_server_free(s);
		loop_free(l);
		_exit(s ? 0 : 1);
	}
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(10000);

	rc = ctl_client_call(sock, "echo", "{\"text\":\"hi\"}", 2000, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_OK);
	CHECK_EQ_INT(ok, 1);
	CHECK_EQ_STR(reply, "{\"id\":1,\"ok\":true,\"text\":\"hi\"}");
	free(reply);

	rc = ctl_client_call(sock, "echo", NULL, 2000, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_OK);
	CHECK_EQ_INT(ok, 0);
	CHECK(strstr(reply, "\"error\":\"bad_request\"") != NULL);
	free(reply);

	rc = ctl_client_call(sock, "nope", NULL, 2000, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_OK);
	CHECK_EQ_INT(ok, 0);
	CHECK(strstr(reply, "unknown_op") != NULL);
	free(reply);

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink(sock);
	rmdir(dir);
}

TEST(silent_and_junk_servers)
{
	char dir[] = "/tmp/pearfog-ctlc-XXXXXX", sock[80], msg[200], *reply;
	int ok, rc, fd, status;
	pid_t pid;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);

	/* a socket that accepts connections (backlog) and never answers: the deadline holds */
	fd = listen_unix(sock);
	CHECK(fd >= 0);
	rc = ctl_client_call(sock, "status", NULL, 200, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_E_TIMEOUT);
	CHECK(reply == NULL);

	/* a server that answers something that is not the control protocol (a fresh socket:
	 * the timed-out connection above is still queued on the old one) */
	close(fd);
	unlink(sock);
	fd = listen_unix(sock);
	CHECK(fd >= 0);
	pid = fork();
	if (pid == 0) {
		char buf[256];
		int c = accept(fd, NULL, NULL);

		if (c >= 0 && read(c, buf, sizeof(buf)) > 0 && write(c, "hello\n", 6) == 6)
			usleep(100000);
		_exit(0);
	}
	rc = ctl_client_call(sock, "status", NULL, 2000, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_E_REPLY);
	waitpid(pid, &status, 0);

	/* a server that closes without a reply */
	close(fd);
	unlink(sock);
	fd = listen_unix(sock);
	CHECK(fd >= 0);
	pid = fork();
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
		_exit(0);
	}
	rc = ctl_client_call(sock, "status", NULL, 2000, &reply, &ok, msg, sizeof(msg));
	CHECK_EQ_INT(rc, CTL_CLIENT_E_IO);
	waitpid(pid, &status, 0);

	close(fd);
	unlink(sock);
	rmdir(dir);
	CHECK(strcmp(ctl_client_strerror(CTL_CLIENT_E_TIMEOUT), "timed out") == 0);
}

int main(void)
{
	RUN(request_line);
	RUN(call_against_server);
	RUN(silent_and_junk_servers);
	return test_summary();
}

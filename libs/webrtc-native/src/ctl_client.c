/* ctl_client: see ctl_client.h. */
#include "ctl_client.h"
#include "monotime.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_json.h"

const char *ctl_client_strerror(int err)
{
	switch (err) {
	case CTL_CLIENT_OK: return "ok";
	case CTL_CLIENT_E_ARGS: return "bad arguments";
	case CTL_CLIENT_E_CONNECT: return "cannot connect to the control socket";
	case CTL_CLIENT_E_IO: return "control socket I/O error";
	case CTL_CLIENT_E_TIMEOUT: return "timed out";
	case CTL_CLIENT_E_TOO_LARGE: return "reply too large";
	case CTL_CLIENT_E_REPLY: return "malformed reply";
	}
	return "unknown error";
}

static int fail(int err, char *msg, size_t cap, const char *fmt, const char *arg)
{
	snprintf(msg, cap, fmt, arg ? arg : "");
	return err;
}

char *ctl_client_request(const char *op, const char *args_json, int *err, char *msg,
			 size_t msg_cap)
{
	struct ctl_json_out o = { 0 };
	struct ctl_json parsed;
	size_t n = args_json ? strlen(args_json) : 0;
	const char *body = args_json;
	char *copy;
	int rc;

	*err = CTL_CLIENT_OK;
	if (!op || !*op) {
		*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap, "missing operation name%s", NULL);
		return NULL;
	}
	/* The arguments must be one flat JSON object; check before sending. */
	while (n && (body[n - 1] == ' ' || body[n - 1] == '\n' || body[n - 1] == '\t'))
		n--;
	while (n && (*body == ' ' || *body == '\n' || *body == '\t'))
		body++, n--;
	if (args_json && n) {
		if (n > CTL_MAX_LINE - 64 || body[0] != '{' || body[n - 1] != '}') {
			*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap,
				    "arguments must be one JSON object, e.g. '{\"enabled\":false}'%s",
				    NULL);
			return NULL;
		}
		if (!(copy = strndup(body, n))) {
			*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap, "out of memory%s", NULL);
			return NULL;
		}
		rc = ctl_json_parse(copy, n, &parsed);
		if (rc < 0) {
			free(copy);
			*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap, "arguments: %s",
				    ctl_json_strerror(rc));
			return NULL;
		}
		rc = ctl_json_get(&parsed, "op") || ctl_json_get(&parsed, "id");
		free(copy); /* parsed points into copy */
		if (rc) {
			*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap,
				    "arguments must not set \"op\" or \"id\"%s", NULL);
			return NULL;
		}
	}
	ctl_json_out_raw(&o, "{\"id\":1,\"op\":", 13);
	ctl_json_out_str(&o, op, strlen(op));
	if (args_json && n > 2) {
		/* splice the members: skip '{', keep everything up to the final '}' */
		size_t k = 1;

		while (k < n - 1 && (body[k] == ' ' || body[k] == '\n' || body[k] == '\t'))
			k++;
		if (k < n - 1) {
			ctl_json_out_raw(&o, ",", 1);
			ctl_json_out_raw(&o, body + k, n - 1 - k);
		}
	}
	ctl_json_out_raw(&o, "}\n", 2);
	if (o.oom || !o.buf) {
		ctl_json_out_free(&o);
		*err = fail(CTL_CLIENT_E_ARGS, msg, msg_cap, "out of memory%s", NULL);
		return NULL;
	}
	return o.buf; /* NUL-terminated by ctl_json_out */
}

/* Wait for events on fd until the deadline; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int rc;

	do {
		left = deadline - (long long)monotime_ms();
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : rc;
}

static int send_all(int fd, const char *s, size_t n, long long deadline, char *msg, size_t cap)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			s += w, n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return fail(CTL_CLIENT_E_IO, msg, cap, "send: %s", strerror(errno));
		if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) <= 0)
			return fail(CTL_CLIENT_E_TIMEOUT, msg, cap, "timed out sending%s", NULL);
	}
	return CTL_CLIENT_OK;
}

static int read_line(int fd, char **line, long long deadline, char *msg, size_t cap)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size), *nl;

	if (!buf)
		return fail(CTL_CLIENT_E_IO, msg, cap, "out of memory%s", NULL);
	for (;;) {
		ssize_t r;
		int w;

		if (len + 1 >= size) {
			char *nb;

			if (size >= CTL_CLIENT_MAX_REPLY) {
				free(buf);
				return fail(CTL_CLIENT_E_TOO_LARGE, msg, cap,
					    "reply larger than 8 MiB%s", NULL);
			}
			if (!(nb = realloc(buf, size * 2))) {
				free(buf);
				return fail(CTL_CLIENT_E_IO, msg, cap, "out of memory%s", NULL);
			}
			buf = nb, size *= 2;
		}
		if ((w = wait_fd(fd, POLLIN, deadline)) <= 0) {
			free(buf);
			return w == 0 ? fail(CTL_CLIENT_E_TIMEOUT, msg, cap,
					     "no reply from pear-fogd%s", NULL)
				      : fail(CTL_CLIENT_E_IO, msg, cap, "poll: %s", strerror(errno));
		}
		r = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			free(buf);
			return fail(CTL_CLIENT_E_IO, msg, cap, "pear-fogd closed the connection%s",
				    r < 0 ? ": error" : "");
		}
		buf[len + (size_t)r] = '\0';
		nl = memchr(buf + len, '\n', (size_t)r);
		len += (size_t)r;
		if (nl) {
			*nl = '\0';
			*line = buf;
			return CTL_CLIENT_OK;
		}
	}
}

int ctl_client_call(const char *path, const char *op, const char *args_json, int timeout_ms,
		    char **reply, int *ok, char *msg, size_t msg_cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline =
		(long long)monotime_ms() + (timeout_ms > 0 ? timeout_ms : CTL_CLIENT_TIMEOUT_MS);
	char *req, *line = NULL;
	int fd, rc;

	*reply = NULL;
	*ok = 0;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return fail(CTL_CLIENT_E_ARGS, msg, msg_cap, "control socket path too long%s",
			    NULL);
	if (!(req = ctl_client_request(op, args_json, &rc, msg, msg_cap)))
		return rc;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = fail(CTL_CLIENT_E_CONNECT, msg, msg_cap, "%s", path);
		snprintf(msg + strlen(msg), msg_cap - strlen(msg), ": %s (is pear-fogd running?)",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		free(req);
		return rc;
	}
	rc = send_all(fd, req, strlen(req), deadline, msg, msg_cap);
	free(req);
	if (rc == CTL_CLIENT_OK)
		rc = read_line(fd, &line, deadline, msg, msg_cap);
	close(fd);
	if (rc != CTL_CLIENT_OK)
		return rc;
	/* ctl.c writes every reply as {"id":<request id>,"ok":true|false,...}; we sent id 1. */
	if (strncmp(line, "{\"id\":1,\"ok\":true", 17) == 0)
		*ok = 1;
	else if (strncmp(line, "{\"id\":1,\"ok\":false", 18) != 0) {
		free(line);
		return fail(CTL_CLIENT_E_REPLY, msg, msg_cap, "not a control-protocol reply%s",
			    NULL);
	}
	*reply = line;
	return CTL_CLIENT_OK;
}

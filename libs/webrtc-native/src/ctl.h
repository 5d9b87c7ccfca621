/* ctl: pear-fogd's local control socket (unix stream, JSON lines).
 *
 * Request:  {"id": <number, echoed>, "op": "<name>", ...operation fields}\n
 * Response: {"id": <same>, "ok": true, ...result fields}\n
 *       or  {"id": <same>, "ok": false, "error": "<code>", "message": "<text>"}\n
 *
 * Operations are a table of { name, handler } given by the daemon.  A handler appends
 * result members (each starting with ',') to reply->out, or calls ctl_reply_error().
 * Limits: CTL_MAX_CLIENTS connections, CTL_MAX_LINE bytes per request line (longer →
 * "too_large" error and the connection is closed), CTL_MAX_PENDING_OUT unsent reply
 * bytes per client (a client that does not read is dropped). */
#ifndef PEARFOG_CTL_H
#define PEARFOG_CTL_H

#include <stddef.h>

#include "ctl_json.h"
#include "loop.h"

#define CTL_MAX_CLIENTS 16
#define CTL_MAX_LINE (512 * 1024)
#define CTL_MAX_PENDING_OUT (4 * 1024 * 1024)

struct ctl_reply {
	struct ctl_json_out *out;
	const char *error; /* set by ctl_reply_error */
	char message[256];
};

struct ctl_op {
	const char *name;
	void (*handler)(void *ctx, const struct ctl_json *req, struct ctl_reply *reply);
};

struct ctl_server;

/* Listen on a unix socket at path (an existing stale socket file is replaced; an
 * existing live one → -EADDRINUSE, so a second daemon does not steal the first's). */
struct ctl_server *ctl_server_new(struct loop *l, const char *path, const struct ctl_op *ops,
				  size_t n_ops, void *ctx, int *err);
void ctl_server_free(struct ctl_server *s);

void ctl_reply_error(struct ctl_reply *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

/* ctl_client: one request on pear-fogd's control socket, for `pear-fogd ctl OP [JSON]`.
 *
 * Used by shell tools on the router (the rpcd plugin, the `pear-fog` CLI) that have no
 * unix-socket client of their own.  Blocking, with a deadline: this runs in a short-lived
 * command process, never in the daemon's loop.  Protocol: ctl.h. */
#ifndef PEARFOG_CTL_CLIENT_H
#define PEARFOG_CTL_CLIENT_H

#include <stddef.h>

#define CTL_CLIENT_TIMEOUT_MS 10000 /* whole call: connect, send, read the reply line */
#define CTL_CLIENT_MAX_REPLY (8 * 1024 * 1024) /* the largest reply line we read */

enum ctl_client_err {
	CTL_CLIENT_OK = 0,
	CTL_CLIENT_E_ARGS = -1,     /* op or JSON arguments invalid */
	CTL_CLIENT_E_CONNECT = -2,  /* socket missing or refused: daemon not running */
	CTL_CLIENT_E_IO = -3,       /* send/receive failed or the daemon closed early */
	CTL_CLIENT_E_TIMEOUT = -4,
	CTL_CLIENT_E_TOO_LARGE = -5,
	CTL_CLIENT_E_REPLY = -6,    /* the reply is not a control-protocol JSON line */
};

const char *ctl_client_strerror(int err);

/* Build the request line for op with args_json (a flat JSON object, or NULL for none):
 * {"id":1,"op":"<op>",<args' members>}\n.  Returns a malloc'd string, or NULL with err
 * (message in msg) when op is empty or args_json is not a flat JSON object. */
char *ctl_client_request(const char *op, const char *args_json, int *err, char *msg,
			 size_t msg_cap);

/* Send one request to the socket at path and wait for its reply line.  On success returns
 * CTL_CLIENT_OK and *reply (malloc'd, without the newline); *ok is the reply's "ok".  On
 * failure returns a negative enum ctl_client_err and a one-line message in msg. */
int ctl_client_call(const char *path, const char *op, const char *args_json, int timeout_ms,
		    char **reply, int *ok, char *msg, size_t msg_cap);

#endif

/* mod_fog_proc: fog.spawn(argv, opts) — run `ubus`/`uci`-style commands without blocking
 * the loop (see mod_fog.h).
 *
 * posix_spawnp with stdin on /dev/null and stdout/stderr on non-blocking pipes watched by
 * the loop; each stream is capped (opts.maxOutput, default MOD_FOG_SPAWN_MAX_OUTPUT) and
 * the whole run has a deadline (opts.timeoutMs, default MOD_FOG_SPAWN_TIMEOUT_MS); past
 * either the child is killed (SIGKILL) and the promise rejects ("too_large"/"timeout").
 * The child is reaped once both pipes reach EOF (polled with waitpid(WNOHANG) every
 * PROC_REAP_POLL_MS: a child may close its output before it exits). */
#include "mod_fog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "js_host.h"

#define PROC_REAP_POLL_MS 5

extern char **environ;

struct proc_stream {
	struct loop_fd lfd;
	uint8_t *buf;
	size_t len;
	bool eof;
};

struct fog_proc {
	struct js_host_res res;
	struct js_host *h;
	pid_t pid;
	struct proc_stream out, err;
	struct loop_timer deadline, reap;
	size_t max_output;
	const char *fail_code; /* "timeout" / "too_large" once killed for it */
	JSValue funcs[2];
};

static unsigned n_procs;

static void stream_close(struct js_host *h, struct proc_stream *s)
{
	if (s->lfd.fd >= 0) {
		loop_fd_del(js_host_loop(h), &s->lfd);
		close(s->lfd.fd);
		s->lfd.fd = -1;
	}
	s->eof = true;
}

static void proc_free(struct fog_proc *p, JSContext *ctx)
{
	struct loop *l = js_host_loop(p->h);

	js_host_res_del(p->h, &p->res);
	stream_close(p->h, &p->out);
	stream_close(p->h, &p->err);
	loop_timer_cancel(l, &p->deadline);
	loop_timer_cancel(l, &p->reap);
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	JS_FreeValue(ctx, p->funcs[0]);
	JS_FreeValue(ctx, p->funcs[1]);
	free(p->out.buf);
	free(p->err.buf);
	free(p);
	n_procs--;
}

static void proc_drop(struct js_host_res *r, JSContext *ctx)
{
	proc_free(container_of(r, struct fog_proc, res), ctx);
}

static void proc_kill(struct fog_proc *p, const char *code)
{
	if (!p->fail_code)
		p->fail_code = code;
	kill(p->pid, SIGKILL);
}

/* Both streams done and the child reaped: settle. */
static void proc_finish(struct fog_proc *p, int status)
{
	struct js_host *h = p->h;
	JSContext *ctx = js_host_ctx(h);
	JSValue v, funcs[2];
	bool ok = !p->fail_code;

	p->pid = -1;
	if (!ctx)
		return; /* the generation is being torn down; proc_drop frees p */
	if (ok) {
		v = JS_NewObject(ctx);
		JS_SetPropertyStr(ctx, v, "status",
				  WIFEXITED(status) ? JS_NewInt32(ctx, WEXITSTATUS(status)) : JS_NULL);
		JS_SetPropertyStr(ctx, v, "signal",
				  WIFSIGNALED(status) ? JS_NewInt32(ctx, WTERMSIG(status)) : JS_NULL);
		JS_SetPropertyStr(ctx, v, "stdout",
				  JS_NewStringLen(ctx, (const char *)p->out.buf, p->out.len));
		JS_SetPropertyStr(ctx, v, "stderr",
				  JS_NewStringLen(ctx, (const char *)p->err.buf, p->err.len));
	} else {
		v = mod_fog_error(ctx, "spawn", p->fail_code, "spawn: child killed (%s)", p->fail_code);
	}
	funcs[0] = p->funcs[0];
	funcs[1] = p->funcs[1];
	p->funcs[0] = p->funcs[1] = JS_UNDEFINED;
	proc_free(p, ctx);
	js_host_settle(h, funcs, ok, v);
}

static void proc_try_reap(struct fog_proc *p)
{
	int status = 0;
	pid_t r;

	if (!p->out.eof || !p->err.eof)
		return;
	r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid || (r < 0 && errno == ECHILD))
		proc_finish(p, status);
	else
		loop_timer_set(js_host_loop(p->h), &p->reap, PROC_REAP_POLL_MS);
}

static void reap_cb(struct loop_timer *t)
{
	proc_try_reap(container_of(t, struct fog_proc, reap));
}

static void deadline_cb(struct loop_timer *t)
{
	proc_kill(container_of(t, struct fog_proc, deadline), "timeout");
}

static void stream_cb(struct fog_proc *p, struct proc_stream *s)
{
	uint8_t chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(s->lfd.fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			stream_close(p->h, s);
			break;
		}
		if (s->len + (size_t)n > p->max_output) {
			proc_kill(p, "too_large");
			stream_close(p->h, s);
			break;
		}
		uint8_t *nb = realloc(s->buf, s->len + (size_t)n);

		if (!nb) {
			proc_kill(p, "ENOMEM");
			stream_close(p->h, s);
			break;
		}
		memcpy(nb + s->len, chunk, (size_t)n);
		s->buf = nb;
		s->len += (size_t)n;
	}
	proc_try_reap(p);
}

static void out_cb(struct loop_fd *lfd, uint32_t events)
{
	struct fog_proc *p = container_of(lfd, struct fog_proc, out.lfd);

	stream_cb(p, &p->out);
}

static void err_cb(struct loop_fd *lfd, uint32_t events)
{
	struct fog_proc *p = container_of(lfd, struct fog_proc, err.lfd);

	stream_cb(p, &p->err);
}

static int spawn_child(struct fog_proc *p, char **argv)
{
	posix_spawn_file_actions_t fa;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc;

	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	rc = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		goto fail;
	close(out[1]);
	close(err[1]);
	p->out.lfd.fd = out[0];
	p->err.lfd.fd = err[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	p->pid = -1;
	return rc;
}

static int get_u32_opt(JSContext *ctx, JSValueConst opts, const char *name, uint32_t *v)
{
	JSValue x;
	int rc = 0;

	if (!JS_IsObject(opts))
		return 0;
	x = JS_GetPropertyStr(ctx, opts, name);
	if (!JS_IsUndefined(x))
		rc = JS_ToUint32(ctx, v, x);
	JS_FreeValue(ctx, x);
	return rc;
}

JSValue mod_fog_spawn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct js_host *h = js_host_of(ctx);
	char *args[MOD_FOG_MAX_SPAWN_ARGS + 1] = { 0 };
	uint32_t n = 0, timeout = MOD_FOG_SPAWN_TIMEOUT_MS, max_out = MOD_FOG_SPAWN_MAX_OUTPUT;
	struct fog_proc *p = NULL;
	JSValue len, rv = JS_EXCEPTION;
	int rc;

	if (!JS_IsArray(argv[0]))
		return JS_ThrowTypeError(ctx, "spawn(argv): argv must be an array of strings");
	len = JS_GetPropertyStr(ctx, argv[0], "length");
	rc = JS_ToUint32(ctx, &n, len);
	JS_FreeValue(ctx, len);
	if (rc < 0)
		return JS_EXCEPTION;
	if (n < 1 || n > MOD_FOG_MAX_SPAWN_ARGS)
		return JS_ThrowRangeError(ctx, "spawn: 1..%d arguments", MOD_FOG_MAX_SPAWN_ARGS);
	if (argc > 1 && (get_u32_opt(ctx, argv[1], "timeoutMs", &timeout) < 0 ||
			 get_u32_opt(ctx, argv[1], "maxOutput", &max_out) < 0))
		return JS_EXCEPTION;
	for (uint32_t i = 0; i < n; i++) {
		JSValue a = JS_GetPropertyUint32(ctx, argv[0], i);
		const char *s = JS_IsString(a) ? JS_ToCString(ctx, a) : NULL;

		JS_FreeValue(ctx, a);
		if (!s) {
			JS_ThrowTypeError(ctx, "spawn: argv[%u] is not a string", i);
			goto out;
		}
		args[i] = strdup(s);
		JS_FreeCString(ctx, s);
		if (!args[i]) {
			JS_ThrowOutOfMemory(ctx);
			goto out;
		}
	}
	if (n_procs >= MOD_FOG_MAX_PROCS) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, "spawn", "busy",
							       "spawn: %d children running", MOD_FOG_MAX_PROCS));
		goto out;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		JS_ThrowOutOfMemory(ctx);
		goto out;
	}
	p->h = h;
	p->max_output = max_out;
	p->out.lfd.fd = p->err.lfd.fd = -1;
	p->out.lfd.cb = out_cb;
	p->err.lfd.cb = err_cb;
	p->deadline.cb = deadline_cb;
	p->reap.cb = reap_cb;
	p->res.drop = proc_drop;
	if ((rc = spawn_child(p, args)) != 0) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, "spawn", mod_fog_errno_code(rc),
							       "spawn %s: %s", args[0], strerror(rc)));
		free(p);
		goto out;
	}
	n_procs++;
	p->funcs[0] = p->funcs[1] = JS_UNDEFINED;
	js_host_res_add(h, &p->res);
	rv = JS_NewPromiseCapability(ctx, p->funcs);
	if (JS_IsException(rv) || loop_fd_add(js_host_loop(h), &p->out.lfd, EPOLLIN) < 0 ||
	    loop_fd_add(js_host_loop(h), &p->err.lfd, EPOLLIN) < 0) {
		if (!JS_IsException(rv)) {
			JS_FreeValue(ctx, rv);
			rv = JS_ThrowInternalError(ctx, "spawn: cannot watch the child's output");
		}
		proc_free(p, ctx);
		goto out;
	}
	loop_timer_set(js_host_loop(h), &p->deadline, timeout);
out:
	for (uint32_t i = 0; i < n && i < MOD_FOG_MAX_SPAWN_ARGS; i++)
		free(args[i]);
	return rv;
}

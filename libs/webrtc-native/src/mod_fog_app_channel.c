/* mod_fog_app_channel: browsers' app channels (rtc_server.h) ↔ the agent (issue 7,
 * docs/apps.md).
 *
 *   fog.appChannels(onEvent)   onEvent("open", channel, app) / ("message", channel, text) /
 *                              ("close", channel); undefined clears.  One handler per agent
 *                              generation.
 *   fog.appChannelSend(channel, text)    throws FogError code "closed", "too_large",
 *                                        "queue_full"
 *   fog.appChannelClose(channel, last?)  close after `last` (a {"close": …} notice)
 *
 * rtc_server calls the mod_fog_app_channel_* hooks inside its SCTP callback chain, so events
 * are queued and delivered from a zero-delay loop timer (bounded: MOD_FOG_APP_EVENTS events,
 * MOD_FOG_APP_EVENT_BYTES bytes; a message past that closes its channel with "busy").  With
 * no handler (no agent, or an agent that never asked) an opening channel is closed with
 * "no_agent". */
#include "mod_fog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_channel.h"
#include "js_host.h"
#include "log.h"

enum ev_type { EV_OPEN, EV_MESSAGE, EV_CLOSE, EV_REFUSE_BUSY };

struct ev {
	struct ev *next;
	enum ev_type type;
	char channel[48];
	char app[APP_CHANNEL_NAME_MAX + 1];
	size_t len;
	char text[]; /* EV_MESSAGE */
};

static struct {
	struct loop *loop;
	struct mod_fog_app_io io;
	struct loop_timer flush;
	struct ev *head, *tail;
	size_t n, bytes;
	/* the agent's handler (per generation) */
	struct js_host_res res;
	struct js_host *h;
	JSValue fn;
	bool have_fn;
} g;

static const char BUSY[] = "{\"close\":{\"code\":\"busy\",\"detail\":\"the app does not keep up\"}}";
static const char NO_AGENT[] =
	"{\"close\":{\"code\":\"no_agent\",\"detail\":\"the node's agent is not running\"}}";

static void flush_cb(struct loop_timer *t);

static void push(enum ev_type type, const char *channel, const char *app, const char *text,
		 size_t len)
{
	struct ev *e;

	if (!g.loop)
		return;
	if (type == EV_MESSAGE &&
	    (g.n >= MOD_FOG_APP_EVENTS || g.bytes + len > MOD_FOG_APP_EVENT_BYTES)) {
		type = EV_REFUSE_BUSY; /* small, so the queue stays bounded in practice */
		len = 0;
	}
	if (!(e = calloc(1, sizeof(*e) + (type == EV_MESSAGE ? len : 0) + 1)))
		return;
	e->type = type;
	snprintf(e->channel, sizeof(e->channel), "%s", channel);
	if (app)
		snprintf(e->app, sizeof(e->app), "%s", app);
	if (type == EV_MESSAGE) {
		memcpy(e->text, text, len);
		e->len = len;
	}
	if (g.tail)
		g.tail->next = e;
	else
		g.head = e;
	g.tail = e;
	g.n++;
	g.bytes += e->len;
	if (!loop_timer_pending(&g.flush))
		loop_timer_set(g.loop, &g.flush, 0);
}

void mod_fog_app_channel_io(struct loop *l, const struct mod_fog_app_io *io)
{
	g.loop = l;
	g.flush.cb = flush_cb;
	if (io)
		g.io = *io;
	else
		memset(&g.io, 0, sizeof(g.io));
	if (!l || !io) {
		while (g.head) {
			struct ev *e = g.head;

			g.head = e->next;
			free(e);
		}
		g.tail = NULL;
		g.n = g.bytes = 0;
	}
}

void mod_fog_app_channel_open(const char *channel, const char *app)
{
	push(EV_OPEN, channel, app, NULL, 0);
}

void mod_fog_app_channel_message(const char *channel, const char *text, size_t len)
{
	push(EV_MESSAGE, channel, NULL, text, len);
}

void mod_fog_app_channel_closed(const char *channel)
{
	push(EV_CLOSE, channel, NULL, NULL, 0);
}

static void deliver(struct ev *e)
{
	JSContext *ctx = g.have_fn ? js_host_ctx(g.h) : NULL;
	JSValue args[3], fn;
	int argc = 2;

	if (e->type == EV_REFUSE_BUSY) {
		if (g.io.close)
			g.io.close(g.io.user, e->channel, BUSY, sizeof(BUSY) - 1);
		return;
	}
	if (!ctx) {
		if (e->type == EV_OPEN && g.io.close)
			g.io.close(g.io.user, e->channel, NO_AGENT, sizeof(NO_AGENT) - 1);
		return;
	}
	args[0] = JS_NewString(ctx, e->type == EV_OPEN ? "open" : e->type == EV_MESSAGE ? "message"
										   : "close");
	args[1] = JS_NewString(ctx, e->channel);
	if (e->type == EV_OPEN)
		args[argc++] = JS_NewString(ctx, e->app);
	else if (e->type == EV_MESSAGE)
		args[argc++] = JS_NewStringLen(ctx, e->text, e->len);
	fn = JS_DupValue(ctx, g.fn);
	js_host_call(g.h, "app channel event", fn, argc, args);
	JS_FreeValue(ctx, fn);
	for (int i = 0; i < argc; i++)
		JS_FreeValue(ctx, args[i]);
}

static void flush_cb(struct loop_timer *t)
{
	/* At most the events queued now: the handler may queue more (they wait a turn). */
	size_t n = g.n;

	while (n-- && g.head) {
		struct ev *e = g.head;

		g.head = e->next;
		if (!g.head)
			g.tail = NULL;
		g.n--;
		g.bytes -= e->len;
		deliver(e);
		free(e);
	}
	if (g.head)
		loop_timer_set(g.loop, &g.flush, 0);
}

/* ---- the agent's side ------------------------------------------------------------------- */

static void handler_drop(struct js_host_res *r, JSContext *ctx)
{
	JS_FreeValue(ctx, g.fn);
	g.fn = JS_UNDEFINED;
	g.have_fn = false;
	g.h = NULL;
}

/* appChannels(onEvent | undefined) */
JSValue mod_fog_app_channels(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	struct js_host *h = js_host_of(ctx);

	if (!JS_IsUndefined(argv[0]) && !JS_IsFunction(ctx, argv[0]))
		return JS_ThrowTypeError(ctx, "appChannels(onEvent): not a function");
	if (g.have_fn) {
		js_host_res_del(g.h, &g.res);
		handler_drop(&g.res, ctx);
	}
	if (JS_IsFunction(ctx, argv[0])) {
		g.fn = JS_DupValue(ctx, argv[0]);
		g.h = h;
		g.have_fn = true;
		g.res.drop = handler_drop;
		js_host_res_add(h, &g.res);
	}
	return JS_UNDEFINED;
}

/* (channel, text) arguments as C strings; text optional (absent: NULL).  false: an
 * exception is pending, nothing to free. */
static bool channel_args(JSContext *ctx, int argc, JSValueConst *argv, bool text_required,
			 const char **ch, const char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (!(*ch = JS_ToCString(ctx, argv[0])))
		return false;
	if ((text_required || (argc > 1 && JS_IsString(argv[1]))) &&
	    !(*text = JS_ToCStringLen(ctx, len, argv[1]))) {
		JS_FreeCString(ctx, *ch);
		return false;
	}
	return true;
}

/* appChannelSend(channel, text) */
JSValue mod_fog_app_channel_send(JSContext *ctx, JSValueConst this_val, int argc,
				 JSValueConst *argv)
{
	const char *ch, *text;
	size_t len;
	int rc = -ENOENT;

	if (!channel_args(ctx, argc, argv, true, &ch, &text, &len))
		return JS_EXCEPTION;
	if (g.io.send)
		rc = g.io.send(g.io.user, ch, text, len);
	JS_FreeCString(ctx, ch);
	JS_FreeCString(ctx, text);
	if (rc == 0)
		return JS_UNDEFINED;
	JS_Throw(ctx, mod_fog_error(ctx, "app_channel_send",
				    rc == -ENOENT ? "closed" : app_channel_strerror(rc),
				    "app_channel_send: %s",
				    rc == -ENOENT ? "no such open channel" : app_channel_strerror(rc)));
	return JS_EXCEPTION;
}

/* appChannelClose(channel, last?) → false if no such channel */
JSValue mod_fog_app_channel_close(JSContext *ctx, JSValueConst this_val, int argc,
				  JSValueConst *argv)
{
	const char *ch, *last;
	size_t len;
	int rc = -ENOENT;

	if (!channel_args(ctx, argc, argv, false, &ch, &last, &len))
		return JS_EXCEPTION;
	if (g.io.close)
		rc = g.io.close(g.io.user, ch, last, len);
	JS_FreeCString(ctx, ch);
	JS_FreeCString(ctx, last);
	return JS_NewBool(ctx, rc == 0);
}

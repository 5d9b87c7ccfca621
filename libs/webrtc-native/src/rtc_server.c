#include "rtc_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "app_channel.h"
#include "channel.h"
#include "chunk_proto.h"
#include "crypto.h"
#include "dtls.h"
#include "ice_agent.h"
#include "ice_lite.h"
#include "log.h"
#include "metrics.h"
#include "sctp.h"
#include "sdp.h"
#include "stun.h"
#include "stun_client.h"
#include "token_bucket.h"
#include "udp.h"

/* Bytes we let SCTP hold unacknowledged per session before waiting for on_writable. */
#define RTC_SEND_HIGH_WATER (256 * 1024)
#define RTC_SEND_LOW_WATER (128 * 1024) /* resume sending below this */
#define RTC_HOUSEKEEPING_MS 1000
#define RTC_CONNECT_TIMEOUT_MS 30000 /* offer accepted → DTLS up */
#define RTC_MAX_CHANNELS 8 /* chunk + app channels per session */
#define RTC_ANSWER_CAP 4096
#define RTC_ICE_TICK_MS 10	 /* while checks are pending (agents pace themselves, Ta) */
#define RTC_ICE_IDLE_TICK_MS 250 /* otherwise: consent requests, STUN refreshes */

struct rtc_session;

struct rtc_channel {
	struct channel *ch;
	struct rtc_session *sess;
	enum app_channel_kind kind; /* by label (app_channel.h) */
	struct chunk_sender sender; /* APP_CHANNEL_CHUNKS */
	/* APP_CHANNEL_APP: messages waiting for SCTP room; close once sent (closing) */
	struct app_msg_queue out;
	bool closing;
};

struct rtc_session {
	struct rtc_server *srv;
	char id[RTC_SESSION_ID_LEN + 1];
	struct ice_agent ice;
	struct dtls *dtls;
	struct sctp_assoc *sctp;
	struct channel_mgr *chans;
	struct rtc_channel channels[RTC_MAX_CHANNELS];
	struct udp_addr remote;
	bool have_remote;
	bool dead; /* reaped by the server after the current callback chain */
	bool waiting_room; /* a sender stopped at RTC_SEND_HIGH_WATER */
	uint16_t remote_sctp_port;
	uint32_t remote_max_message;
	struct loop_timer dtls_timer;
	struct loop_timer pump_timer;
	struct token_bucket bucket;
	uint64_t created_ms, bytes_sent;
};

struct rtc_server {
	struct loop *loop;
	struct store *store;
	struct udp_socket *udp;
	struct dtls_cert *cert;
	struct dtls_ctx *dtls_ctx;
	struct rtc_session **sessions;
	uint32_t max_sessions, n_sessions;
	struct rtc_session *last_hit; /* DTLS routing cache: bursts come from one peer */
	char *addrs[RTC_MAX_ADDRS];
	size_t n_addrs;
	uint32_t max_message_size;
	uint64_t peer_rate;
	bool sharing;
	struct token_bucket bucket; /* global upload */
	bool full_ice;		/* false: ICE-lite answers, no checks of our own */
	int family;		/* the UDP socket's address family */
	struct stun_client stun[RTC_MAX_STUN]; /* server-reflexive address + NAT keepalive */
	size_t n_stun;
	struct sockaddr_storage mapped;	/* port mapping on the gateway (portmap), if any */
	socklen_t mapped_len;
	struct loop_timer housekeeping, sctp_tick, reap, ice_tick;
	struct rtc_app_hooks app_hooks; /* app channels' events (pear-fogd: the agent) */
	uint8_t frame[CHUNK_PROTO_DEFAULT_MAX_FRAME + CHUNK_PROTO_DATA_HDR_LEN];
};

static void session_pump(struct rtc_session *s);
static void app_channel_gone(struct rtc_session *s, struct rtc_channel *rc);

/* ---- session lifetime -------------------------------------------------------------- */

static void session_free(struct rtc_session *s)
{
	struct rtc_server *srv = s->srv;

	for (size_t i = 0; i < RTC_MAX_CHANNELS; i++) {
		if (s->channels[i].ch && s->channels[i].kind == APP_CHANNEL_CHUNKS)
			chunk_sender_free(&s->channels[i].sender);
		else if (s->channels[i].ch)
			app_channel_gone(s, &s->channels[i]); /* no on_close after mgr_free */
	}
	if (s->chans)
		channel_mgr_free(s->chans); /* frees the SCTP association too */
	if (s->dtls)
		dtls_free(s->dtls);
	loop_timer_cancel(srv->loop, &s->dtls_timer);
	loop_timer_cancel(srv->loop, &s->pump_timer);
	if (srv->last_hit == s)
		srv->last_hit = NULL;
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		if (srv->sessions[i] == s) {
			srv->sessions[i] = srv->sessions[--srv->n_sessions];
			break;
		}
	}
	metrics_set(M_PEERS_ACTIVE, srv->n_sessions);
	free(s);
}

static void reap_cb(struct loop_timer *t)
{
	struct rtc_server *srv = container_of(t, struct rtc_server, reap);

	for (uint32_t i = 0; i < srv->n_sessions;) {
		struct rtc_session *s = srv->sessions[i];
		if (s->dead)
			session_free(s); /* moves the last session into slot i */
		else
			i++;
	}
}

/* Mark for freeing outside the current callback chain (DTLS/SCTP may be on the stack). */
static void session_kill(struct rtc_session *s, const char *why)
{
	if (s->dead)
		return;
	log_debug("session %s closed: %s (ICE: %llu checks sent, %llu pairs ok, %llu failed, "
		  "%llu prflx, consent %llu/%llu)", s->id, why,
		  (unsigned long long)s->ice.counters.checks_sent,
		  (unsigned long long)s->ice.counters.checks_ok,
		  (unsigned long long)s->ice.counters.checks_failed,
		  (unsigned long long)s->ice.counters.prflx,
		  (unsigned long long)s->ice.counters.consent_ok,
		  (unsigned long long)s->ice.counters.consent_sent);
	s->dead = true;
	loop_timer_set(s->srv->loop, &s->srv->reap, 0);
}

/* ---- app channels (issue 7, docs/apps.md) ------------------------------------------ */

/* "<session id>.<stream>": how the agent names an app channel. */
static void app_channel_id(const struct rtc_session *s, const struct rtc_channel *rc,
			   char out[RTC_APP_CHANNEL_ID_LEN + 1])
{
	snprintf(out, RTC_APP_CHANNEL_ID_LEN + 1, "%s.%u", s->id, (unsigned)channel_stream(rc->ch));
}

/* The channel is gone (closed, or its session freed): tell the hooks, drop the queue. */
static void app_channel_gone(struct rtc_session *s, struct rtc_channel *rc)
{
	struct rtc_server *srv = s->srv;
	char id[RTC_APP_CHANNEL_ID_LEN + 1];

	app_channel_id(s, rc, id);
	app_msg_queue_clear(&rc->out);
	if (srv->app_hooks.on_close)
		srv->app_hooks.on_close(srv->app_hooks.user, id);
}

/* The node's and this session's upload buckets (upload_cap, peer_upload_cap) hold `len`
 * bytes now; if not, the pump runs again when they will (pump_timer) and false. */
static bool upload_allows(struct rtc_session *s, size_t len, uint64_t now)
{
	struct rtc_server *srv = s->srv;
	uint64_t wait;

	if (token_bucket_available2(&srv->bucket, &s->bucket, now) >= len)
		return true;
	wait = token_bucket_wait2_ms(&srv->bucket, &s->bucket, len, now);
	metrics_add(M_RATE_LIMITED, 1);
	if (wait != TOKEN_BUCKET_NEVER)
		loop_timer_set(srv->loop, &s->pump_timer, wait ? wait : 1);
	return false;
}

/* Send queued app messages while SCTP has room (RFC 8831 §6.6: one JSON text per message,
 * PPID 51) and the node's upload buckets allow: an app's bytes to browsers are upload like
 * chunks, so the owner's upload_cap / peer_upload_cap bound them too (the app's own
 * allowance was checked when it sent).  false: stop pumping this session for now — SCTP is
 * at its high-water mark (waiting_room set) or the buckets are empty (pump_timer set). */
static bool app_channels_pump(struct rtc_session *s)
{
	struct rtc_server *srv = s->srv;
	uint64_t now = loop_now_ms(srv->loop);

	for (size_t i = 0; i < RTC_MAX_CHANNELS; i++) {
		struct rtc_channel *rc = &s->channels[i];
		const struct app_msg *m;
		int rc_send;

		if (!rc->ch || rc->kind != APP_CHANNEL_APP)
			continue;
		while ((m = app_msg_queue_peek(&rc->out))) {
			if (sctp_assoc_buffered(s->sctp) >= RTC_SEND_HIGH_WATER) {
				s->waiting_room = true;
				return false;
			}
			if (!upload_allows(s, m->len, now))
				return false;
			rc_send = channel_send(rc->ch, false, (const uint8_t *)m->data, m->len);
			if (rc_send == SCTP_E_AGAIN) {
				log_debug("session %s: app send waits for SCTP room", s->id);
				s->waiting_room = true;
				return false;
			}
			if (rc_send < 0) {
				log_warn("session %s: app send failed (%s); closing the channel", s->id,
					 sctp_strerror(rc_send));
				app_msg_queue_clear(&rc->out);
				rc->closing = true;
				break;
			}
			token_bucket_take2(&srv->bucket, &s->bucket, m->len, now);
			metrics_add(M_APP_MESSAGES_OUT, 1);
			metrics_add(M_APP_BYTES_OUT, (int64_t)m->len);
			app_msg_queue_pop(&rc->out);
		}
		if (rc->closing && !app_msg_queue_peek(&rc->out)) {
			rc->closing = false; /* once: on_close follows the stream reset */
			channel_close(rc->ch);
		}
	}
	return true;
}

/* Close an app channel after a last text (a {"close": …} notice; NULL: none). */
static void app_channel_close_with(struct rtc_channel *rc, const char *last, size_t len)
{
	if (rc->closing)
		return;
	if (last)
		(void)app_msg_queue_push(&rc->out, last, len, true); /* ENOMEM: closed without */
	rc->closing = true;
	session_pump(rc->sess);
}

/* Bad input from the browser closes that channel only, with a notice it can show. */
static void app_channel_refuse(struct rtc_channel *rc, const char *code, const char *detail)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "{\"close\":{\"code\":\"%s\",\"detail\":\"%s\"}}", code,
			 detail);

	metrics_add(M_BAD_APP_MESSAGE, 1);
	app_channel_close_with(rc, msg, (size_t)n);
}

static struct rtc_channel *app_channel_find(struct rtc_server *srv, const char *id)
{
	const char *dot = strrchr(id, '.');
	char *end;
	unsigned long stream;

	if (!dot || (size_t)(dot - id) != RTC_SESSION_ID_LEN)
		return NULL;
	stream = strtoul(dot + 1, &end, 10);
	if (*end || dot[1] == '\0' || stream > 65535)
		return NULL;
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];

		if (s->dead || strncmp(s->id, id, RTC_SESSION_ID_LEN) != 0)
			continue;
		for (size_t j = 0; j < RTC_MAX_CHANNELS; j++) {
			struct rtc_channel *rc = &s->channels[j];

			if (rc->ch && rc->kind == APP_CHANNEL_APP && channel_stream(rc->ch) == stream)
				return rc;
		}
	}
	return NULL;
}

void rtc_server_set_app_hooks(struct rtc_server *srv, const struct rtc_app_hooks *h)
{
	if (h)
		srv->app_hooks = *h;
	else
		memset(&srv->app_hooks, 0, sizeof(srv->app_hooks));
}

int rtc_server_app_send(struct rtc_server *srv, const char *id, const char *text, size_t len)
{
	struct rtc_channel *rc = app_channel_find(srv, id);
	int rc_push;

	if (!rc || rc->closing)
		return -ENOENT;
	if (len > APP_CHANNEL_MAX_MESSAGE + RTC_APP_FRAME_OVERHEAD)
		return APP_CHANNEL_E_TOO_LARGE;
	if ((rc_push = app_msg_queue_push(&rc->out, text, len, false)) < 0)
		return rc_push;
	session_pump(rc->sess);
	return 0;
}

int rtc_server_app_close(struct rtc_server *srv, const char *id, const char *last, size_t len)
{
	struct rtc_channel *rc = app_channel_find(srv, id);

	if (!rc) {
		log_debug("app channel %s: close requested, no such channel", id);
		return -ENOENT;
	}
	log_debug("app channel %s: closing (%s)", id, last ? last : "no notice");
	app_channel_close_with(rc, last, len);
	return 0;
}

/* ---- chunk serving over a channel -------------------------------------------------- */

static int fetch_chunk(void *ctx, const struct chunk_id *id, uint8_t **data, size_t *len)
{
	struct rtc_channel *rc = ctx;
	int rc_get = store_get(rc->sess->srv->store, id, data, len);

	if (rc_get == STORE_OK)
		return 0;
	if (rc_get == STORE_E_CORRUPT)
		metrics_add(M_STORE_CORRUPT, 1);
	if (rc_get == STORE_E_NOT_FOUND || rc_get == STORE_E_CORRUPT) {
		metrics_add(M_CHUNK_NOT_FOUND, 1);
		return CHUNK_ERR_NOT_FOUND;
	}
	return CHUNK_ERR_INTERNAL;
}

static void pump_timer_cb(struct loop_timer *t)
{
	session_pump(container_of(t, struct rtc_session, pump_timer));
}

/* Send frames while SCTP has room and the token buckets allow (RFC 8831 §6.6: one
 * chunk_proto frame per data channel message). */
static void session_pump(struct rtc_session *s)
{
	struct rtc_server *srv = s->srv;
	uint64_t now = loop_now_ms(srv->loop);
	bool progress = true;

	if (s->dead || !s->sctp)
		return;
	if (!app_channels_pump(s))
		return; /* SCTP is full (waiting_room) or the upload buckets are empty */
	while (progress) {
		progress = false;
		for (size_t i = 0; i < RTC_MAX_CHANNELS; i++) {
			struct rtc_channel *rc = &s->channels[i];
			size_t want, len = 0;
			int rc_next;

			if (!rc->ch || rc->kind != APP_CHANNEL_CHUNKS ||
			    !(want = chunk_sender_want(&rc->sender)))
				continue;
			/* A whole frame is admitted while the association holds less than the
			 * high-water mark; its send buffer has room for one more frame beyond it,
			 * so the send below cannot be refused for space. */
			if (sctp_assoc_buffered(s->sctp) >= RTC_SEND_HIGH_WATER) {
				s->waiting_room = true; /* SACKs (dtls_on_data) resume */
				return;
			}
			if (!upload_allows(s, want, now))
				return;
			rc_next = chunk_sender_next(&rc->sender, srv->frame, sizeof(srv->frame), want, &len);
			if (rc_next <= 0)
				continue;
			if ((rc_next = channel_send(rc->ch, true, srv->frame, len)) < 0) {
				/* The sender already advanced past this frame, so it cannot be
				 * retried; the send buffer is sized so this does not happen short of
				 * the association failing.  Closing the channel makes the browser
				 * fall back instead of waiting for bytes that will never come. */
				log_warn("session %s: send failed (%s); closing the channel", s->id,
					 sctp_strerror(rc_next));
				metrics_add(M_BAD_SCTP, 1);
				channel_close(rc->ch);
				return;
			}
			token_bucket_take2(&srv->bucket, &s->bucket, len, now);
			if (srv->frame[1] == CHUNK_PROTO_DATA && len > CHUNK_PROTO_DATA_HDR_LEN) {
				metrics_add(M_BYTES_SERVED_RTC, (int64_t)(len - CHUNK_PROTO_DATA_HDR_LEN));
				s->bytes_sent += len - CHUNK_PROTO_DATA_HDR_LEN;
				if (srv->frame[2] & CHUNK_PROTO_FLAG_LAST)
					metrics_add(M_CHUNKS_SERVED, 1);
			}
			progress = true;
		}
	}
}

static struct rtc_channel *channel_slot(struct rtc_session *s, struct channel *ch)
{
	for (size_t i = 0; i < RTC_MAX_CHANNELS; i++)
		if (s->channels[i].ch == ch)
			return &s->channels[i];
	return NULL;
}

static void on_channel_open(void *user, struct channel *ch)
{
	struct rtc_session *s = user;
	struct rtc_server *srv = s->srv;
	struct rtc_channel *rc;
	size_t max_frame = CHUNK_PROTO_DEFAULT_MAX_FRAME;
	char app[APP_CHANNEL_NAME_MAX + 1], id[RTC_APP_CHANNEL_ID_LEN + 1];
	enum app_channel_kind kind = app_channel_classify(channel_label(ch), app);

	if (kind == APP_CHANNEL_UNKNOWN) {
		/* RFC 8831 §6.7: closing resets the stream; the browser sees the channel close */
		log_debug("session %s: channel '%s' refused (unknown label)", s->id, channel_label(ch));
		metrics_add(M_CHANNELS_REFUSED, 1);
		channel_close(ch);
		return;
	}
	if (!(rc = channel_slot(s, NULL))) {
		metrics_add(M_BAD_SCTP, 1);
		channel_close(ch); /* more channels than we serve */
		return;
	}
	rc->kind = kind;
	if (kind == APP_CHANNEL_APP) {
		rc->ch = ch;
		rc->sess = s;
		app_channel_id(s, rc, id);
		log_debug("session %s: app channel %s to '%s'", s->id, id, app);
		if (srv->app_hooks.on_open)
			srv->app_hooks.on_open(srv->app_hooks.user, id, app);
		else
			app_channel_refuse(rc, "no_apps", "this node runs no apps");
		return;
	}
	/* A frame must fit the browser's a=max-message-size (RFC 8841 §6.1). */
	if (s->remote_max_message && s->remote_max_message < max_frame)
		max_frame = s->remote_max_message;
	rc->ch = ch;
	rc->sess = s;
	chunk_sender_init(&rc->sender, max_frame, fetch_chunk, rc);
	log_debug("session %s: channel '%s' on stream %u, frames up to %zu bytes", s->id,
		  channel_label(ch), channel_stream(ch), max_frame);
}

static void on_channel_message(void *user, struct channel *ch, bool binary, const uint8_t *data,
			       size_t len)
{
	struct rtc_session *s = user;
	struct rtc_channel *rc = channel_slot(s, ch);
	int rc_msg;

	if (!rc)
		return;
	if (rc->kind == APP_CHANNEL_APP) {
		char id[RTC_APP_CHANNEL_ID_LEN + 1];

		if (rc->closing)
			return;
		if (binary)
			return app_channel_refuse(rc, "bad_message", "binary message (text JSON only)");
		if (len > APP_CHANNEL_MAX_MESSAGE)
			return app_channel_refuse(rc, "too_large", "message over 65536 bytes");
		metrics_add(M_APP_MESSAGES_IN, 1);
		app_channel_id(s, rc, id);
		if (s->srv->app_hooks.on_message)
			s->srv->app_hooks.on_message(s->srv->app_hooks.user, id, (const char *)data, len);
		return;
	}
	if (!binary) {
		metrics_add(M_BAD_CHUNK_REQ, 1);
		return;
	}
	rc_msg = chunk_sender_on_message(&rc->sender, data, len);
	if (rc_msg == CHUNK_PROTO_E_OVERLOAD) {
		metrics_add(M_BAD_CHUNK_REQ, 1);
		channel_close(ch);
		return;
	}
	if (rc_msg < 0)
		metrics_add(M_BAD_CHUNK_REQ, 1);
	session_pump(s);
}

static void on_channel_close(void *user, struct channel *ch)
{
	struct rtc_session *s = user;
	struct rtc_channel *rc = channel_slot(s, ch);

	if (!rc)
		return;
	if (rc->kind == APP_CHANNEL_APP)
		app_channel_gone(s, rc);
	else
		chunk_sender_free(&rc->sender);
	memset(rc, 0, sizeof(*rc));
}


static const struct channel_callbacks channel_cbs;

/* ---- SCTP (through the channel manager) ----------------------------------------- */

static void sctp_send_packet(void *user, const uint8_t *pkt, size_t len)
{
	struct rtc_session *s = user;

	int rc = s->dtls ? dtls_send(s->dtls, pkt, len) : -1;
	if (rc < 0)
		metrics_add(M_BAD_DTLS, 1);
}

static void on_sctp_writable(void *user)
{
	session_pump(user);
}

static void on_sctp_state(void *user, enum sctp_state state)
{
	struct rtc_session *s = user;

	if (state == SCTP_ST_CLOSED)
		session_kill(s, "SCTP closed");
}

static const struct channel_callbacks channel_cbs = {
	.send_packet = sctp_send_packet,
	.on_state = on_sctp_state,
	.on_open = on_channel_open,
	.on_message = on_channel_message,
	.on_close = on_channel_close,
	.on_writable = on_sctp_writable,
};

static void sctp_tick_cb(struct loop_timer *t)
{
	struct rtc_server *srv = container_of(t, struct rtc_server, sctp_tick);

	sctp_timers_run();
	if (sctp_assoc_count() > 0)
		loop_timer_set(srv->loop, &srv->sctp_tick, SCTP_TICK_MS);
}

/* ---- DTLS ------------------------------------------------------------------------- */

static void dtls_schedule(struct rtc_session *s)
{
	int64_t ms;

	if (!s->dtls || s->dead)
		return;
	ms = dtls_timeout_ms(s->dtls);
	if (ms < 0)
		loop_timer_cancel(s->srv->loop, &s->dtls_timer);
	else
		loop_timer_set(s->srv->loop, &s->dtls_timer, (uint64_t)ms);
}

static void dtls_timer_cb(struct loop_timer *t)
{
	struct rtc_session *s = container_of(t, struct rtc_session, dtls_timer);

	dtls_on_timeout(s->dtls);
	dtls_schedule(s);
}

static void dtls_send_cb(void *user, const uint8_t *pkt, size_t len)
{
	struct rtc_session *s = user;

	if (s->have_remote)
		udp_send(s->srv->udp, pkt, len, &s->remote);
}

static void dtls_on_connected(void *user)
{
	struct rtc_session *s = user;
	struct rtc_server *srv = s->srv;
	struct channel_config cfg = channel_config_default;

	cfg.sctp.remote_port = s->remote_sctp_port;
	cfg.sctp.max_message_size = srv->max_message_size;
	/* Room for RTC_SEND_HIGH_WATER plus one whole frame: a frame admitted below the
	 * high-water mark always fits (see session_pump). */
	cfg.sctp.send_buffer = RTC_SEND_HIGH_WATER + 2 * CHUNK_PROTO_DEFAULT_MAX_FRAME;
	cfg.dtls_client = false; /* we answered a=setup:passive */
	cfg.max_channels = RTC_MAX_CHANNELS;
	s->chans = channel_mgr_new(&cfg, &channel_cbs, s);
	if (!s->chans) {
		session_kill(s, "SCTP association could not start");
		return;
	}
	s->sctp = channel_mgr_assoc(s->chans);
	if (!loop_timer_pending(&srv->sctp_tick))
		loop_timer_set(srv->loop, &srv->sctp_tick, SCTP_TICK_MS);
	log_debug("session %s: DTLS up (%s)", s->id, dtls_cipher_name(s->dtls));
}

static void dtls_on_data(void *user, const uint8_t *data, size_t len)
{
	struct rtc_session *s = user;

	if (!s->chans)
		return;
	if (channel_mgr_on_packet(s->chans, data, len) < 0)
		metrics_add(M_BAD_SCTP, 1);
	/* SACKs free send buffer: resume senders that stopped at our high-water mark (the
	 * association signals on_writable only after it refused a send). */
	if (s->waiting_room && !s->dead && sctp_assoc_buffered(s->sctp) < RTC_SEND_LOW_WATER) {
		s->waiting_room = false;
		session_pump(s);
	}
}

static void dtls_on_closed(void *user, int reason)
{
	struct rtc_session *s = user;

	if (reason < 0)
		metrics_add(M_BAD_DTLS, 1);
	session_kill(s, reason < 0 ? dtls_strerror(reason) : "DTLS close_notify");
}

static const struct dtls_callbacks dtls_cbs = {
	.send = dtls_send_cb,
	.on_connected = dtls_on_connected,
	.on_data = dtls_on_data,
	.on_closed = dtls_on_closed,
};

/* The address of an AF_INET/AF_INET6 sockaddr as a literal (v4-mapped → dotted quad). */
static bool sockaddr_literal(const struct sockaddr *sa, char *buf, size_t cap, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)cap) != NULL;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, (socklen_t)cap) != NULL;
		return inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)cap) != NULL;
	}
	return false;
}

/* ---- packet demultiplexing (RFC 7983) --------------------------------------------- */

static struct rtc_session *find_by_ufrag(struct rtc_server *srv, const uint8_t *user, size_t len)
{
	const uint8_t *colon = memchr(user, ':', len);
	size_t local_len = colon ? (size_t)(colon - user) : len;

	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		const char *u = ice_lite_local_ufrag(&srv->sessions[i]->ice.lite);
		if (strlen(u) == local_len && memcmp(u, user, local_len) == 0)
			return srv->sessions[i];
	}
	return NULL;
}

static struct rtc_session *find_by_addr(struct rtc_server *srv, const struct udp_addr *from)
{
	if (srv->last_hit && srv->last_hit->have_remote && udp_addr_equal(&srv->last_hit->remote, from))
		return srv->last_hit;
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		if (s->have_remote && udp_addr_equal(&s->remote, from))
			return srv->last_hit = s;
	}
	return NULL;
}

/* A response (no USERNAME): one of our STUN client transactions or an agent's check. */
static void on_stun_response(struct rtc_server *srv, const uint8_t *data, size_t len,
			     const struct stun_msg *msg, const struct udp_addr *from)
{
	uint64_t now = loop_now_ms(srv->loop);
	const struct sockaddr *sa = (const struct sockaddr *)&from->ss;
	uint8_t none[4];
	size_t none_len = sizeof(none);

	for (size_t i = 0; i < srv->n_stun; i++) {
		enum stun_client_result r =
			stun_client_on_response(&srv->stun[i], data, len, msg, sa, from->len, now);
		if (r == STUN_CLIENT_NOT_OURS)
			continue;
		if (r == STUN_CLIENT_CHANGED) {
			char buf[64];
			struct udp_addr m = { .len = 0 };
			const struct sockaddr *ma = stun_client_mapped(&srv->stun[i], now, &m.len);
			memcpy(&m.ss, ma, (size_t)m.len);
			log_info("server-reflexive address %s", udp_addr_format(&m, buf, sizeof(buf)));
		}
		return;
	}
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		if (!s->dead && ice_agent_owns(&s->ice, msg->txid)) {
			uint64_t ok = s->ice.counters.checks_ok;
			char abuf[64];

			ice_agent_on_stun(&s->ice, data, len, sa, from->len, now, none, &none_len);
			if (s->ice.counters.checks_ok != ok)
				log_debug("session %s: our check to %s succeeded", s->id,
					  udp_addr_format(from, abuf, sizeof(abuf)));
			return;
		}
	}
	metrics_add(M_BAD_STUN, 1);
}

static void on_stun(struct rtc_server *srv, const uint8_t *data, size_t len, const struct udp_addr *from)
{
	struct stun_msg msg;
	struct rtc_session *s;
	uint8_t resp[512];
	size_t resp_len = sizeof(resp);

	enum ice_lite_result r;

	if (stun_msg_parse(data, len, &msg) < 0) {
		metrics_add(M_BAD_STUN, 1);
		return;
	}
	if (msg.cls == STUN_CLASS_SUCCESS || msg.cls == STUN_CLASS_ERROR) {
		on_stun_response(srv, data, len, &msg, from);
		return;
	}
	if (!msg.username || !(s = find_by_ufrag(srv, msg.username, msg.username_len)) || s->dead) {
		metrics_add(M_BAD_STUN, 1);
		return;
	}
	r = ice_agent_on_stun(&s->ice, data, len, (const struct sockaddr *)&from->ss, from->len,
			      loop_now_ms(srv->loop), resp, &resp_len);
	if (r == ICE_LITE_DROP) {
		metrics_add(M_BAD_STUN, 1);
		return;
	}
	if (resp_len > 0)
		udp_send(srv->udp, resp, resp_len, from);
	if (r == ICE_LITE_RESPOND_NOMINATED || (!s->have_remote && r == ICE_LITE_RESPOND)) {
		/* Use the first valid pair until the browser nominates one (RFC 8445 §7.3.1.5
		 * lets a lite agent send on any valid pair), then follow nominations. */
		char abuf[64];
		s->remote = *from;
		s->have_remote = true;
		log_debug("session %s: %s %s (checks sent %llu, ok %llu)", s->id,
			  r == ICE_LITE_RESPOND_NOMINATED ? "nominated" : "first valid pair",
			  udp_addr_format(from, abuf, sizeof(abuf)),
			  (unsigned long long)s->ice.counters.checks_sent,
			  (unsigned long long)s->ice.counters.checks_ok);
	}
	if (s->ice.full)
		loop_timer_set(srv->loop, &srv->ice_tick, 0); /* a triggered check is queued */
}

/* Our own STUN traffic: Binding requests to the STUN servers, and every agent's checks and
 * consent requests (ice_agent paces them, Ta). */
static void ice_tick_cb(struct loop_timer *t)
{
	struct rtc_server *srv = container_of(t, struct rtc_server, ice_tick);
	uint64_t now = loop_now_ms(srv->loop);
	uint8_t buf[ICE_REQ_MAX];
	bool busy = false;
	size_t n;

	for (size_t i = 0; i < srv->n_stun; i++) {
		struct udp_addr to = { .len = srv->stun[i].server_len };
		memcpy(&to.ss, &srv->stun[i].server, (size_t)to.len);
		if ((n = stun_client_poll(&srv->stun[i], now, buf, sizeof(buf))))
			udp_send(srv->udp, buf, n, &to);
		busy |= srv->stun[i].in_flight;
	}
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		struct udp_addr to;

		if (s->dead || !s->ice.full)
			continue;
		if ((n = ice_agent_poll(&s->ice, now, buf, sizeof(buf), &to.ss, &to.len))) {
			char abuf[64];
			int urc = udp_send(srv->udp, buf, n, &to);
			log_debug("session %s: check to %s (%d)", s->id,
				  udp_addr_format(&to, abuf, sizeof(abuf)), urc);
		}
		busy |= ice_agent_checking(&s->ice);
	}
	loop_timer_set(srv->loop, &srv->ice_tick, busy ? RTC_ICE_TICK_MS : RTC_ICE_IDLE_TICK_MS);
}

static void on_datagram(void *user, const uint8_t *data, size_t len, const struct udp_addr *from)
{
	struct rtc_server *srv = user;
	struct rtc_session *s;

	if (len == 0)
		return;
	if (data[0] <= 3) {
		on_stun(srv, data, len, from);
		return;
	}
	if (data[0] < 20 || data[0] > 63) {
		metrics_add(M_BAD_DTLS, 1); /* RTP/RTCP/ZRTP/TURN channel: not spoken here */
		return;
	}
	if (!(s = find_by_addr(srv, from)) || s->dead) {
		metrics_add(M_BAD_DTLS, 1);
		return;
	}
	dtls_on_packet(s->dtls, data, len);
	dtls_schedule(s);
}

/* ---- housekeeping ----------------------------------------------------------------- */

static void housekeeping_cb(struct loop_timer *t)
{
	struct rtc_server *srv = container_of(t, struct rtc_server, housekeeping);
	uint64_t now = loop_now_ms(srv->loop);

	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		/* RFC 7675: without authenticated checks the browser has withdrawn consent. */
		if (ice_lite_expired(&s->ice.lite, now))
			session_kill(s, "consent expired");
		/* An offer whose browser never completed ICE + DTLS holds a slot: drop it. */
		else if (!s->chans && now - s->created_ms > RTC_CONNECT_TIMEOUT_MS)
			session_kill(s, "not connected in time");
	}
	loop_timer_set(srv->loop, &srv->housekeeping, RTC_HOUSEKEEPING_MS);
}

/* ---- public API -------------------------------------------------------------------- */

struct rtc_server *rtc_server_new(struct loop *l, struct store *st,
				  const struct rtc_server_config *cfg, int *err, char *errmsg,
				  size_t errcap)
{
	const struct udp_callbacks ucb = { on_datagram };
	struct rtc_server *srv = calloc(1, sizeof(*srv));
	int rc;

	if (!srv) {
		*err = -ENOMEM;
		snprintf(errmsg, errcap, "out of memory");
		return NULL;
	}
	srv->loop = l;
	srv->store = st;
	srv->max_sessions = cfg->max_peers ? cfg->max_peers : 1;
	srv->max_message_size = cfg->max_message_size ? cfg->max_message_size : SDP_OUR_MAX_MESSAGE_SIZE;
	srv->sharing = true;
	srv->housekeeping.cb = housekeeping_cb;
	srv->sctp_tick.cb = sctp_tick_cb;
	srv->reap.cb = reap_cb;
	srv->ice_tick.cb = ice_tick_cb;
	srv->full_ice = !cfg->ice_lite;
	if (!(srv->sessions = calloc(srv->max_sessions, sizeof(*srv->sessions)))) {
		*err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_addrs && i < RTC_MAX_ADDRS; i++)
		srv->addrs[srv->n_addrs++] = strdup(cfg->addrs[i]);
	if (srv->n_addrs == 0) {
		if (strcmp(cfg->bind_addr, "0.0.0.0") == 0 || strcmp(cfg->bind_addr, "::") == 0) {
			*err = -EINVAL;
			snprintf(errmsg, errcap,
				 "bound to a wildcard address: set rtc_address to the address(es) browsers reach");
			goto fail_quiet;
		}
		srv->addrs[srv->n_addrs++] = strdup(cfg->bind_addr);
	}
	if ((rc = sctp_global_init()) < 0) {
		*err = rc;
		snprintf(errmsg, errcap, "SCTP: %s", sctp_strerror(rc));
		goto fail_quiet;
	}
	if ((rc = dtls_cert_generate(&srv->cert)) < 0 ||
	    !(srv->dtls_ctx = dtls_ctx_new(srv->cert, NULL, &rc))) {
		*err = rc;
		snprintf(errmsg, errcap, "DTLS: %s", dtls_strerror(rc));
		goto fail_quiet;
	}
	srv->udp = udp_socket_new(l, cfg->bind_addr, cfg->port, &ucb, srv, err);
	if (!srv->udp) {
		snprintf(errmsg, errcap, "UDP socket: %s", strerror(-*err));
		goto fail_quiet;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		srv->family = getsockname(udp_socket_fd(srv->udp), (struct sockaddr *)&ss, &sl) == 0
				      ? ss.ss_family
				      : AF_INET;
	}
	for (size_t i = 0; i < cfg->n_stun_servers && srv->n_stun < RTC_MAX_STUN; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = 0;
		if (rtc_parse_hostport(cfg->stun_servers[i], srv->family, &ss, &sl) < 0) {
			*err = -EINVAL;
			snprintf(errmsg, errcap, "stun_server: '%s' is not IP:PORT", cfg->stun_servers[i]);
			goto fail_quiet;
		}
		stun_client_init(&srv->stun[srv->n_stun++], (struct sockaddr *)&ss, sl, loop_now_ms(l));
	}
	rtc_server_set_limits(srv, cfg->upload_rate, cfg->peer_rate);
	loop_timer_set(l, &srv->housekeeping, RTC_HOUSEKEEPING_MS);
	loop_timer_set(l, &srv->ice_tick, 0);
	return srv;
fail:
	snprintf(errmsg, errcap, "out of memory");
fail_quiet:
	rtc_server_free(srv);
	return NULL;
}

void rtc_server_free(struct rtc_server *s)
{
	if (!s)
		return;
	while (s->n_sessions)
		session_free(s->sessions[0]);
	loop_timer_cancel(s->loop, &s->housekeeping);
	loop_timer_cancel(s->loop, &s->sctp_tick);
	loop_timer_cancel(s->loop, &s->reap);
	loop_timer_cancel(s->loop, &s->ice_tick);
	udp_socket_free(s->udp);
	dtls_ctx_free(s->dtls_ctx);
	dtls_cert_free(s->cert);
	for (size_t i = 0; i < s->n_addrs; i++)
		free(s->addrs[i]);
	free(s->sessions);
	free(s);
}

uint16_t rtc_server_port(const struct rtc_server *s)
{
	return udp_socket_port(s->udp);
}

void rtc_server_set_limits(struct rtc_server *s, uint64_t upload_rate, uint64_t peer_rate)
{
	uint64_t now = loop_now_ms(s->loop);
	/* Bursts must hold a whole frame (chunk_sender_want) and about 100 ms of rate. */
	uint64_t burst = upload_rate / 10 > 2 * sizeof(s->frame) ? upload_rate / 10 : 2 * sizeof(s->frame);
	uint64_t pburst = peer_rate / 10 > 2 * sizeof(s->frame) ? peer_rate / 10 : 2 * sizeof(s->frame);

	token_bucket_set(&s->bucket, upload_rate, burst, now);
	s->peer_rate = peer_rate;
	for (uint32_t i = 0; i < s->n_sessions; i++)
		token_bucket_set(&s->sessions[i]->bucket, peer_rate, pburst, now);
}

void rtc_server_set_sharing(struct rtc_server *s, bool sharing)
{
	s->sharing = sharing;
}

int rtc_server_accept_offer(struct rtc_server *srv, const char *offer, size_t len, char **answer,
			    char session_id[RTC_SESSION_ID_LEN + 1], char *errmsg, size_t errcap)
{
	struct sdp_offer *o = NULL;
	struct rtc_session *s = NULL;
	struct sdp_host_candidate cands[RTC_MAX_ADDRS];
	struct sdp_srflx_candidate srflx[RTC_MAX_STUN + 1];
	char srflx_addr[RTC_MAX_STUN + 1][INET6_ADDRSTRLEN];
	size_t n_srflx = 0;
	struct sdp_answer_params ap = { 0 };
	uint8_t rnd[RTC_SESSION_ID_LEN / 2];
	uint64_t sid = 0;
	size_t alen = 0;
	int rc = -EINVAL;

	*answer = NULL;
	if (!srv->sharing) {
		snprintf(errmsg, errcap, "sharing is disabled");
		return -EAGAIN;
	}
	if (srv->n_sessions >= srv->max_sessions) {
		snprintf(errmsg, errcap, "peer limit reached (%u)", srv->max_sessions);
		return -EBUSY;
	}
	if (!(o = malloc(sizeof(*o))) || !(s = calloc(1, sizeof(*s))) ||
	    !(*answer = malloc(RTC_ANSWER_CAP))) {
		snprintf(errmsg, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = sdp_offer_parse(offer, len, o)) < 0) {
		snprintf(errmsg, errcap, "offer: %s", sdp_strerror(rc));
		goto fail;
	}
	s->srv = srv;
	s->remote_sctp_port = o->sctp_port;
	s->remote_max_message = o->max_message_size > UINT32_MAX ? UINT32_MAX : (uint32_t)o->max_message_size;
	s->dtls_timer.cb = dtls_timer_cb;
	s->pump_timer.cb = pump_timer_cb;
	s->created_ms = loop_now_ms(srv->loop);
	if ((rc = ice_agent_init(&s->ice, o->ice_ufrag, o->ice_pwd, srv->full_ice, srv->family)) < 0) {
		snprintf(errmsg, errcap, "ICE credentials refused");
		goto fail;
	}
	s->dtls = dtls_new(srv->dtls_ctx, DTLS_ROLE_SERVER, o->fingerprint, &dtls_cbs, s, &rc);
	if (!s->dtls) {
		snprintf(errmsg, errcap, "DTLS: %s", dtls_strerror(rc));
		goto fail;
	}
	crypto_random(rnd, sizeof(rnd));
	crypto_random(&sid, sizeof(sid));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
	for (size_t i = 0; i < o->n_candidates; i++)
		ice_agent_add_remote(&s->ice, &o->candidates[i], s->created_ms);
	for (size_t i = 0; i < srv->n_addrs; i++)
		cands[i] = (struct sdp_host_candidate){ srv->addrs[i], rtc_server_port(srv) };
	/* a port mapping the gateway granted (NAT-PMP): reachable from any address, so it
	 * comes first (RFC 8445 §5.1.1.2 treats such addresses as server reflexive) */
	if (srv->mapped_len) {
		uint16_t port;
		if (sockaddr_literal((struct sockaddr *)&srv->mapped, srflx_addr[0],
				     sizeof(srflx_addr[0]), &port)) {
			srflx[0] = (struct sdp_srflx_candidate){ srflx_addr[0], port, srv->addrs[0],
								 rtc_server_port(srv) };
			n_srflx = 1;
		}
	}
	/* RFC 8445 §5.1.1.2: the server-reflexive address the STUN client keeps fresh */
	for (size_t i = 0; srv->full_ice && i < srv->n_stun; i++) {
		socklen_t ml = 0;
		const struct sockaddr *m = stun_client_mapped(&srv->stun[i], s->created_ms, &ml);
		uint16_t port;

		if (!m || !sockaddr_literal(m, srflx_addr[n_srflx], sizeof(srflx_addr[0]), &port))
			continue;
		for (size_t j = 0; j < n_srflx && port; j++)
			if (srflx[j].port == port && strcmp(srflx[j].address, srflx_addr[n_srflx]) == 0)
				port = 0; /* two STUN servers, one mapping */
		if (port) {
			srflx[n_srflx] = (struct sdp_srflx_candidate){
				srflx_addr[n_srflx], port, srv->addrs[0], rtc_server_port(srv) };
			n_srflx++;
		}
	}
	ap.offer = o;
	ap.session_id = sid >> 1; /* < 2^63 */
	ap.session_version = 1;
	ap.ice_ufrag = ice_lite_local_ufrag(&s->ice.lite);
	ap.ice_pwd = ice_lite_local_pwd(&s->ice.lite);
	ap.full_ice = srv->full_ice;
	memcpy(ap.fingerprint, dtls_cert_fingerprint(srv->cert), DTLS_FP_LEN);
	ap.max_message_size = srv->max_message_size;
	ap.candidates = cands;
	ap.n_candidates = srv->n_addrs;
	ap.srflx = srflx;
	ap.n_srflx = n_srflx;
	if ((rc = sdp_answer_write(&ap, *answer, RTC_ANSWER_CAP, &alen)) < 0) {
		snprintf(errmsg, errcap, "answer: %s", sdp_strerror(rc));
		goto fail;
	}
	token_bucket_init(&s->bucket, srv->peer_rate,
			  srv->peer_rate / 10 > 2 * sizeof(srv->frame) ? srv->peer_rate / 10 : 2 * sizeof(srv->frame),
			  s->created_ms);
	srv->sessions[srv->n_sessions++] = s;
	memcpy(session_id, s->id, sizeof(s->id));
	metrics_add(M_PEERS_TOTAL, 1);
	metrics_set(M_PEERS_ACTIVE, srv->n_sessions);
	free(o);
	return 0;
fail:
	if (s && s->dtls)
		dtls_free(s->dtls);
	free(s);
	free(o);
	free(*answer);
	*answer = NULL;
	return rc < 0 ? rc : -EINVAL;
}

int rtc_server_add_candidate(struct rtc_server *srv, const char *session_id, const char *line,
			     size_t len, char *errmsg, size_t errcap)
{
	struct sdp_candidate c;
	int rc;

	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		if (strcmp(s->id, session_id) != 0 || s->dead)
			continue;
		/* RFC 8838 §4.4: an empty candidate is the end-of-candidates indication */
		if (len == 0)
			return 0;
		if ((rc = sdp_candidate_parse(line, len, &c)) < 0) {
			snprintf(errmsg, errcap, "candidate: %s", sdp_strerror(rc));
			return -EINVAL;
		}
		rc = ice_agent_add_remote(&s->ice, &c, loop_now_ms(srv->loop));
		log_debug("session %s: remote candidate %s:%u (%s)%s", s->id, c.address, c.port,
			  c.type == SDP_CAND_HOST ? "host" : c.type == SDP_CAND_SRFLX ? "srflx"
			  : c.type == SDP_CAND_RELAY ? "relay" : "prflx",
			  rc == ICE_AGENT_OK ? "" : " skipped");
		if (rc == ICE_AGENT_E_FULL) {
			snprintf(errmsg, errcap, "candidate: too many (%d)", ICE_MAX_PAIRS);
			return -ENOSPC;
		}
		loop_timer_set(srv->loop, &srv->ice_tick, 0);
		return rc == ICE_AGENT_OK ? 0 : 1; /* 1: skipped (mDNS, TCP, other family) */
	}
	snprintf(errmsg, errcap, "no session \"%s\"", session_id);
	return -ENOENT;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int rtc_parse_hostport(const char *s, int family, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint16_t port;
	uint8_t b[16];
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!colon || parse_port(colon + 1, &port) < 0)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, b) == 1) {
		if (family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(port);
			in6->sin6_addr.s6_addr[10] = in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], b, 4);
			*len = sizeof(*in6);
		} else {
			struct sockaddr_in *in = (struct sockaddr_in *)ss;
			in->sin_family = AF_INET;
			in->sin_port = htons(port);
			memcpy(&in->sin_addr, b, 4);
			*len = sizeof(*in);
		}
		return 0;
	}
	if (family == AF_INET6 && inet_pton(AF_INET6, host, b) == 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, b, 16);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int rtc_server_close_session(struct rtc_server *srv, const char *session_id)
{
	for (uint32_t i = 0; i < srv->n_sessions; i++) {
		struct rtc_session *s = srv->sessions[i];
		if (strcmp(s->id, session_id) == 0) {
			session_free(s);
			return 0;
		}
	}
	return -ENOENT;
}

int rtc_server_set_stun_servers(struct rtc_server *srv, const char *const *servers, size_t n,
				char *errmsg, size_t errcap)
{
	struct stun_client next[RTC_MAX_STUN];
	uint64_t now = loop_now_ms(srv->loop);
	size_t k = 0;

	if (n > RTC_MAX_STUN) {
		snprintf(errmsg, errcap, "at most %d STUN servers", RTC_MAX_STUN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = 0;
		bool kept = false;

		if (rtc_parse_hostport(servers[i], srv->family, &ss, &sl) < 0) {
			snprintf(errmsg, errcap, "'%s' is not IP:PORT", servers[i]);
			return -EINVAL;
		}
		/* a server we already ask keeps its state (mapped address, schedule) */
		for (size_t j = 0; j < srv->n_stun && !kept; j++)
			if (ice_lite_addr_equal((struct sockaddr *)&srv->stun[j].server,
						srv->stun[j].server_len, (struct sockaddr *)&ss, sl)) {
				next[k++] = srv->stun[j];
				kept = true;
			}
		if (!kept)
			stun_client_init(&next[k++], (struct sockaddr *)&ss, sl, now);
	}
	memcpy(srv->stun, next, k * sizeof(next[0]));
	srv->n_stun = k;
	loop_timer_set(srv->loop, &srv->ice_tick, 0);
	return 0;
}

void rtc_server_set_mapped(struct rtc_server *srv, const struct sockaddr *ext, socklen_t len)
{
	if (!ext || (size_t)len > sizeof(srv->mapped)) {
		srv->mapped_len = 0;
		return;
	}
	memcpy(&srv->mapped, ext, (size_t)len);
	srv->mapped_len = len;
}

const char *rtc_server_reachability(const struct rtc_server *srv)
{
	uint64_t now = loop_now_ms(srv->loop);
	const struct sockaddr *first = NULL;
	socklen_t first_len = 0;
	unsigned mapped = 0;

	if (srv->mapped_len)
		return "public"; /* the gateway forwards our port to us: reachable from anywhere */

	for (size_t i = 0; i < srv->n_stun; i++) {
		socklen_t ml = 0;
		const struct sockaddr *m = stun_client_mapped(&srv->stun[i], now, &ml);
		char lit[INET6_ADDRSTRLEN];
		uint16_t port;

		if (!m)
			continue;
		if (!first) {
			first = m;
			first_len = ml;
		} else if (!ice_lite_addr_equal(first, first_len, m, ml)) {
			/* RFC 4787 §4.1: another mapping per destination */
			return "nat-symmetric";
		}
		mapped++;
		if (sockaddr_literal(m, lit, sizeof(lit), &port) && port == rtc_server_port(srv))
			for (size_t j = 0; j < srv->n_addrs; j++)
				if (strcmp(lit, srv->addrs[j]) == 0)
					return "public"; /* our own address: no NAT */
	}
	if (!mapped)
		return "unknown";
	/* one mapping for every server: endpoint-independent (with a single server we
	 * cannot tell; the lab's symmetric NAT needs two to be seen) */
	return "nat-cone";
}

void rtc_server_render_status(const struct rtc_server *srv, struct ctl_json_out *o)
{
	uint64_t now = loop_now_ms(srv->loop);
	bool first = true;

	ctl_json_out_fmt(o, ",\"reachability\":\"%s\"", rtc_server_reachability(srv));
	if (srv->mapped_len) {
		struct udp_addr ua = { .len = srv->mapped_len };
		char buf[64];
		memcpy(&ua.ss, &srv->mapped, (size_t)srv->mapped_len);
		ctl_json_out_fmt(o, ",\"port_mapping\":\"%s\"", udp_addr_format(&ua, buf, sizeof(buf)));
	}
	ctl_json_out_raw(o, ",\"srflx\":[", 10);
	for (size_t i = 0; i < srv->n_stun; i++) {
		socklen_t ml = 0;
		const struct sockaddr *m = stun_client_mapped(&srv->stun[i], now, &ml);
		struct udp_addr ua = { .len = ml };
		char buf[64];

		if (!m)
			continue;
		memcpy(&ua.ss, m, (size_t)ml);
		ctl_json_out_fmt(o, "%s\"%s\"", first ? "" : ",", udp_addr_format(&ua, buf, sizeof(buf)));
		first = false;
	}
	ctl_json_out_raw(o, "]", 1);
	/* peers_active comes with the metrics members (M_PEERS_ACTIVE); not repeated here */
	ctl_json_out_raw(o, ",\"peer_ids\":[", 13);
	for (uint32_t i = 0; i < srv->n_sessions; i++)
		ctl_json_out_fmt(o, "%s\"%s\"", i ? "," : "", srv->sessions[i]->id);
	ctl_json_out_raw(o, "]", 1);
}

/* rtc_server: the WebRTC side of pear-fogd.  One UDP port shared by every browser
 * session; each session is ICE-lite (ice_lite) → DTLS server (dtls) → SCTP (sctp) →
 * data channels (channel) → the chunk protocol (chunk_proto) serving from the store.
 *
 * Demultiplexing (RFC 7983 §7): first byte 0..3 STUN, routed by the local ufrag in
 * USERNAME; 20..63 DTLS, routed by the remote address ICE validated; anything else is
 * dropped.  Offers arrive through the control socket (the agent relays signalling). */
#ifndef PEARFOG_RTC_SERVER_H
#define PEARFOG_RTC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_json.h"
#include "loop.h"
#include "store.h"

#include <sys/socket.h>

#define RTC_MAX_ADDRS 8
#define RTC_MAX_STUN 4 /* STUN servers asked for our server-reflexive address */
#define RTC_SESSION_ID_LEN 16 /* hex chars */

struct rtc_server_config {
	const char *bind_addr;       /* "0.0.0.0", "127.0.0.1", "::" */
	uint16_t port;               /* 0: ephemeral */
	const char *const *addrs;    /* advertised host candidate addresses */
	size_t n_addrs;
	uint32_t max_peers;          /* concurrent sessions; more offers are refused */
	uint32_t max_message_size;   /* our a=max-message-size, bytes */
	uint64_t upload_rate;        /* global bytes/s, 0 = unlimited */
	uint64_t peer_rate;          /* per session bytes/s, 0 = unlimited */
	const char *const *stun_servers; /* "IP:PORT" (RFC 8489 servers; coordinator's) */
	size_t n_stun_servers;
	bool ice_lite;               /* answer ICE-lite and send no checks (public address) */
};

struct rtc_server;

struct rtc_server *rtc_server_new(struct loop *l, struct store *st,
				  const struct rtc_server_config *cfg, int *err, char *errmsg,
				  size_t errcap);
void rtc_server_free(struct rtc_server *s);
uint16_t rtc_server_port(const struct rtc_server *s);

/* Accept a browser's offer: writes the answer SDP (malloc'd, NUL-terminated) and the
 * session id.  Negative with a message on a bad offer or when full. */
int rtc_server_accept_offer(struct rtc_server *s, const char *offer, size_t len, char **answer,
			    char session_id[RTC_SESSION_ID_LEN + 1], char *errmsg, size_t errcap);
int rtc_server_close_session(struct rtc_server *s, const char *session_id);
/* A trickled remote candidate for a session (RFC 8838; the "candidate:…" string of an
 * RTCIceCandidate, "" = end of candidates).  0 added, 1 skipped (mDNS, TCP, other
 * family), negative with a message (no such session, malformed, too many). */
int rtc_server_add_candidate(struct rtc_server *s, const char *session_id, const char *line,
			     size_t len, char *errmsg, size_t errcap);
/* Replace the STUN servers asked for our server-reflexive address ("IP:PORT" each; the
 * coordinator's, set by the agent).  0, or -EINVAL with a message. */
int rtc_server_set_stun_servers(struct rtc_server *s, const char *const *servers, size_t n,
				char *errmsg, size_t errcap);
/* The gateway maps ext (IPv4 address + port) to our UDP port (portmap), NULL: no longer.
 * Offered in answers as a server-reflexive candidate; reachability becomes "public". */
void rtc_server_set_mapped(struct rtc_server *s, const struct sockaddr *ext, socklen_t len);
/* What the STUN answers say about our NAT: "public" (mapped = our own address and port),
 * "nat-cone" (one mapping for every server), "nat-symmetric" (a mapping per server, RFC
 * 4787 §4.1), "unknown" (no answer yet).  The coordinator ranks nodes by it. */
const char *rtc_server_reachability(const struct rtc_server *s);
/* "1.2.3.4:3478" / "[2001:db8::1]:3478" into a sockaddr of `family` (IPv4 v4-mapped on
 * an IPv6 socket).  0 or -1. */
int rtc_parse_hostport(const char *s, int family, struct sockaddr_storage *ss, socklen_t *len);

/* ---- app channels (issue 7, docs/apps.md) ------------------------------------------------
 * A browser's channel labelled "pear-fog-app:<name>" (app_channel.h) is an app channel,
 * named "<session id>.<stream>".  Its text messages (≤ APP_CHANNEL_MAX_MESSAGE bytes; binary
 * or larger ones close it with a {"close":{"code","detail"}} notice) go to on_message; the
 * owner answers with rtc_server_app_send (queued per channel up to APP_CHANNEL_MAX_QUEUED
 * bytes, sent under SCTP back-pressure) and ends it with rtc_server_app_close.  Hooks run
 * inside the SCTP callback chain: they must not call back into rtc_server (defer).  Without
 * an on_open hook app channels are refused ("no_apps"); unknown labels are closed and
 * counted (pearfog_channels_refused_total). */
#define RTC_APP_CHANNEL_ID_LEN (RTC_SESSION_ID_LEN + 6)
#define RTC_APP_FRAME_OVERHEAD 64 /* bytes a frame may add around an app's JSON */
struct rtc_app_hooks {
	void (*on_open)(void *user, const char *channel, const char *app);
	void (*on_message)(void *user, const char *channel, const char *text, size_t len);
	void (*on_close)(void *user, const char *channel); /* also when the session ends */
	void *user;
};
void rtc_server_set_app_hooks(struct rtc_server *s, const struct rtc_app_hooks *h);
/* Queue one text message.  0; -ENOENT (no such channel, or closing);
 * APP_CHANNEL_E_TOO_LARGE; APP_CHANNEL_E_QUEUE_FULL (the browser does not read). */
int rtc_server_app_send(struct rtc_server *s, const char *channel, const char *text, size_t len);
/* Close after the queued messages and `last` (NULL: none).  0 or -ENOENT. */
int rtc_server_app_close(struct rtc_server *s, const char *channel, const char *last, size_t len);

void rtc_server_set_limits(struct rtc_server *s, uint64_t upload_rate, uint64_t peer_rate);
void rtc_server_set_sharing(struct rtc_server *s, bool sharing);
/* Append `,"peer_ids":["…",…]`, the ids of the open sessions (the control protocol is
 * flat JSON; the session count is the metrics member peers_active). */
void rtc_server_render_status(const struct rtc_server *s, struct ctl_json_out *o);

#endif

/* ws_frame: WebSocket frames, RFC 6455 §5, for the client side (ws_client).
 *
 * The parser takes the server's bytes as they arrive and hands whole messages to a
 * callback: text and binary messages reassembled from their fragments (§5.4), and control
 * frames (ping, pong, close; §5.5).  What it refuses, each with its own error:
 *   - a masked frame (a server must not mask, §5.1);
 *   - RSV bits set (no extension is ever negotiated, §5.2), an unknown opcode (§5.2);
 *   - a control frame over 125 bytes or fragmented (§5.5);
 *   - a continuation frame with no message open, or a new data frame while one is (§5.4);
 *   - a length not in its minimal encoding, or a 64-bit length with the top bit set (§5.2);
 *   - a message over max_message bytes (checked against each frame header, before its
 *     payload is read: close code 1009, §7.4.1);
 *   - text that is not UTF-8 (§8.1, close code 1007), checked once the message is whole;
 *   - a close payload of 1 byte, a close code that must not be sent (§7.4.1, §7.4.2), or a
 *     close reason that is not UTF-8 (§5.5.1).
 * Errors are sticky; ws_frame_close_code() gives the status code to close with.  After a
 * close frame the parser stops (WS_FRAME_CLOSED): nothing may follow it (§5.5.1).
 *
 * The writer builds client frame headers (masked, §5.3) and masks payloads in place.
 * Error codes are in [-219, -200]. */
#ifndef PEARFOG_WS_FRAME_H
#define PEARFOG_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_FRAME_MAX_HEADER 14	       /* 2 + 8 (length) + 4 (mask key) */
#define WS_FRAME_MAX_CONTROL 125       /* control frame payload, bytes (§5.5) */
#define WS_FRAME_MAX_MESSAGE (1u << 20) /* default max_message, bytes */
#define WS_FRAME_KEEP_BUF 4096	       /* reassembly buffer kept between messages */

/* §5.2 / §11.8 */
enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* §7.4.1 status codes we use by name */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005, /* never sent: a close frame without a code */
	WS_CLOSE_ABNORMAL = 1006,  /* never sent: no close frame at all */
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

enum ws_frame_result {
	WS_FRAME_NEED_MORE = 1, /* all bytes consumed */
	WS_FRAME_CLOSED = 0,	/* a close frame arrived; bytes after it are not consumed */
	WS_FRAME_E_MASKED = -200,
	WS_FRAME_E_RSV = -201,
	WS_FRAME_E_OPCODE = -202,
	WS_FRAME_E_CONTROL = -203,	/* control frame fragmented or over 125 bytes */
	WS_FRAME_E_CONTINUATION = -204, /* fragmentation out of order */
	WS_FRAME_E_LENGTH = -205,	/* non-minimal or 64-bit length with the top bit */
	WS_FRAME_E_TOO_BIG = -206,	/* message over max_message */
	WS_FRAME_E_UTF8 = -207,		/* text or close reason not UTF-8 */
	WS_FRAME_E_CLOSE = -208,	/* close payload of 1 byte or a refused code */
	WS_FRAME_E_NOMEM = -209,
	WS_FRAME_E_ABORTED = -210, /* the callback returned an error */
	WS_FRAME_E_INVALID = -211, /* writer: bad opcode or argument */
};

/* One message or control frame.  data/len: the whole payload (a text message is UTF-8
 * checked); for WS_OP_CLOSE also code (WS_CLOSE_NO_STATUS when absent) and the reason
 * (UTF-8, not NUL-terminated). */
struct ws_message {
	enum ws_opcode opcode; /* TEXT, BINARY, PING, PONG or CLOSE */
	const uint8_t *data;
	size_t len;
	unsigned code;
	const char *reason;
	size_t reason_len;
};

struct ws_parser_cb {
	/* Return 0, or non-zero to stop (the feed returns WS_FRAME_E_ABORTED). */
	int (*on_message)(void *user, const struct ws_message *m);
};

struct ws_parser {
	/* private */
	const struct ws_parser_cb *cb;
	void *user;
	size_t max_message;
	int result; /* NEED_MORE, or sticky CLOSED / error */
	uint8_t hdr[WS_FRAME_MAX_HEADER];
	size_t hdr_len;
	bool in_payload;
	enum ws_opcode op; /* of the current frame */
	bool fin;
	uint64_t remaining; /* payload bytes left in the current frame */
	bool in_message;    /* a fragmented data message is open */
	enum ws_opcode msg_op;
	uint8_t *msg;
	size_t msg_len, msg_cap;
	uint8_t ctl[WS_FRAME_MAX_CONTROL];
	size_t ctl_len;
};

/* max_message 0: WS_FRAME_MAX_MESSAGE. */
void ws_parser_init(struct ws_parser *p, size_t max_message, const struct ws_parser_cb *cb,
		    void *user);
/* Feed data[0..len).  Returns WS_FRAME_NEED_MORE (all consumed), WS_FRAME_CLOSED (*consumed
 * up to the end of the close frame) or an error; CLOSED and errors are sticky. */
int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len, size_t *consumed);
/* Bytes held for a message in progress (the reassembly buffer's capacity). */
size_t ws_parser_buffered(const struct ws_parser *p);
void ws_parser_free(struct ws_parser *p);

/* ---- writing ------------------------------------------------------------------------ */

/* A frame header into hdr[WS_FRAME_MAX_HEADER]: FIN when fin, the opcode, the minimal
 * length encoding, and the mask key when mask is not NULL (clients always mask, §5.3;
 * NULL is for tests acting as a server).  Returns its length, or WS_FRAME_E_INVALID
 * (unknown opcode, a control frame over 125 bytes or not fin). */
int ws_frame_header(uint8_t *hdr, enum ws_opcode op, bool fin, uint64_t len,
		    const uint8_t mask[4]);
/* XOR data with the mask key, starting at payload offset off (§5.3). */
void ws_frame_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off);

/* A close payload (§5.5.1): code (big-endian) then the reason, truncated at a UTF-8
 * boundary to fit 125 bytes.  code 0: an empty payload.  Returns its length, or
 * WS_FRAME_E_CLOSE for a code that may not be sent, WS_FRAME_E_UTF8 for a bad reason. */
int ws_close_payload(uint8_t out[WS_FRAME_MAX_CONTROL], unsigned code, const char *reason);

/* ---- helpers ------------------------------------------------------------------------ */

/* §7.4: may this code appear in a close frame? */
bool ws_close_code_valid(unsigned code);
/* RFC 3629 §4 well-formed UTF-8 (no surrogates, no overlongs, ≤ U+10FFFF). */
bool ws_utf8_valid(const uint8_t *s, size_t len);
/* The status code to close with after parser error err (1002, 1007, 1009 or 1011). */
unsigned ws_frame_close_code(int err);
const char *ws_frame_strerror(int err);
const char *ws_opcode_name(enum ws_opcode op);

#endif

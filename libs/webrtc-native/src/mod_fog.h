/* mod_fog: the native module pear-fogd gives the agent: `import * as fog from "pear-fog:native"`.
 *
 * Exports (types in src/platform/native/fog.d.ts):
 *   setTimeout(fn, ms) → id          clearTimeout(id)      timers on the loop, fired in
 *                                                            (due, creation) order
 *   log(level, msg)                  "error"|"warn"|"info"|"debug" → pear-fogd's log
 *   now() → ms since the epoch       monotonic() → ms      localTime(ms) → {minuteOfDay, month}
 *   randomBytes(n) → Uint8Array      getrandom(2), n ≤ MOD_FOG_MAX_RANDOM
 *   readFile(path) → Promise<Uint8Array|null>              null if it does not exist
 *   writeFile(path, bytes|string, mode?) → Promise<void>   temp file + fsync + rename, parent
 *                                                            directories created
 *   rename(from, to), mkdir(path), unlink(path) → Promise<boolean> (unlink: false if absent)
 *   stat(path) → Promise<{size, mtimeMs, isFile, isDirectory}|null>
 *   ctl(op, args?) → Promise<object>  the daemon's control operations, called directly (same
 *                                    table as the control socket; reply fields without id)
 *   onSignal(fn)                     fn("SIGTERM" | "SIGHUP" | "SIGINT")
 *   stopDone()                       after SIGTERM/SIGINT: the agent has stopped, pear-fogd
 *                                    may exit (else it exits after JS_HOST_STOP_GRACE_MS)
 *   spawn(argv, {timeoutMs?, maxOutput?}) → Promise<{status, signal, stdout, stderr}>
 *                                    posix_spawnp, stdin /dev/null, output read on the loop
 *   httpGet(url, {range?, maxBytes, timeoutMs?}) → Promise<{status, body}>   http_client
 *   wsConnect(url, opts, onEvent) → FogWebSocket {send, close, bufferedAmount}   ws_client;
 *                                    events "open", "message", "close" (mod_fog_ws.c)
 *   memoryUsage() → {heapBytes, limitBytes}
 *   info() → {configPath: string|null, version, pid}
 *   sha256(bytes), sha512(bytes) → Uint8Array               crypto.h (either TLS library)
 *   ed25519PublicKey(seed32) → 32 bytes   ed25519Sign(msg, seed32) → 64 bytes
 *   ed25519Verify(sig, msg, pub) → boolean                   RFC 8032; TLS=openssl only
 *                                    (mbedTLS has no Ed25519: they throw, and the agent
 *                                    bundle keeps @noble's; mod_fog_crypto.c)
 *   utf8Encode(string) → Uint8Array  utf8Decode(Uint8Array) → string
 *   runTask(source, inputJson, {memoryBytes, timeoutMs, shares?}) → Promise<resultJson>
 *                                    a sandbox thread (js_sandbox.h); rejects with code "throw",
 *                                    "timeout", "memory", "bad_result", "bad_request", "error"
 *   appStart(opts, onEvent) → id     a long-running app sandbox; onEvent("post", json),
 *                                    ("fetch", url, reqId), ("exit", status, message)
 *   appPost(id, json), appReply(id, reqId, ok, json), appStop(id), appInfo(id), appLogs(id),
 *   appLimits({cpuPermille?, periodMs?, memoryBytes?})      (mod_fog_sandbox.c)
 * File ops are synchronous underneath (small files on local flash) but Promise-shaped; a
 * failure rejects with an Error carrying `op` and `code` ("ENOENT", "too_large", ...). */
#ifndef PEARFOG_MOD_FOG_H
#define PEARFOG_MOD_FOG_H

#include <stddef.h>

#include <quickjs.h>

#define MOD_FOG_NAME "pear-fog:native"
#define MOD_FOG_MAX_TIMERS 4096         /* live timers per context */
#define MOD_FOG_MAX_TIMER_MS 2147483647 /* longer delays are clamped, ms */
#define MOD_FOG_MAX_RANDOM 65536        /* randomBytes(n) cap, bytes */
#define MOD_FOG_MAX_FILE (8u << 20)     /* readFile/writeFile cap, bytes */
#define MOD_FOG_MAX_SPAWN_ARGS 64       /* argv entries */
#define MOD_FOG_MAX_PROCS 8             /* concurrent child processes */
#define MOD_FOG_SPAWN_TIMEOUT_MS 10000  /* default spawn deadline, ms */
#define MOD_FOG_SPAWN_MAX_OUTPUT (1u << 20) /* default cap per stream, bytes */
#define MOD_FOG_MAX_HTTP_BODY (16u << 20)   /* httpGet maxBytes cap, bytes */
#define MOD_FOG_WS_MAX_MESSAGE (16u << 20)  /* wsConnect maxMessage / maxQueued cap, bytes */
#define MOD_FOG_WS_MAX_QUEUED (1u << 20)    /* wsConnect default maxQueued, bytes */
#define MOD_FOG_APPS_MEMORY_DEFAULT (64u << 20) /* all apps' memory limits together, bytes */
#define MOD_FOG_APP_EVENTS 1024                /* app channel events waiting for the agent */
#define MOD_FOG_APP_EVENT_BYTES (4u << 20)     /* their message bytes */

/* Module loader hook: create the module in ctx (a js_host context). */
JSModuleDef *mod_fog_init(JSContext *ctx, const char *name);

/* ---- shared by mod_fog*.c ------------------------------------------------------------ */

/* A new Error with message, .op and .code. */
JSValue mod_fog_error(JSContext *ctx, const char *op, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A promise already settled with v (ownership taken). */
JSValue mod_fog_settled(JSContext *ctx, bool ok, JSValue v);
/* errno → "ENOENT"-style code. */
const char *mod_fog_errno_code(int e);

JSValue mod_fog_read_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_write_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_rename(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_mkdir(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_unlink(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_stat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_sha256(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_sha512(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_ed25519_public_key(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_ed25519_sign(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_ed25519_verify(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_http_get(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_ws_connect(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_spawn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
/* mod_fog_sandbox.c (issue 7): runTask, appStart/Post/Reply/Stop/Info/Logs/Limits */
JSValue mod_fog_run_task(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_start(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_post(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_reply(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_stop(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_info(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_logs(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_limits(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);

/* The router owner's control ops on live apps (pear-fogd.c: app_list, app_stop,
 * app_limits).  Loop thread only. */
struct ctl_json_out;
void mod_fog_sandbox_ctl_list(struct ctl_json_out *o);
int mod_fog_sandbox_ctl_stop(const char *name); /* 0 or -ENOENT */
/* Total CPU (permille of one core), accounting period (ms), apps' memory cap (bytes);
 * 0 leaves a value unchanged. */
void mod_fog_sandbox_limits(uint32_t cpu_permille, uint32_t period_ms, uint64_t memory_bytes);
/* All apps' sends to browsers together, bytes/s (0: no total; app_channel.h). */
void mod_fog_sandbox_upload_total(uint64_t bytes_per_sec);

/* mod_fog_app_channel.c: browsers' app channels (rtc_server.h app hooks) ↔ the agent:
 * fog.appChannels(onEvent), fog.appChannelSend(channel, text), fog.appChannelClose(channel,
 * last?).  pear-fogd wires io to rtc_server_app_send/close and rtc_server's app hooks to the
 * three event functions (which queue; delivery is on a later loop turn). */
struct loop;
struct mod_fog_app_io {
	int (*send)(void *user, const char *channel, const char *text, size_t len);
	int (*close)(void *user, const char *channel, const char *last, size_t len);
	void *user;
};
void mod_fog_app_channel_io(struct loop *l, const struct mod_fog_app_io *io); /* NULL: none */
void mod_fog_app_channel_open(const char *channel, const char *app);
void mod_fog_app_channel_message(const char *channel, const char *text, size_t len);
void mod_fog_app_channel_closed(const char *channel);
JSValue mod_fog_app_channels(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
JSValue mod_fog_app_channel_send(JSContext *ctx, JSValueConst this_val, int argc,
				 JSValueConst *argv);
JSValue mod_fog_app_channel_close(JSContext *ctx, JSValueConst this_val, int argc,
				  JSValueConst *argv);

/* mkdir -p of path's parent directories (not path itself).  0 or -errno. */
int mod_fog_mkdir_parents(const char *path);

#endif

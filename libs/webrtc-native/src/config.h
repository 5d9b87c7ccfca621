/* config: pear-fogd's settings, one table for command-line flags and the UCI file.
 *
 * Every option is a row in config.c's option table: UCI option name (also the flag,
 * as --name with '_' → '-'), type, default and help.  Values from the UCI file
 * (section `config pear-fog 'main'` in /etc/config/pear-fog, or the first section of
 * type pear-fog) are applied first, then flags.  Sizes and rates share one grammar with the
 * agent, the router's shell tools and LuCI (config.c, above parse_amount; docs/openwrt.md):
 * sizes DIGITS[b|k|kb|kib|m|..|t|tb|tib] (1024-based), rates the same in bytes/s or
 * DIGITS bit|kbit|mbit|gbit (1000-based bits), optionally followed by "/s". */
#ifndef PEARFOG_CONFIG_H
#define PEARFOG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_ADDRS 8
/* Largest size or rate (2^53 - 1: what the agent's numbers hold exactly). */
#define CONFIG_VALUE_MAX ((1ull << 53) - 1)

struct pearfogd_config {
	char *store_path;          /* store_path: chunk store directory */
	uint64_t store_size;       /* store_size: byte cap of the store */
	uint64_t verify_interval;  /* verify_interval: s a hash check holds for reads (0 = every read) */
	char *ctl_path;            /* ctl_socket: control socket path */
	char *bind_addr;           /* bind: address the UDP and HTTP sockets bind to */
	uint64_t rtc_port;         /* rtc_port: UDP port for WebRTC (0 = ephemeral) */
	char *rtc_addrs[CONFIG_MAX_ADDRS]; /* rtc_address: advertised host candidate addresses */
	size_t n_rtc_addrs;
	uint64_t http_port;        /* http_port: TCP port for HTTP chunks/metrics (0 = off) */
	uint64_t upload_rate;      /* upload_cap: global upload limit, bytes/s (0 = none) */
	uint64_t peer_rate;        /* peer_upload_cap: per-peer upload limit, bytes/s (0 = none) */
	uint64_t max_peers;        /* max_peers: concurrent WebRTC peers */
	uint64_t max_message_size; /* max_message_size: our SDP a=max-message-size, bytes */
	bool sharing;              /* sharing: serve peers at all */
	char *log_level;           /* log_level: error|warn|info|debug */
	char *stun_servers;        /* stun_server: "IP:PORT[,IP:PORT]" ("" = none) */
	bool ice_lite;             /* ice_lite: ICE-lite answers, no checks of our own */
	char *port_mapping;        /* port_mapping: auto | off | pcp,upnp,natpmp (portmap.h) */
	char *gateway;             /* gateway: port-mapping gateway ("" = default route's) */
	char *agent_js;            /* agent_js: agent module file ("" = the embedded agent) */
	/* From the command line only (not UCI options): */
	bool check_only;           /* --check: validate the configuration, start nothing */
	const char *config_file;   /* --config FILE as given (points into argv), or NULL */
	char **cmd_argv;           /* a command word and its arguments ("ctl OP [JSON]") */
	int cmd_argc;
};

/* Fill defaults. */
void config_init(struct pearfogd_config *c);
void config_free(struct pearfogd_config *c);

/* Set one option by its UCI name.  On error returns negative and writes a one-line
 * message ("upload_cap: '12x' is not a rate (bytes/s, K/M/G suffix)") into err. */
int config_set(struct pearfogd_config *c, const char *name, const char *value, char *err,
	       size_t err_cap);

/* Load a UCI file (path); a missing file is an error.  Unknown options in the section are
 * ignored (they belong to the agent), bad values are errors naming file, option and value. */
int config_load_uci(struct pearfogd_config *c, const char *path, char *err, size_t err_cap);

/* Parse argv; returns 0, 1 when --help/--version was handled (exit 0), or negative with err.
 * Options come first; the first word that is not an option must be a command ("ctl"): it
 * and everything after it are left in cmd_argv/cmd_argc for the caller. */
int config_parse_args(struct pearfogd_config *c, int argc, char **argv, char *err, size_t err_cap);

/* Checks across options, after parsing (what --check reports and start-up refuses):
 * a wildcard bind address needs rtc_address.  Returns 0 or -EINVAL with a message. */
int config_check(const struct pearfogd_config *c, char *err, size_t err_cap);

void config_print_help(const char *argv0);

/* "512M" → 536870912.  Returns false on junk or values past CONFIG_VALUE_MAX. */
bool config_parse_size(const char *s, uint64_t *out);
/* "5mbit" → 625000, "2M/s" → 2097152 (bytes per second).  False on junk, too large, or a
 * non-zero rate under 1 B/s. */
bool config_parse_rate(const char *s, uint64_t *out);

/* What differs between the running configuration and a re-read one (SIGHUP): option names,
 * comma-separated, of those a reload applies (limits, sharing, log level, store size, verify
 * interval) into `runtime` and of those that need a restart (ports, addresses, paths, ...)
 * into `restart`.  Returns the number of options that differ. */
size_t config_changes(const struct pearfogd_config *cur, const struct pearfogd_config *next,
		      char *runtime, size_t runtime_cap, char *restart, size_t restart_cap);

#endif

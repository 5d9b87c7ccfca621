#include "config.h"
#include "portmap.h"
#include "log.h"
#include "uci.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


enum config_type { CT_STR, CT_SIZE, CT_RATE, CT_PORT, CT_UINT, CT_BOOL, CT_ADDR_LIST };

/* Option flags. */
#define CF_POSITIVE 1u /* 0 is refused (the default may still be 0: "not set") */
#define CF_RUNTIME 2u  /* a reload (SIGHUP) applies it; any other option needs a restart */

struct config_option {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	const char *help;
	unsigned flags;
};

#define OFF(field) offsetof(struct pearfogd_config, field)

/* The single list of options; defaults are strings parsed by the same code as input. */
static const struct config_option options[] = {
	{ "store_path", CT_STR, OFF(store_path), "/var/lib/pear-fog/store", "chunk store directory", 0 },
	{ "store_size", CT_SIZE, OFF(store_size), "256M", "store byte cap (K/M/G/T)", CF_RUNTIME },
	{ "verify_interval", CT_UINT, OFF(verify_interval), "300",
	  "seconds a chunk's hash check stays valid for reads (0: re-hash every read)", CF_RUNTIME },
	{ "ctl_socket", CT_STR, OFF(ctl_path), "/var/run/pear-fog/ctl.sock", "control socket path", 0 },
	{ "bind", CT_STR, OFF(bind_addr), "0.0.0.0", "address UDP and HTTP sockets bind to", 0 },
	{ "rtc_port", CT_PORT, OFF(rtc_port), "47100", "UDP port for WebRTC (0: ephemeral)", 0 },
	{ "rtc_address", CT_ADDR_LIST, OFF(rtc_addrs), NULL,
	  "advertised candidate address (repeatable; default: the bind address if not 0.0.0.0)", 0 },
	{ "http_port", CT_PORT, OFF(http_port), "47101", "TCP port for HTTP chunks and /metrics (0: off)", 0 },
	{ "upload_cap", CT_RATE, OFF(upload_rate), "0",
	  "global upload limit, bytes/s or 5mbit etc. (> 0; not set: none)", CF_POSITIVE | CF_RUNTIME },
	{ "peer_upload_cap", CT_RATE, OFF(peer_rate), "0",
	  "per-peer upload limit, bytes/s or 5mbit etc. (0: none)", CF_RUNTIME },
	{ "max_peers", CT_UINT, OFF(max_peers), "200", "concurrent WebRTC peers", 0 },
	{ "max_message_size", CT_SIZE, OFF(max_message_size), "256K",
	  "largest data channel message we accept (SDP max-message-size)", 0 },
	{ "sharing", CT_BOOL, OFF(sharing), "1", "serve peers (0: refuse new sessions)", CF_RUNTIME },
	{ "log_level", CT_STR, OFF(log_level), "info", "error|warn|info|debug", CF_RUNTIME },
	{ "stun_server", CT_STR, OFF(stun_servers), "",
	  "STUN servers for our server-reflexive address, IP:PORT[,IP:PORT] (the agent sets the "
	  "coordinator's at run time; empty: none)", 0 },
	{ "port_mapping", CT_STR, OFF(port_mapping), "auto",
	  "ask the gateway to forward the WebRTC port: auto (PCP, UPnP-IGD, NAT-PMP), off, or "
	  "some of pcp,upnp,natpmp (never with a loopback bind)", 0 },
	{ "gateway", CT_STR, OFF(gateway), "",
	  "IPv4 address of the port-mapping gateway (empty: the default route's)", 0 },
	{ "ice_lite", CT_BOOL, OFF(ice_lite), "0",
	  "answer as ICE-lite and send no checks (only for a public address; 0: full ICE)", 0 },
	{ "agent_js", CT_STR, OFF(agent_js), "",
	  "agent module instead of the embedded one (.js/.mjs source or qjsc bytecode; off: none)", 0 },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* The size and rate grammar of /etc/config/pear-fog, shared with the agent
 * (src/agent/config.ts parseSize/parseRate), lib.sh (pf_size_bytes/pf_rate_bytes) and LuCI;
 * test/openwrt/caps.test.ts runs one table of values through all of them:
 *
 *   size   DIGITS [UNIT]                 bytes; UNIT (any case, 1024-based):
 *                                        b | k kb kib | m mb mib | g gb gib | t tb tib
 *   rate   DIGITS [UNIT | BITS] ["/s"]   bytes per second; BITS (any case, 1000-based, as
 *                                        tc): bit kbit mbit gbit (5mbit = 625000 B/s)
 *
 * No sign, fraction or space.  The result is floored to whole bytes and must be at most
 * 2^53 - 1 (the agent's safe integers); a rate that is not 0 but under 1 B/s ("1bit") is
 * refused rather than read as 0 (= no limit). */
struct unit {
	const char *name;
	uint64_t mul, div;
};

static const struct unit size_units[] = {
	{ "", 1, 1 },	       { "b", 1, 1 },
	{ "k", 1ull << 10, 1 }, { "kb", 1ull << 10, 1 }, { "kib", 1ull << 10, 1 },
	{ "m", 1ull << 20, 1 }, { "mb", 1ull << 20, 1 }, { "mib", 1ull << 20, 1 },
	{ "g", 1ull << 30, 1 }, { "gb", 1ull << 30, 1 }, { "gib", 1ull << 30, 1 },
	{ "t", 1ull << 40, 1 }, { "tb", 1ull << 40, 1 }, { "tib", 1ull << 40, 1 },
};

static const struct unit bit_units[] = {
	{ "bit", 1, 8 },
	{ "kbit", 1000, 8 },
	{ "mbit", 1000000, 8 },
	{ "gbit", 1000000000, 8 },
};

static bool parse_amount(const char *s, bool rate, uint64_t *out)
{
	char unit[8];
	size_t len, k;
	uint64_t v = 0;
	const struct unit *u = NULL;

	if (!s || *s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (CONFIG_VALUE_MAX << 4) / 10) /* far past any valid value: stop early */
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	len = strlen(s);
	if (rate && len >= 2 && strcmp(s + len - 2, "/s") == 0)
		len -= 2;
	if (len >= sizeof(unit))
		return false;
	for (k = 0; k < len; k++)
		unit[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] - 'A' + 'a' : s[k]);
	unit[len] = '\0';
	for (k = 0; k < sizeof(size_units) / sizeof(size_units[0]) && !u; k++)
		if (strcmp(unit, size_units[k].name) == 0)
			u = &size_units[k];
	for (k = 0; rate && k < sizeof(bit_units) / sizeof(bit_units[0]) && !u; k++)
		if (strcmp(unit, bit_units[k].name) == 0)
			u = &bit_units[k];
	if (!u || v > UINT64_MAX / u->mul)
		return false;
	if (v * u->mul / u->div > CONFIG_VALUE_MAX || (v && v * u->mul / u->div == 0))
		return false;
	*out = v * u->mul / u->div;
	return true;
}

bool config_parse_size(const char *s, uint64_t *out)
{
	return parse_amount(s, false, out);
}

bool config_parse_rate(const char *s, uint64_t *out)
{
	return parse_amount(s, true, out);
}

/* Plain decimal digits (ports, counts, seconds). */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true", "enabled" };
	static const char *const no[] = { "0", "no", "off", "false", "disabled" };

	for (size_t i = 0; i < 5; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static const struct config_option *find_option(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

int config_set(struct pearfogd_config *c, const char *name, const char *value, char *err,
	       size_t err_cap)
{
	const struct config_option *o = find_option(name);
	char *field;
	uint64_t n;

	if (!o) {
		snprintf(err, err_cap, "unknown option '%s'", name);
		return -EINVAL;
	}
	field = (char *)c + o->offset;
	switch (o->type) {
	case CT_STR: {
		char *dup = strdup(value);
		if (!dup)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	case CT_ADDR_LIST: {
		char *dup;
		if (c->n_rtc_addrs >= CONFIG_MAX_ADDRS) {
			snprintf(err, err_cap, "%s: more than %d addresses", name, CONFIG_MAX_ADDRS);
			return -EINVAL;
		}
		if (!(dup = strdup(value)))
			return -ENOMEM;
		c->rtc_addrs[c->n_rtc_addrs++] = dup;
		return 0;
	}
	case CT_BOOL:
		if (!parse_bool(value, (bool *)field)) {
			snprintf(err, err_cap, "%s: '%s' is not a boolean (1/0, yes/no, on/off)", name, value);
			return -EINVAL;
		}
		return 0;
	case CT_SIZE:
	case CT_RATE:
	case CT_UINT:
	case CT_PORT: {
		bool ok = o->type == CT_SIZE   ? config_parse_size(value, &n)
			  : o->type == CT_RATE ? config_parse_rate(value, &n)
			  : parse_uint(value, o->type == CT_PORT ? 65535 : CONFIG_VALUE_MAX, &n);

		if (!ok) {
			snprintf(err, err_cap, "%s: '%s' is not %s", name, value,
				 o->type == CT_PORT   ? "a port (0-65535)"
				 : o->type == CT_UINT ? "a non-negative integer"
				 : o->type == CT_RATE ? "a rate (bytes/s with K/M/G/T, or bit/kbit/mbit/gbit)"
						      : "a size (bytes, K/M/G/T suffix)");
			return -EINVAL;
		}
		if (n == 0 && (o->flags & CF_POSITIVE)) {
			snprintf(err, err_cap, "%s: '%s' must be more than 0", name, value);
			return -EINVAL;
		}
		*(uint64_t *)field = n;
		return 0;
	}
	}
	return -EINVAL;
}

void config_init(struct pearfogd_config *c)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].def && strcmp(options[i].def, "0") != 0) /* "0": the memset's */
			config_set(c, options[i].name, options[i].def, err, sizeof(err));
}

void config_free(struct pearfogd_config *c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].type == CT_STR)
			free(*(char **)((char *)c + options[i].offset));
	for (size_t i = 0; i < c->n_rtc_addrs; i++)
		free(c->rtc_addrs[i]);
	memset(c, 0, sizeof(*c));
}

void config_print_help(const char *argv0)
{
	printf("Usage: %s [--config FILE] [--OPTION VALUE ...]\n"
	       "       %s [--config FILE] [--ctl-socket PATH] ctl OP ['{JSON arguments}']\n"
	       "pear-fogd: the pear-fog node daemon (WebRTC data channels, chunk store, HTTP).\n\n"
	       "  --config FILE          UCI file to read first (e.g. /etc/config/pear-fog)\n"
	       "  --check                validate the configuration (file and flags), start nothing\n"
	       "  --version              print the version and exit\n"
	       "  --help                 this text\n"
	       "  ctl OP [JSON]          send one control request to a running pear-fogd and print\n"
	       "                         the reply line (exit 0 ok, 1 error reply, 2 no daemon/usage);\n"
	       "                         OP: status, chunk_list, chunk_has, limits, sharing, ...\n\n"
	       "Options (flag --name-with-dashes, or UCI option name_with_underscores):\n",
	       argv0, argv0);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char flag[40];
		size_t k;
		snprintf(flag, sizeof(flag), "--%s", options[i].name);
		for (k = 0; flag[k]; k++)
			if (flag[k] == '_')
				flag[k] = '-';
		printf("  %-22s %s%s%s%s\n", flag, options[i].help, options[i].def ? " [default: " : "",
		       options[i].def ? options[i].def : "", options[i].def ? "]" : "");
	}
}

int config_parse_args(struct pearfogd_config *c, int argc, char **argv, char *err, size_t err_cap)
{
	const char *config_file = NULL;
	int rc;

	/* First pass: --help, --version, --check, --config (the file is applied before other
	 * flags), up to a command word. */
	for (int i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		bool takes_value = strcmp(argv[i], "--check") != 0 && strcmp(argv[i], "--config") != 0;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			config_print_help(argv[0]);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("pear-fogd %s\n", PEARFOG_VERSION);
			return 1;
		}
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, err_cap, "--config needs a file");
				return -EINVAL;
			}
			config_file = argv[++i];
			c->config_file = config_file;
		}
		if (strcmp(argv[i], "--check") == 0)
			c->check_only = true;
		if (takes_value)
			i++; /* --OPTION VALUE: the value may look like anything */
	}
	if (config_file && (rc = config_load_uci(c, config_file, err, err_cap)) < 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		char name[40];
		size_t k;

		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--check") == 0)
			continue;
		if (strcmp(argv[i], "ctl") == 0) {
			c->cmd_argv = argv + i;
			c->cmd_argc = argc - i;
			break;
		}
		if (strncmp(argv[i], "--", 2) != 0 || strlen(argv[i]) >= sizeof(name) + 2) {
			snprintf(err, err_cap, "unexpected argument '%s' (see --help)", argv[i]);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		for (k = 0; name[k]; k++)
			if (name[k] == '-')
				name[k] = '_';
		if (!find_option(name)) {
			snprintf(err, err_cap, "unknown option '%s' (see --help)", argv[i]);
			return -EINVAL;
		}
		if (i + 1 >= argc) {
			snprintf(err, err_cap, "%s needs a value", argv[i]);
			return -EINVAL;
		}
		if ((rc = config_set(c, name, argv[++i], err, err_cap)) < 0)
			return rc;
	}
	return 0;
}

int config_check(const struct pearfogd_config *c, char *err, size_t err_cap)
{
	if (portmap_parse_protocols(c->port_mapping) < 0) {
		snprintf(err, err_cap, "port_mapping: '%s' is not auto, off or pcp,upnp,natpmp",
			 c->port_mapping);
		return -EINVAL;
	}
	if (log_level_parse(c->log_level) < 0) {
		snprintf(err, err_cap, "log_level: '%s' is not error|warn|info|debug", c->log_level);
		return -EINVAL;
	}
	/* ICE-lite host candidates are our advertised addresses: 0.0.0.0 is none a browser
	 * can reach (RFC 8445 §5.1.1.1: host candidates are the interface addresses). */
	if (c->n_rtc_addrs == 0 &&
	    (strcmp(c->bind_addr, "0.0.0.0") == 0 || strcmp(c->bind_addr, "::") == 0)) {
		snprintf(err, err_cap, "bind: '%s' is a wildcard address: set rtc_address to the "
				       "address(es) browsers reach", c->bind_addr);
		return -EINVAL;
	}
	return 0;
}

int config_load_uci(struct pearfogd_config *c, const char *path, char *err, size_t err_cap)
{
	struct uci_file f;
	struct uci_error uerr = { 0 };
	const struct uci_section *sec;
	char *text;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, err_cap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	text = malloc(UCI_MAX_BYTES + 1);
	n = text ? read(fd, text, UCI_MAX_BYTES + 1) : -1;
	close(fd);
	if (n < 0 || n > UCI_MAX_BYTES) {
		snprintf(err, err_cap, "%s: %s", path,
			 n < 0 ? "cannot read" : "larger than 256 KiB");
		free(text);
		return -EINVAL;
	}
	rc = uci_parse(text, (size_t)n, &f, &uerr);
	free(text);
	if (rc < 0) {
		snprintf(err, err_cap, "%s: %s", path, uerr.msg);
		return -EINVAL;
	}
	sec = uci_section_find(&f, "main");
	if (!sec)
		sec = uci_section_find(&f, "@pear-fog[0]");
	if (!sec) {
		snprintf(err, err_cap, "%s: no 'config pear-fog' section", path);
		uci_file_free(&f);
		return -EINVAL;
	}
	rc = 0;
	for (const struct uci_option *o = sec->options; o && rc == 0; o = o->next) {
		const struct config_option *def = find_option(o->name);
		char msg[200];

		if (!def)
			continue; /* the agent's options share the section */
		if (o->is_list && def->type != CT_ADDR_LIST) {
			snprintf(err, err_cap, "%s:%u: %s: a list where one value is expected", path,
				 o->line, o->name);
			rc = -EINVAL;
			break;
		}
		for (const struct uci_value *v = o->values; v && rc == 0; v = v->next) {
			if ((rc = config_set(c, o->name, v->str, msg, sizeof(msg))) < 0)
				snprintf(err, err_cap, "%s:%u: %s", path, o->line, msg);
		}
	}
	uci_file_free(&f);
	return rc;
}

static bool option_equal(const struct config_option *o, const struct pearfogd_config *a,
			 const struct pearfogd_config *b)
{
	const char *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;

	switch (o->type) {
	case CT_STR: {
		const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
		return strcmp(sa ? sa : "", sb ? sb : "") == 0;
	}
	case CT_ADDR_LIST:
		if (a->n_rtc_addrs != b->n_rtc_addrs)
			return false;
		for (size_t i = 0; i < a->n_rtc_addrs; i++)
			if (strcmp(a->rtc_addrs[i], b->rtc_addrs[i]) != 0)
				return false;
		return true;
	case CT_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	default:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	}
}

size_t config_changes(const struct pearfogd_config *cur, const struct pearfogd_config *next,
		      char *runtime, size_t runtime_cap, char *restart, size_t restart_cap)
{
	size_t n = 0, lr = 0, ls = 0;

	if (runtime_cap)
		runtime[0] = '\0';
	if (restart_cap)
		restart[0] = '\0';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct config_option *o = &options[i];
		bool rt = o->flags & CF_RUNTIME;
		char *buf = rt ? runtime : restart;
		size_t cap = rt ? runtime_cap : restart_cap, *len = rt ? &lr : &ls;
		int w;

		if (option_equal(o, cur, next))
			continue;
		n++;
		if (*len >= cap)
			continue;
		w = snprintf(buf + *len, cap - *len, "%s%s", *len ? ", " : "", o->name);
		*len = w < 0 ? cap : *len + (size_t)w;
	}
	return n;
}

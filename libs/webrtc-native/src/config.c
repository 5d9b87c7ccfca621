#include "config.h"
#include "uci.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


enum config_type { CT_STR, CT_SIZE, CT_RATE, CT_PORT, CT_UINT, CT_BOOL, CT_ADDR_LIST };

struct config_option {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	const char *help;
};

#define OFF(field) offsetof(struct pearfogd_config, field)

/* The single list of options; defaults are strings parsed by the same code as input. */
static const struct config_option options[] = {
	{ "store_path", CT_STR, OFF(store_path), "/var/lib/pear-fog/store", "chunk store directory" },
	{ "store_size", CT_SIZE, OFF(store_size), "256M", "store byte cap (K/M/G)" },
	{ "verify_interval", CT_UINT, OFF(verify_interval), "300",
	  "seconds a chunk's hash check stays valid for reads (0: re-hash every read)" },
	{ "ctl_socket", CT_STR, OFF(ctl_path), "/var/run/pear-fog/ctl.sock", "control socket path" },
	{ "bind", CT_STR, OFF(bind_addr), "0.0.0.0", "address UDP and HTTP sockets bind to" },
	{ "rtc_port", CT_PORT, OFF(rtc_port), "47100", "UDP port for WebRTC (0: ephemeral)" },
	{ "rtc_address", CT_ADDR_LIST, OFF(rtc_addrs), NULL,
	  "advertised candidate address (repeatable; default: the bind address if not 0.0.0.0)" },
	{ "http_port", CT_PORT, OFF(http_port), "47101", "TCP port for HTTP chunks and /metrics (0: off)" },
	{ "upload_cap", CT_RATE, OFF(upload_rate), "0", "global upload limit, bytes/s (0: none)" },
	{ "peer_upload_cap", CT_RATE, OFF(peer_rate), "0", "per-peer upload limit, bytes/s (0: none)" },
	{ "max_peers", CT_UINT, OFF(max_peers), "200", "concurrent WebRTC peers" },
	{ "max_message_size", CT_SIZE, OFF(max_message_size), "256K",
	  "largest data channel message we accept (SDP max-message-size)" },
	{ "sharing", CT_BOOL, OFF(sharing), "1", "serve peers (0: refuse new sessions)" },
	{ "log_level", CT_STR, OFF(log_level), "info", "error|warn|info|debug" },
	{ "agent_js", CT_STR, OFF(agent_js), "",
	  "agent module instead of the embedded one (.js/.mjs source or qjsc bytecode; off: none)" },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

bool config_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	default: return false;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || (mul > 1 && v > UINT64_MAX / mul))
		return false;
	*out = v * mul;
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
	case CT_PORT:
		if (!config_parse_size(value, &n) || (o->type == CT_PORT && n > 65535) ||
		    ((o->type == CT_UINT || o->type == CT_PORT) && strpbrk(value, "kKmMgGbB"))) {
			snprintf(err, err_cap, "%s: '%s' is not %s", name, value,
				 o->type == CT_PORT   ? "a port (0-65535)"
				 : o->type == CT_UINT ? "a non-negative integer"
				 : o->type == CT_RATE ? "a rate (bytes/s, K/M/G suffix)"
						      : "a size (bytes, K/M/G suffix)");
			return -EINVAL;
		}
		*(uint64_t *)field = n;
		return 0;
	}
	return -EINVAL;
}

void config_init(struct pearfogd_config *c)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].def)
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

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/pearfog-config-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return NULL;
	close(fd);
	return path;
}

TEST(defaults_and_sizes)
{
	struct pearfogd_config c;
	uint64_t v = 0;

	config_init(&c);
	CHECK_EQ_INT(c.store_size, 256ull << 20);
	CHECK_EQ_INT(c.rtc_port, 47100);
	CHECK(c.sharing);
	CHECK_EQ_STR(c.store_path, "/var/lib/pear-fog/store");
	CHECK_EQ_INT(c.upload_rate, 0); /* not set: no limit */
	CHECK(config_parse_size("512M", &v) && v == 512ull << 20);
	CHECK(config_parse_size("64KiB", &v) && v == 65536);
	CHECK(config_parse_size("64KB", &v) && v == 65536);
	CHECK(config_parse_size("2t", &v) && v == 2ull << 40);
	CHECK(!config_parse_size("", &v));
	CHECK(!config_parse_size("-1", &v));
	CHECK(!config_parse_size("1.5G", &v)); /* no fractions */
	CHECK(!config_parse_size("1 G", &v));  /* no spaces */
	CHECK(!config_parse_size("5mbit", &v)); /* bits are rates only */
	CHECK(!config_parse_size("1M/s", &v));
	CHECK(!config_parse_size("99999999999999999999", &v));
	CHECK(!config_parse_size("17179869184G", &v)); /* overflows 2^64 */
	CHECK(config_parse_size("9007199254740991", &v) && v == CONFIG_VALUE_MAX);
	CHECK(!config_parse_size("9007199254740992", &v));
	CHECK(config_parse_size("8191T", &v) && v == 8191ull << 40);
	CHECK(!config_parse_size("8192T", &v)); /* 2^53 */
	config_free(&c);
}

TEST(set_reports_clear_errors)
{
	struct pearfogd_config c;
	char err[200];

	config_init(&c);
	CHECK(config_set(&c, "rtc_port", "70000", err, sizeof(err)) < 0);
	CHECK_EQ_STR(err, "rtc_port: '70000' is not a port (0-65535)");
	CHECK(config_set(&c, "upload_cap", "12x", err, sizeof(err)) < 0);
	CHECK_EQ_STR(err,
		     "upload_cap: '12x' is not a rate (bytes/s with K/M/G/T, or bit/kbit/mbit/gbit)");
	CHECK(config_set(&c, "upload_cap", "0", err, sizeof(err)) < 0);
	CHECK_EQ_STR(err, "upload_cap: '0' must be more than 0");
	CHECK(config_set(&c, "verify_interval", "5M", err, sizeof(err)) < 0);
	CHECK(config_set(&c, "sharing", "maybe", err, sizeof(err)) < 0);
	CHECK(config_set(&c, "nope", "1", err, sizeof(err)) < 0);
	CHECK_EQ_STR(err, "unknown option 'nope'");
	CHECK_EQ_INT(c.rtc_port, 47100); /* unchanged by failures */
	config_free(&c);
}

TEST(uci_file_then_flags)
{
	struct pearfogd_config c;
	char err[256] = "";
	char *path = write_tmp("package pear-fog\n\n"
			       "config pear-fog 'main'\n"
			       "\toption store_path '/tmp/store x'\n"
			       "\toption store_size 1G # a comment\n"
			       "\toption coordinator 'wss://c.example/ws/node' # the agent's\n"
			       "\tlist rtc_address '192.0.2.1'\n"
			       "\tlist rtc_address '2001:db8::1'\n"
			       "\toption upload_cap 2M\n");
	char *argv[] = { "pear-fogd", "--config", path, "--upload-cap", "1M", NULL };

	config_init(&c);
	CHECK_EQ_INT(config_parse_args(&c, 3, argv, err, sizeof(err)), 0);
	CHECK_EQ_STR(c.store_path, "/tmp/store x");
	CHECK_EQ_INT(c.store_size, 1ull << 30);
	CHECK_EQ_INT(c.n_rtc_addrs, 2);
	CHECK_EQ_STR(c.rtc_addrs[1], "2001:db8::1");
	CHECK_EQ_INT(c.upload_rate, 2ull << 20); /* the file alone */
	config_free(&c);

	config_init(&c);
	CHECK_EQ_INT(config_parse_args(&c, 5, argv, err, sizeof(err)), 0);
	CHECK_EQ_INT(c.upload_rate, 1ull << 20); /* flags override the file */
	config_free(&c);
	unlink(path);
}

TEST(uci_bad_value_names_file_line_option)
{
	struct pearfogd_config c;
	char err[256] = "", expect[256];
	char *path = write_tmp("config pear-fog\n\toption rtc_port 'http'\n");

	config_init(&c);
	CHECK(config_load_uci(&c, path, err, sizeof(err)) < 0);
	snprintf(expect, sizeof(expect), "%s:2: rtc_port: 'http' is not a port (0-65535)", path);
	CHECK_EQ_STR(err, expect);
	unlink(path);
	path = write_tmp("config pear-fog\n\toption store_path 'unterminated\n");
	CHECK(config_load_uci(&c, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "line") != NULL);
	unlink(path);
	CHECK(config_load_uci(&c, "/nonexistent/pear-fog", err, sizeof(err)) < 0);
	CHECK(strstr(err, "No such file") != NULL);
	config_free(&c);
}

TEST(check_flag_and_ctl_command)
{
	struct pearfogd_config c;
	char err[256];
	char *a1[] = { "pear-fogd", "--http-port", "ctl", "--check", NULL };
	char *a2[] = { "pear-fogd", "--ctl-socket", "/tmp/x.sock", "ctl", "sharing",
		       "{\"enabled\":false}", NULL };
	char *a3[] = { "pear-fogd", "--store-size", "1M", "stray", NULL };

	/* a value that looks like a command or a flag is still the option's value */
	config_init(&c);
	CHECK_EQ_INT(config_parse_args(&c, 4, a1, err, sizeof(err)), -EINVAL); /* "ctl" port */
	CHECK(c.check_only);
	config_free(&c);

	config_init(&c);
	CHECK_EQ_INT(config_parse_args(&c, 6, a2, err, sizeof(err)), 0);
	CHECK(!c.check_only);
	CHECK_EQ_INT(c.cmd_argc, 3);
	CHECK_EQ_STR(c.cmd_argv[1], "sharing");
	CHECK_EQ_STR(c.ctl_path, "/tmp/x.sock");
	config_free(&c);

	/* the default bind (0.0.0.0) needs an advertised address */
	config_init(&c);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "rtc_address") != NULL);
	CHECK_EQ_INT(config_set(&c, "rtc_address", "192.0.2.1", err, sizeof(err)), 0);
	CHECK_EQ_INT(config_check(&c, err, sizeof(err)), 0);
	config_free(&c);

	config_init(&c);
	CHECK_EQ_INT(config_parse_args(&c, 4, a3, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "stray") != NULL);
	config_free(&c);
}

TEST(rates)
{
	static const struct {
		const char *in;
		bool ok;
		uint64_t v;
	} t[] = {
		{ "625000", true, 625000 },    { "5mbit", true, 625000 },
		{ "5Mbit/s", true, 625000 },   { "500kbit", true, 62500 },
		{ "1gbit", true, 125000000 },  { "8bit", true, 1 },
		{ "1bit", false, 0 },	       { "0", true, 0 },
		{ "0mbit", true, 0 },	       { "2M", true, 2097152 },
		{ "2MB/s", true, 2097152 },    { "2MiB/s", true, 2097152 },
		{ "1k", true, 1024 },	       { "250000/s", true, 250000 },
		{ "5mbps", false, 0 },	       { "5 mbit", false, 0 },
		{ "5mbit/", false, 0 },	       { "/s", false, 0 },
		{ "1.5mbit", false, 0 },       { "72057594037927928bit", true, 9007199254740991 },
		{ "72057594037927936bit", false, 0 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 12345;
		if (config_parse_rate(t[i].in, &v) != t[i].ok || (t[i].ok && v != t[i].v)) {
			fprintf(stderr, "rate '%s': got %d %llu\n", t[i].in, !t[i].ok,
				(unsigned long long)v);
			CHECK(0);
		}
	}
}

TEST(reload_changes)
{
	struct pearfogd_config a, b;
	char rt[128], rs[128];

	config_init(&a);
	config_init(&b);
	CHECK_EQ_INT(config_changes(&a, &b, rt, sizeof(rt), rs, sizeof(rs)), 0);
	CHECK_EQ_STR(rt, "");
	CHECK_EQ_STR(rs, "");
	config_set(&b, "upload_cap", "5mbit", rt, sizeof(rt));
	config_set(&b, "sharing", "0", rt, sizeof(rt));
	config_set(&b, "log_level", "debug", rt, sizeof(rt));
	config_set(&b, "rtc_port", "1234", rt, sizeof(rt));
	config_set(&b, "store_path", "/mnt/x", rt, sizeof(rt));
	config_set(&b, "rtc_address", "192.0.2.1", rt, sizeof(rt));
	CHECK_EQ_INT(config_changes(&a, &b, rt, sizeof(rt), rs, sizeof(rs)), 6);
	CHECK_EQ_STR(rt, "upload_cap, sharing, log_level");
	CHECK_EQ_STR(rs, "store_path, rtc_port, rtc_address");
	/* a short buffer is cut, not overrun */
	CHECK_EQ_INT(config_changes(&a, &b, rt, 8, rs, 4), 6);
	CHECK(strlen(rt) < 8 && strlen(rs) < 4);
	config_free(&a);
	config_free(&b);
}

int main(void)
{
	RUN(defaults_and_sizes);
	RUN(set_reports_clear_errors);
	RUN(uci_file_then_flags);
	RUN(uci_bad_value_names_file_line_option);
	RUN(check_flag_and_ctl_command);
	RUN(rates);
	RUN(reload_changes);
	return test_summary();
}

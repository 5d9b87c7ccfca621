#include <stdlib.h>

#include "test.h"
#include "uci.h"

/* The shape of /etc/config/pear-fog, with the quirks real files have. */
static const char sample[] =
	"# pear-fog node configuration\n"
	"package 'pear-fog'\n"
	"\n"
	"config pear-fog 'main'\n"
	"\toption enabled '1'\n"
	"\toption upload_cap \"10mbit\"   # shaped by tc too\n"
	"\toption storage_path /mnt/sda1/pear-fog\n"
	"\toption storage_size '2G'\n"
	"\toption label 'a'\"b\"c' d'\n"
	"\toption quoted \"say \\\"hi\\\" \\\\ \\n\"\n"
	"\toption single 'no \\escapes\\ here'\n"
	"\tlist coordinator 'wss://coord.example.net/ws'\n"
	"\tlist coordinator \"wss://backup.example.net/ws\"\n"
	"\toption empty ''\n"
	"\toption enabled 'yes'\n"
	"\n"
	"config peer\n"
	"\toption name first\n"
	"config peer 'named'\n"
	"\toption name second\n"
	"config peer\n"
	"\toption name third\n"
	"  option long \"one \\\n"
	"two\" \\\n"
	"  \n"
	"config schedule\n"
	"\toption hours '08:00-23:00'";

TEST(parses_sample)
{
	struct uci_file f;
	struct uci_error err;
	const struct uci_value *v;
	const struct uci_section *s;

	CHECK_EQ_INT(uci_parse(sample, strlen(sample), &f, &err), UCI_OK);
	CHECK_EQ_STR(err.msg, "");
	CHECK_EQ_STR(f.package, "pear-fog");
	CHECK_EQ_INT(f.n_sections, 5);
	CHECK_EQ_STR(uci_get(&f, "main", "enabled"), "yes"); /* last wins */
	CHECK_EQ_STR(uci_get(&f, "@pear-fog[0]", "enabled"), "yes");
	CHECK_EQ_STR(uci_get(&f, "main", "upload_cap"), "10mbit");
	CHECK_EQ_STR(uci_get(&f, "main", "storage_path"), "/mnt/sda1/pear-fog");
	CHECK_EQ_STR(uci_get(&f, "main", "label"), "abc d");
	CHECK_EQ_STR(uci_get(&f, "main", "quoted"), "say \"hi\" \\ n");
	CHECK_EQ_STR(uci_get(&f, "main", "single"), "no \\escapes\\ here");
	CHECK_EQ_STR(uci_get(&f, "main", "empty"), "");
	CHECK(uci_get(&f, "main", "coordinator") == NULL); /* a list */
	v = uci_get_list(&f, "main", "coordinator");
	CHECK(v && v->next && !v->next->next);
	if (v && v->next) {
		CHECK_EQ_STR(v->str, "wss://coord.example.net/ws");
		CHECK_EQ_STR(v->next->str, "wss://backup.example.net/ws");
	}
	v = uci_get_list(&f, "main", "storage_size"); /* an option reads as one item */
	CHECK(v && !v->next && strcmp(v->str, "2G") == 0);
	/* @type[N] counts named and anonymous sections of the type */
	CHECK_EQ_STR(uci_get(&f, "@peer[0]", "name"), "first");
	CHECK_EQ_STR(uci_get(&f, "@peer[1]", "name"), "second");
	CHECK_EQ_STR(uci_get(&f, "named", "name"), "second");
	CHECK_EQ_STR(uci_get(&f, "@peer[2]", "name"), "third");
	CHECK_EQ_STR(uci_get(&f, "@peer[-1]", "name"), "third");
	CHECK_EQ_STR(uci_get(&f, "@peer[-3]", "name"), "first");
	CHECK(uci_get(&f, "@peer[3]", "name") == NULL);
	CHECK(uci_get(&f, "@peer[-4]", "name") == NULL);
	CHECK(uci_get(&f, "@peer[-0]", "name") == NULL);
	CHECK(uci_get(&f, "@peer[x]", "name") == NULL);
	CHECK(uci_get(&f, "@peer[0", "name") == NULL);
	CHECK(uci_get(&f, "@[0]", "name") == NULL);
	CHECK(uci_get(&f, "@pee[0]", "name") == NULL);
	CHECK(uci_get(&f, "nosuch", "name") == NULL);
	CHECK(uci_get(&f, "main", "nosuch") == NULL);
	CHECK_EQ_STR(uci_get(&f, "@peer[2]", "long"), "one two"); /* continuations */
	CHECK_EQ_STR(uci_get(&f, "@schedule[0]", "hours"), "08:00-23:00"); /* no final LF */
	s = uci_section_find(&f, "@peer[0]");
	CHECK(s && s->name == NULL && strcmp(s->type, "peer") == 0 && s->line == 17);
	s = uci_section_find(&f, "main");
	CHECK(s && s->n_options == 9);
	CHECK_EQ_INT(uci_option_find(s, "enabled")->line, 15);
	uci_file_free(&f);
	CHECK(f.sections == NULL && f.arena == NULL);
	uci_file_free(&f); /* idempotent */
}

TEST(crlf_tabs_comments_and_abbreviations)
{
	const char *text = "\r\n#x\r\nc t 'n'\r\n\to  a\t'1'\t# c\r\n  l b x#y\r\nl b 'z'\r\n"
			   "option c v\\ w\r\n";
	struct uci_file f;
	struct uci_error err;
	const struct uci_value *v;

	CHECK_EQ_INT(uci_parse(text, strlen(text), &f, &err), UCI_OK);
	CHECK_EQ_STR(uci_get(&f, "n", "a"), "1");
	v = uci_get_list(&f, "n", "b");
	CHECK(v && v->next && strcmp(v->str, "x") == 0 && strcmp(v->next->str, "z") == 0);
	CHECK_EQ_STR(uci_get(&f, "n", "c"), "v w");
	uci_file_free(&f);
}

TEST(list_option_interplay_and_reopened_sections)
{
	const char *text = "config t 'a'\n option x 1\n list x 2\n list y 1\n option y 9\n"
			   "config t 'b'\nconfig t 'a'\n option z 3\n";
	struct uci_file f;
	const struct uci_value *v;

	CHECK_EQ_INT(uci_parse(text, strlen(text), &f, NULL), UCI_OK);
	v = uci_get_list(&f, "a", "x"); /* option then list → list [1, 2] */
	CHECK(v && v->next && strcmp(v->str, "1") == 0 && strcmp(v->next->str, "2") == 0);
	CHECK_EQ_STR(uci_get(&f, "a", "y"), "9"); /* list then option → option */
	CHECK_EQ_STR(uci_get(&f, "a", "z"), "3"); /* merged into the first 'a' */
	CHECK_EQ_INT(f.n_sections, 2);
	CHECK_EQ_STR(uci_get(&f, "@t[0]", "z"), "3");
	uci_file_free(&f);
}

TEST(errors_carry_line_numbers)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{ "config t\n\noption a 'b\n", UCI_E_SYNTAX, "line 3: unterminated '" },
		{ "config t\noption a \"b\n\"\n", UCI_E_SYNTAX, "line 2: unterminated \"" },
		{ "config t\noption a \"b\\", UCI_E_SYNTAX, "line 2: unterminated \"" },
		{ "option a b\n", UCI_E_SYNTAX, "line 1: option or list before the first config" },
		{ "config t\n  option a b c\n", UCI_E_SYNTAX, "line 2: too many arguments" },
		{ "config t n x\n", UCI_E_SYNTAX, "line 1: too many arguments" },
		{ "config t\noption a\n", UCI_E_SYNTAX, "line 2: option needs a name and a value" },
		{ "config t\nlist a\n", UCI_E_SYNTAX, "line 2: list needs a name and a value" },
		{ "config\n", UCI_E_SYNTAX, "line 1: config needs a type" },
		{ "package\n", UCI_E_SYNTAX, "line 1: package needs a name" },
		{ "package a\npackage b\n", UCI_E_SYNTAX, "line 2: package must come first, once" },
		{ "package 'a b'\n", UCI_E_SYNTAX, "line 1: invalid package name" },
		{ "config 't.x'\n", UCI_E_SYNTAX, "line 1: invalid section type" },
		{ "config t 'my-name'\n", UCI_E_SYNTAX, "line 1: invalid section name" },
		{ "config t\noption 'a-b' 1\n", UCI_E_SYNTAX, "line 2: invalid option name" },
		{ "config t a\nconfig u a\n", UCI_E_SYNTAX,
		  "line 2: section redefined with a different type" },
		{ "\n\nfoo bar\n", UCI_E_SYNTAX, "line 3: invalid command" },
		{ "config t\noption a 'x'\\\n'y\n", UCI_E_SYNTAX, "line 3: unterminated '" },
		{ "config t\n#c\noption a b\x00\n", UCI_E_SYNTAX, "line 3: NUL byte" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uci_file f;
		struct uci_error err;
		size_t len = strlen(cases[i].text);
		int rc;

		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			len += 2; /* the NUL case: include "\0\n" */
		rc = uci_parse(cases[i].text, len, &f, &err);
		CHECK_EQ_INT(rc, cases[i].code);
		CHECK_EQ_INT(err.code, cases[i].code);
		CHECK_EQ_STR(err.msg, cases[i].msg);
		CHECK(f.sections == NULL && f.arena == NULL);
	}
}

TEST(caps)
{
	struct uci_file f;
	struct uci_error err;
	size_t cap = UCI_MAX_BYTES + 64 * 1024, n;
	char *big = malloc(cap);

	/* over the byte cap */
	memset(big, '\n', UCI_MAX_BYTES + 1);
	CHECK_EQ_INT(uci_parse(big, UCI_MAX_BYTES + 1, &f, &err), UCI_E_TOO_BIG);
	CHECK_EQ_INT(uci_parse(big, UCI_MAX_BYTES, &f, &err), UCI_OK);
	uci_file_free(&f);

	/* value length */
	n = (size_t)sprintf(big, "config t\noption a '");
	memset(big + n, 'v', UCI_MAX_VALUE + 1);
	strcpy(big + n + UCI_MAX_VALUE + 1, "'\n");
	CHECK_EQ_INT(uci_parse(big, strlen(big), &f, &err), UCI_E_TOO_BIG);
	CHECK_EQ_STR(err.msg, "line 2: value too long");
	big[n + UCI_MAX_VALUE] = '\'';
	big[n + UCI_MAX_VALUE + 1] = '\0';
	CHECK_EQ_INT(uci_parse(big, strlen(big), &f, &err), UCI_OK);
	CHECK_EQ_INT(strlen(uci_get(&f, "@t[0]", "a")), UCI_MAX_VALUE);
	uci_file_free(&f);

	/* sections, options per section, list values */
	for (int what = 0; what < 3; what++) {
		int lim = what == 0 ? UCI_MAX_SECTIONS : what == 1 ? UCI_MAX_OPTIONS : UCI_MAX_LIST;
		for (int extra = 0; extra <= 1; extra++) {
			n = (size_t)sprintf(big, "config t\n");
			for (int i = 0; i < lim - (what == 0) + extra; i++)
				n += (size_t)sprintf(big + n,
						     what == 0   ? "config t\n"
						     : what == 1 ? "option o%d x\n"
								 : "list l v%d\n",
						     i);
			CHECK_EQ_INT(uci_parse(big, n, &f, &err), extra ? UCI_E_TOO_BIG : UCI_OK);
			uci_file_free(&f);
		}
	}
	free(big);
}

TEST(typed_getters)
{
	const char *text = "package pear-fog\nconfig pear-fog main\n"
			   "option on1 1\noption on2 enabled\noption off1 off\noption off2 false\n"
			   "option bad maybe\noption Up 'True'\nlist many 1\nlist many 0\n"
			   "option size 512M\noption size2 2g\noption size3 64KiB\noption plain 100\n"
			   "option rate 10mbit\noption rate2 2MBps\noption huge 99999999999999999999\n"
			   "option big 16777216T\noption neg -1\noption sp '1 M'\noption dur 15m\n";
	struct uci_file f;
	struct uci_error err;
	bool b;
	uint64_t v;

	CHECK_EQ_INT(uci_parse(text, strlen(text), &f, &err), UCI_OK);
	b = false;
	CHECK_EQ_INT(uci_get_bool(&f, "main", "on1", &b, &err), UCI_OK);
	CHECK(b);
	b = false;
	CHECK_EQ_INT(uci_get_bool(&f, "main", "on2", &b, &err), UCI_OK);
	CHECK(b);
	CHECK_EQ_INT(uci_get_bool(&f, "main", "off1", &b, &err), UCI_OK);
	CHECK(!b);
	b = true;
	CHECK_EQ_INT(uci_get_bool(&f, "@pear-fog[0]", "off2", &b, &err), UCI_OK);
	CHECK(!b);
	b = true;
	CHECK_EQ_INT(uci_get_bool(&f, "main", "bad", &b, &err), UCI_E_BAD_VALUE);
	CHECK(b); /* untouched */
	CHECK_EQ_STR(err.msg, "line 7: pear-fog.main.bad: 'maybe' is not a boolean");
	CHECK_EQ_INT(uci_get_bool(&f, "main", "Up", &b, &err), UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_get_bool(&f, "main", "absent", &b, &err), UCI_E_MISSING);
	CHECK_EQ_STR(err.msg, "pear-fog.main.absent: not set");
	CHECK_EQ_INT(uci_get_bool(&f, "nosuch", "on1", &b, &err), UCI_E_MISSING);
	CHECK_EQ_INT(uci_get_bool(&f, "main", "many", &b, &err), UCI_E_TYPE);

	CHECK_EQ_INT(uci_get_uint(&f, "main", "size", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 512ull << 20);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "size2", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 2ull << 30);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "size3", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 64ull << 10);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "plain", UCI_UNIT_NONE, 1, 100, &v, &err), UCI_OK);
	CHECK_EQ_INT(v, 100);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "plain", UCI_UNIT_NONE, 1, 99, &v, &err),
		     UCI_E_RANGE);
	CHECK_EQ_STR(err.msg, "line 14: pear-fog.main.plain: '100' outside 1..99");
	CHECK_EQ_INT(uci_get_uint(&f, "main", "size", UCI_UNIT_NONE, 0, UINT64_MAX, &v, &err),
		     UCI_E_BAD_VALUE);
	CHECK_EQ_STR(err.msg, "line 11: pear-fog.main.size: '512M' is not a number");
	CHECK_EQ_INT(uci_get_uint(&f, "main", "rate", UCI_UNIT_BITRATE, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 10000000);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "rate2", UCI_UNIT_BITRATE, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 16000000);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "rate", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "huge", UCI_UNIT_NONE, 0, UINT64_MAX, &v, &err),
		     UCI_E_RANGE);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "big", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_E_RANGE); /* 2^24 * 2^40 overflows */
	CHECK_EQ_INT(uci_get_uint(&f, "main", "neg", UCI_UNIT_NONE, 0, UINT64_MAX, &v, &err),
		     UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "sp", UCI_UNIT_BYTES, 0, UINT64_MAX, &v, &err),
		     UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "dur", UCI_UNIT_SECONDS, 0, UINT64_MAX, &v, &err),
		     UCI_OK);
	CHECK_EQ_INT(v, 900);
	CHECK_EQ_INT(uci_get_uint(&f, "main", "absent", UCI_UNIT_NONE, 0, 1, &v, &err),
		     UCI_E_MISSING);

	CHECK_EQ_INT(uci_parse_uint("18446744073709551615", UCI_UNIT_NONE, 0, UINT64_MAX, &v),
		     UCI_OK);
	CHECK(v == UINT64_MAX);
	CHECK_EQ_INT(uci_parse_uint("18446744073709551616", UCI_UNIT_NONE, 0, UINT64_MAX, &v),
		     UCI_E_RANGE);
	CHECK_EQ_INT(uci_parse_uint("16777215T", UCI_UNIT_BYTES, 0, UINT64_MAX, &v), UCI_OK);
	CHECK_EQ_INT(uci_parse_uint("", UCI_UNIT_NONE, 0, UINT64_MAX, &v), UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_parse_uint("M", UCI_UNIT_BYTES, 0, UINT64_MAX, &v), UCI_E_BAD_VALUE);
	CHECK_EQ_INT(uci_parse_uint("1", (enum uci_unit)99, 0, UINT64_MAX, &v), UCI_E_BAD_VALUE);
	uci_file_free(&f);
	CHECK_EQ_STR(uci_strerror(UCI_E_RANGE), "value out of range");
	CHECK_EQ_STR(uci_strerror(-99), "unknown UCI error");
}

int main(void)
{
	RUN(parses_sample);
	RUN(crlf_tabs_comments_and_abbreviations);
	RUN(list_option_interplay_and_reopened_sections);
	RUN(errors_carry_line_numbers);
	RUN(caps);
	RUN(typed_getters);
	return test_summary();
}

#include <stdlib.h>

#include "test.h"
#include "ws_frame.h"

/* Every message the parser delivers, concatenated as "op:len:data|" (data as given). */
struct log {
	char text[4096];
	size_t len;
	unsigned code;
	int stop_at; /* the callback fails on message number stop_at (1-based; 0: never) */
	int n;
};

static int on_message(void *user, const struct ws_message *m)
{
	struct log *l = user;
	int n;

	n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s:%zu:", ws_opcode_name(m->opcode),
		     m->len);
	if (n > 0 && (size_t)n < sizeof(l->text) - l->len)
		l->len += (size_t)n;
	if (m->len < 64 && l->len + m->len + 2 < sizeof(l->text)) {
		memcpy(l->text + l->len, m->data, m->len);
		l->len += m->len;
	}
	if (l->len + 2 < sizeof(l->text))
		l->text[l->len++] = '|';
	l->text[l->len] = 0;
	if (m->opcode == WS_OP_CLOSE)
		l->code = m->code;
	return ++l->n == l->stop_at ? -1 : 0;
}

static const struct ws_parser_cb cb = { on_message };

/* Parse whole (step 0) or in steps of `step` bytes; returns the final result. */
static int parse(const uint8_t *d, size_t n, size_t max, size_t step, struct log *l,
		 size_t *taken)
{
	struct ws_parser p;
	size_t off = 0, used;
	int rc = WS_FRAME_NEED_MORE;

	ws_parser_init(&p, max, &cb, l);
	while (off < n) {
		size_t k = step && n - off > step ? step : n - off;
		rc = ws_parser_feed(&p, d + off, k, &used);
		off += used;
		if (rc != WS_FRAME_NEED_MORE)
			break;
	}
	ws_parser_free(&p);
	if (taken)
		*taken = off;
	return rc;
}

static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (s[0] && s[1]) {
		if (s[0] == ' ') {
			s++;
			continue;
		}
		out[n++] = (uint8_t)strtoul((char[]){ s[0], s[1], 0 }, NULL, 16);
		s += 2;
	}
	return n;
}

/* RFC 6455 §5.7 examples (unmasked ones: what a server sends). */
TEST(rfc_examples)
{
	static const struct {
		const char *hex, *log;
	} cases[] = {
		{ "81 05 48656c6c6f", "text:5:Hello|" },
		{ "01 03 48656c 80 02 6c6f", "text:5:Hello|" },
		{ "89 05 48656c6c6f", "ping:5:Hello|" },
		{ "8a 05 48656c6c6f", "pong:5:Hello|" },
		/* a ping between two fragments (§5.4: control frames may be injected) */
		{ "01 03 48656c 89 00 80 02 6c6f", "ping:0:|text:5:Hello|" },
		{ "82 00", "binary:0:|" },
		{ "01 00 00 00 80 00", "text:0:|" },
		{ "88 00", "close:0:|" },
		{ "88 02 03e8", "close:2:\x03\xe8|" },
	};
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = hex(cases[i].hex, buf), taken;
		for (size_t step = 0; step < 3; step++) {
			struct log l = { 0 };
			int rc = parse(buf, n, 0, step, &l, &taken);
			CHECK(rc == WS_FRAME_NEED_MORE || rc == WS_FRAME_CLOSED);
			CHECK_EQ_STR(l.text, cases[i].log);
			CHECK_EQ_INT(taken, n);
		}
	}
	{ /* close with code and reason; bytes after it are not consumed */
		struct log l = { 0 };
		size_t n = hex("88 05 03e9 627965 81 01 78", buf), taken;
		CHECK_EQ_INT(parse(buf, n, 0, 0, &l, &taken), WS_FRAME_CLOSED);
		CHECK_EQ_INT(l.code, 1001);
		CHECK_EQ_INT(taken, 7);
	}
}

/* 256-byte and 64 KiB binary frames (§5.7), in 16- and 64-bit length forms. */
TEST(extended_lengths)
{
	size_t sizes[] = { 125, 126, 256, 65535, 65536, 300000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *f = malloc(n + WS_FRAME_MAX_HEADER);
		int h = ws_frame_header(f, WS_OP_BINARY, true, n, NULL);
		struct log l = { 0 };
		char want[64];

		CHECK_EQ_INT(h, n < 126 ? 2 : n <= 65535 ? 4 : 10);
		memset(f + h, 'x', n);
		CHECK_EQ_INT(parse(f, (size_t)h + n, 1u << 20, 0, &l, NULL), WS_FRAME_NEED_MORE);
		snprintf(want, sizeof(want), "binary:%zu:|", n);
		CHECK_EQ_STR(l.text, want);
		free(f);
	}
	{
		uint8_t f[10];
		ws_frame_header(f, WS_OP_BINARY, true, 65536, NULL);
		CHECK_MEM(f, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
		ws_frame_header(f, WS_OP_BINARY, true, 256, NULL);
		CHECK_MEM(f, "\x82\x7e\x01\x00", 4);
	}
}

/* Everything the parser refuses, and the status code it answers with. */
TEST(refused)
{
	static const struct {
		const char *what, *hex;
		int err;
		unsigned close;
	} cases[] = {
		{ "masked server frame", "81 85 37fa213d 7f9f4d5158", WS_FRAME_E_MASKED, 1002 },
		{ "RSV1", "c1 01 78", WS_FRAME_E_RSV, 1002 },
		{ "RSV3", "91 01 78", WS_FRAME_E_RSV, 1002 },
		{ "opcode 3", "83 00", WS_FRAME_E_OPCODE, 1002 },
		{ "opcode 0xb", "8b 00", WS_FRAME_E_OPCODE, 1002 },
		{ "fragmented ping", "09 00", WS_FRAME_E_CONTROL, 1002 },
		{ "126-byte ping", "89 7e 007e", WS_FRAME_E_CONTROL, 1002 },
		{ "continuation first", "80 01 78", WS_FRAME_E_CONTINUATION, 1002 },
		{ "text inside a message", "01 01 78 81 01 78", WS_FRAME_E_CONTINUATION, 1002 },
		{ "16-bit length < 126", "82 7e 007d", WS_FRAME_E_LENGTH, 1002 },
		{ "64-bit length <= 0xffff", "82 7f 000000000000ffff", WS_FRAME_E_LENGTH, 1002 },
		{ "64-bit length top bit", "82 7f 8000000000000000", WS_FRAME_E_LENGTH, 1002 },
		{ "over max_message", "82 7e 0401", WS_FRAME_E_TOO_BIG, 1009 },
		{ "fragments over max_message", "02 7e 0200 " /* then 512 more */, WS_FRAME_E_TOO_BIG, 1009 },
		{ "bad UTF-8", "81 02 c328", WS_FRAME_E_UTF8, 1007 },
		{ "UTF-8 cut between fragments", "01 01 c3 80 00", WS_FRAME_E_UTF8, 1007 },
		{ "close of 1 byte", "88 01 03", WS_FRAME_E_CLOSE, 1002 },
		{ "close 1005", "88 02 03ed", WS_FRAME_E_CLOSE, 1002 },
		{ "close 999", "88 02 03e7", WS_FRAME_E_CLOSE, 1002 },
		{ "close 5000", "88 02 1388", WS_FRAME_E_CLOSE, 1002 },
		{ "close reason not UTF-8", "88 03 03e8 ff", WS_FRAME_E_UTF8, 1007 },
	};
	uint8_t buf[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = hex(cases[i].hex, buf);
		if (cases[i].err == WS_FRAME_E_TOO_BIG && n == 4) { /* 512 + 513 > 1024 */
			memset(buf + n, 'a', 512);
			n += 512;
			n += hex("80 7e 0201", buf + n);
		}
		for (size_t step = 0; step < 2; step++) {
			struct log l = { 0 };
			int rc = parse(buf, n, 1024, step, &l, NULL);
			if (rc != cases[i].err)
				fprintf(stderr, "  %s: %d (%s)\n", cases[i].what, rc,
					ws_frame_strerror(rc));
			CHECK_EQ_INT(rc, cases[i].err);
			CHECK_EQ_INT(ws_frame_close_code(rc), cases[i].close);
			CHECK(l.len == 0 || cases[i].err == WS_FRAME_E_UTF8 ||
			      cases[i].err == WS_FRAME_E_TOO_BIG);
		}
	}
	{ /* sticky: more bytes change nothing */
		struct ws_parser p;
		size_t used;
		struct log l = { 0 };
		ws_parser_init(&p, 0, &cb, &l);
		CHECK_EQ_INT(ws_parser_feed(&p, (const uint8_t *)"\x83\x00", 2, &used),
			     WS_FRAME_E_OPCODE);
		CHECK_EQ_INT(ws_parser_feed(&p, (const uint8_t *)"\x81\x00", 2, &used),
			     WS_FRAME_E_OPCODE);
		CHECK_EQ_INT(used, 0);
		ws_parser_free(&p);
	}
	{ /* the callback stops the parser */
		struct log l = { .stop_at = 1 };
		size_t n = hex("81 01 61 81 01 62", buf);
		CHECK_EQ_INT(parse(buf, n, 0, 0, &l, NULL), WS_FRAME_E_ABORTED);
		CHECK_EQ_STR(l.text, "text:1:a|");
	}
}

TEST(close_codes_and_payload)
{
	static const struct {
		unsigned code;
		bool ok;
	} codes[] = { { 0, false },    { 999, false },  { 1000, true },  { 1003, true },
		      { 1004, false }, { 1005, false }, { 1006, false }, { 1007, true },
		      { 1011, true },  { 1014, true },  { 1015, false }, { 1016, false },
		      { 2999, false }, { 3000, true },  { 4999, true },  { 5000, false } };
	uint8_t out[WS_FRAME_MAX_CONTROL];
	char long_reason[200];

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		CHECK_EQ_INT(ws_close_code_valid(codes[i].code), codes[i].ok);
	CHECK_EQ_INT(ws_close_payload(out, 0, NULL), 0);
	CHECK_EQ_INT(ws_close_payload(out, 1000, "bye"), 5);
	CHECK_MEM(out, "\x03\xe8" "bye", 5);
	CHECK_EQ_INT(ws_close_payload(out, 1006, ""), WS_FRAME_E_CLOSE);
	CHECK_EQ_INT(ws_close_payload(out, 1000, "\xff"), WS_FRAME_E_UTF8);
	/* 200 bytes of "é" (2 bytes each): cut to 122 bytes, a whole number of characters */
	for (size_t i = 0; i + 2 < sizeof(long_reason); i += 2)
		memcpy(long_reason + i, "\xc3\xa9", 2);
	long_reason[sizeof(long_reason) - 2] = 0;
	CHECK_EQ_INT(ws_close_payload(out, 4000, long_reason), 2 + 122);
	CHECK(ws_utf8_valid(out + 2, 122));
}

TEST(utf8)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "", true },
		{ "plain ascii", true },
		{ "\xc3\xa9", true },		 /* é */
		{ "\xe2\x82\xac", true },	 /* € */
		{ "\xf0\x9f\x98\x80", true },	 /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", true },	 /* U+10FFFF */
		{ "\xed\x9f\xbf", true },	 /* U+D7FF */
		{ "\xee\x80\x80", true },	 /* U+E000 */
		{ "\xc0\xaf", false },		 /* overlong / */
		{ "\xc1\xbf", false },		 /* overlong */
		{ "\xe0\x9f\xbf", false },	 /* overlong 3-byte */
		{ "\xf0\x8f\xbf\xbf", false },	 /* overlong 4-byte */
		{ "\xed\xa0\x80", false },	 /* surrogate U+D800 */
		{ "\xed\xbf\xbf", false },	 /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", false },	 /* U+110000 */
		{ "\xf5\x80\x80\x80", false },
		{ "\xff", false },
		{ "\x80", false },		 /* lone continuation */
		{ "\xc3", false },		 /* truncated */
		{ "\xe2\x82", false },
		{ "\xe2\x28\xa1", false },	 /* bad continuation */
		{ "a\xf0\x9f\x98", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = ws_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s));
		if (ok != cases[i].ok)
			fprintf(stderr, "  utf8 case %zu\n", i);
		CHECK_EQ_INT(ok, cases[i].ok);
	}
}

/* The writer: RFC 6455 §5.7's masked "Hello" exactly, masking at any offset, and
 * what it refuses. */
TEST(writer)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint8_t f[64], want[16], big[1000], copy[1000];
	int h = ws_frame_header(f, WS_OP_TEXT, true, 5, key);

	CHECK_EQ_INT(h, 6);
	memcpy(f + h, "Hello", 5);
	ws_frame_mask(f + h, 5, key, 0);
	CHECK_EQ_INT(hex("81 85 37fa213d 7f9f4d5158", want), 11);
	CHECK_MEM(f, want, 11);
	/* masking in pieces at odd offsets equals masking at once; twice restores */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = copy[i] = (uint8_t)(i * 7);
	ws_frame_mask(big, 3, key, 0);
	ws_frame_mask(big + 3, 500, key, 3);
	ws_frame_mask(big + 503, 497, key, 503);
	ws_frame_mask(copy, sizeof(copy), key, 0);
	CHECK_MEM(big, copy, sizeof(big));
	ws_frame_mask(copy, sizeof(copy), key, 0);
	for (size_t i = 0; i < sizeof(copy); i++)
		CHECK_EQ_INT(copy[i], (uint8_t)(i * 7));
	CHECK_EQ_INT(ws_frame_header(f, WS_OP_PING, true, 126, key), WS_FRAME_E_INVALID);
	CHECK_EQ_INT(ws_frame_header(f, WS_OP_CLOSE, false, 2, key), WS_FRAME_E_INVALID);
	CHECK_EQ_INT(ws_frame_header(f, (enum ws_opcode)3, true, 2, key), WS_FRAME_E_INVALID);
	CHECK_EQ_INT(ws_frame_header(f, WS_OP_BINARY, true, 1ull << 63, key), WS_FRAME_E_INVALID);
	CHECK_EQ_INT(ws_frame_header(f, WS_OP_BINARY, true, 70000, key), 14);
}

/* Many messages in one buffer, in random fragment patterns, fed in random pieces: the
 * same log as one piece; the reassembly buffer is not kept after a big message. */
TEST(random_fragmentation)
{
	uint8_t *buf = malloc(1 << 20);
	unsigned seed = 12345;

	for (int round = 0; round < 50; round++) {
		size_t n = 0;
		struct log a = { 0 }, b = { 0 };
		struct ws_parser p;
		size_t off = 0, used;
		int rc = WS_FRAME_NEED_MORE;

		for (int m = 0; m < 10; m++) {
			size_t len = (size_t)(rand_r(&seed) % (m == 5 ? 100000 : 200));
			size_t pos = 0;
			bool first = true;
			while (first || pos < len) {
				size_t k = len - pos, hl;
				if (rand_r(&seed) % 2 && k > 1)
					k = 1 + (size_t)rand_r(&seed) % k;
				hl = (size_t)ws_frame_header(buf + n, first ? WS_OP_TEXT : WS_OP_CONT,
							     pos + k == len, k, NULL);
				n += hl;
				memset(buf + n, 'a' + m, k);
				n += k;
				pos += k;
				first = false;
				if (rand_r(&seed) % 4 == 0) /* a pong between fragments */
					n += (size_t)ws_frame_header(buf + n, WS_OP_PONG, true, 0, NULL);
			}
		}
		CHECK_EQ_INT(parse(buf, n, 0, 0, &a, NULL), WS_FRAME_NEED_MORE);
		ws_parser_init(&p, 0, &cb, &b);
		while (off < n && rc == WS_FRAME_NEED_MORE) {
			size_t k = 1 + (size_t)rand_r(&seed) % 3000;
			if (k > n - off)
				k = n - off;
			rc = ws_parser_feed(&p, buf + off, k, &used);
			off += used;
		}
		CHECK_EQ_INT(rc, WS_FRAME_NEED_MORE);
		CHECK(ws_parser_buffered(&p) <= WS_FRAME_KEEP_BUF);
		ws_parser_free(&p);
		CHECK_EQ_STR(a.text, b.text);
	}
	free(buf);
}

int main(void)
{
	RUN(rfc_examples);
	RUN(extended_lengths);
	RUN(refused);
	RUN(close_codes_and_payload);
	RUN(utf8);
	RUN(writer);
	RUN(random_fragmentation);
	return test_summary();
}

#include <stdlib.h>

#include "ctl_json.h"
#include "test.h"

static int parse(const char *text, char *buf, struct ctl_json *j)
{
	size_t n = strlen(text);
	memcpy(buf, text, n + 1);
	return ctl_json_parse(buf, n, j);
}

TEST(parses_flat_object)
{
	char buf[512];
	struct ctl_json j;
	uint64_t v = 0;

	CHECK_EQ_INT(parse("{\"op\":\"offer\", \"id\": 42, \"sdp\":\"v=0\\r\\na=x\\u00e9\\ud83d\\ude00\","
			   " \"ok\":true, \"none\":null, \"ids\":[\"a\",\"b\"]}\n",
			   buf, &j),
		     0);
	CHECK_EQ_INT(j.n_members, 6);
	CHECK_EQ_STR(ctl_json_get_str(&j, "op"), "offer");
	CHECK(ctl_json_get_u64(&j, "id", &v) && v == 42);
	CHECK_EQ_STR(ctl_json_get_str(&j, "sdp"), "v=0\r\na=x\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(ctl_json_get(&j, "ok")->boolean);
	CHECK_EQ_INT(ctl_json_get(&j, "none")->type, CTL_JSON_NULL);
	CHECK_EQ_INT(ctl_json_get(&j, "ids")->n_items, 2);
	CHECK_EQ_STR(ctl_json_get(&j, "ids")->items[1], "b");
	CHECK(ctl_json_get_str(&j, "id") == NULL); /* wrong type */
	CHECK(!ctl_json_get_u64(&j, "op", &v));
}

TEST(refuses_bad_input)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "", CTL_JSON_E_SYNTAX },
		{ "[]", CTL_JSON_E_SYNTAX },
		{ "{", CTL_JSON_E_SYNTAX },
		{ "{\"a\":1,}", CTL_JSON_E_SYNTAX },
		{ "{\"a\":{}}", CTL_JSON_E_NESTED },
		{ "{\"a\":[[]]}", CTL_JSON_E_NESTED },
		{ "{\"a\":1} x", CTL_JSON_E_SYNTAX },
		{ "{\"a\":01}", CTL_JSON_E_SYNTAX },
		{ "{\"a\":-}", CTL_JSON_E_BAD_NUMBER },
		{ "{\"a\":1e999}", CTL_JSON_E_BAD_NUMBER },
		{ "{\"a\":0x10}", CTL_JSON_E_SYNTAX },
		{ "{\"a\":\"\\u0000\"}", CTL_JSON_E_BAD_STRING },
		{ "{\"a\":\"\\ud800\"}", CTL_JSON_E_BAD_STRING },
		{ "{\"a\":\"\\q\"}", CTL_JSON_E_BAD_STRING },
		{ "{\"a\":\"\x01\"}", CTL_JSON_E_BAD_STRING },
		{ "{\"a\":1,\"a\":2}", CTL_JSON_E_DUPLICATE },
		{ "{\"a\":tru}", CTL_JSON_E_SYNTAX },
	};
	char buf[128];
	struct ctl_json j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, buf, &j);
		if (rc != cases[i].err)
			fprintf(stderr, "  case %zu (%s): got %d want %d\n", i, cases[i].text, rc,
				cases[i].err);
		CHECK_EQ_INT(rc, cases[i].err);
	}
}

TEST(member_cap)
{
	char text[2048], buf[2048];
	struct ctl_json j;
	size_t n = 0;

	n += (size_t)sprintf(text + n, "{");
	for (int i = 0; i <= CTL_JSON_MAX_MEMBERS; i++)
		n += (size_t)sprintf(text + n, "%s\"k%d\":1", i ? "," : "", i);
	sprintf(text + n, "}");
	CHECK_EQ_INT(parse(text, buf, &j), CTL_JSON_E_TOO_MANY);
}

TEST(output_escapes_round_trip)
{
	struct ctl_json_out o = { 0 };
	struct ctl_json j;
	const char raw[] = "a\"b\\c\nd\x01";

	ctl_json_out_raw(&o, "{\"s\":", 5);
	ctl_json_out_str(&o, raw, sizeof(raw) - 1);
	ctl_json_out_fmt(&o, ",\"n\":%d}", 7);
	CHECK(!o.oom);
	CHECK_EQ_INT(ctl_json_parse(o.buf, o.len, &j), 0);
	CHECK_EQ_STR(ctl_json_get_str(&j, "s"), raw);
	ctl_json_out_free(&o);
}

int main(void)
{
	RUN(parses_flat_object);
	RUN(refuses_bad_input);
	RUN(member_cap);
	RUN(output_escapes_round_trip);
	return test_summary();
}

#include "metrics.h"
#include "test.h"

TEST(counts_and_renders)
{
	struct ctl_json_out o = { 0 };
	struct ctl_json j;

	metrics_reset();
	metrics_add(M_BYTES_SERVED_RTC, 1000);
	metrics_add(M_BYTES_SERVED_RTC, 24);
	metrics_set(M_PEERS_ACTIVE, 3);
	CHECK_EQ_INT(metrics_get(M_BYTES_SERVED_RTC), 1024);
	metrics_render_prometheus(&o);
	CHECK(strstr(o.buf, "# TYPE pearfog_peers_active gauge\npearfog_peers_active 3\n") != NULL);
	CHECK(strstr(o.buf, "\npearfog_bytes_served_rtc_total 1024\n") != NULL);
	ctl_json_out_free(&o);

	ctl_json_out_raw(&o, "{\"x\":0", 6);
	metrics_render_json_members(&o);
	ctl_json_out_raw(&o, "}", 1);
	CHECK_EQ_INT(ctl_json_parse(o.buf, o.len, &j), 0);
	CHECK(ctl_json_get(&j, "bytes_served_rtc_total")->number == 1024);
	ctl_json_out_free(&o);
}

int main(void)
{
	RUN(counts_and_renders);
	return test_summary();
}

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "app_channel.h"
#include "test.h"

TEST(labels_route_by_kind)
{
	char name[APP_CHANNEL_NAME_MAX + 1];
	char long_name[64];

	CHECK_EQ_INT(app_channel_classify("pear-fog-chunks", name), APP_CHANNEL_CHUNKS);
	CHECK_EQ_STR(name, "");
	CHECK_EQ_INT(app_channel_classify("pear-fog-app:echo", name), APP_CHANNEL_APP);
	CHECK_EQ_STR(name, "echo");
	CHECK_EQ_INT(app_channel_classify("pear-fog-app:a-1", name), APP_CHANNEL_APP);
	CHECK_EQ_STR(name, "a-1");
	/* 32 characters is the longest name; 33 is refused. */
	memset(long_name, 0, sizeof(long_name));
	memcpy(long_name, "pear-fog-app:", 13);
	memset(long_name + 13, 'a', 32);
	CHECK_EQ_INT(app_channel_classify(long_name, name), APP_CHANNEL_APP);
	CHECK_EQ_INT(strlen(name), 32);
	long_name[13 + 32] = 'a';
	CHECK_EQ_INT(app_channel_classify(long_name, name), APP_CHANNEL_UNKNOWN);
	CHECK_EQ_STR(name, "");
	/* Unknown labels, near misses and names outside [a-z0-9][a-z0-9-]*. */
	const char *bad[] = { "", "chat", "pear-fog-chunks2", "Pear-fog-chunks", "pear-fog-app:",
			      "pear-fog-app:-x", "pear-fog-app:Echo", "pear-fog-app:e_x",
			      "pear-fog-app:e/x", "pear-fog-app", "pear-fog-app:e x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(app_channel_classify(bad[i], name), APP_CHANNEL_UNKNOWN);
		CHECK_EQ_STR(name, "");
	}
	CHECK_EQ_INT(app_channel_classify(NULL, name), APP_CHANNEL_UNKNOWN);
}

TEST(allowance_per_app_rate)
{
	struct app_allowance a;
	uint64_t retry, rate, sent, refused, got = 0;

	app_allowance_set_total(0, 0); /* no total: the app's own bucket alone */
	/* 64 KiB/s: the bucket holds one whole message (64 KiB > a quarter second). */
	app_allowance_init(&a, 64 * 1024, 0);
	CHECK_EQ_INT(app_allowance_take(&a, 64 * 1024, 0, &retry), 0);
	CHECK_EQ_INT(app_allowance_take(&a, 1000, 0, &retry), APP_CHANNEL_E_OVER_APP);
	CHECK(retry > 0 && retry <= 16); /* 1000 bytes at 65536 B/s: 15.3 ms, rounded up */
	CHECK_EQ_INT(app_allowance_take(&a, 1000, retry, &retry), 0);
	/* Ten seconds of 1000-byte sends as fast as allowed: 10 s × 65536 B/s plus the
	 * burst refilled between 16 ms and 1 s. */
	for (uint64_t t = 1000; t < 11000; t++)
		while (app_allowance_take(&a, 1000, t, &retry) == 0)
			got += 1000;
	CHECK(got >= 655360 - 1000 && got <= 655360 + 65536);
	app_allowance_counts(&a, &rate, &sent, &refused);
	CHECK_EQ_INT(rate, 64 * 1024);
	CHECK_EQ_INT(sent, 64 * 1024 + 1000 + got);
	CHECK(refused >= 10000); /* one refusal per ms step at least */
}

TEST(allowance_zero_and_too_large)
{
	struct app_allowance a;
	uint64_t retry;

	app_allowance_set_total(0, 0);
	app_allowance_init(&a, 0, 0);
	CHECK_EQ_INT(app_allowance_take(&a, 1, 0, &retry), APP_CHANNEL_E_NO_ALLOWANCE);
	CHECK(retry == TOKEN_BUCKET_NEVER);
	CHECK_EQ_INT(app_allowance_take(&a, 1, 100000, &retry), APP_CHANNEL_E_NO_ALLOWANCE);
	app_allowance_init(&a, 1 << 20, 0);
	CHECK_EQ_INT(app_allowance_take(&a, APP_CHANNEL_MAX_MESSAGE + 1, 0, &retry),
		     APP_CHANNEL_E_TOO_LARGE);
	CHECK(retry == TOKEN_BUCKET_NEVER);
	CHECK_EQ_INT(app_allowance_take(&a, APP_CHANNEL_MAX_MESSAGE, 0, &retry), 0);
	CHECK_EQ_STR(app_channel_strerror(APP_CHANNEL_E_OVER_TOTAL), "over_total");
	CHECK_EQ_STR(app_channel_strerror(APP_CHANNEL_E_NO_ALLOWANCE), "no_allowance");
}

TEST(allowance_total_caps_all_apps)
{
	struct app_allowance a, b;
	uint64_t retry, ra = 0, rb = 0;
	int rc;

	/* Two apps allowed 100 KB/s each under a total of 100 KB/s: together they get the
	 * total, and a refusal by the total takes nothing from the app's own bucket. */
	app_allowance_set_total(100000, 0);
	app_allowance_init(&a, 100000, 0);
	app_allowance_init(&b, 100000, 0);
	for (uint64_t t = 0; t < 10000; t++) {
		while (app_allowance_take(&a, 500, t, &retry) == 0)
			ra += 500;
		while ((rc = app_allowance_take(&b, 500, t, &retry)) == 0)
			rb += 500;
		CHECK(rc == APP_CHANNEL_E_OVER_TOTAL || rc == APP_CHANNEL_E_OVER_APP);
	}
	/* 10 s × 100 KB/s plus the total's one burst (64 KiB). */
	CHECK(ra + rb >= 1000000 && ra + rb <= 1000000 + 65536 + 1000);
	CHECK(a.refused > 0 && b.refused > 0);
	CHECK_EQ_INT(app_allowance_total(), 100000);
	app_allowance_set_total(APP_CHANNEL_TOTAL_DEFAULT, 10000);
}

struct thread_arg {
	struct app_allowance *a;
	uint64_t got;
};

static void *taker(void *p)
{
	struct thread_arg *t = p;
	uint64_t retry;

	for (uint64_t ms = 0; ms < 2000; ms++)
		while (app_allowance_take(t->a, 100, ms, &retry) == 0)
			t->got += 100;
	return NULL;
}

TEST(allowance_threads_share_the_total)
{
	struct app_allowance a[4];
	struct thread_arg args[4];
	pthread_t th[4];
	uint64_t sum = 0;

	/* Sandbox threads take concurrently: the total is never exceeded (TSan/ASan clean). */
	app_allowance_set_total(200000, 0);
	for (int i = 0; i < 4; i++) {
		app_allowance_init(&a[i], 1 << 20, 0);
		args[i] = (struct thread_arg){ .a = &a[i] };
	}
	/* Drain the total's burst first so the sum is the rate alone. */
	struct app_allowance drain;
	uint64_t retry;
	app_allowance_init(&drain, 1 << 20, 0);
	while (app_allowance_take(&drain, 100, 0, &retry) == 0)
		;
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, taker, &args[i]) == 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum += args[i].got;
	}
	/* The threads' clocks are not one clock: each "now" below 2 s can grant at most
	 * 2 s × 200 KB/s in total. */
	CHECK(sum <= 400000 + 100);
	CHECK(sum >= 100000);
	app_allowance_set_total(APP_CHANNEL_TOTAL_DEFAULT, 0);
}

TEST(queue_bounded)
{
	struct app_msg_queue q = { 0 };
	static char buf[APP_CHANNEL_MAX_QUEUED];

	memset(buf, 'x', sizeof(buf));
	CHECK_EQ_INT(app_msg_queue_push(&q, "{\"m\":1}", 7, false), 0);
	CHECK_EQ_INT(app_msg_queue_push(&q, buf, APP_CHANNEL_MAX_QUEUED - 7, false), 0);
	CHECK_EQ_INT(q.bytes, APP_CHANNEL_MAX_QUEUED);
	CHECK_EQ_INT(app_msg_queue_push(&q, "1", 1, false), APP_CHANNEL_E_QUEUE_FULL);
	CHECK_EQ_INT(app_msg_queue_push(&q, "{\"close\":1}", 11, true), 0); /* forced */
	CHECK_EQ_INT(q.count, 3);
	CHECK(app_msg_queue_peek(&q)->len == 7);
	CHECK(memcmp(app_msg_queue_peek(&q)->data, "{\"m\":1}", 7) == 0);
	app_msg_queue_pop(&q);
	CHECK(app_msg_queue_peek(&q)->len == APP_CHANNEL_MAX_QUEUED - 7);
	app_msg_queue_pop(&q);
	CHECK(app_msg_queue_peek(&q)->len == 11);
	CHECK_EQ_INT(app_msg_queue_push(&q, "2", 1, false), 0);
	app_msg_queue_clear(&q);
	CHECK(app_msg_queue_peek(&q) == NULL);
	CHECK_EQ_INT(q.bytes, 0);
	CHECK_EQ_INT(q.count, 0);
	app_msg_queue_pop(&q); /* empty: nothing */
}

int main(void)
{
	RUN(labels_route_by_kind);
	RUN(allowance_per_app_rate);
	RUN(allowance_zero_and_too_large);
	RUN(allowance_total_caps_all_apps);
	RUN(allowance_threads_share_the_total);
	RUN(queue_bounded);
	return test_summary();
}

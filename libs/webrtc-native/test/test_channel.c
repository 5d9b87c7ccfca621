/* Tests for channel: two channel managers (each owning its association) back to back
 * through an in-memory packet queue (no DTLS).  Side 0 is the DTLS client (even stream
 * ids), side 1 the server (odd). */
#include "channel.h"
#include "test.h"

#include <stdlib.h>
#include <time.h>

struct pkt {
	struct pkt *next;
	int to;
	size_t len;
	uint8_t data[];
};

struct side {
	struct channel_mgr *m;
	int idx;
	enum sctp_state state;
	struct channel *opened; /* last on_open */
	struct channel *closed; /* last on_close (dangling after the callback: compare only) */
	int n_open, n_close, n_msgs, n_writable;
	int n_by_label[128]; /* messages per first letter of the channel label */
	bool last_binary;
	uint8_t *last;
	size_t last_len;
	struct channel *last_ch;
	bool free_on_message;
	bool echo; /* send every message back on the same channel */
};

static struct pkt *q_head, **q_tail = &q_head;
static struct side S[2];
static unsigned drop_every, n_sent01;

static void side_free(struct side *s)
{
	channel_mgr_free(s->m);
	s->m = NULL;
}

static void send_packet(void *user, const uint8_t *p, size_t len)
{
	struct side *s = user;
	struct pkt *k;

	if (s->idx == 0 && drop_every && ++n_sent01 % drop_every == 0)
		return;
	k = malloc(sizeof(*k) + len);
	k->next = NULL;
	k->to = !s->idx;
	k->len = len;
	memcpy(k->data, p, len);
	*q_tail = k;
	q_tail = &k->next;
}

static void on_state(void *user, enum sctp_state st)
{
	((struct side *)user)->state = st;
}

static void on_open(void *user, struct channel *ch)
{
	struct side *s = user;

	s->n_open++;
	s->opened = ch;
}

static void on_message(void *user, struct channel *ch, bool binary, const uint8_t *d, size_t len)
{
	struct side *s = user;

	s->n_msgs++;
	s->n_by_label[channel_label(ch)[0] & 127]++;
	s->last_ch = ch;
	s->last_binary = binary;
	free(s->last);
	s->last = malloc(len + 1);
	memcpy(s->last, d, len);
	s->last_len = len;
	if (s->echo)
		channel_send(ch, binary, d, len);
	if (s->free_on_message)
		side_free(s);
}

static void on_close(void *user, struct channel *ch)
{
	struct side *s = user;

	s->n_close++;
	s->closed = ch;
	if (s->opened == ch)
		s->opened = NULL;
}

static void on_writable(void *user)
{
	((struct side *)user)->n_writable++;
}

static const struct channel_callbacks cbs = {
	.send_packet = send_packet,
	.on_state = on_state,
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
	.on_writable = on_writable,
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Deliver queued packets; when idle let real time pass and run the timers due by it
 * (sctp.c keeps them on the monotonic clock).  Stops when done() or after ms milliseconds
 * of real time. */
static void pump(unsigned ms, bool (*done)(void))
{
	uint64_t start = mono_ms();

	for (;;) {
		uint64_t now;

		while (q_head) {
			struct pkt *k = q_head;

			q_head = k->next;
			if (!q_head)
				q_tail = &q_head;
			if (S[k->to].m)
				channel_mgr_on_packet(S[k->to].m, k->data, k->len);
			free(k);
		}
		now = mono_ms();
		sctp_timers_run();
		if (q_head)
			continue;
		if ((done && done()) || now - start >= ms)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
}

static bool both_connected(void)
{
	return S[0].state == SCTP_ST_CONNECTED && S[1].state == SCTP_ST_CONNECTED;
}

static void pair_up_limit(uint16_t max_channels_1)
{
	memset(S, 0, sizeof(S));
	drop_every = 0;
	for (int i = 0; i < 2; i++) {
		struct channel_config c = channel_config_default;

		c.dtls_client = i == 0;
		if (i == 1 && max_channels_1)
			c.max_channels = max_channels_1;
		S[i].idx = i;
		S[i].m = channel_mgr_new(&c, &cbs, &S[i]);
	}
	pump(5000, both_connected);
}

static void pair_up(void)
{
	pair_up_limit(0);
}

static void pair_down(void)
{
	for (int i = 0; i < 2; i++) {
		side_free(&S[i]);
		free(S[i].last);
		S[i].last = NULL;
	}
	while (q_head) {
		struct pkt *k = q_head;

		q_head = k->next;
		free(k);
	}
	q_tail = &q_head;
}

static bool b_opened(void)
{
	return S[1].n_open > 0;
}

static int want_open0, want_open1, want_close;

static bool opens_reached(void)
{
	return S[0].n_open >= want_open0 && S[1].n_open >= want_open1;
}

static bool closes_reached(void)
{
	return S[0].n_close >= want_close && S[1].n_close >= want_close;
}

static bool open_in(int o0, int o1)
{
	want_open0 = o0;
	want_open1 = o1;
	pump(2000, opens_reached);
	return opens_reached();
}

static bool close_in(int n)
{
	want_close = n;
	pump(3000, closes_reached);
	return closes_reached();
}

TEST(defaults_agree)
{
	CHECK_MEM(&channel_config_default.sctp, &sctp_assoc_config_default,
		  sizeof(sctp_assoc_config_default));
	CHECK_EQ_INT(channel_config_default.max_channels, 64);
	CHECK(!channel_config_default.dtls_client);
}

TEST(open_is_announced_and_acked)
{
	struct channel *a;
	int err = 0;

	pair_up();
	CHECK(both_connected());
	a = channel_open(S[0].m, "chunks", "pear-fog/1", DCEP_CHANNEL_RELIABLE, 0, 256, &err);
	CHECK(a != NULL);
	if (!a)
		return pair_down();
	CHECK_EQ_INT(channel_stream(a), 0); /* DTLS client: even */
	pump(1000, b_opened);
	CHECK_EQ_INT(S[1].n_open, 1);
	CHECK(S[1].opened != NULL);
	if (S[1].opened) {
		CHECK_EQ_STR(channel_label(S[1].opened), "chunks");
		CHECK_EQ_STR(channel_protocol(S[1].opened), "pear-fog/1");
		CHECK_EQ_INT(channel_stream(S[1].opened), 0);
		CHECK_EQ_INT(channel_priority(S[1].opened), 256);
		CHECK_EQ_INT(channel_type(S[1].opened), DCEP_CHANNEL_RELIABLE);
	}
	/* the server side opens odd ids */
	a = channel_open(S[1].m, "back", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, &err);
	CHECK(a && channel_stream(a) == 1);
	open_in(1, 1);
	CHECK_EQ_INT(S[0].n_open, 1);
	CHECK_EQ_STR(S[0].opened ? channel_label(S[0].opened) : NULL, "back");
	CHECK_EQ_STR(S[0].opened ? channel_protocol(S[0].opened) : NULL, "");
	CHECK_EQ_INT(channel_mgr_count(S[0].m), 2);
	CHECK(channel_open(S[0].m, "x", NULL, (enum dcep_channel_type)0x7f, 0, 0, &err) == NULL);
	CHECK_EQ_INT(err, CHANNEL_E_TYPE);
	pair_down();
}

static bool got_msg(int side)
{
	return S[side].n_msgs > 0;
}

static bool got_msg0(void)
{
	return got_msg(0);
}

static bool got_msg1(void)
{
	return got_msg(1);
}

TEST(messages_all_sizes_both_ways)
{
	static const size_t sizes[] = { 0, 1, 1024, 65536, 262144 };
	uint8_t *buf = malloc(262144);
	struct channel *ch[2];

	for (size_t i = 0; i < 262144; i++)
		buf[i] = (uint8_t)(i ^ (i >> 9));
	pair_up();
	ch[0] = channel_open(S[0].m, "data", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pump(1000, b_opened);
	ch[1] = S[1].opened;
	CHECK(ch[0] && ch[1]);
	if (!ch[0] || !ch[1])
		return pair_down();
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int from = 0; from < 2; from++) {
			bool binary = (i + (size_t)from) % 2 == 0;
			struct side *to = &S[!from];

			to->n_msgs = 0;
			CHECK_EQ_INT(channel_send(ch[from], binary, buf, sizes[i]), SCTP_OK);
			pump(3000, from ? got_msg0 : got_msg1);
			CHECK_EQ_INT(to->n_msgs, 1);
			CHECK_EQ_INT(to->last_len, sizes[i]);
			CHECK_EQ_INT(to->last_binary, binary);
			CHECK(to->last_ch == ch[!from]);
			if (to->last_len == sizes[i] && sizes[i])
				CHECK_MEM(to->last, buf, sizes[i]);
		}
	}
	CHECK_EQ_INT(channel_send(ch[0], true, buf, 262145), SCTP_E_TOO_BIG);
	pair_down();
	free(buf);
}

static int want_msgs;
static bool s0_drained(void)
{
	return sctp_assoc_buffered(channel_mgr_assoc(S[0].m)) == 0;
}

static bool b_has_want(void)
{
	return S[1].n_msgs >= want_msgs;
}

TEST(unordered_and_partial_reliability)
{
	uint8_t buf[1500];
	struct channel *rel, *pr, *un;

	memset(buf, 3, sizeof(buf));
	pair_up();
	rel = channel_open(S[0].m, "rel", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pr = channel_open(S[0].m, "pr", NULL, DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED, 0,
			  0, NULL);
	un = channel_open(S[0].m, "un", NULL, DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED, 50,
			  0, NULL);
	open_in(0, 3);
	CHECK_EQ_INT(S[1].n_open, 3);
	CHECK(rel && pr && un);
	if (!rel || !pr || !un)
		return pair_down();
	CHECK_EQ_INT(channel_reliability(un), 50);
	drop_every = 5; /* 20% of side 0's packets lost */
	for (int i = 0; i < 40; i++) {
		CHECK_EQ_INT(channel_send(pr, true, buf, sizeof(buf)), SCTP_OK);
		CHECK_EQ_INT(channel_send(rel, true, buf, sizeof(buf)), SCTP_OK);
	}
	pump(15000, s0_drained);
	/* all 40 reliable ones arrive; of the zero-retransmit ones some are lost */
	CHECK_EQ_INT(S[1].n_by_label['r'], 40);
	CHECK(S[1].n_by_label['p'] > 0 && S[1].n_by_label['p'] < 40);
	printf("  20%% loss: %d of 40 zero-retransmit messages arrived\n", S[1].n_by_label['p']);
	drop_every = 0;
	S[1].n_msgs = 0;
	for (int i = 0; i < 10; i++)
		CHECK_EQ_INT(channel_send(un, false, buf, 100), SCTP_OK);
	want_msgs = 10;
	pump(2000, b_has_want);
	CHECK_EQ_INT(S[1].n_msgs, 10);
	CHECK(!S[1].last_binary);
	pair_down();
}

TEST(back_pressure_and_writable)
{
	static uint8_t buf[32768];
	struct channel *ch;
	int rc, n = 0;

	pair_up();
	ch = channel_open(S[0].m, "bulk", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	CHECK(ch != NULL);
	if (!ch)
		return pair_down();
	while ((rc = channel_send(ch, true, buf, sizeof(buf))) == SCTP_OK)
		n++;
	CHECK_EQ_INT(rc, SCTP_E_AGAIN);
	CHECK(channel_buffered_amount(ch) > 200000);
	pump(10000, s0_drained);
	CHECK_EQ_INT(S[0].n_writable, 1);
	CHECK_EQ_INT(S[1].n_msgs, n);
	CHECK_EQ_INT(channel_buffered_amount(ch), 0);
	pair_down();
}

static bool both_closed_one(void)
{
	return S[0].n_close > 0 && S[1].n_close > 0;
}

TEST(close_resets_stream_both_sides)
{
	struct channel *a, *a2;

	pair_up();
	a = channel_open(S[0].m, "c", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pump(1000, b_opened);
	CHECK(a && S[1].opened);
	if (!a || !S[1].opened)
		return pair_down();
	/* local close */
	CHECK_EQ_INT(channel_close(a), SCTP_OK);
	CHECK_EQ_INT(channel_send(a, true, (const uint8_t *)"x", 1), CHANNEL_E_CLOSED);
	pump(2000, both_closed_one);
	CHECK_EQ_INT(S[0].n_close, 1);
	CHECK_EQ_INT(S[1].n_close, 1);
	CHECK(S[0].closed == a);
	CHECK_EQ_INT(channel_mgr_count(S[0].m), 0);
	CHECK_EQ_INT(channel_mgr_count(S[1].m), 0);
	pump(500, NULL);
	/* both directions reset: stream 0 is free again */
	a2 = channel_open(S[0].m, "c2", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	CHECK(a2 && channel_stream(a2) == 0);
	open_in(0, 2);
	CHECK_EQ_INT(S[1].n_open, 2);
	/* peer close (side 1 closes the channel side 0 opened) */
	CHECK(S[1].opened != NULL);
	if (S[1].opened)
		CHECK_EQ_INT(channel_close(S[1].opened), SCTP_OK);
	close_in(2);
	CHECK_EQ_INT(S[0].n_close, 2);
	CHECK_EQ_INT(S[1].n_close, 2);
	CHECK(S[0].closed == a2);
	/* several closes at once (resets queue behind the outstanding one) */
	{
		struct channel *many[4];

		S[0].n_close = S[1].n_close = 0;
		for (int i = 0; i < 4; i++)
			many[i] = channel_open(S[0].m, "m", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
		open_in(0, 6);
		CHECK_EQ_INT(channel_mgr_count(S[1].m), 4);
		for (int i = 0; i < 4; i++)
			CHECK(many[i] && channel_close(many[i]) == SCTP_OK);
		close_in(4);
		CHECK_EQ_INT(S[0].n_close, 4);
		CHECK_EQ_INT(S[1].n_close, 4);
		CHECK_EQ_INT(channel_mgr_count(S[0].m), 0);
		CHECK_EQ_INT(channel_mgr_count(S[1].m), 0);
	}
	pair_down();
}

TEST(association_loss_closes_channels)
{
	pair_up();
	channel_open(S[0].m, "a", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	channel_open(S[0].m, "b", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	open_in(0, 2);
	CHECK_EQ_INT(S[1].n_open, 2);
	side_free(&S[0]); /* ABORT goes out */
	pump(100, NULL);
	CHECK_EQ_INT(S[1].n_close, 2);
	CHECK_EQ_INT(S[1].state, SCTP_ST_CLOSED);
	CHECK_EQ_INT(channel_mgr_count(S[1].m), 0);
	pair_down();
}

static void raw(int side, uint16_t stream, uint32_t ppid, const void *d, size_t len)
{
	CHECK_EQ_INT(sctp_assoc_send(channel_mgr_assoc(S[side].m), stream, ppid, d, len, NULL),
		     SCTP_OK);
}

TEST(hostile_peer)
{
	static const uint8_t trunc[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
					 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 'a' };
	static const uint8_t odd_open[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
					    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 'z' };
	static const uint8_t nul_open[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					    0x00, 0x00, 0x02, 0x00, 0x00, 'a', 0 };
	const struct channel_stats *st;
	struct channel *ch;

	pair_up_limit(2);
	st = channel_mgr_stats(S[1].m);
	raw(0, 2, DCEP_PPID_CONTROL, trunc, sizeof(trunc));          /* label runs past end */
	raw(0, 2, DCEP_PPID_CONTROL, "\x05", 1);                     /* unknown type */
	raw(0, 3, DCEP_PPID_CONTROL, odd_open, sizeof(odd_open));    /* server's parity */
	raw(0, 4, DCEP_PPID_CONTROL, nul_open, sizeof(nul_open));    /* NUL in label */
	raw(0, 6, DCEP_PPID_BINARY, "data", 4);                      /* no channel */
	pump(1000, NULL);
	CHECK_EQ_INT(st->dcep_invalid, 2);
	CHECK_EQ_INT(st->opens_refused, 2);
	CHECK_EQ_INT(st->dropped_no_channel, 1);
	CHECK_EQ_INT(S[1].n_open, 0);
	/* deprecated partial PPID on an open channel is dropped, not delivered */
	ch = channel_open(S[0].m, "ok", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pump(1000, b_opened);
	CHECK(ch != NULL);
	if (ch) {
		raw(0, channel_stream(ch), DCEP_PPID_BINARY_PARTIAL, "p", 1);
		/* duplicate OPEN on a live stream: refused, channel kept */
		raw(0, channel_stream(ch), DCEP_PPID_CONTROL, odd_open, sizeof(odd_open));
		pump(500, NULL);
		CHECK_EQ_INT(st->dropped_bad_ppid, 1);
		CHECK_EQ_INT(st->opens_refused, 3);
		CHECK_EQ_INT(S[1].n_msgs, 0);
		CHECK_EQ_INT(channel_send(ch, false, (const uint8_t *)"hi", 2), SCTP_OK);
		pump(500, NULL);
		CHECK_EQ_INT(S[1].n_msgs, 1);
	}
	/* channel limit: the third OPEN is refused with a reset, the opener sees on_close */
	channel_open(S[0].m, "2", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	ch = channel_open(S[0].m, "3", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pump(1000, NULL);
	CHECK_EQ_INT(S[1].n_open, 2);
	CHECK_EQ_INT(st->opens_refused, 4);
	CHECK(S[0].closed == ch && ch != NULL);
	pair_down();
}

TEST(free_inside_callback_and_echo)
{
	struct channel *ch;

	pair_up();
	ch = channel_open(S[0].m, "e", NULL, DCEP_CHANNEL_RELIABLE, 0, 0, NULL);
	pump(1000, b_opened);
	S[1].echo = true; /* send from inside on_message */
	CHECK_EQ_INT(channel_send(ch, false, (const uint8_t *)"ping", 4), SCTP_OK);
	pump(500, got_msg0);
	CHECK_EQ_INT(S[0].n_msgs, 1);
	CHECK_EQ_INT(S[0].last_len, 4);
	S[1].free_on_message = true;
	CHECK_EQ_INT(channel_send(ch, false, (const uint8_t *)"a", 1), SCTP_OK);
	CHECK_EQ_INT(channel_send(ch, false, (const uint8_t *)"b", 1), SCTP_OK);
	pump(500, NULL);
	CHECK(S[1].m == NULL);
	CHECK_EQ_INT(S[1].n_msgs, 2); /* "ping", then "a"; nothing after the free */
	pair_down();
}

int main(void)
{
	CHECK_EQ_INT(sctp_global_init(), SCTP_OK);
	RUN(defaults_agree);
	RUN(open_is_announced_and_acked);
	RUN(messages_all_sizes_both_ways);
	RUN(unordered_and_partial_reliability);
	RUN(back_pressure_and_writable);
	RUN(close_resets_stream_both_sides);
	RUN(association_loss_closes_channels);
	RUN(hostile_peer);
	RUN(free_inside_callback_and_echo);
	sctp_global_shutdown();
	return test_summary();
}

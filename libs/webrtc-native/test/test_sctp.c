/* Tests for sctp: two associations in one process wired back to back through an
 * in-memory packet queue (no DTLS), timers advanced by hand. */
#include "sctp.h"
#include "test.h"

#include <malloc.h>
#include <stdlib.h>
#include <time.h>

/* ASan's allocator statistics when built with sanitizers, glibc's mallinfo2 otherwise. */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	return mallinfo2().uordblks + mallinfo2().hblkhd;
}

struct pkt {
	struct pkt *next;
	int to; /* side index */
	uint64_t due_ms; /* delivered from then (link_delay_ms after it was sent) */
	size_t len;
	uint8_t data[];
};

struct side {
	struct sctp_assoc *a;
	int idx;
	enum sctp_state state;
	int n_msgs, n_writable, n_reset_in, n_reset_out;
	uint16_t last_stream, last_reset;
	uint32_t last_ppid;
	uint8_t *last;
	size_t last_len;
	size_t max_pkt;
	bool keep_copy;
	bool free_on_message;
	bool free_in_send_packet; /* and try a send from inside usrsctp */
	int busy_seen;
	uint64_t bytes;
};

static struct pkt *q_head, **q_tail = &q_head;
static struct side S[2];
static unsigned drop_every; /* drop every Nth packet side 0 -> side 1 (0 = none) */
static unsigned n_sent01;
static unsigned drop_data01; /* drop side 0's next N packets of over 100 bytes (DATA) */
static unsigned link_delay_ms; /* one-way delay of the in-memory link (0 = none) */
static unsigned queued01, max_queued01; /* side 0's DATA packets not yet delivered (now, max) */

/* Bitwise CRC32c (Castagnoli, reflected 0x82F63B78), independent of usrsctp. */
static uint32_t crc32c_ref(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
	}
	return ~c;
}

static unsigned bad_crc;
static bool check_crc = true;

/* RFC 9260 §6.8: checksum over the packet with the field zeroed, sent little-endian
 * first-byte-lowest (Appendix A). */
static bool crc_ok(const uint8_t *p, size_t len)
{
	uint8_t tmp[2048];
	uint32_t c;

	if (len < 12 || len > sizeof(tmp))
		return false;
	memcpy(tmp, p, len);
	memset(tmp + 8, 0, 4);
	c = crc32c_ref(tmp, len);
	return p[8] == (uint8_t)c && p[9] == (uint8_t)(c >> 8) && p[10] == (uint8_t)(c >> 16) &&
	       p[11] == (uint8_t)(c >> 24);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void send_packet(void *user, const uint8_t *p, size_t len)
{
	struct side *s = user;
	struct pkt *k;

	if (check_crc && !crc_ok(p, len))
		bad_crc++;

	if (len > s->max_pkt)
		s->max_pkt = len;
	if (s->free_in_send_packet && s->a) {
		if (sctp_assoc_send(s->a, 0, 51, (const uint8_t *)"x", 1, NULL) == SCTP_E_BUSY)
			s->busy_seen++;
		sctp_assoc_free(s->a); /* deferred: usrsctp holds its locks here */
		s->a = NULL;
	}
	if (s->idx == 0 && drop_every && ++n_sent01 % drop_every == 0)
		return;
	if (s->idx == 0 && drop_data01 && len > 100) {
		drop_data01--;
		return;
	}
	if (s->idx == 0 && len > 100 && ++queued01 > max_queued01)
		max_queued01 = queued01;
	k = malloc(sizeof(*k) + len);
	k->next = NULL;
	k->to = !s->idx;
	k->due_ms = link_delay_ms ? mono_ms() + link_delay_ms : 0;
	k->len = len;
	memcpy(k->data, p, len);
	*q_tail = k;
	q_tail = &k->next;
}

static void on_message(void *user, uint16_t stream, uint32_t ppid, const uint8_t *d, size_t len)
{
	struct side *s = user;

	s->n_msgs++;
	s->bytes += len;
	s->last_stream = stream;
	s->last_ppid = ppid;
	if (s->keep_copy) {
		free(s->last);
		s->last = malloc(len);
		memcpy(s->last, d, len);
		s->last_len = len;
	}
	if (s->free_on_message) {
		sctp_assoc_free(s->a);
		s->a = NULL;
	}
}

static void on_writable(void *user)
{
	((struct side *)user)->n_writable++;
}

static void on_stream_reset(void *user, uint16_t stream, unsigned flags)
{
	struct side *s = user;

	s->last_reset = stream;
	if (flags & SCTP_RST_INCOMING)
		s->n_reset_in++;
	if (flags & SCTP_RST_OUTGOING)
		s->n_reset_out++;
}

static void on_state(void *user, enum sctp_state st)
{
	((struct side *)user)->state = st;
}

static const struct sctp_callbacks cbs = {
	.send_packet = send_packet,
	.on_message = on_message,
	.on_writable = on_writable,
	.on_stream_reset = on_stream_reset,
	.on_state = on_state,
};

static void q_clear(void)
{
	while (q_head) {
		struct pkt *k = q_head;

		q_head = k->next;
		free(k);
	}
	q_tail = &q_head;
	queued01 = 0;
}


/* Deliver queued packets; when idle let real time pass and run the timers due by it
 * (sctp.c keeps them on the monotonic clock).  Stops when done() or after ms milliseconds
 * of real time. */
static void pump(unsigned ms, bool (*done)(void))
{
	uint64_t start = mono_ms();

	for (;;) {
		uint64_t now;

		while (q_head && (!q_head->due_ms || q_head->due_ms <= mono_ms())) {
			struct pkt *k = q_head;

			q_head = k->next;
			if (!q_head)
				q_tail = &q_head;
			if (k->to == 1 && k->len > 100)
				queued01--;
			if (S[k->to].a)
				sctp_assoc_on_packet(S[k->to].a, k->data, k->len);
			free(k);
		}
		now = mono_ms();
		sctp_timers_run();
		if (q_head && !q_head->due_ms)
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

static void pair_up(const struct sctp_assoc_config *c0, const struct sctp_assoc_config *c1)
{
	memset(S, 0, sizeof(S));
	drop_every = 0;
	for (int i = 0; i < 2; i++) {
		S[i].idx = i;
		S[i].a = sctp_assoc_new(i ? c1 : c0, &cbs, &S[i]);
	}
	pump(5000, both_connected);
}

static void pair_down(void)
{
	for (int i = 0; i < 2; i++) {
		sctp_assoc_free(S[i].a);
		S[i].a = NULL;
		free(S[i].last);
		S[i].last = NULL;
	}
	q_clear();
}

TEST(connect_both_sides)
{
	/* RFC 3720 B.4 / common check value for CRC32c */
	CHECK_EQ_INT(crc32c_ref((const uint8_t *)"123456789", 9), 0xe3069283u);
	pair_up(NULL, NULL);
	CHECK_EQ_INT(bad_crc, 0);
	CHECK_EQ_INT(S[0].state, SCTP_ST_CONNECTED);
	CHECK_EQ_INT(S[1].state, SCTP_ST_CONNECTED);
	CHECK_EQ_INT(sctp_assoc_out_streams(S[0].a), sctp_assoc_config_default.streams);
	CHECK_EQ_INT(sctp_assoc_in_streams(S[1].a), sctp_assoc_config_default.streams);
	CHECK_EQ_INT(sctp_assoc_count(), 2);
	CHECK(S[0].max_pkt > 0 && S[0].max_pkt <= 1163);
	pair_down();
	CHECK_EQ_INT(sctp_assoc_count(), 0);
}

static int n_expect;
static bool got_expected(void)
{
	return S[0].n_msgs + S[1].n_msgs >= n_expect;
}

TEST(messages_both_ways)
{
	static const size_t sizes[] = { 1, 1024, 65536, 262144 };
	uint8_t *buf = malloc(262144);

	for (size_t i = 0; i < 262144; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 8));
	pair_up(NULL, NULL);
	S[0].keep_copy = S[1].keep_copy = true;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 1, 53, buf, 0, NULL), SCTP_E_INVAL);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 256, 53, buf, 1, NULL), SCTP_E_INVAL);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 1, 53, buf, 262145, NULL), SCTP_E_TOO_BIG);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int from = 0; from < 2; from++) {
			struct side *to = &S[!from];

			to->n_msgs = 0;
			n_expect = 1;
			CHECK_EQ_INT(sctp_assoc_send(S[from].a, (uint16_t)(7 + from), 53 + from,
						     buf, sizes[i], NULL),
				     SCTP_OK);
			pump(2000, got_expected);
			CHECK_EQ_INT(to->n_msgs, 1);
			CHECK_EQ_INT(to->last_len, sizes[i]);
			CHECK_EQ_INT(to->last_stream, 7 + from);
			CHECK_EQ_INT(to->last_ppid, 53 + from);
			if (to->last_len == sizes[i])
				CHECK_MEM(to->last, buf, sizes[i]);
		}
	}
	printf("  largest packets: %zu / %zu bytes\n", S[0].max_pkt, S[1].max_pkt);
	CHECK(S[0].max_pkt <= 1163 && S[1].max_pkt <= 1163);
	CHECK(S[0].max_pkt > 1100); /* large messages fill packets */
	CHECK_EQ_INT(bad_crc, 0);   /* every packet carries a valid CRC32c */
	CHECK_EQ_INT(sctp_assoc_stats(S[1].a)->msgs_in, 4);
	pair_down();
	free(buf);
}

TEST(oversize_dropped_and_counted)
{
	struct sctp_assoc_config big = sctp_assoc_config_default, small = big;
	uint8_t *buf = calloc(1, 300000);

	big.max_message_size = 1 << 20;
	small.max_message_size = 100000;
	pair_up(&big, &small);
	S[1].keep_copy = true;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 53, buf, 300000, NULL), SCTP_OK);
	buf[0] = 0x5a;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 53, buf, 10, NULL), SCTP_OK);
	n_expect = 1;
	pump(3000, got_expected);
	CHECK_EQ_INT(S[1].n_msgs, 1);
	CHECK_EQ_INT(S[1].last_len, 10);
	CHECK(S[1].last && S[1].last[0] == 0x5a);
	CHECK_EQ_INT(sctp_assoc_stats(S[1].a)->oversize_dropped, 1);
	pair_down();

	/* a cap below one read (64 KiB): a 20 000-byte message arrives in one piece */
	small.max_message_size = 10000;
	pair_up(&big, &small);
	S[1].keep_copy = true;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 53, buf, 20000, NULL), SCTP_OK);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 53, buf, 10000, NULL), SCTP_OK);
	n_expect = 1;
	pump(3000, got_expected);
	CHECK_EQ_INT(S[1].n_msgs, 1);
	CHECK_EQ_INT(S[1].last_len, 10000);
	CHECK_EQ_INT(sctp_assoc_stats(S[1].a)->oversize_dropped, 1);
	pair_down();
	free(buf);
}

static bool writable_seen(void)
{
	return S[0].n_writable > 0;
}

static bool s0_drained(void)
{
	return sctp_assoc_buffered(S[0].a) == 0;
}

TEST(back_pressure)
{
	uint8_t buf[16384];
	int rc, n = 0;

	memset(buf, 7, sizeof(buf));
	pair_up(NULL, NULL);
	while ((rc = sctp_assoc_send(S[0].a, 2, 53, buf, sizeof(buf), NULL)) == SCTP_OK)
		n++;
	CHECK_EQ_INT(rc, SCTP_E_AGAIN);
	CHECK(n >= 8); /* 256 KiB buffer */
	CHECK(sctp_assoc_buffered(S[0].a) > 65536);
	CHECK_EQ_INT(S[0].n_writable, 0);
	pump(5000, writable_seen);
	CHECK_EQ_INT(S[0].n_writable, 1);
	CHECK(sctp_assoc_buffered(S[0].a) <= 65536);
	pump(5000, s0_drained);
	CHECK_EQ_INT(S[1].n_msgs, n);
	CHECK_EQ_INT(sctp_assoc_buffered(S[0].a), 0);
	CHECK_EQ_INT(S[0].n_writable, 1); /* once per E_AGAIN */
	pair_down();
}

TEST(lossy_link_reliable_and_partial)
{
	uint8_t buf[2000];
	struct sctp_send_opts pr = { .unordered = true, .pr_policy = SCTP_PRP_REXMIT };

	memset(buf, 1, sizeof(buf));
	pair_up(NULL, NULL);
	drop_every = 7;
	for (int i = 0; i < 50; i++)
		CHECK_EQ_INT(sctp_assoc_send(S[0].a, 4, 53, buf, sizeof(buf), NULL), SCTP_OK);
	n_expect = 50;
	pump(30000, got_expected);
	CHECK_EQ_INT(S[1].n_msgs, 50); /* reliable: retransmissions fill the gaps */
	S[1].n_msgs = 0;
	for (int i = 0; i < 50; i++)
		CHECK_EQ_INT(sctp_assoc_send(S[0].a, 6, 53, buf, sizeof(buf), &pr), SCTP_OK);
	pump(10000, s0_drained);
	CHECK(S[1].n_msgs < 50); /* zero retransmissions: losses stay lost */
	CHECK(S[1].n_msgs > 25);
	drop_every = 0;
	S[1].n_msgs = 0;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 4, 53, buf, 10, NULL), SCTP_OK);
	n_expect = 1;
	pump(3000, got_expected);
	CHECK_EQ_INT(S[1].n_msgs, 1); /* FORWARD-TSN moved the peer past the gaps */
	pair_down();
}

static bool s1_got_one_more(void)
{
	return S[1].n_msgs >= n_expect;
}

/* A response's last packet lost with nothing sent after it (a tail loss: no later SACK
 * can report the gap, RFC 9260 §7.2.4) waits for T3-rtx, so RTO.Min is the whole delay on
 * a fast path.  Under 200 ms it was ~200-400 ms; SCTP_RTO_MIN_MS keeps it well under. */
TEST(lost_tail_retransmitted_after_rto_min)
{
	uint8_t buf[1000];
	uint64_t t0, took;

	memset(buf, 2, sizeof(buf));
	pair_up(NULL, NULL);
	for (int i = 0; i < 20; i++) { /* RTT samples: SRTT ends near 0 on this in-memory path */
		n_expect = S[1].n_msgs + 1;
		CHECK_EQ_INT(sctp_assoc_send(S[0].a, 4, 53, buf, sizeof(buf), NULL), SCTP_OK);
		pump(2000, s1_got_one_more);
	}
	CHECK_EQ_INT(S[1].n_msgs, 20);
	drop_data01 = 1;
	n_expect = 21;
	t0 = mono_ms();
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 4, 53, buf, sizeof(buf), NULL), SCTP_OK);
	CHECK_EQ_INT(drop_data01, 0); /* the only packet of the message was lost */
	pump(3000, s1_got_one_more);
	took = mono_ms() - t0;
	CHECK_EQ_INT(S[1].n_msgs, 21);
	printf("  lost tail delivered after %llu ms (RTO.Min %d ms)\n", (unsigned long long)took,
	       SCTP_RTO_MIN_MS);
	CHECK(took < 150);
	pair_down();
}

static uint64_t test_clock_ms;

static uint64_t test_clock(void)
{
	return test_clock_ms;
}

/* A timer counts from when it was armed.  usrsctp counts from its own tick counter, which
 * moved only when the event loop ran the timers (every SCTP_TICK_MS): a T3-rtx armed 9 ms
 * after a tick expired 9 ms early — 11-20 ms instead of RTO.Min's 20 — and every spurious
 * expiry cuts the window to one packet.  sctp.c moves usrsctp's clock on every call. */
TEST(t3_counts_from_when_it_was_armed)
{
	uint8_t buf[1000];
	struct sctp_global_stats st0, st;
	uint32_t rto;

	memset(buf, 3, sizeof(buf));
	pair_up(NULL, NULL);
	rto = sctp_assoc_rto_ms(S[0].a);
	CHECK(rto >= SCTP_RTO_MIN_MS);
	test_clock_ms = mono_ms();
	sctp_set_clock(test_clock);
	CHECK_EQ_INT(sctp_timers_run(), SCTP_OK); /* the loop's tick, at T */
	test_clock_ms += SCTP_TICK_MS - 1;	  /* a message goes out at T + 9, between ticks */
	drop_data01 = 1;
	sctp_global_stats(&st0);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 4, 53, buf, sizeof(buf), NULL), SCTP_OK);
	CHECK_EQ_INT(drop_data01, 0); /* lost: only T3-rtx can recover it */
	test_clock_ms += rto - (SCTP_TICK_MS - 1) + 1; /* next tick: T + RTO + 1 */
	CHECK_EQ_INT(sctp_timers_run(), SCTP_OK);
	sctp_global_stats(&st);
	CHECK_EQ_INT(st.t3_timeouts - st0.t3_timeouts, 0); /* sent RTO - 8 ms ago */
	test_clock_ms += SCTP_TICK_MS - 1;		   /* sent RTO + 1 ms ago */
	CHECK_EQ_INT(sctp_timers_run(), SCTP_OK);
	sctp_global_stats(&st);
	CHECK_EQ_INT(st.t3_timeouts - st0.t3_timeouts, 1);
	sctp_set_clock(NULL);
	n_expect = S[1].n_msgs + 1;
	pump(3000, s1_got_one_more); /* retransmitted on the real clock, then delivered */
	CHECK_EQ_INT(S[1].n_msgs, 1);
	pair_down();
}

/* Largest burst of DATA packets in the link while side 0 sends 1 MiB in 256 KiB messages:
 * the packets the receiver's socket buffer would have to hold at once. */
static unsigned burst_of_1mib(uint32_t cwnd_cap)
{
	struct sctp_assoc_config c = sctp_assoc_config_default;
	static uint8_t buf[256 * 1024];

	c.cwnd_cap = cwnd_cap;
	c.cwnd_cap_rate = 0; /* the floor alone, whatever this host's RTT */
	c.max_message_size = c.send_buffer = sizeof(buf);
	pair_up(&c, NULL);
	max_queued01 = 0;
	for (int i = 0; i < 4; i++) {
		n_expect = S[1].n_msgs + 1;
		CHECK_EQ_INT(sctp_assoc_send(S[0].a, 2, 53, buf, sizeof(buf), NULL), SCTP_OK);
		pump(5000, s1_got_one_more);
	}
	CHECK_EQ_INT(S[1].n_msgs, 4);
	pair_down();
	return max_queued01;
}

/* cwnd_cap bounds the window, so the burst that lands in a receiver's UDP socket buffer
 * when no link paces the packets (sctp.c, cwnd_cap_update); without it the burst grows
 * with slow start to most of a 256 KiB message. */
TEST(cwnd_cap_bounds_bursts)
{
	unsigned capped = burst_of_1mib(16384), uncapped = burst_of_1mib(0);

	printf("  largest burst: %u packets with a 16 KiB cap, %u without\n", capped, uncapped);
	CHECK(capped <= 16384 / 1100 + 1);
	CHECK(uncapped > 2 * capped);
}

/* On a path with a 25 ms one-way delay the cap grows to cwnd_cap_rate x SRTT, so the cap
 * does not limit a far path's throughput to cwnd_cap / RTT. */
TEST(cwnd_cap_follows_srtt)
{
	struct sctp_assoc_config c = sctp_assoc_config_default;
	uint8_t buf[16384];
	uint32_t far;

	c.cwnd_cap = 16384;
	c.cwnd_cap_rate = 1000000; /* 1 MB/s x ~50 ms: ~50 KB (SRTT lags: >= 25 KB) */
	memset(buf, 5, sizeof(buf));
	link_delay_ms = 25;
	pair_up(&c, NULL);
	for (int i = 0; i < 6; i++) {
		n_expect = S[1].n_msgs + 1;
		CHECK_EQ_INT(sctp_assoc_send(S[0].a, 2, 53, buf, sizeof(buf), NULL), SCTP_OK);
		pump(3000, s1_got_one_more);
	}
	pump(150, NULL); /* a cap update round */
	far = sctp_assoc_cwnd_cap(S[0].a);
	link_delay_ms = 0;
	printf("  cap with a 50 ms RTT: %u bytes (floor 16384)\n", (unsigned)far);
	CHECK(far >= 25000 && far <= 80000);
	pair_down();
}

/* A 200 KiB zero-retransmission message whose first packets are all lost is abandoned
 * (RFC 3758): nothing of it is delivered, the send buffer empties, and the association
 * carries on.  Its bytes look like notification headers, in case usrsctp hands any of it
 * back in SEND_FAILED events (sctp.c parses only the first piece of a notification). */
TEST(abandoned_large_pr_message)
{
	uint8_t *buf = malloc(200000);
	struct sctp_send_opts pr = { .pr_policy = SCTP_PRP_REXMIT, .pr_value = 0 };

	/* bytes that would read as an SCTP_ASSOC_CHANGE / SCTP_COMM_LOST header */
	for (size_t i = 0; i + 8 <= 200000; i += 8)
		memcpy(buf + i, "\x01\x00\x00\x00\x02\x00\x00\x00", 8);
	pair_up(NULL, NULL);
	drop_every = 1; /* everything from side 0 is lost for a while */
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 2, 53, buf, 200000, &pr), SCTP_OK);
	CHECK(sctp_assoc_buffered(S[0].a) >= 200000);
	pump(300, NULL);
	drop_every = 0;
	pump(10000, s0_drained);
	CHECK_EQ_INT(S[0].state, SCTP_ST_CONNECTED);
	CHECK_EQ_INT(S[1].state, SCTP_ST_CONNECTED);
	CHECK_EQ_INT(S[1].n_msgs, 0);
	CHECK_EQ_INT(sctp_assoc_buffered(S[0].a), 0);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 2, 53, buf, 10, NULL), SCTP_OK);
	n_expect = 1;
	pump(3000, got_expected);
	CHECK_EQ_INT(S[1].n_msgs, 1); /* the association carries on */
	pair_down();
	free(buf);
}

static bool reset_done(void)
{
	return S[1].n_reset_in > 0 && S[0].n_reset_out > 0;
}

static bool three_resets(void)
{
	return S[1].n_reset_in >= 3;
}

TEST(stream_reset)
{
	pair_up(NULL, NULL);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 3, 51, (const uint8_t *)"x", 1, NULL), SCTP_OK);
	CHECK_EQ_INT(sctp_assoc_reset_stream(S[0].a, 3), SCTP_OK);
	pump(2000, reset_done);
	CHECK_EQ_INT(S[1].n_msgs, 1);
	CHECK_EQ_INT(S[1].n_reset_in, 1);
	CHECK_EQ_INT(S[1].last_reset, 3);
	CHECK_EQ_INT(S[0].n_reset_out, 1);
	/* two resets back to back (the second while the first is outstanding) */
	CHECK_EQ_INT(sctp_assoc_reset_stream(S[0].a, 5), SCTP_OK);
	CHECK_EQ_INT(sctp_assoc_reset_stream(S[0].a, 9), SCTP_OK);
	pump(3000, three_resets);
	CHECK_EQ_INT(S[1].n_reset_in, 3);
	pair_down();
}

static bool closed_1(void)
{
	return S[1].state == SCTP_ST_CLOSED;
}

TEST(free_sends_abort_and_close_is_graceful)
{
	pair_up(NULL, NULL);
	sctp_assoc_free(S[0].a);
	S[0].a = NULL;
	pump(100, closed_1);
	CHECK_EQ_INT(S[1].state, SCTP_ST_CLOSED);
	CHECK_EQ_INT(sctp_assoc_send(S[1].a, 0, 51, (const uint8_t *)"x", 1, NULL), SCTP_E_STATE);
	pair_down();

	pair_up(NULL, NULL);
	CHECK_EQ_INT(sctp_assoc_close(S[0].a), SCTP_OK);
	pump(2000, closed_1);
	CHECK_EQ_INT(S[0].state, SCTP_ST_CLOSED);
	CHECK_EQ_INT(S[1].state, SCTP_ST_CLOSED);
	pair_down();
}

TEST(free_inside_callback)
{
	pair_up(NULL, NULL);
	S[1].free_on_message = true;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 51, (const uint8_t *)"a", 1, NULL), SCTP_OK);
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 51, (const uint8_t *)"b", 1, NULL), SCTP_OK);
	pump(200, NULL);
	CHECK(S[1].a == NULL);
	CHECK_EQ_INT(S[1].n_msgs, 1); /* nothing delivered after the free */
	CHECK_EQ_INT(sctp_assoc_count(), 1);
	pair_down();

	/* from inside send_packet (inside usrsctp): calls are refused, free is deferred */
	pair_up(NULL, NULL);
	S[0].free_in_send_packet = true;
	CHECK_EQ_INT(sctp_assoc_send(S[0].a, 0, 51, (const uint8_t *)"a", 1, NULL), SCTP_OK);
	CHECK(S[0].a == NULL);
	CHECK_EQ_INT(S[0].busy_seen, 1);
	CHECK_EQ_INT(sctp_assoc_count(), 1); /* reaped when sctp_assoc_send returned */
	pair_down();
}

/* Heap per idle connected association (bytes from ASan's allocator statistics). */
TEST(measure_idle_memory)
{
	enum { N = 100 };
	size_t before, after;

	struct sctp_assoc_config cfg = sctp_assoc_config_default;

	if (getenv("PF_SCTP_STREAMS"))
		cfg.streams = (uint16_t)atoi(getenv("PF_SCTP_STREAMS"));
	/* a second on, so that timers of earlier tests' associations have run */
	test_clock_ms = mono_ms();
	sctp_set_clock(test_clock);
	test_clock_ms += 1000;
	sctp_timers_run();
	sctp_set_clock(NULL);
	before = heap_in_use();
	{
		struct sctp_assoc *as[2 * N];
		int up = 0;

		/* pairs share the packet queue: side idx decides the direction, so wire each
		 * pair through S[] one at a time and keep the associations */
		for (int p = 0; p < N; p++) {
			pair_up(&cfg, &cfg);
			up += both_connected();
			as[2 * p] = S[0].a;
			as[2 * p + 1] = S[1].a;
		}
		q_clear();
		after = heap_in_use();
		CHECK_EQ_INT(up, N);
		printf("  idle association heap: %zu bytes each (%u streams, %d pairs, %zu bytes)\n",
		       (after - before) / (2 * N), cfg.streams, N, after - before);
		CHECK((after - before) / (2 * N) < 512 * 1024);
		for (int i = 0; i < 2 * N; i++)
			sctp_assoc_free(as[i]);
		q_clear();
	}
	memset(S, 0, sizeof(S));
}

static uint64_t ns_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Throughput through a pair in memory: PF_SCTP_BENCH_MIB MiB (default 8) of 64 KiB
 * messages, send on E_AGAIN-free windows, pump between. */
TEST(measure_throughput)
{
	const char *env = getenv("PF_SCTP_BENCH_MIB");
	size_t mib = env ? (size_t)atoi(env) : 8, total = mib << 20, sent = 0;
	static uint8_t buf[65536];
	uint64_t w0, c0, w1, c1;

	pair_up(NULL, NULL);
	check_crc = false; /* measure the stack, not the test's bitwise CRC */
	w0 = ns_of(CLOCK_MONOTONIC);
	c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	while (S[1].bytes < total) {
		while (sent < total &&
		       sctp_assoc_send(S[0].a, 1, 53, buf, sizeof(buf), NULL) == SCTP_OK)
			sent += sizeof(buf);
		pump(S[1].bytes < total && !q_head ? SCTP_TICK_MS : 0, NULL);
	}
	w1 = ns_of(CLOCK_MONOTONIC);
	c1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
	check_crc = true;
	CHECK_EQ_INT(S[1].bytes, total);
	printf("  throughput: %zu MiB in %.1f ms wall = %.1f MB/s, %.2f CPU ms per MiB\n", mib,
	       (double)(w1 - w0) / 1e6, (double)total / ((double)(w1 - w0) / 1e3),
	       (double)(c1 - c0) / 1e6 / (double)mib);
	pair_down();
}

int main(void)
{
	CHECK_EQ_INT(sctp_global_init(), SCTP_OK);
	CHECK_EQ_INT(sctp_global_init(), SCTP_OK);
	RUN(connect_both_sides);
	RUN(messages_both_ways);
	RUN(oversize_dropped_and_counted);
	RUN(back_pressure);
	RUN(lossy_link_reliable_and_partial);
	RUN(lost_tail_retransmitted_after_rto_min);
	RUN(t3_counts_from_when_it_was_armed);
	RUN(cwnd_cap_bounds_bursts);
	RUN(cwnd_cap_follows_srtt);
	RUN(abandoned_large_pr_message);
	RUN(stream_reset);
	RUN(free_sends_abort_and_close_is_graceful);
	RUN(free_inside_callback);
	RUN(measure_idle_memory);
	RUN(measure_throughput);
	sctp_global_shutdown();
	return test_summary();
}

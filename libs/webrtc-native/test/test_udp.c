#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "test.h"
#include "udp.h"

struct rx {
	int n;
	size_t bytes;
	struct udp_addr last;
};

static void on_dgram(void *user, const uint8_t *data, size_t len, const struct udp_addr *from)
{
	struct rx *r = user;
	r->n++;
	r->bytes += len;
	r->last = *from;
}

TEST(send_receive_and_addresses)
{
	struct loop *l = loop_new();
	struct rx ra = { 0 }, rb = { 0 };
	const struct udp_callbacks cb = { on_dgram };
	int err = 0;
	struct udp_socket *a = udp_socket_new(l, "127.0.0.1", 0, &cb, &ra, &err);
	struct udp_socket *b = udp_socket_new(l, "127.0.0.1", 0, &cb, &rb, &err);
	struct udp_addr to = { .len = sizeof(struct sockaddr_in) };
	struct sockaddr_in *sin = (struct sockaddr_in *)&to.ss;
	uint8_t msg[100] = { 1 };
	char text[64];

	CHECK(a && b);
	CHECK(udp_socket_port(b) != 0);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(udp_socket_port(b));
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 50; i++)
		CHECK_EQ_INT(udp_send(a, msg, sizeof(msg), &to), 0);
	for (int spins = 0; spins < 100 && rb.n < 50; spins++)
		loop_run_once(l, 10);
	CHECK_EQ_INT(rb.n, 50);
	CHECK_EQ_INT(rb.bytes, 5000);
	snprintf(text, sizeof(text), "127.0.0.1:%u", udp_socket_port(a));
	CHECK_EQ_STR(udp_addr_format(&rb.last, text + 32, 32), text);
	CHECK(!udp_addr_equal(&rb.last, &to));
	CHECK(udp_addr_equal(&to, &to));
	CHECK(udp_socket_new(l, "not-an-ip", 0, &cb, &ra, &err) == NULL);
	udp_socket_free(a);
	udp_socket_free(b);
	loop_free(l);
}

/* Receiver that keeps every datagram's length and first bytes, in arrival order. */
struct log_rx {
	int n;
	uint16_t len[128];
	uint8_t tag[128][2];
};

static void on_log(void *user, const uint8_t *data, size_t len, const struct udp_addr *from)
{
	struct log_rx *r = user;
	if (r->n < 128) {
		r->len[r->n] = (uint16_t)len;
		r->tag[r->n][0] = len > 0 ? data[0] : 0;
		r->tag[r->n][1] = len > 0 ? data[len - 1] : 0;
	}
	r->n++;
}

static void addr_of(struct udp_addr *to, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&to->ss;

	memset(to, 0, sizeof(*to));
	to->len = sizeof(*sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Batched sends (sendmmsg, GSO runs of equal-size datagrams) keep datagram
 * boundaries, sizes and order per destination: runs of 1200-byte datagrams ending
 * in a short one, a size change mid-run, interleaved destinations, more than one
 * batch, and a single datagram flushed by the loop's timer. */
TEST(batched_sends_keep_boundaries_and_order)
{
	struct loop *l = loop_new();
	struct log_rx rb = { 0 }, rc = { 0 };
	struct rx ra = { 0 };
	const struct udp_callbacks cb = { on_dgram }, cbl = { on_log };
	int err = 0;
	struct udp_socket *a = udp_socket_new(l, "127.0.0.1", 0, &cb, &ra, &err);
	struct udp_socket *b = udp_socket_new(l, "127.0.0.1", 0, &cbl, &rb, &err);
	struct udp_socket *c = udp_socket_new(l, "127.0.0.1", 0, &cbl, &rc, &err);
	struct udp_addr tb, tc;
	static uint8_t pkt[UDP_MAX_DATAGRAM];
	/* b gets: 40 x 1200 (more than a batch), 300, 5 x 900, 1; c gets 3 x 1200
	 * interleaved after the 10th datagram to b. */
	uint16_t want_b[47], want_c[3] = { 1200, 1200, 1200 };
	int nb = 0, sent_c = 0;

	CHECK(a && b && c);
	addr_of(&tb, udp_socket_port(b));
	addr_of(&tc, udp_socket_port(c));
	for (int i = 0; i < 40; i++)
		want_b[nb++] = 1200;
	want_b[nb++] = 300;
	for (int i = 0; i < 5; i++)
		want_b[nb++] = 900;
	want_b[nb++] = 1;
	for (int i = 0; i < nb; i++) {
		memset(pkt, (uint8_t)i, want_b[i]);
		CHECK_EQ_INT(udp_send(a, pkt, want_b[i], &tb), 0);
		if (i >= 10 && sent_c < 3) {
			memset(pkt, (uint8_t)(200 + sent_c), 1200);
			CHECK_EQ_INT(udp_send(a, pkt, 1200, &tc), 0);
			sent_c++;
		}
	}
	for (int spins = 0; spins < 200 && (rb.n < nb || rc.n < 3); spins++)
		loop_run_once(l, 10);
	CHECK_EQ_INT(rb.n, nb);
	CHECK_EQ_INT(rc.n, 3);
	for (int i = 0; i < nb && i < rb.n; i++) {
		CHECK_EQ_INT(rb.len[i], want_b[i]);
		CHECK_EQ_INT(rb.tag[i][0], (uint8_t)i);
		CHECK_EQ_INT(rb.tag[i][1], (uint8_t)i);
	}
	for (int i = 0; i < 3 && i < rc.n; i++) {
		CHECK_EQ_INT(rc.len[i], want_c[i]);
		CHECK_EQ_INT(rc.tag[i][0], 200 + i);
	}
	/* Too big for a datagram buffer: refused, nothing queued. */
	CHECK_EQ_INT(udp_send(a, pkt, UDP_MAX_DATAGRAM + 1, &tb), -EMSGSIZE);
	udp_socket_free(a);
	udp_socket_free(b);
	udp_socket_free(c);
	loop_free(l);
}

int main(void)
{
	RUN(send_receive_and_addresses);
	RUN(batched_sends_keep_boundaries_and_order);
	return test_summary();
}

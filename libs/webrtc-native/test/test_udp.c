#include <arpa/inet.h>
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

int main(void)
{
	RUN(send_receive_and_addresses);
	return test_summary();
}

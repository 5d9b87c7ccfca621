/* portmap against fake gateways on 127.53.x.y:5351 (an address of this process's own, so
 * parallel runs do not meet; real sockets, the real loop): a PCP
 * gateway, a NAT-PMP-only one (answers PCP with version 0: fallback), and the delete
 * (lifetime 0) portmap_free sends. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byteorder.h"
#include "loop.h"
#include "natpmp.h"
#include "pcp.h"
#include "portmap.h"
#include "test.h"

static struct sockaddr_in got;
static int calls;

static void on_map(void *user, const struct sockaddr *ext, socklen_t len)
{
	(void)user;
	calls++;
	memset(&got, 0, sizeof(got));
	if (ext && len == sizeof(got))
		memcpy(&got, ext, sizeof(got));
}

static char gw_ip[32];

static int gateway(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NATPMP_PORT) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	unsigned pid = (unsigned)getpid();

	snprintf(gw_ip, sizeof(gw_ip), "127.53.%u.%u", (pid >> 8) & 255, (pid & 255) | 1);
	inet_pton(AF_INET, gw_ip, &a.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Run the loop until the gateway has a datagram of `want` bytes (or ~3 s); others (the
 * retransmissions a loaded machine lets through) are skipped.  Its length, or -1. */
static ssize_t next_request(struct loop *l, int gw, uint8_t *buf, size_t cap,
			    struct sockaddr_in *from, ssize_t want)
{
	socklen_t fl = sizeof(*from);

	for (int i = 0; i < 300; i++) {
		ssize_t n = recvfrom(gw, buf, cap, 0, (struct sockaddr *)from, &fl);
		if (n == want)
			return n;
		if (n < 0)
			loop_run_once(l, 10);
	}
	return -1;
}

static void pump(struct loop *l, int n)
{
	while (n-- > 0)
		loop_run_once(l, 5);
}

TEST(pcp_map_and_delete)
{
	struct loop *l = loop_new();
	int gw = gateway();
	uint8_t req[PCP_MAX_MSG], resp[PCP_MAP_LEN];
	struct sockaddr_in from;
	char err[128];
	struct portmap *p;
	ssize_t n;

	if (gw < 0) {
		printf("  (port 5351 busy: skipped)\n");
		loop_free(l);
		return;
	}
	calls = 0;
	p = portmap_start(l, 40000, gw_ip, PORTMAP_PCP | PORTMAP_NATPMP, on_map, NULL, err, sizeof(err));
	CHECK(p != NULL);
	n = next_request(l, gw, req, sizeof(req), &from, PCP_MAP_LEN);
	CHECK_EQ_INT(n, PCP_MAP_LEN);
	CHECK_EQ_INT(req[0], PCP_VERSION);
	CHECK_EQ_INT(req[1], PCP_OP_MAP);
	CHECK_EQ_INT(rd16(req + 40), 40000);
	CHECK_EQ_INT(rd32(req + 4), PORTMAP_LIFETIME_S);
	CHECK(req[18] == 0xff && req[19] == 0xff && req[20] == 127); /* our address, v4-mapped */
	/* a loaded machine may have retransmitted meanwhile: answer the first, drop the rest */
	/* the gateway grants 11.0.0.10:41000 for 600 s */
	memcpy(resp, req, PCP_MAP_LEN);
	resp[1] = PCP_RESPONSE_BIT | PCP_OP_MAP;
	resp[3] = PCP_RESULT_SUCCESS;
	wr32(resp + 4, 600);
	wr32(resp + 8, 1000);
	memset(resp + 12, 0, 12);
	wr16(resp + 42, 41000);
	memset(resp + 44, 0, 16);
	resp[54] = resp[55] = 0xff;
	resp[56] = 11, resp[57] = 0, resp[58] = 0, resp[59] = 10;
	sendto(gw, resp, PCP_MAP_LEN, 0, (struct sockaddr *)&from, sizeof(from));
	pump(l, 20);
	CHECK_EQ_INT(calls, 1);
	CHECK(portmap_mapped(p));
	CHECK_EQ_INT(ntohs(got.sin_port), 41000);
	CHECK_EQ_INT(ntohl(got.sin_addr.s_addr), 0x0B00000A);
	/* a response with another nonce is ignored */
	resp[24] ^= 1;
	wr16(resp + 42, 42000);
	sendto(gw, resp, PCP_MAP_LEN, 0, (struct sockaddr *)&from, sizeof(from));
	pump(l, 20);
	CHECK_EQ_INT(calls, 1);
	/* free: a PCP delete, same nonce, lifetime 0 (after any retransmissions queued) */
	while (recv(gw, req, sizeof(req), 0) >= 0)
		;
	portmap_free(p);
	n = next_request(l, gw, req, sizeof(req), &from, PCP_MAP_LEN);
	CHECK_EQ_INT(n, PCP_MAP_LEN);
	CHECK_EQ_INT(rd32(req + 4), 0);
	resp[24] ^= 1;
	CHECK_MEM(req + 24, resp + 24, PCP_NONCE_LEN);
	close(gw);
	loop_free(l);
}

TEST(natpmp_fallback)
{
	struct loop *l = loop_new();
	int gw = gateway();
	uint8_t req[PCP_MAX_MSG], resp[16];
	struct sockaddr_in from;
	char err[128];
	struct portmap *p;
	ssize_t n;

	if (gw < 0) {
		printf("  (port 5351 busy: skipped)\n");
		loop_free(l);
		return;
	}
	calls = 0;
	p = portmap_start(l, 40001, gw_ip, PORTMAP_PCP | PORTMAP_NATPMP, on_map, NULL, err, sizeof(err));
	CHECK(p != NULL);
	n = next_request(l, gw, req, sizeof(req), &from, PCP_MAP_LEN);
	CHECK_EQ_INT(n, PCP_MAP_LEN);
	/* a NAT-PMP-only gateway: version 0, "unsupported version" (RFC 6887 §9) */
	memset(resp, 0, sizeof(resp));
	resp[1] = NATPMP_RESPONSE + PCP_OP_MAP;
	wr16(resp + 2, NATPMP_RESULT_UNSUPPORTED_VERSION);
	wr32(resp + 4, 50);
	sendto(gw, resp, 8, 0, (struct sockaddr *)&from, sizeof(from));
	/* → NAT-PMP: external address first */
	n = next_request(l, gw, req, sizeof(req), &from, 2);
	CHECK_EQ_INT(n, 2);
	CHECK(req[0] == 0 && req[1] == NATPMP_OP_EXTERNAL);
	memset(resp, 0, sizeof(resp));
	resp[1] = NATPMP_RESPONSE + NATPMP_OP_EXTERNAL;
	wr32(resp + 4, 51);
	resp[8] = 11, resp[11] = 11;
	sendto(gw, resp, 12, 0, (struct sockaddr *)&from, sizeof(from));
	/* then the mapping */
	n = next_request(l, gw, req, sizeof(req), &from, 12);
	CHECK_EQ_INT(n, 12);
	CHECK_EQ_INT(req[1], NATPMP_OP_MAP_UDP);
	CHECK_EQ_INT(rd16(req + 4), 40001);
	memset(resp, 0, sizeof(resp));
	resp[1] = NATPMP_RESPONSE + NATPMP_OP_MAP_UDP;
	wr32(resp + 4, 52);
	wr16(resp + 8, 40001);
	wr16(resp + 10, 40001);
	wr32(resp + 12, 7200);
	sendto(gw, resp, 16, 0, (struct sockaddr *)&from, sizeof(from));
	pump(l, 20);
	CHECK_EQ_INT(calls, 1);
	CHECK_EQ_INT(ntohs(got.sin_port), 40001);
	CHECK_EQ_INT(ntohl(got.sin_addr.s_addr), 0x0B00000B);
	/* free: a NAT-PMP delete */
	while (recv(gw, req, sizeof(req), 0) >= 0)
		;
	portmap_free(p);
	n = next_request(l, gw, req, sizeof(req), &from, 12);
	CHECK_EQ_INT(n, 12);
	CHECK_EQ_INT(rd32(req + 8), 0);
	CHECK_EQ_INT(rd16(req + 6), 0);
	close(gw);
	loop_free(l);
}

TEST(bad_gateway)
{
	struct loop *l = loop_new();
	char err[128] = "";

	CHECK(portmap_start(l, 1, "not-an-ip", 0, on_map, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not an IPv4") != NULL);
	loop_free(l);
}

TEST(protocol_names)
{
	CHECK_EQ_INT(portmap_parse_protocols("auto"), PORTMAP_ALL);
	CHECK_EQ_INT(portmap_parse_protocols("1"), PORTMAP_ALL);
	CHECK_EQ_INT(portmap_parse_protocols("off"), 0);
	CHECK_EQ_INT(portmap_parse_protocols("upnp"), PORTMAP_UPNP);
	CHECK_EQ_INT(portmap_parse_protocols("pcp,natpmp"), PORTMAP_PCP | PORTMAP_NATPMP);
	CHECK_EQ_INT(portmap_parse_protocols("pcp,igd"), -1);
	CHECK_EQ_INT(portmap_parse_protocols(","), -1);
}

int main(void)
{
	RUN(protocol_names);
	RUN(pcp_map_and_delete);
	RUN(natpmp_fallback);
	RUN(bad_gateway);
	return test_summary();
}

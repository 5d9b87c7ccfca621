/* libFuzzer: arbitrary datagrams into a DTLS server session never crash, leak or make it
 * send datagrams over the MTU.
 *
 * Input: one mode byte, then datagrams as (2-byte big-endian length, bytes).
 *   mode bit 0 clear: a fresh server session (the ClientHello / certificate paths; seeds
 *                     hold a real ClientHello and client flight);
 *   mode bit 0 set:   a server session first connected to a real client in memory, so the
 *                     datagrams hit the post-handshake record layer;
 *   mode bit 1 set:   after the datagrams, send application data and close. */
#include <stdlib.h>
#include <string.h>

#include "dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QUEUE_MAX 32

struct peer {
	struct dtls *d;
	uint8_t *q[QUEUE_MAX];
	size_t qlen[QUEUE_MAX], n;
	size_t mtu_violations;
};

static struct dtls_cert *server_cert, *client_cert;
static struct dtls_ctx *server_ctx, *client_ctx;

static void peer_send(void *user, const uint8_t *pkt, size_t len)
{
	struct peer *p = user;

	/* epoch-0 handshake flights fit the MTU; any record fits one dtls_send's worth */
	if ((len > DTLS_MTU && pkt[0] == 22 && pkt[3] == 0 && pkt[4] == 0) ||
	    len > DTLS_MAX_APP_DATA + DTLS_RECORD_OVERHEAD_MAX)
		p->mtu_violations++;
	if (p->n == QUEUE_MAX)
		return;
	p->q[p->n] = malloc(len);
	memcpy(p->q[p->n], pkt, len);
	p->qlen[p->n++] = len;
}

static void peer_data(void *user, const uint8_t *data, size_t len)
{
	struct peer *p = user;

	if (p->d)
		dtls_send(p->d, data, len); /* echo, reentrant from the callback */
}

static const struct dtls_callbacks peer_cb = { .send = peer_send, .on_data = peer_data };

static void peer_drain(struct peer *from, struct peer *to)
{
	size_t n = from->n;

	from->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (to && to->d)
			dtls_on_packet(to->d, from->q[i], from->qlen[i]);
		free(from->q[i]);
	}
}

static int fuzz_init(void)
{
	struct dtls_ctx_config cfg;

	if (server_ctx)
		return 0;
	if (dtls_cert_generate(&server_cert) || dtls_cert_generate(&client_cert))
		return -1;
	dtls_ctx_config_default(&cfg);
	server_ctx = dtls_ctx_new(server_cert, &cfg, NULL);
	client_ctx = dtls_ctx_new(client_cert, &cfg, NULL);
	return server_ctx && client_ctx ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer server = { 0 }, client = { 0 };
	uint8_t mode;

	if (size < 1 || fuzz_init())
		return 0;
	mode = data[0];
	data++;
	size--;
	server.d = dtls_new(server_ctx, DTLS_ROLE_SERVER, dtls_cert_fingerprint(client_cert),
			    &peer_cb, &server, NULL);
	if (mode & 1) {
		client.d = dtls_new(client_ctx, DTLS_ROLE_CLIENT, dtls_cert_fingerprint(server_cert),
				    &peer_cb, &client, NULL);
		dtls_start(client.d);
		for (int i = 0; i < 8 && (client.n || server.n); i++) {
			peer_drain(&client, &server);
			peer_drain(&server, &client);
		}
		if (dtls_state(server.d) != DTLS_STATE_CONNECTED)
			abort();
	}
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		dtls_on_packet(server.d, data, len);
		data += len;
		size -= len;
		peer_drain(&server, NULL);
	}
	if (mode & 2) {
		dtls_send(server.d, (const uint8_t *)"fuzz", 4);
		dtls_on_timeout(server.d);
		dtls_close(server.d);
		if (dtls_state(server.d) != DTLS_STATE_CLOSED)
			abort();
	}
	peer_drain(&server, NULL);
	peer_drain(&client, NULL);
	if (server.mtu_violations)
		abort();
	dtls_free(server.d);
	dtls_free(client.d);
	return 0;
}

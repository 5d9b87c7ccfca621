/* dtls_bench_mbedtls: the same DTLS work as dtls_bench_openssl.c, with mbedTLS 3.x.
 *
 * One single-threaded process, AF_UNIX datagram socketpair, ECDSA P-256 self-signed
 * certificates made at start, DTLS 1.2 handshake (RFC 6347) with mutual certificates and
 * ECDHE-ECDSA-AES128-GCM-SHA256 (or ECDHE-ECDSA-CHACHA20-POLY1305), then MIB mebibytes of
 * 1200-byte application records from client to server.
 *
 *   dtls_bench_mbedtls [MIB] [gcm|chacha]
 * prints one line: lib=mbedtls cipher=... handshake_ms=... mib=... cpu_ms=... cpu_ms_per_mib=... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h> /* error codes only */
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#define RECORD_BYTES 1200
#define MTU 1400

struct end {
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	double int_ms, fin_ms; /* retransmission timer deadlines, 0 = off (as pear-fogd's) */
	int fd;
};

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int suites[2];

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void check(int rc, const char *what)
{
	if (rc >= 0)
		return;
	fprintf(stderr, "dtls_bench_mbedtls: %s: -0x%04x\n", what, (unsigned)-rc);
	exit(1);
}

/* The DTLS timer on CLOCK_MONOTONIC (mbedTLS' timing module is not in pear-fogd's config). */
static void set_timer(void *p, uint32_t int_ms, uint32_t fin_ms)
{
	struct end *e = p;
	double now = now_ms(CLOCK_MONOTONIC);

	e->int_ms = fin_ms ? now + int_ms : 0;
	e->fin_ms = fin_ms ? now + fin_ms : 0;
}

static int get_timer(void *p)
{
	struct end *e = p;
	double now = now_ms(CLOCK_MONOTONIC);

	if (!e->fin_ms)
		return -1;
	return now >= e->fin_ms ? 2 : now >= e->int_ms ? 1 : 0;
}

static int sock_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(*(int *)ctx, buf, len, 0);

	if (n >= 0)
		return (int)n;
	return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int sock_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = recv(*(int *)ctx, buf, len, 0);

	if (n >= 0)
		return (int)n;
	return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

static int accept_any(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	*flags = 0; /* WebRTC checks the fingerprint from SDP instead; not measured here */
	return 0;
}

/* Self-signed ECDSA P-256 certificate, as pear-fogd makes at start. */
static void make_cert(struct end *e)
{
	unsigned char der[1024], serial[1] = { 1 };
	mbedtls_x509write_cert w;
	int len;

	mbedtls_pk_init(&e->key);
	mbedtls_x509_crt_init(&e->crt);
	check(mbedtls_pk_setup(&e->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "pk_setup");
	check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(e->key),
				  mbedtls_ctr_drbg_random, &drbg),
	      "ecp_gen_key");
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &e->key);
	mbedtls_x509write_crt_set_issuer_key(&w, &e->key);
	check(mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial)), "serial");
	check(mbedtls_x509write_crt_set_subject_name(&w, "CN=bench"), "subject");
	check(mbedtls_x509write_crt_set_issuer_name(&w, "CN=bench"), "issuer");
	check(mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20350101000000"), "validity");
	len = mbedtls_x509write_crt_der(&w, der, sizeof(der), mbedtls_ctr_drbg_random, &drbg);
	check(len, "crt_der");
	check(mbedtls_x509_crt_parse_der(&e->crt, der + sizeof(der) - len, (size_t)len), "parse");
	mbedtls_x509write_crt_free(&w);
}

static void make_end(struct end *e, int fd, int server)
{
	e->fd = fd;
	make_cert(e);
	mbedtls_ssl_config_init(&e->conf);
	check(mbedtls_ssl_config_defaults(&e->conf,
					  server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
					  MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT),
	      "config_defaults");
	mbedtls_ssl_conf_rng(&e->conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_min_tls_version(&e->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&e->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_ciphersuites(&e->conf, suites);
	mbedtls_ssl_conf_authmode(&e->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_verify(&e->conf, accept_any, NULL);
	mbedtls_ssl_conf_ca_chain(&e->conf, &e->crt, NULL);
	check(mbedtls_ssl_conf_own_cert(&e->conf, &e->crt, &e->key), "own_cert");
#if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
	if (server)
		mbedtls_ssl_conf_dtls_cookies(&e->conf, NULL, NULL, NULL); /* ICE did that */
#endif
	mbedtls_ssl_init(&e->ssl);
	check(mbedtls_ssl_setup(&e->ssl, &e->conf), "ssl_setup");
	if (!server) /* no host name to check: peers are identified by fingerprint */
		check(mbedtls_ssl_set_hostname(&e->ssl, NULL), "set_hostname");
	mbedtls_ssl_set_bio(&e->ssl, &e->fd, sock_send, sock_recv, NULL);
	mbedtls_ssl_set_timer_cb(&e->ssl, e, set_timer, get_timer);
	mbedtls_ssl_set_mtu(&e->ssl, MTU);
}

static int step(struct end *e)
{
	int rc = mbedtls_ssl_handshake(&e->ssl);

	if (rc == 0)
		return 1;
	if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
		check(rc, "handshake");
	return 0;
}

static size_t drain(struct end *srv, unsigned char *buf)
{
	size_t got = 0;
	int n;

	while ((n = mbedtls_ssl_read(&srv->ssl, buf, RECORD_BYTES * 2)) > 0)
		got += (size_t)n;
	if (n != MBEDTLS_ERR_SSL_WANT_READ)
		check(n < 0 ? n : -1, "ssl_read");
	return got;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 64;
	int chacha = argc > 2 && strcmp(argv[2], "chacha") == 0;
	static struct end cli, srv;
	unsigned char out[RECORD_BYTES], in[RECORD_BYTES * 2];
	size_t total, sent = 0, received = 0;
	double t0, hs_ms, c0, cpu;
	int fds[2], done_c = 0, done_s = 0, spins = 0;

	if (mib <= 0 || mib > 4096)
		check(-1, "MIB must be 1..4096");
	total = (size_t)mib << 20;
	suites[0] = chacha ? MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
			   : MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) < 0)
		check(-1, "socketpair");
	t0 = now_ms(CLOCK_MONOTONIC);
#if defined(MBEDTLS_PSA_CRYPTO_C)
	check(psa_crypto_init() == PSA_SUCCESS ? 0 : -1, "psa_crypto_init");
#endif
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0), "drbg");
	make_end(&cli, fds[0], 0);
	make_end(&srv, fds[1], 1);
	while (!(done_c && done_s)) {
		if (!done_c)
			done_c = step(&cli);
		if (!done_s)
			done_s = step(&srv);
		if (++spins > 10000)
			check(-1, "handshake does not finish");
	}
	hs_ms = now_ms(CLOCK_MONOTONIC) - t0;

	memset(out, 0xa5, sizeof(out));
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	while (received < total) {
		while (sent < total) {
			int n = mbedtls_ssl_write(&cli.ssl, out, RECORD_BYTES);

			if (n > 0) {
				sent += (size_t)n;
				continue;
			}
			if (n != MBEDTLS_ERR_SSL_WANT_WRITE)
				check(n, "ssl_write");
			break; /* socket queue full: let the server read */
		}
		received += drain(&srv, in);
	}
	cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("lib=mbedtls cipher=%s handshake_ms=%.1f mib=%ld cpu_ms=%.0f cpu_ms_per_mib=%.2f\n",
	       mbedtls_ssl_get_ciphersuite(&srv.ssl), hs_ms, mib, cpu, cpu / (double)mib);
	return 0;
}

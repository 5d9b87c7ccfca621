/* dtls_bench_openssl: the DTLS work pear-fogd does, with OpenSSL 3, for size and speed
 * comparison against dtls_bench_mbedtls.c (same protocol, same loop).
 *
 * Both ends run in one single-threaded process over an AF_UNIX datagram socketpair:
 * ECDSA P-256 self-signed certificates made at start (as WebRTC does), a DTLS 1.2 handshake
 * (RFC 6347) with mutual certificates and ECDHE-ECDSA-AES128-GCM-SHA256 (or
 * ECDHE-ECDSA-CHACHA20-POLY1305), then MIB mebibytes of 1200-byte application records from
 * client to server (the size of a WebRTC SCTP packet).
 *
 *   dtls_bench_openssl [MIB] [gcm|chacha]
 * prints one line: lib=openssl cipher=... handshake_ms=... mib=... cpu_ms=... cpu_ms_per_mib=...
 * cpu_ms counts both ends (encrypt + decrypt). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define RECORD_BYTES 1200
#define MTU 1400

static double now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
	fprintf(stderr, "dtls_bench_openssl: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int accept_any(int ok, X509_STORE_CTX *ctx)
{
	return 1; /* WebRTC checks the fingerprint from SDP instead; not measured here */
}

static SSL_CTX *make_ctx(const char *cipher)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *crt = X509_new();
	SSL_CTX *ctx = SSL_CTX_new(DTLS_method());

	if (!key || !crt || !ctx)
		die("key/cert/ctx");
	X509_set_version(crt, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	X509_gmtime_adj(X509_getm_notBefore(crt), -86400);
	X509_gmtime_adj(X509_getm_notAfter(crt), 30L * 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN", MBSTRING_ASC,
				   (const unsigned char *)"bench", -1, -1, 0);
	X509_set_issuer_name(crt, X509_get_subject_name(crt));
	X509_set_pubkey(crt, key);
	if (!X509_sign(crt, key, EVP_sha256()))
		die("X509_sign");
	SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
	if (!SSL_CTX_use_certificate(ctx, crt) || !SSL_CTX_use_PrivateKey(ctx, key) ||
	    !SSL_CTX_set_cipher_list(ctx, cipher) || !SSL_CTX_set1_groups_list(ctx, "P-256"))
		die("ctx setup");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	X509_free(crt);
	EVP_PKEY_free(key);
	return ctx;
}

static SSL *make_ssl(SSL_CTX *ctx, int fd, int server)
{
	SSL *ssl = SSL_new(ctx);
	BIO *bio = BIO_new_dgram(fd, BIO_NOCLOSE);
	BIO_ADDR *peer = BIO_ADDR_new();

	if (!ssl || !bio || !peer)
		die("ssl/bio");
	/* connected: write() instead of sendto() an address (socketpair ends are connected) */
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer);
	BIO_ADDR_free(peer);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_mtu(ssl, MTU);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

/* One handshake step; 1 when done, 0 to be called again. */
static int step(SSL *ssl)
{
	int rc = SSL_do_handshake(ssl);

	if (rc == 1)
		return 1;
	rc = SSL_get_error(ssl, rc);
	if (rc != SSL_ERROR_WANT_READ && rc != SSL_ERROR_WANT_WRITE)
		die("handshake");
	return 0;
}

/* Reads every record queued for the server; returns the plaintext bytes. */
static size_t drain(SSL *srv, unsigned char *buf)
{
	size_t got = 0;
	int n;

	while ((n = SSL_read(srv, buf, RECORD_BYTES * 2)) > 0)
		got += (size_t)n;
	n = SSL_get_error(srv, n);
	if (n != SSL_ERROR_WANT_READ)
		die("SSL_read");
	return got;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 64;
	int chacha = argc > 2 && strcmp(argv[2], "chacha") == 0;
	const char *cipher = chacha ? "ECDHE-ECDSA-CHACHA20-POLY1305" : "ECDHE-ECDSA-AES128-GCM-SHA256";
	unsigned char out[RECORD_BYTES], in[RECORD_BYTES * 2];
	size_t total, sent = 0, received = 0;
	double t0, hs_ms, c0, cpu;
	int fds[2], done_c = 0, done_s = 0, spins = 0;
	SSL_CTX *cctx, *sctx;
	SSL *cli, *srv;

	if (mib <= 0 || mib > 4096)
		die("MIB must be 1..4096");
	total = (size_t)mib << 20;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) < 0)
		die("socketpair");
	t0 = now_ms(CLOCK_MONOTONIC);
	cctx = make_ctx(cipher);
	sctx = make_ctx(cipher);
	cli = make_ssl(cctx, fds[0], 0);
	srv = make_ssl(sctx, fds[1], 1);
	while (!(done_c && done_s)) {
		if (!done_c)
			done_c = step(cli);
		if (!done_s)
			done_s = step(srv);
		if (++spins > 10000)
			die("handshake does not finish");
	}
	hs_ms = now_ms(CLOCK_MONOTONIC) - t0;

	memset(out, 0xa5, sizeof(out));
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	while (received < total) {
		while (sent < total) {
			int n = SSL_write(cli, out, RECORD_BYTES);

			if (n > 0) {
				sent += (size_t)n;
				continue;
			}
			if (SSL_get_error(cli, n) != SSL_ERROR_WANT_WRITE)
				die("SSL_write");
			break; /* socket queue full: let the server read */
		}
		received += drain(srv, in);
	}
	cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("lib=openssl cipher=%s handshake_ms=%.1f mib=%ld cpu_ms=%.0f cpu_ms_per_mib=%.2f\n",
	       SSL_CIPHER_get_name(SSL_get_current_cipher(srv)), hs_ms, mib, cpu, cpu / (double)mib);
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* tls_client: what both backends share (tls_client_openssl.c, tls_client_mbedtls.c). */
#include "tls_client.h"

const char *tls_client_strerror(int err)
{
	switch (err) {
	case TLS_CLIENT_E_AGAIN:
		return "would block";
	case TLS_CLIENT_E_NOMEM:
		return "out of memory";
	case TLS_CLIENT_E_INVALID:
		return "invalid TLS options";
	case TLS_CLIENT_E_CA:
		return "cannot load the CA certificates";
	case TLS_CLIENT_E_HANDSHAKE:
		return "TLS handshake failed";
	case TLS_CLIENT_E_VERIFY:
		return "server certificate not trusted";
	case TLS_CLIENT_E_PROTOCOL:
		return "TLS protocol error";
	case TLS_CLIENT_E_TRUNCATED:
		return "connection closed without TLS close_notify";
	case TLS_CLIENT_E_TIMEOUT:
		return "TLS connect timed out";
	case TLS_CLIENT_E_NOT_CONNECTED:
		return "TLS not connected";
	default:
		return tcp_client_strerror(err);
	}
}

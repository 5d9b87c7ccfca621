#include "chunk_id.h"
#include "crypto.h"
#include "hex.h"

#include <string.h>

void chunk_id_of(struct chunk_id *out, const void *data, size_t len)
{
	/* SHA-256 cannot fail short of memory exhaustion inside the crypto library; on
	 * failure we leave an all-zero id, which names no content. */
	if (crypto_sha256(data, len, out->bytes) < 0)
		memset(out->bytes, 0, sizeof(out->bytes));
}

bool chunk_id_parse(struct chunk_id *out, const char *hex, size_t len)
{
	struct chunk_id id;

	if (len != CHUNK_ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < CHUNK_ID_LEN; i++) {
		int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		id.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = id;
	return true;
}

void chunk_id_format(const struct chunk_id *id, char buf[CHUNK_ID_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < CHUNK_ID_LEN; i++) {
		buf[2 * i] = digits[id->bytes[i] >> 4];
		buf[2 * i + 1] = digits[id->bytes[i] & 0xf];
	}
	buf[CHUNK_ID_HEX_LEN] = '\0';
}

bool chunk_id_equal(const struct chunk_id *a, const struct chunk_id *b)
{
	return memcmp(a->bytes, b->bytes, CHUNK_ID_LEN) == 0;
}

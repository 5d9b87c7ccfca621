/* chunk_id: the name of a content chunk, its SHA-256 digest (FIPS 180-4).
 * Text form is 64 lowercase hex characters, as used in paths, the chunk
 * protocol, HTTP URLs and the TypeScript manifest (src/protocol/). */
#ifndef PEARFOG_CHUNK_ID_H
#define PEARFOG_CHUNK_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_ID_LEN 32
#define CHUNK_ID_HEX_LEN 64

struct chunk_id {
	uint8_t bytes[CHUNK_ID_LEN];
};

/* SHA-256 of data[0..len). */
void chunk_id_of(struct chunk_id *out, const void *data, size_t len);

/* Parse exactly 64 hex characters (either case) from hex[0..len).
 * Returns false, leaving *out untouched, on any other input. */
bool chunk_id_parse(struct chunk_id *out, const char *hex, size_t len);

/* Write 64 lowercase hex characters and a NUL: buf must hold 65 bytes. */
void chunk_id_format(const struct chunk_id *id, char buf[CHUNK_ID_HEX_LEN + 1]);

bool chunk_id_equal(const struct chunk_id *a, const struct chunk_id *b);

#endif

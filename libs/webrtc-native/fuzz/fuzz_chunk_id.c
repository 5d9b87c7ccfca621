/* libFuzzer: chunk_id_parse must accept exactly 64 hex chars and round-trip. */
#include <stdlib.h>
#include <string.h>

#include "chunk_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_id id, again;
	char hex[CHUNK_ID_HEX_LEN + 1];

	if (!chunk_id_parse(&id, (const char *)data, size))
		return 0;
	chunk_id_format(&id, hex);
	if (strncasecmp(hex, (const char *)data, CHUNK_ID_HEX_LEN) != 0)
		abort();
	if (!chunk_id_parse(&again, hex, CHUNK_ID_HEX_LEN) || !chunk_id_equal(&id, &again))
		abort();
	return 0;
}

/* libFuzzer: natpmp_parse never reads outside its input, and what it accepts is
 * consistent: a response opcode, version 0, and a complete body whenever it succeeded. */
#include <stdlib.h>

#include "natpmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct natpmp_response r;

	if (natpmp_parse(data, size, &r) != NATPMP_OK)
		return 0;
	if (data[0] != NATPMP_VERSION || r.opcode < NATPMP_RESPONSE || r.opcode > NATPMP_RESPONSE + 2)
		abort();
	if (r.result == NATPMP_RESULT_SUCCESS &&
	    size != (r.opcode == NATPMP_RESPONSE ? 12u : 16u))
		abort();
	return 0;
}

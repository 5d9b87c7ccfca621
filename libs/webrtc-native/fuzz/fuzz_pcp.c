/* libFuzzer: pcp_parse_map never reads outside its input, and what it accepts is a
 * version 2 MAP response of a valid length. */
#include <stdlib.h>

#include "pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcp_map_response r;

	if (pcp_parse_map(data, size, &r) != PCP_OK)
		return 0;
	if (data[0] != PCP_VERSION || data[1] != (PCP_RESPONSE_BIT | PCP_OP_MAP) ||
	    size < PCP_MAP_LEN || size > PCP_MAX_MSG || size % 4)
		abort();
	return 0;
}

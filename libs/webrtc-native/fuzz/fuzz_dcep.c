/* libFuzzer: dcep_parse on arbitrary bytes; whatever parses must rebuild to the same
 * bytes (RFC 8832 messages have one encoding, except the ignored reliability parameter
 * of reliable channel types, which the builder writes as 0). */
#include <stdlib.h>
#include <string.h>

#include "dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DCEP_MAX_MSG_LEN];
	struct dcep_msg m, again;
	int n;

	if (dcep_parse(data, size, &m) != DCEP_OK)
		return 0;
	if (m.type == DCEP_MSG_ACK) {
		n = dcep_build_ack(out, sizeof(out));
	} else {
		if (m.open.label_len && !(m.open.label >= data && m.open.label + m.open.label_len <= data + size))
			abort();
		n = dcep_build_open(out, sizeof(out), &m.open);
	}
	if (n < 0 || (size_t)n != size)
		abort();
	if (dcep_parse(out, (size_t)n, &again) != DCEP_OK || again.type != m.type)
		abort();
	if (m.type == DCEP_MSG_OPEN) {
		/* bytes 4..7 may differ (ignored reliability parameter); the rest must not */
		if (memcmp(out, data, 4) != 0 || memcmp(out + 8, data + 8, size - 8) != 0)
			abort();
		if (again.open.reliability != m.open.reliability)
			abort();
	}
	return 0;
}

/* libFuzzer: the HTTP request parser never crashes, gives the same result whether
 * the input comes whole or split in two at a byte chosen by the input, and any
 * Range value it captured parses without crashing; ranges it accepts lie inside
 * the representation. */
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_req whole, part;
	const char *in = (const char *)data;
	size_t used_whole, used, total, split;
	int rc_whole, rc;

	if (size < 1)
		return 0;
	split = data[0] % size;
	in++;
	size--;
	if (split > size)
		split = size;

	http_req_init(&whole);
	rc_whole = http_req_feed(&whole, in, size, &used_whole);

	http_req_init(&part);
	rc = http_req_feed(&part, in, split, &used);
	total = used;
	if (rc == HTTP_NEED_MORE) {
		rc = http_req_feed(&part, in + split, size - split, &used);
		total += used;
	}
	if (rc != rc_whole)
		abort();
	if (rc == HTTP_DONE) {
		uint64_t first, last;
		if (total != used_whole || strcmp(part.target, whole.target) != 0 ||
		    part.n_headers != whole.n_headers || part.keep_alive != whole.keep_alive)
			abort();
		if (whole.range) {
			uint64_t sz = (uint64_t)size * 37;
			if (http_range_parse(whole.range, sz, &first, &last) == HTTP_RANGE_OK &&
			    (first > last || last >= sz))
				abort();
		}
	}
	return 0;
}

/* libFuzzer: sdp_offer_parse never crashes; any accepted offer can be answered, and
 * the answer (with setup:passive rewritten to actpass, which offers may use) parses
 * back with the same mid and m-line count. */
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sdp_host_candidate cand = { "192.0.2.1", 9000 };
	static struct sdp_offer offer, back;
	static char buf[8192];
	struct sdp_answer_params p = { 0 };
	char *setup;
	size_t len;
	int rc;

	if (sdp_offer_parse((const char *)data, size, &offer) != SDP_OK)
		return 0;
	p.offer = &offer;
	p.session_id = 1;
	p.ice_ufrag = "abcd";
	p.ice_pwd = "abcdefghijklmnopqrstuv";
	p.candidates = &cand;
	p.n_candidates = 1;
	rc = sdp_answer_write(&p, buf, sizeof(buf), &len);
	if (rc == SDP_E_BUFFER)
		return 0;
	if (rc != SDP_OK || strlen(buf) != len)
		abort();
	setup = strstr(buf, "\r\na=setup:passive\r\n");
	if (!setup)
		abort();
	memcpy(setup, "\r\na=setup:actpass\r\n", 19); /* same length */
	if (sdp_offer_parse(buf, len, &back) != SDP_OK)
		abort();
	if (strcmp(back.mid, offer.mid) != 0 || back.n_media != offer.n_media)
		abort();
	return 0;
}

/* libFuzzer: arbitrary SCTP packets into a fresh association (usrsctp's packet parser
 * and our notification / reassembly handling behind it).  Input = a sequence of
 * [u16 big-endian length][packet] records, fed in order; timers advance between them. */
#include <stdlib.h>
#include <string.h>

#include "sctp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void discard_packet(void *user, const uint8_t *pkt, size_t len)
{
	(void)user, (void)pkt, (void)len;
}

static void on_message(void *user, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len)
{
	/* touch the bytes so ASan checks the buffer bounds */
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < len; i++)
		sink ^= data[i];
	(void)sink;
}

/* Timers run on a clock of the fuzzer's own, 1 ms per packet (sctp_set_clock). */
static uint64_t fuzz_ms;

static uint64_t fuzz_clock(void)
{
	return fuzz_ms;
}

static const struct sctp_callbacks cbs = {
	.send_packet = discard_packet,
	.on_message = on_message,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sctp_global_init() != SCTP_OK)
		abort();
	sctp_set_clock(fuzz_clock);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sctp_assoc *a = sctp_assoc_new(NULL, &cbs, NULL);

	if (!a)
		return 0;
	while (size >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (n > 0)
			sctp_assoc_on_packet(a, data, n);
		fuzz_ms++;
		sctp_timers_run();
		data += n;
		size -= n;
	}
	sctp_assoc_free(a);
	return 0;
}

/* crc32c: CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), the
 * SCTP checksum (RFC 9260 §6.8 and Appendix A; test vectors RFC 3720 §B.4).
 *
 * Uses the CPU's CRC32C instruction when it has one (x86_64 SSE4.2, ARMv8 CRC,
 * detected at run time), else a slice-by-8 table (8 KiB, built on first use).
 * Every SCTP packet pear-fogd sends is checksummed here, so this is on the hot
 * path: usrsctp's own software CRC was ~18% of the sender's instructions. */
#ifndef PEARFOG_CRC32C_H
#define PEARFOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* zlib-style running CRC: crc32c(0, buf, len) is the CRC of buf; pass the
 * previous result to continue over more bytes. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Fill in the checksum of an SCTP packet (common header at buf, len >= 12):
 * zero the field, compute over the whole packet, store it in the byte order
 * RFC 9260 Appendix A specifies (least significant byte first). */
void crc32c_sctp_fill(uint8_t *packet, size_t len);

/* True if the CRC of an SCTP packet matches its checksum field. */
int crc32c_sctp_check(const uint8_t *packet, size_t len);

/* "sse4.2", "armv8-crc" or "table": which implementation runs (for logs/tests). */
const char *crc32c_impl(void);

/* For tests: force the table implementation (1) or go back to detection (0). */
void crc32c_force_table(int on);

#endif

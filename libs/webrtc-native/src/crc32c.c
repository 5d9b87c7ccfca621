#include "crc32c.h"

#include <string.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

#define CRC32C_POLY_REFLECTED 0x82F63B78u

typedef uint32_t (*crc32c_fn)(uint32_t crc, const uint8_t *p, size_t len);

static uint32_t table[8][256];
static int table_ready;
static crc32c_fn impl;
static const char *impl_name = "table";
static int force_table;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1)));
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	table_ready = 1;
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Slice-by-8 on the reflected (LSB-first) CRC; byte loads so it is endian-free. */
static uint32_t crc32c_table(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len >= 8) {
		uint32_t lo = load_le32(p) ^ crc, hi = load_le32(p + 4);
		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		      table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][hi & 0xff] ^
		      table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_CRC32C_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							      size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

static int cpu_has_crc32c(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#define HW_NAME "sse4.2"
#elif defined(__aarch64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_CRC32C_HW 1
__attribute__((target("+crc"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							    size_t len)
{
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		crc = __builtin_aarch64_crc32cx(crc, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = __builtin_aarch64_crc32cb(crc, *p++);
	return crc;
}

static int cpu_has_crc32c(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}
#define HW_NAME "armv8-crc"
#endif

static void choose(void)
{
#ifdef HAVE_CRC32C_HW
	if (!force_table && cpu_has_crc32c()) {
		impl = crc32c_hw;
		impl_name = HW_NAME;
		return;
	}
#endif
	if (!table_ready)
		table_init();
	impl = crc32c_table;
	impl_name = "table";
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (!impl)
		choose();
	return ~impl(~crc, buf, len);
}

void crc32c_sctp_fill(uint8_t *packet, size_t len)
{
	uint32_t c;

	if (len < 12)
		return;
	memset(packet + 8, 0, 4);
	c = crc32c(0, packet, len);
	packet[8] = (uint8_t)c;
	packet[9] = (uint8_t)(c >> 8);
	packet[10] = (uint8_t)(c >> 16);
	packet[11] = (uint8_t)(c >> 24);
}

int crc32c_sctp_check(const uint8_t *packet, size_t len)
{
	uint8_t zero[4] = { 0 };
	uint32_t c;

	if (len < 12)
		return 0;
	c = crc32c(0, packet, 8);
	c = crc32c(c, zero, 4);
	c = crc32c(c, packet + 12, len - 12);
	return load_le32(packet + 8) == c;
}

const char *crc32c_impl(void)
{
	if (!impl)
		choose();
	return impl_name;
}

void crc32c_force_table(int on)
{
	force_table = on;
	impl = NULL;
}

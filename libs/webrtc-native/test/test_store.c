#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "test.h"

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tmp_dir(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "/tmp/test-store-XXXXXX");
	return mkdtemp(buf);
}

/* Deterministic pseudo-random bytes (xorshift) and their id. */
static void make_chunk(uint32_t seed, uint8_t *buf, size_t len, struct chunk_id *id)
{
	uint64_t x = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	chunk_id_of(id, buf, len);
}

static void path_of(char *out, size_t n, const char *dir, const struct chunk_id *id)
{
	char hex[CHUNK_ID_HEX_LEN + 1];

	chunk_id_format(id, hex);
	snprintf(out, n, "%s/%.2s/%s", dir, hex, hex);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len)
			fprintf(stderr, "short write %s\n", path);
		close(fd);
	}
}

static struct stat stat_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	return st;
}

struct collect {
	struct chunk_id ids[4096];
	uint32_t sizes[4096];
	int n;
};

static int collect_cb(void *ctx, const struct chunk_id *id, uint32_t size)
{
	struct collect *c = ctx;

	if (c->n == 4096)
		return -1;
	c->sizes[c->n] = size;
	c->ids[c->n++] = *id;
	return 0;
}

/* ---- tests ---- */

TEST(put_get_round_trip)
{
	char *dir = tmp_dir();
	int err = 1;
	struct store *s = store_open(dir, 1 << 20, &err);
	static uint8_t buf[5000], back[5000];
	struct chunk_id id, empty;
	uint8_t *data = NULL;
	size_t len = 0;
	struct store_stat st;

	CHECK(s != NULL);
	CHECK_EQ_INT(err, STORE_OK);
	make_chunk(1, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_has(s, &id), 0);
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_E_NOT_FOUND);
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	CHECK_EQ_INT(store_has(s, &id), 1);
	CHECK_EQ_INT(store_size(s, &id), 5000);
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_OK);
	CHECK_EQ_INT(len, sizeof(buf));
	CHECK(data && memcmp(data, buf, sizeof(buf)) == 0);
	free(data);

	/* Caller-buffer variant, including too small. */
	CHECK_EQ_INT(store_get_into(s, &id, back, 100, &len), STORE_E_BUFFER);
	CHECK_EQ_INT(len, 5000);
	CHECK_EQ_INT(store_get_into(s, &id, back, sizeof(back), &len), STORE_OK);
	CHECK_MEM(back, buf, sizeof(buf));

	/* The file is where the documented layout says. */
	char path[256];
	path_of(path, sizeof(path), dir, &id);
	CHECK_EQ_INT(stat_of(path).st_size, 5000);

	/* Empty chunk: SHA-256("") is a valid id. */
	chunk_id_of(&empty, "", 0);
	CHECK_EQ_INT(store_put(s, &empty, NULL, 0), STORE_OK);
	CHECK_EQ_INT(store_get(s, &empty, &data, &len), STORE_OK);
	CHECK_EQ_INT(len, 0);
	free(data);

	/* Idempotent put. */
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 2);
	CHECK_EQ_INT(st.bytes_used, 5000);
	CHECK_EQ_INT(store_remove(s, &id), STORE_OK);
	CHECK_EQ_INT(store_remove(s, &id), STORE_E_NOT_FOUND);
	CHECK(stat_of(path).st_size == 0 && access(path, F_OK) != 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 1);
	CHECK_EQ_INT(st.bytes_used, 0);
	store_close(s);
	rm_rf(dir);
}

TEST(refuses_bad_puts)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 10000, NULL);
	static uint8_t buf[STORE_MAX_CHUNK_BYTES + 1];
	struct chunk_id id;
	struct store_stat st;

	make_chunk(2, buf, 100, &id);
	buf[50] ^= 1;
	CHECK_EQ_INT(store_put(s, &id, buf, 100), STORE_E_HASH_MISMATCH);
	buf[50] ^= 1;
	CHECK_EQ_INT(store_put(s, &id, buf, 99), STORE_E_HASH_MISMATCH);
	make_chunk(3, buf, 10001, &id);
	CHECK_EQ_INT(store_put(s, &id, buf, 10001), STORE_E_TOO_BIG); /* over the cap */
	CHECK_EQ_INT(store_set_cap(s, UINT64_C(1) << 40), STORE_OK);
	make_chunk(4, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_E_TOO_BIG); /* over 1 MiB */
	CHECK_EQ_INT(store_put(s, &id, NULL, 5), STORE_E_INVAL);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 0);
	CHECK_EQ_INT(count_files(dir), 257); /* 256 fan-out dirs + tmp, nothing else */
	CHECK(strcmp(store_strerror(STORE_E_CORRUPT), "unknown store error") != 0);
	CHECK_EQ_STR(store_strerror(12345), "unknown store error");
	store_close(s);

	int err = 0;
	CHECK(store_open("/proc/definitely/not/here", 1, &err) == NULL);
	CHECK(err < 0);

	/* One process per store directory. */
	s = store_open(dir, 10000, NULL);
	CHECK(s != NULL);
	CHECK(store_open(dir, 10000, &err) == NULL);
	CHECK_EQ_INT(err, STORE_E_LOCKED);
	store_close(s);
	s = store_open(dir, 10000, &err);
	CHECK(s != NULL);
	store_close(s);
	rm_rf(dir);
}

TEST(lru_eviction_order)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 3000, NULL);
	static uint8_t buf[6][1000];
	struct chunk_id id[6];
	uint8_t *data;
	size_t len;
	struct store_stat st;

	for (int i = 0; i < 6; i++)
		make_chunk(10 + i, buf[i], 1000, &id[i]);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(store_put(s, &id[i], buf[i], 1000), STORE_OK);
	/* Touch 0 (get) and 1 (re-put): 2 is now the oldest. */
	CHECK_EQ_INT(store_get(s, &id[0], &data, &len), STORE_OK);
	free(data);
	CHECK_EQ_INT(store_put(s, &id[1], buf[1], 1000), STORE_OK);
	CHECK_EQ_INT(store_put(s, &id[3], buf[3], 1000), STORE_OK);
	CHECK_EQ_INT(store_has(s, &id[2]), 0);
	CHECK_EQ_INT(store_has(s, &id[0]), 1);
	CHECK_EQ_INT(store_put(s, &id[4], buf[4], 1000), STORE_OK);
	CHECK_EQ_INT(store_has(s, &id[0]), 0);
	CHECK_EQ_INT(store_has(s, &id[1]), 1);

	struct collect *c = calloc(1, sizeof(*c));
	store_foreach(s, collect_cb, c);
	CHECK_EQ_INT(c->n, 3);
	CHECK(c->n == 3 && chunk_id_equal(&c->ids[0], &id[1]) && chunk_id_equal(&c->ids[1], &id[3]) &&
	      chunk_id_equal(&c->ids[2], &id[4]));
	store_stat(s, &st);
	CHECK_EQ_INT(st.evictions, 2);
	CHECK_EQ_INT(st.bytes_used, 3000);

	/* Shrinking the cap evicts oldest first; evicted files are gone from disk. */
	CHECK_EQ_INT(store_set_cap(s, 1500), STORE_OK);
	CHECK_EQ_INT(store_has(s, &id[1]), 0);
	CHECK_EQ_INT(store_has(s, &id[3]), 0);
	CHECK_EQ_INT(store_has(s, &id[4]), 1);
	char path[256];
	path_of(path, sizeof(path), dir, &id[1]);
	CHECK(access(path, F_OK) != 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 1);
	CHECK_EQ_INT(st.evictions, 4);
	free(c);
	store_close(s);
	rm_rf(dir);
}

TEST(reopen_rebuilds_index_in_mtime_order)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 1 << 20, NULL);
	static uint8_t buf[4][777];
	struct chunk_id id[4];
	char path[256];

	for (int i = 0; i < 4; i++) {
		make_chunk(20 + i, buf[i], 777 - i, &id[i]);
		CHECK_EQ_INT(store_put(s, &id[i], buf[i], 777 - i), STORE_OK);
	}
	store_close(s);
	/* mtimes: 2 oldest, then 0, 3, 1. */
	const int order[4] = { 2, 0, 3, 1 };
	for (int k = 0; k < 4; k++) {
		struct timespec ts[2] = { { 1000000 + k, 0 }, { 1000000 + k, 0 } };
		path_of(path, sizeof(path), dir, &id[order[k]]);
		CHECK_EQ_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	int err = 1;
	s = store_open(dir, 1 << 20, &err);
	CHECK_EQ_INT(err, STORE_OK);
	struct store_stat st;
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 4);
	CHECK_EQ_INT(st.bytes_used, 777 + 776 + 775 + 774);
	struct collect *c = calloc(1, sizeof(*c));
	store_foreach(s, collect_cb, c);
	CHECK_EQ_INT(c->n, 4);
	for (int k = 0; k < 4 && k < c->n; k++) {
		CHECK(chunk_id_equal(&c->ids[k], &id[order[k]]));
		CHECK_EQ_INT(c->sizes[k], 777 - order[k]);
	}
	for (int i = 0; i < 4; i++) {
		uint8_t *data;
		size_t len;
		CHECK_EQ_INT(store_get(s, &id[i], &data, &len), STORE_OK);
		CHECK(len == (size_t)(777 - i) && memcmp(data, buf[i], len) == 0);
		free(data);
	}
	store_close(s);

	/* Reopening with a smaller cap evicts the oldest (by mtime) first. */
	s = store_open(dir, 1600, &err);
	CHECK_EQ_INT(store_has(s, &id[2]), 0);
	CHECK_EQ_INT(store_has(s, &id[0]), 0);
	CHECK_EQ_INT(store_has(s, &id[3]), 1);
	CHECK_EQ_INT(store_has(s, &id[1]), 1);
	free(c);
	store_close(s);
	rm_rf(dir);
}

TEST(temp_and_junk_removed_on_open)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 1 << 20, NULL);
	static uint8_t buf[3000];
	struct chunk_id id, other;
	char path[512], hex[CHUNK_ID_HEX_LEN + 1];

	make_chunk(30, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	store_close(s);

	/* Leftover temp files, half-written. */
	snprintf(path, sizeof(path), "%s/tmp/whatever.17", dir);
	write_file(path, buf, 100);
	snprintf(path, sizeof(path), "%s/tmp/.hidden", dir);
	write_file(path, buf, 100);
	/* Junk in a fan-out directory. */
	chunk_id_format(&id, hex);
	snprintf(path, sizeof(path), "%s/%.2s/not-a-chunk", dir, hex);
	write_file(path, buf, 10);
	/* Valid id in the wrong fan-out directory. */
	make_chunk(31, buf, 100, &other);
	chunk_id_format(&other, hex);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, hex[0] == '0' ? "ff" : "00", hex);
	write_file(path, buf, 100);
	/* Uppercase name in the right directory (never produced by us). */
	char hh[3] = { hex[0], hex[1], 0 };
	for (int i = 0; i < CHUNK_ID_HEX_LEN; i++)
		if (hex[i] >= 'a')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	snprintf(path, sizeof(path), "%s/%s/%s", dir, hh, hex);
	write_file(path, buf, 100);
	/* Right name, oversize. */
	static uint8_t big[STORE_MAX_CHUNK_BYTES + 1];
	struct chunk_id big_id;
	make_chunk(32, big, sizeof(big), &big_id);
	path_of(path, sizeof(path), dir, &big_id);
	write_file(path, big, sizeof(big));
	/* A symlink with a valid name. */
	struct chunk_id link_id;
	make_chunk(33, buf, 10, &link_id);
	path_of(path, sizeof(path), dir, &link_id);
	CHECK_EQ_INT(symlink("/etc/passwd", path), 0);
	/* Top-level junk is not ours: left alone. */
	snprintf(path, sizeof(path), "%s/owner-notes.txt", dir);
	write_file(path, "hi", 2);

	int err = 1;
	s = store_open(dir, 1 << 20, &err);
	CHECK_EQ_INT(err, STORE_OK);
	struct store_stat st;
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 1);
	CHECK_EQ_INT(st.junk_removed, 7);
	CHECK_EQ_INT(store_has(s, &id), 1);
	CHECK_EQ_INT(store_has(s, &big_id), 0);
	CHECK_EQ_INT(store_has(s, &link_id), 0);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	CHECK_EQ_INT(count_files(path), 0);
	CHECK_EQ_INT(access("/etc/passwd", F_OK), 0);
	snprintf(path, sizeof(path), "%s/owner-notes.txt", dir);
	CHECK_EQ_INT(access(path, F_OK), 0);
	store_close(s);
	rm_rf(dir);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	uint8_t b = 0;

	if (fd < 0)
		return;
	if (pread(fd, &b, 1, at) == 1) {
		b ^= 0x40;
		if (pwrite(fd, &b, 1, at) != 1)
			fprintf(stderr, "pwrite failed\n");
	}
	close(fd);
}

TEST(rot_and_truncation_detected_and_removed)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 1 << 20, NULL);
	static uint8_t buf[3][4096];
	struct chunk_id id[3];
	char path[3][256];
	uint8_t *data = (uint8_t *)"untouched";
	size_t len = 0;
	struct store_stat st;

	for (int i = 0; i < 3; i++) {
		make_chunk(40 + i, buf[i], sizeof(buf[i]), &id[i]);
		CHECK_EQ_INT(store_put(s, &id[i], buf[i], sizeof(buf[i])), STORE_OK);
		path_of(path[i], sizeof(path[i]), dir, &id[i]);
	}
	/* A flipped byte while running. */
	flip_byte(path[0], 1234);
	CHECK_EQ_INT(store_get(s, &id[0], &data, &len), STORE_E_CORRUPT);
	CHECK(strcmp((const char *)data, "untouched") == 0);
	CHECK(access(path[0], F_OK) != 0);
	CHECK_EQ_INT(store_has(s, &id[0]), 0);
	/* Truncated while running (size no longer matches the index). */
	CHECK_EQ_INT(truncate(path[1], 100), 0);
	CHECK_EQ_INT(store_get(s, &id[1], &data, &len), STORE_E_CORRUPT);
	CHECK(access(path[1], F_OK) != 0);
	/* Caller-buffer variant must not leave rotten bytes in the buffer. */
	static uint8_t into[4096];
	flip_byte(path[2], 0);
	CHECK_EQ_INT(store_get_into(s, &id[2], into, sizeof(into), &len), STORE_E_CORRUPT);
	CHECK(into[1] == 0 && into[4095] == 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.corrupt_found, 3);
	CHECK_EQ_INT(st.count, 0);
	CHECK_EQ_INT(st.bytes_used, 0);

	/* Truncated and rotten while stopped: indexed with the on-disk size on
	 * open, caught by the re-hash on read. */
	CHECK_EQ_INT(store_put(s, &id[0], buf[0], sizeof(buf[0])), STORE_OK);
	CHECK_EQ_INT(store_put(s, &id[1], buf[1], sizeof(buf[1])), STORE_OK);
	store_close(s);
	CHECK_EQ_INT(truncate(path[0], 4000), 0);
	flip_byte(path[1], 4095);
	s = store_open(dir, 1 << 20, NULL);
	CHECK_EQ_INT(store_get(s, &id[0], &data, &len), STORE_E_CORRUPT);
	CHECK_EQ_INT(store_get(s, &id[1], &data, &len), STORE_E_CORRUPT);
	CHECK(access(path[0], F_OK) != 0 && access(path[1], F_OK) != 0);
	/* Deleted behind our back: not found, index fixed. */
	CHECK_EQ_INT(store_put(s, &id[2], buf[2], sizeof(buf[2])), STORE_OK);
	CHECK_EQ_INT(unlink(path[2]), 0);
	CHECK_EQ_INT(store_get(s, &id[2], &data, &len), STORE_E_NOT_FOUND);
	CHECK_EQ_INT(store_has(s, &id[2]), 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 0);
	store_close(s);
	rm_rf(dir);
}

/* With a verify interval, a chunk hashed recently is served without another
 * hash; rot that happens meanwhile is caught at the first get after the
 * interval, and after a reopen (never verified since open) at the first get. */
TEST(verify_interval_bounds_rehash)
{
	char *dir = tmp_dir();
	struct store *s = store_open(dir, 1 << 20, NULL);
	static uint8_t buf[4096];
	struct chunk_id id;
	char path[256];
	uint8_t *data = NULL;
	size_t len = 0;
	struct store_stat st;

	store_set_verify_interval(s, 1);
	make_chunk(50, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	path_of(path, sizeof(path), dir, &id);
	/* Hashed by the put: the next gets within the interval trust it. */
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_OK);
	free(data);
	store_stat(s, &st);
	CHECK_EQ_INT(st.reads_trusted, 1);
	CHECK_EQ_INT(st.reads_verified, 0);
	/* Rot now: within the interval it is not looked for (the documented
	 * trade-off; browsers check the manifest hash) ... */
	flip_byte(path, 77);
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_OK);
	CHECK(memcmp(data, buf, sizeof(buf)) != 0);
	free(data);
	/* ... and caught once the interval has passed. */
	usleep(2100 * 1000);
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_E_CORRUPT);
	CHECK_EQ_INT(store_has(s, &id), 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.reads_verified, 1);
	CHECK_EQ_INT(st.corrupt_found, 1);

	/* After a reopen nothing counts as verified: the first get re-hashes. */
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	store_close(s);
	flip_byte(path, 4000);
	s = store_open(dir, 1 << 20, NULL);
	store_set_verify_interval(s, 3600);
	CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_E_CORRUPT);
	/* A clean chunk: verified once, then trusted. */
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_OK);
	store_close(s);
	s = store_open(dir, 1 << 20, NULL);
	store_set_verify_interval(s, 3600);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(store_get(s, &id, &data, &len), STORE_OK);
		CHECK(len == sizeof(buf) && memcmp(data, buf, len) == 0);
		free(data);
	}
	store_stat(s, &st);
	CHECK_EQ_INT(st.reads_verified, 1);
	CHECK_EQ_INT(st.reads_trusted, 2);
	store_close(s);
	rm_rf(dir);
}

/* Child: put chunks of random sizes forever into a small store (so it also
 * evicts), until SIGKILLed. */
static void put_forever(const char *dir, uint32_t seed)
{
	static uint8_t buf[256 * 1024];
	struct store *s = store_open(dir, 2u << 20, NULL);

	if (!s)
		_exit(2);
	for (uint32_t i = 0;; i++) {
		struct chunk_id id;
		size_t len = (size_t)((seed * 7919u + i * 104729u) % sizeof(buf));
		make_chunk(seed * 100000u + i, buf, len, &id);
		if (store_put(s, &id, buf, len) != STORE_OK)
			_exit(3);
	}
}

TEST(survives_kill_9)
{
	char *dir = tmp_dir();
	char path[256];
	int exited_early = 0, leftovers = 0;

	srand((unsigned)getpid());
	for (uint32_t round = 1; round <= 8; round++) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0)
			put_forever(dir, round);
		usleep((useconds_t)(20000 + rand() % 150000));
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status))
			exited_early++;
		/* Killed mid-put: a temp file the next open must remove. */
		snprintf(path, sizeof(path), "%s/tmp", dir);
		leftovers += count_files(path);
	}
	CHECK_EQ_INT(exited_early, 0);

	int err = 1;
	struct store *s = store_open(dir, 2u << 20, &err);
	CHECK_EQ_INT(err, STORE_OK);
	CHECK_EQ_INT(count_files(path), 0);
	struct collect *c = calloc(1, sizeof(*c));
	store_foreach(s, collect_cb, c);
	CHECK(c->n > 0);
	int ok = 0, bad = 0;
	for (int i = 0; i < c->n; i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		int rc = store_get(s, &c->ids[i], &data, &len);
		struct chunk_id again;
		if (rc == STORE_OK) {
			chunk_id_of(&again, data, len);
			if (chunk_id_equal(&again, &c->ids[i]) && len == c->sizes[i])
				ok++;
			else
				bad++;
			free(data);
		} else {
			bad++;
		}
	}
	printf("  kill -9 x8: %d kills left a temp file, %d chunks listed after reopen, "
	       "%d valid, %d bad\n",
	       leftovers, c->n, ok, bad);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(ok, c->n);
	free(c);
	store_close(s);
	rm_rf(dir);
}

/* A real full filesystem: a 512 KiB tmpfs with a store cap far above it.
 * Mounting needs root, or else a private user + mount namespace (unprivileged
 * user namespaces); the body runs in a child so the namespace stays there. */
static void disk_full_body(const char *dir)
{
	static uint8_t buf[STORE_MAX_CHUNK_BYTES];
	struct chunk_id id;
	struct store_stat st;
	char path[256];

	struct store *s = store_open(dir, 64u << 20, NULL);
	CHECK(s != NULL);
	if (!s)
		return;
	for (uint32_t i = 0; i < 12; i++) {
		make_chunk(500 + i, buf, 150 * 1024, &id);
		CHECK_EQ_INT(store_put(s, &id, buf, 150 * 1024), STORE_OK);
		CHECK_EQ_INT(store_has(s, &id), 1);
	}
	store_stat(s, &st);
	CHECK(st.evictions > 0);
	CHECK(st.count >= 1 && st.count <= 3);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	CHECK_EQ_INT(count_files(path), 0);

	/* Bigger than the whole filesystem: evicts, retries once, refuses cleanly. */
	make_chunk(600, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_put(s, &id, buf, sizeof(buf)), STORE_E_NO_SPACE);
	CHECK_EQ_INT(store_has(s, &id), 0);
	CHECK_EQ_INT(count_files(path), 0);
	path_of(path, sizeof(path), dir, &id);
	CHECK(access(path, F_OK) != 0);
	store_stat(s, &st);
	CHECK_EQ_INT(st.last_errno, ENOSPC);
	CHECK_EQ_INT(st.count, 0);
	CHECK_EQ_INT(st.bytes_used, 0);

	/* And it still works afterwards. */
	make_chunk(601, buf, 1000, &id);
	CHECK_EQ_INT(store_put(s, &id, buf, 1000), STORE_OK);
	store_close(s);
}

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Mount a tmpfs on dir; as non-root, inside a new user + mount namespace
 * where our own uid/gid are mapped to themselves. */
static int mount_tmpfs(const char *dir, const char *opts)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (mount("tmpfs", dir, "tmpfs", 0, opts) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
	if (write_proc("/proc/self/uid_map", map) < 0)
		return -1;
	write_proc("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
	if (write_proc("/proc/self/gid_map", map) < 0)
		return -1;
	return mount("tmpfs", dir, "tmpfs", 0, opts);
}

TEST(disk_full_tmpfs)
{
	char *dir = tmp_dir();
	fflush(NULL); /* or the child's exit() flushes our buffered output again */
	pid_t pid = fork();

	if (pid == 0) {
		if (mount_tmpfs(dir, "size=512k") < 0) {
			fprintf(stderr, "  cannot mount a tmpfs (%s): need root or user namespaces\n",
				strerror(errno));
			exit(2);
		}
		test_case_failed = 0;
		disk_full_body(dir);
		umount(dir);
		exit(test_case_failed);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rmdir(dir);
}

/* Index scale: 20000 chunk files (written directly, no fsync: this is about
 * the index, not the disk), then a reopen scan, lookups and a few gets. */
TEST(index_scales)
{
	char *dir = tmp_dir();
	enum { N = 20000 };
	uint8_t buf[16];
	struct chunk_id id;
	struct timespec t0, t1, t2;
	char path[256];

	store_close(store_open(dir, 0, NULL)); /* creates the fan-out directories */
	for (uint32_t i = 0; i < N; i++) {
		make_chunk(1000000 + i, buf, sizeof(buf), &id);
		path_of(path, sizeof(path), dir, &id);
		write_file(path, buf, sizeof(buf));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct store *s = store_open(dir, UINT64_C(1) << 30, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct store_stat st;
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, N);
	CHECK_EQ_INT(st.bytes_used, N * sizeof(buf));
	int found = 0;
	for (uint32_t i = 0; i < N; i++) {
		make_chunk(1000000 + i, buf, sizeof(buf), &id);
		found += store_has(s, &id);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	make_chunk(7, buf, sizeof(buf), &id);
	CHECK_EQ_INT(store_has(s, &id), 0);
	CHECK_EQ_INT(found, N);
	for (uint32_t i = 0; i < N; i += 997) {
		size_t len = 0;
		uint8_t back[16];
		make_chunk(1000000 + i, buf, sizeof(buf), &id);
		CHECK_EQ_INT(store_get_into(s, &id, back, sizeof(back), &len), STORE_OK);
		CHECK(len == sizeof(buf) && memcmp(back, buf, len) == 0);
	}
	/* Shrinking evicts through the whole LRU list consistently. */
	CHECK_EQ_INT(store_set_cap(s, 16 * 100), STORE_OK);
	store_stat(s, &st);
	CHECK_EQ_INT(st.count, 100);
	printf("  %d chunks: reopen scan %.0f ms, %d lookups %.0f ms (ASan build)\n", N,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, N,
	       (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	store_close(s);
	rm_rf(dir);
}

int main(void)
{
	RUN(put_get_round_trip);
	RUN(refuses_bad_puts);
	RUN(lru_eviction_order);
	RUN(reopen_rebuilds_index_in_mtime_order);
	RUN(temp_and_junk_removed_on_open);
	RUN(rot_and_truncation_detected_and_removed);
	RUN(verify_interval_bounds_rehash);
	RUN(survives_kill_9);
	RUN(disk_full_tmpfs);
	RUN(index_scales);
	return test_summary();
}

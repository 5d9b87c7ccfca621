/* store: pear-fogd's content store, chunks named by their SHA-256 (chunk_id.h).
 *
 * Layout under the configured directory <dir>:
 *   <dir>/<hh>/<64 hex>   a chunk; <hh> is the first two hex digits of its id
 *                         (256 fan-out directories, created on open)
 *   <dir>/tmp/            files being written; everything in it is removed on open
 * Only these paths are touched.  Other top-level entries of <dir> are left alone
 * (a misconfigured path must not make us delete the owner's files); inside the
 * fan-out directories, files whose name is not the 64-hex id of that directory,
 * that are not regular files, or that are bigger than STORE_MAX_CHUNK_BYTES are
 * removed when the index is rebuilt.
 *
 * Durability: a chunk is written to tmp/, fsync'ed, renamed into place and the
 * fan-out directory fsync'ed, so a kill -9 or power loss at any point leaves a
 * chunk either complete or absent.  Flash still rots, so a get re-hashes the
 * bytes before returning them unless this chunk's bytes were hashed (by a put or
 * an earlier get) less than verify_interval seconds ago; a chunk that fails is
 * deleted and counted.  verify_interval is 0 (re-hash every read) unless set:
 * hashing is most of the CPU of serving a chunk, and a hot chunk is read many
 * times a minute, so pear-fogd sets it (option verify_interval, default 300 s).
 * Rot that happens between two checks reaches a browser at most for one interval,
 * and the browser checks every chunk against the signed manifest anyway.  The
 * index is rebuilt by a directory scan on open without re-hashing (a 100k-chunk
 * store would take minutes on a router); sizes are checked on open and on read.
 *
 * Capacity: cap_bytes counts chunk payload bytes (file sizes), not filesystem
 * blocks.  Eviction is least-recently-used.  The LRU order lives in memory; on
 * open it is seeded from file mtimes (oldest first).  atime is not used: routers
 * mount flash noatime, and touching files on reads would wear the flash, so a
 * restart forgets read recency and keeps write order.
 *
 * Disk full: ENOSPC while writing removes the partial temp file, evicts at least
 * the chunk's size more from the LRU end and retries once; if that fails too the
 * put returns STORE_E_NO_SPACE and the store is as before minus the evictions.
 *
 * Single-threaded, blocking file I/O (chunks are at most 1 MiB).  The index costs
 * about 100 bytes per chunk (64-byte entry, malloc overhead, bucket slot; ~10 MB
 * for 100k chunks); lookups are O(1): a hash table keyed by the id, mixed with a
 * per-store random seed. */
#ifndef PEARFOG_STORE_H
#define PEARFOG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "chunk_id.h"

#define STORE_MAX_CHUNK_BYTES (1u << 20) /* 1 MiB: biggest chunk accepted or kept */

enum store_err {
	STORE_OK = 0,
	STORE_E_NOMEM = -1,
	STORE_E_IO = -2,	    /* unexpected filesystem error (errno kept in store_stat) */
	STORE_E_NOT_FOUND = -3,
	STORE_E_HASH_MISMATCH = -4, /* put: data does not hash to the id */
	STORE_E_TOO_BIG = -5,	    /* bigger than STORE_MAX_CHUNK_BYTES or the cap */
	STORE_E_NO_SPACE = -6,	    /* filesystem full even after evicting */
	STORE_E_CORRUPT = -7,	    /* get: stored bytes did not match; chunk deleted */
	STORE_E_INVAL = -8,
	STORE_E_BUFFER = -9, /* get_into: caller buffer too small (*len = needed) */
	STORE_E_LOCKED = -10, /* open: another process has this store open */
};

struct store;

struct store_stat {
	uint64_t count;
	uint64_t bytes_used;
	uint64_t cap_bytes;
	uint64_t evictions;	    /* chunks evicted for space since open */
	uint64_t corrupt_found;	    /* chunks that failed re-hash or size check since open */
	uint64_t junk_removed;	    /* bad names/sizes and temp files removed on open */
	uint64_t reads_verified;    /* gets that re-hashed the bytes */
	uint64_t reads_trusted;	    /* gets served within verify_interval of a hash check */
	int last_errno;		    /* errno of the last STORE_E_IO / NO_SPACE */
};

/* Open (creating <dir> if missing, one level) and rebuild the index; evicts down
 * to cap_bytes if the directory holds more.  NULL on failure with *err set
 * (and errno, for STORE_E_IO).
 * Takes an exclusive flock(2) on <dir> (released by close or process death):
 * a second instance would delete the first one's temp files. */
struct store *store_open(const char *dir, uint64_t cap_bytes, int *err);
void store_close(struct store *s);

/* Verify SHA-256(data) == id, make room, write atomically.  Putting a chunk that
 * is already stored only bumps it in the LRU. */
int store_put(struct store *s, const struct chunk_id *id, const void *data, size_t len);

/* Read and re-hash; *data is malloc'd (free() it), *len its size.  Bumps LRU. */
int store_get(struct store *s, const struct chunk_id *id, uint8_t **data, size_t *len);
/* Same into a caller buffer of cap bytes.  STORE_E_BUFFER if cap is too small,
 * with *len set to the chunk size. */
int store_get_into(struct store *s, const struct chunk_id *id, uint8_t *buf, size_t cap,
		   size_t *len);

/* Index lookups only (no I/O).  store_size returns the size or a negative error. */
int store_has(const struct store *s, const struct chunk_id *id);
long store_size(const struct store *s, const struct chunk_id *id);
int store_remove(struct store *s, const struct chunk_id *id);
void store_stat(const struct store *s, struct store_stat *st);

/* Re-hash a chunk on get only if its last hash check is at least this many
 * seconds old (0, the default: on every get).  See the top of this file. */
void store_set_verify_interval(struct store *s, uint32_t seconds);

/* Change the cap; evicts LRU chunks until bytes_used <= cap_bytes. */
int store_set_cap(struct store *s, uint64_t cap_bytes);

/* Calls cb for each chunk from least to most recently used; a non-zero return
 * stops the walk and is returned.  cb must not modify the store. */
typedef int (*store_foreach_fn)(void *ctx, const struct chunk_id *id, uint32_t size);
int store_foreach(const struct store *s, store_foreach_fn cb, void *ctx);

const char *store_strerror(int err);

#endif

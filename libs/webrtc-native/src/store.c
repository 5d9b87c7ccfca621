#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STORE_TMP_DIR "tmp"
#define STORE_FANOUT 256
#define STORE_MIN_BUCKETS 1024
/* "hh/" + 64 hex + NUL, and "tmp/" + 64 hex + "." + 20 digits + NUL */
#define STORE_PATH_MAX 96

struct store_entry {
	struct chunk_id id;
	uint32_t size;
	uint32_t verified_at; /* store clock (s) of the last hash check; 0: never */
	struct store_entry *hnext;	 /* hash chain */
	struct store_entry *prev, *next; /* LRU: s->lru.next is the oldest */
};

struct store {
	int dirfd;
	uint64_t cap;
	uint64_t used;
	uint64_t count;
	uint64_t seed;
	uint64_t tmp_seq;
	uint32_t verify_interval; /* seconds; 0: re-hash on every read */
	struct timespec t0;	  /* store clock origin (CLOCK_MONOTONIC at open) */
	struct store_entry **buckets;
	size_t nbuckets; /* power of two */
	struct store_entry lru;
	struct store_stat st;
};

/* Seconds since open, from 1 (0 marks "never verified"). */
static uint32_t store_clock(const struct store *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint32_t)(now.tv_sec - s->t0.tv_sec) + 1;
}

/* splitmix64 finaliser; keyed by a per-store random seed so ids chosen to
 * collide in one bucket for one store do not collide for another. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static size_t bucket_of(const struct store *s, const struct chunk_id *id, size_t nbuckets)
{
	uint64_t a, b;

	memcpy(&a, id->bytes, 8);
	memcpy(&b, id->bytes + 8, 8);
	return (size_t)((mix64(a ^ s->seed) ^ mix64(b + s->seed)) & (nbuckets - 1));
}

static struct store_entry *lookup(const struct store *s, const struct chunk_id *id)
{
	struct store_entry *e = s->buckets[bucket_of(s, id, s->nbuckets)];

	while (e && !chunk_id_equal(&e->id, id))
		e = e->hnext;
	return e;
}

/* Double the table when the load factor passes 1.  Failure to grow is not an
 * error: chains just get longer. */
static void maybe_grow(struct store *s)
{
	if (s->count < s->nbuckets || s->nbuckets > SIZE_MAX / 2 / sizeof(*s->buckets))
		return;
	size_t n = s->nbuckets * 2;
	struct store_entry **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct store_entry *e = s->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			size_t b = bucket_of(s, &e->id, n);
			e->hnext = nb[b];
			nb[b] = e;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

static void lru_unlink(struct store_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_append(struct store *s, struct store_entry *e)
{
	e->prev = s->lru.prev;
	e->next = &s->lru;
	s->lru.prev->next = e;
	s->lru.prev = e;
}

static void index_add(struct store *s, struct store_entry *e)
{
	size_t b = bucket_of(s, &e->id, s->nbuckets);

	e->hnext = s->buckets[b];
	s->buckets[b] = e;
	lru_append(s, e);
	s->count++;
	s->used += e->size;
	maybe_grow(s);
}

static void index_drop(struct store *s, struct store_entry *e)
{
	struct store_entry **pp = &s->buckets[bucket_of(s, &e->id, s->nbuckets)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	s->count--;
	s->used -= e->size;
	free(e);
}

static void chunk_path(char buf[STORE_PATH_MAX], const struct chunk_id *id)
{
	char hex[CHUNK_ID_HEX_LEN + 1];

	chunk_id_format(id, hex);
	snprintf(buf, STORE_PATH_MAX, "%.2s/%s", hex, hex);
}

/* Delete the file and forget the entry.  An unlink failure other than ENOENT
 * is recorded; the entry is dropped anyway (the next open re-indexes it). */
static void remove_entry(struct store *s, struct store_entry *e)
{
	char path[STORE_PATH_MAX];

	chunk_path(path, &e->id);
	if (unlinkat(s->dirfd, path, 0) < 0 && errno != ENOENT)
		s->st.last_errno = errno;
	index_drop(s, e);
}

static bool evict_oldest(struct store *s)
{
	if (s->lru.next == &s->lru)
		return false;
	remove_entry(s, s->lru.next);
	s->st.evictions++;
	return true;
}

/* Evict until `need` more bytes fit under the cap. */
static void evict_for(struct store *s, uint64_t need)
{
	while (s->used + need > s->cap && evict_oldest(s))
		;
}

/* ---- open: rebuild the index ---- */

struct scan_item {
	struct store_entry *e;
	struct timespec mtime;
};

struct scan {
	struct scan_item *items;
	size_t n, cap;
};

static int scan_cmp(const void *a, const void *b)
{
	const struct timespec *x = &((const struct scan_item *)a)->mtime;
	const struct timespec *y = &((const struct scan_item *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	if (x->tv_nsec != y->tv_nsec)
		return x->tv_nsec < y->tv_nsec ? -1 : 1;
	return 0;
}

static int scan_push(struct scan *sc, struct store_entry *e, struct timespec mtime)
{
	if (sc->n == sc->cap) {
		size_t n = sc->cap ? sc->cap * 2 : 1024;
		struct scan_item *it = realloc(sc->items, n * sizeof(*it));
		if (!it)
			return -ENOMEM;
		sc->items = it;
		sc->cap = n;
	}
	sc->items[sc->n++] = (struct scan_item){ e, mtime };
	return 0;
}

/* Remove every non-directory entry of <dir>/tmp: leftovers of interrupted puts. */
static int clean_tmp(struct store *s)
{
	if (mkdirat(s->dirfd, STORE_TMP_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(s->dirfd, STORE_TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			s->st.junk_removed++;
	}
	closedir(d);
	return 0;
}

/* Is `name` the canonical (lowercase) id of a chunk that belongs in fan-out
 * directory `hh`? */
static bool valid_chunk_name(const char *name, const char *hh, struct chunk_id *id)
{
	char canon[CHUNK_ID_HEX_LEN + 1];
	size_t len = strlen(name);

	if (!chunk_id_parse(id, name, len))
		return false;
	chunk_id_format(id, canon);
	return memcmp(canon, name, CHUNK_ID_HEX_LEN) == 0 && memcmp(canon, hh, 2) == 0;
}

static int scan_fanout(struct store *s, const char *hh, struct scan *sc)
{
	if (mkdirat(s->dirfd, hh, 0755) < 0 && errno != EEXIST)
		return -errno;
	int fd = openat(s->dirfd, hh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		struct chunk_id id;

		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			continue; /* not ours to delete recursively; ignored */
		if (!S_ISREG(st.st_mode) || !valid_chunk_name(de->d_name, hh, &id) ||
		    st.st_size > (off_t)STORE_MAX_CHUNK_BYTES) {
			if (unlinkat(fd, de->d_name, 0) == 0)
				s->st.junk_removed++;
			continue;
		}
		struct store_entry *e = calloc(1, sizeof(*e));
		if (!e) {
			rc = -ENOMEM;
			break;
		}
		e->id = id;
		e->size = (uint32_t)st.st_size;
		if ((rc = scan_push(sc, e, st.st_mtim)) < 0) {
			free(e);
			break;
		}
	}
	closedir(d);
	return rc;
}

/* Returns 0 or -errno. */
static int rebuild_index(struct store *s)
{
	struct scan sc = { 0 };
	int rc = 0;

	for (int i = 0; i < STORE_FANOUT && rc == 0; i++) {
		static const char digits[] = "0123456789abcdef";
		char hh[3] = { digits[i >> 4], digits[i & 15], '\0' };
		rc = scan_fanout(s, hh, &sc);
	}
	if (rc == 0) {
		if (sc.n)
			qsort(sc.items, sc.n, sizeof(*sc.items), scan_cmp);
		for (size_t i = 0; i < sc.n; i++)
			index_add(s, sc.items[i].e);
	} else {
		for (size_t i = 0; i < sc.n; i++)
			free(sc.items[i].e);
	}
	free(sc.items);
	return rc;
}

static int errno_to_store(int neg_errno)
{
	if (neg_errno == -ENOMEM)
		return STORE_E_NOMEM;
	if (neg_errno == -ENOSPC || neg_errno == -EDQUOT)
		return STORE_E_NO_SPACE;
	return STORE_E_IO;
}

struct store *store_open(const char *dir, uint64_t cap_bytes, int *err)
{
	int dummy, rc;
	struct store *s;

	if (!err)
		err = &dummy;
	if (!dir || !*dir) {
		*err = STORE_E_INVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->buckets = calloc(STORE_MIN_BUCKETS, sizeof(*s->buckets)))) {
		free(s);
		*err = STORE_E_NOMEM;
		return NULL;
	}
	s->dirfd = -1;
	s->nbuckets = STORE_MIN_BUCKETS;
	s->lru.next = s->lru.prev = &s->lru;
	s->cap = cap_bytes;
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = mix64((uint64_t)(uintptr_t)s ^ (uint64_t)getpid());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = -errno;
		goto fail;
	}
	if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			*err = STORE_E_LOCKED;
			store_close(s);
			return NULL;
		}
		rc = -errno;
		goto fail;
	}
	if ((rc = clean_tmp(s)) < 0 || (rc = rebuild_index(s)) < 0)
		goto fail;
	evict_for(s, 0);
	*err = STORE_OK;
	return s;
fail:
	*err = errno_to_store(rc);
	store_close(s);
	errno = -rc; /* for the caller's log line */
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	while (s->lru.next != &s->lru)
		index_drop(s, s->lru.next);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->buckets);
	free(s);
}

/* ---- put ---- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* temp + fsync + rename + fsync(dir).  Returns 0 or -errno; on failure nothing
 * of this chunk is left on disk. */
static int write_chunk(struct store *s, const struct chunk_id *id, const void *data, size_t len)
{
	char hex[CHUNK_ID_HEX_LEN + 1], tmp[STORE_PATH_MAX], path[STORE_PATH_MAX];
	int fd, rc;

	chunk_id_format(id, hex);
	snprintf(tmp, sizeof(tmp), STORE_TMP_DIR "/%s.%llu", hex,
		 (unsigned long long)s->tmp_seq++);
	chunk_path(path, id);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(s->dirfd, tmp, 0);
		return rc;
	}
	path[2] = '\0'; /* the fan-out directory "hh" */
	rc = fsync_dir_at(s->dirfd, path);
	if (rc < 0) {
		path[2] = '/';
		unlinkat(s->dirfd, path, 0);
	}
	return rc;
}

int store_put(struct store *s, const struct chunk_id *id, const void *data, size_t len)
{
	struct chunk_id got;
	struct store_entry *e;
	int rc;

	if (!s || !id || (!data && len))
		return STORE_E_INVAL;
	if (len > STORE_MAX_CHUNK_BYTES || len > s->cap)
		return STORE_E_TOO_BIG;
	chunk_id_of(&got, data ? data : "", len);
	if (!chunk_id_equal(&got, id))
		return STORE_E_HASH_MISMATCH;
	if ((e = lookup(s, id))) {
		lru_unlink(e);
		lru_append(s, e);
		return STORE_OK;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return STORE_E_NOMEM;
	e->id = *id;
	e->size = (uint32_t)len;
	e->verified_at = store_clock(s); /* hashed above, written from those bytes */
	evict_for(s, len);
	rc = write_chunk(s, id, data, len);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* The filesystem is fuller than our cap says (shared partition, block
		 * overhead): free at least this chunk's size more and retry once. */
		uint64_t target = s->used > len ? s->used - len : 0;
		bool evicted = false;
		while (s->used > target && evict_oldest(s))
			evicted = true;
		rc = evicted ? write_chunk(s, id, data, len) : rc;
	}
	if (rc < 0) {
		free(e);
		s->st.last_errno = -rc;
		return errno_to_store(rc);
	}
	index_add(s, e);
	return STORE_OK;
}

/* ---- get ---- */

/* True when the chunk's bytes were hashed less than verify_interval ago. */
static bool recently_verified(const struct store *s, const struct store_entry *e, uint32_t now)
{
	return s->verify_interval && e->verified_at && now - e->verified_at < s->verify_interval;
}

static void drop_corrupt(struct store *s, struct store_entry *e)
{
	s->st.corrupt_found++;
	remove_entry(s, e);
}

static int read_full(int fd, uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = pread(fd, p + off, len - off, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA; /* shrank under us */
		off += (size_t)n;
	}
	return 0;
}

/* Shared by store_get and store_get_into: buf NULL means allocate. */
static int get_common(struct store *s, const struct chunk_id *id, uint8_t *buf, size_t cap,
		      uint8_t **out, size_t *len)
{
	char path[STORE_PATH_MAX];
	struct store_entry *e;
	struct chunk_id got;
	struct stat st;
	uint8_t *data;
	uint32_t now;
	bool trusted;
	int fd, rc;

	if (!s || !id || !len || (!buf && !out))
		return STORE_E_INVAL;
	if (!(e = lookup(s, id)))
		return STORE_E_NOT_FOUND;
	chunk_path(path, id);
	fd = openat(s->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) { /* deleted behind our back */
			drop_corrupt(s, e);
			return STORE_E_NOT_FOUND;
		}
		s->st.last_errno = errno;
		return STORE_E_IO;
	}
	if (fstat(fd, &st) < 0) {
		s->st.last_errno = errno;
		close(fd);
		return STORE_E_IO;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != (off_t)e->size) {
		close(fd);
		drop_corrupt(s, e);
		return STORE_E_CORRUPT;
	}
	if (buf && cap < e->size) {
		close(fd);
		*len = e->size;
		return STORE_E_BUFFER;
	}
	data = buf ? buf : malloc(e->size ? e->size : 1);
	if (!data) {
		close(fd);
		return STORE_E_NOMEM;
	}
	rc = read_full(fd, data, e->size);
	close(fd);
	now = store_clock(s);
	trusted = recently_verified(s, e, now);
	if (rc == 0 && !trusted) {
		chunk_id_of(&got, data, e->size);
		s->st.reads_verified++;
	}
	if (rc == -ENODATA || rc == -EIO || (rc == 0 && !trusted && !chunk_id_equal(&got, id))) {
		/* Flash rot (wrong bytes, or EIO from a bad block) or truncation:
		 * never hand these bytes out, and do not keep trying them. */
		if (buf)
			memset(buf, 0, e->size);
		else
			free(data);
		drop_corrupt(s, e);
		return STORE_E_CORRUPT;
	}
	if (rc < 0) {
		if (!buf)
			free(data);
		s->st.last_errno = -rc;
		return STORE_E_IO;
	}
	if (trusted)
		s->st.reads_trusted++;
	else
		e->verified_at = now;
	lru_unlink(e);
	lru_append(s, e);
	*len = e->size;
	if (out)
		*out = data;
	return STORE_OK;
}

int store_get(struct store *s, const struct chunk_id *id, uint8_t **data, size_t *len)
{
	return get_common(s, id, NULL, 0, data, len);
}

int store_get_into(struct store *s, const struct chunk_id *id, uint8_t *buf, size_t cap,
		   size_t *len)
{
	if (!buf)
		return STORE_E_INVAL;
	return get_common(s, id, buf, cap, NULL, len);
}

/* ---- the rest ---- */

int store_has(const struct store *s, const struct chunk_id *id)
{
	return s && id && lookup(s, id) ? 1 : 0;
}

long store_size(const struct store *s, const struct chunk_id *id)
{
	const struct store_entry *e;

	if (!s || !id)
		return STORE_E_INVAL;
	e = lookup(s, id);
	return e ? (long)e->size : STORE_E_NOT_FOUND;
}

int store_remove(struct store *s, const struct chunk_id *id)
{
	struct store_entry *e;

	if (!s || !id)
		return STORE_E_INVAL;
	if (!(e = lookup(s, id)))
		return STORE_E_NOT_FOUND;
	remove_entry(s, e);
	return STORE_OK;
}

void store_stat(const struct store *s, struct store_stat *st)
{
	*st = s->st;
	st->count = s->count;
	st->bytes_used = s->used;
	st->cap_bytes = s->cap;
}

void store_set_verify_interval(struct store *s, uint32_t seconds)
{
	if (s)
		s->verify_interval = seconds;
}

int store_set_cap(struct store *s, uint64_t cap_bytes)
{
	if (!s)
		return STORE_E_INVAL;
	s->cap = cap_bytes;
	evict_for(s, 0);
	return STORE_OK;
}

int store_foreach(const struct store *s, store_foreach_fn cb, void *ctx)
{
	const struct store_entry *e;
	int rc;

	if (!s || !cb)
		return STORE_E_INVAL;
	for (e = s->lru.next; e != &s->lru; e = e->next)
		if ((rc = cb(ctx, &e->id, e->size)) != 0)
			return rc;
	return 0;
}

const char *store_strerror(int err)
{
	switch (err) {
	case STORE_OK:
		return "ok";
	case STORE_E_NOMEM:
		return "out of memory";
	case STORE_E_IO:
		return "filesystem error";
	case STORE_E_NOT_FOUND:
		return "chunk not in store";
	case STORE_E_HASH_MISMATCH:
		return "data does not hash to the chunk id";
	case STORE_E_TOO_BIG:
		return "chunk bigger than the size limit or the store cap";
	case STORE_E_NO_SPACE:
		return "no space left on the store filesystem";
	case STORE_E_CORRUPT:
		return "stored chunk was corrupt and has been removed";
	case STORE_E_INVAL:
		return "invalid argument";
	case STORE_E_BUFFER:
		return "buffer too small for the chunk";
	case STORE_E_LOCKED:
		return "store directory is in use by another process";
	}
	return "unknown store error";
}

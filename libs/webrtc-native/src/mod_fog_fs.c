/* mod_fog_fs: small-file operations of "pear-fog:native" (see mod_fog.h).
 *
 * The agent's files are keys, state and staged chunks on local flash, capped at
 * MOD_FOG_MAX_FILE; the system calls run synchronously and the result is returned as a
 * settled Promise so the JS API has the same shape as on Node. */
#include "mod_fog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned tmp_seq;

static JSValue reject_errno(JSContext *ctx, const char *op, const char *path, int e)
{
	return mod_fog_settled(ctx, false,
			       mod_fog_error(ctx, op, mod_fog_errno_code(e), "%s %s: %s", op, path,
					     strerror(e)));
}

int mod_fog_mkdir_parents(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* Read to end of file, at most MOD_FOG_MAX_FILE bytes: st_size is only a first guess, as
 * /proc and /sys files report 0 (or a page) whatever they hold.  Returns the bytes read, or
 * -errno, or -EFBIG past the cap; *out is malloc'd (NULL when nothing was read). */
static ssize_t read_to_end(int fd, size_t hint, uint8_t **out)
{
	size_t cap = hint ? hint + 1 : 4096, got = 0;
	uint8_t *buf = NULL, *grown;
	ssize_t n;

	for (;;) {
		if (got == cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > (size_t)MOD_FOG_MAX_FILE + 1)
				cap = (size_t)MOD_FOG_MAX_FILE + 1;
			if (!(grown = realloc(buf, cap))) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > MOD_FOG_MAX_FILE) {
			free(buf);
			return -EFBIG;
		}
	}
	*out = buf;
	return (ssize_t)got;
}

JSValue mod_fog_read_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *path = JS_ToCString(ctx, argv[0]);
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t got;
	JSValue rv;
	int fd, e;

	if (!path)
		return JS_EXCEPTION;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		rv = e == ENOENT ? mod_fog_settled(ctx, true, JS_NULL)
				 : reject_errno(ctx, "file_read", path, e);
		JS_FreeCString(ctx, path);
		return rv;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		e = S_ISDIR(st.st_mode) ? EISDIR : errno ? errno : EIO;
		rv = reject_errno(ctx, "file_read", path, e);
	} else if ((uint64_t)st.st_size > MOD_FOG_MAX_FILE ||
		   (got = read_to_end(fd, (size_t)st.st_size, &buf)) == -EFBIG) {
		rv = mod_fog_settled(ctx, false,
				     mod_fog_error(ctx, "file_read", "too_large", "file_read %s: more than %u bytes",
						   path, MOD_FOG_MAX_FILE));
	} else if (got == -ENOMEM) {
		rv = JS_ThrowOutOfMemory(ctx);
	} else if (got < 0) {
		rv = reject_errno(ctx, "file_read", path, (int)-got);
	} else {
		rv = mod_fog_settled(ctx, true, JS_NewUint8ArrayCopy(ctx, buf ? buf : (uint8_t *)"", (size_t)got));
	}
	close(fd);
	free(buf);
	JS_FreeCString(ctx, path);
	return rv;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* writeFile(path, data, mode = 0o644): parent dirs, "<path>.tmp-<pid>-<n>", fsync, rename. */
JSValue mod_fog_write_file(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *path = JS_ToCString(ctx, argv[0]);
	const char *str = NULL;
	const uint8_t *data;
	size_t len = 0;
	uint32_t mode = 0644;
	char tmp[4200];
	JSValue rv;
	int fd, e;

	if (!path)
		return JS_EXCEPTION;
	if (JS_IsString(argv[1])) {
		str = JS_ToCStringLen(ctx, &len, argv[1]);
		data = (const uint8_t *)str;
	} else {
		data = JS_GetUint8Array(ctx, &len, argv[1]);
	}
	if (!data || (argc > 2 && !JS_IsUndefined(argv[2]) && JS_ToUint32(ctx, &mode, argv[2]) < 0)) {
		JS_FreeCString(ctx, path);
		JS_FreeCString(ctx, str);
		return data ? JS_EXCEPTION : JS_ThrowTypeError(ctx, "writeFile: data must be a Uint8Array or string");
	}
	if (len > MOD_FOG_MAX_FILE) {
		rv = mod_fog_settled(ctx, false, mod_fog_error(ctx, "file_write", "too_large",
							       "file_write %s: %zu bytes > %u", path, len,
							       MOD_FOG_MAX_FILE));
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d-%u", path, (int)getpid(), tmp_seq++) >= sizeof(tmp)) {
		rv = reject_errno(ctx, "file_write", path, ENAMETOOLONG);
		goto out;
	}
	if ((e = mod_fog_mkdir_parents(path)) < 0) {
		rv = reject_errno(ctx, "file_write", path, -e);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)(mode & 07777));
	if (fd < 0) {
		rv = reject_errno(ctx, "file_write", path, errno);
		goto out;
	}
	e = write_all(fd, data, len);
	if (!e && fsync(fd) < 0)
		e = -errno;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		rv = reject_errno(ctx, "file_write", path, -e);
	} else {
		rv = mod_fog_settled(ctx, true, JS_UNDEFINED);
	}
out:
	JS_FreeCString(ctx, path);
	JS_FreeCString(ctx, str);
	return rv;
}

JSValue mod_fog_rename(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *from = JS_ToCString(ctx, argv[0]);
	const char *to = from ? JS_ToCString(ctx, argv[1]) : NULL;
	JSValue rv;

	if (!from || !to) {
		JS_FreeCString(ctx, from);
		return JS_EXCEPTION;
	}
	rv = rename(from, to) < 0 ? reject_errno(ctx, "file_rename", from, errno)
				  : mod_fog_settled(ctx, true, JS_TRUE);
	JS_FreeCString(ctx, from);
	JS_FreeCString(ctx, to);
	return rv;
}

/* mkdir(path): with parents; an existing directory is fine. */
JSValue mod_fog_mkdir(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *path = JS_ToCString(ctx, argv[0]);
	JSValue rv;
	int e;

	if (!path)
		return JS_EXCEPTION;
	e = mod_fog_mkdir_parents(path);
	if (!e && mkdir(path, 0755) < 0 && errno != EEXIST)
		e = -errno;
	rv = e ? reject_errno(ctx, "mkdir", path, -e) : mod_fog_settled(ctx, true, JS_TRUE);
	JS_FreeCString(ctx, path);
	return rv;
}

JSValue mod_fog_unlink(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *path = JS_ToCString(ctx, argv[0]);
	JSValue rv;

	if (!path)
		return JS_EXCEPTION;
	if (unlink(path) == 0)
		rv = mod_fog_settled(ctx, true, JS_TRUE);
	else if (errno == ENOENT)
		rv = mod_fog_settled(ctx, true, JS_FALSE);
	else
		rv = reject_errno(ctx, "file_remove", path, errno);
	JS_FreeCString(ctx, path);
	return rv;
}

JSValue mod_fog_stat(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	const char *path = JS_ToCString(ctx, argv[0]);
	struct stat st;
	JSValue rv, o;

	if (!path)
		return JS_EXCEPTION;
	if (stat(path, &st) < 0) {
		rv = errno == ENOENT ? mod_fog_settled(ctx, true, JS_NULL)
				     : reject_errno(ctx, "stat", path, errno);
	} else {
		o = JS_NewObject(ctx);
		JS_SetPropertyStr(ctx, o, "size", JS_NewInt64(ctx, st.st_size));
		JS_SetPropertyStr(ctx, o, "mtimeMs",
				  JS_NewFloat64(ctx, (double)st.st_mtim.tv_sec * 1000 +
							     (double)(st.st_mtim.tv_nsec / 1000000)));
		JS_SetPropertyStr(ctx, o, "isFile", JS_NewBool(ctx, S_ISREG(st.st_mode)));
		JS_SetPropertyStr(ctx, o, "isDirectory", JS_NewBool(ctx, S_ISDIR(st.st_mode)));
		rv = mod_fog_settled(ctx, true, o);
	}
	JS_FreeCString(ctx, path);
	return rv;
}

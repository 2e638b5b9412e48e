/*
 * util.h - small helpers shared by the modules: capped file reads and
 * checked JSON fields, each the one place that bounds untrusted input.
 */
#ifndef XR_UTIL_H
#define XR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

/**
 * xr_read_file - read a regular file of at most @max bytes, NUL-terminated
 * @path:   the file
 * @max:    the most bytes accepted
 * @buf:    receives the contents (caller frees)
 * @len:    receives their length, without the NUL
 * @what:   what the file is, for the message ("a config")
 * @err:    receives "PATH: reason" on failure
 * @errlen: size of @err
 * Return: 0, or a negative errno (-EFBIG when larger than @max).
 */
int xr_read_file(const char *path, size_t max, char **buf, size_t *len,
		 const char *what, char *err, size_t errlen);

/**
 * xr_json_str - string field @key of object @o, 1 to @max bytes, no NUL
 * Return: the string (owned by @o), or NULL with "field 'KEY' ..." in @err.
 */
const char *xr_json_str(struct json_object *o, const char *key, size_t max,
			char *err, size_t errlen);

/**
 * xr_run - run a program and wait for it, its output captured
 * @argv:   program (looked up in PATH) and arguments, NULL-terminated
 * @out:    receives stdout and stderr together, NUL-terminated, cut to fit
 * @outlen: size of @out
 * Return: the exit status (0..255), 128+N when killed by signal N, or a
 * negative errno when it could not be started.
 */
#define XR_RUN_MAX_ARGS 32
int xr_run(const char *const argv[], char *out, size_t outlen);

/** xr_write_all - write all @len bytes to @fd, again after EINTR; 0 or -errno */
int xr_write_all(int fd, const void *data, size_t len);

/**
 * xr_write_atomic - write @dir/@name through a temporary file, fsync and
 * rename, created with @mode; the directory is synced too
 * Return: 0, or a negative errno.
 */
int xr_write_atomic(const char *dir, const char *name, const void *data,
		    size_t len, mode_t mode);

/** xr_now_ms - CLOCK_MONOTONIC in milliseconds */
int64_t xr_now_ms(void);

/** xr_last_line - the last non-empty line of @text, in @out */
void xr_last_line(const char *text, char *out, size_t len);

#endif

/*
 * util.c - capped file reads and checked JSON fields (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util.h"

int xr_read_file(const char *path, size_t max, char **buf, size_t *len,
		 const char *what, char *err, size_t errlen)
{
	struct stat st;
	char *b = NULL;
	size_t done = 0;
	int fd, rc = 0;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: %lld bytes; %s is at most %zu", path,
			 (long long)st.st_size, what, max);
		rc = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, b + done, (size_t)st.st_size - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: read failed: %s", path, strerror(-rc));
			goto out;
		}
		done += (size_t)r;
	}
	b[done] = '\0';
	*buf = b;
	*len = done;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

const char *xr_json_str(struct json_object *o, const char *key, size_t max,
			char *err, size_t errlen)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(o, key, &v)) {
		snprintf(err, errlen, "field '%s' missing", key);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "field '%s' is not a string", key);
		return NULL;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0 || len > max || strlen(s) != len) {
		snprintf(err, errlen, "field '%s': %zu bytes, expected 1 to %zu "
			 "without NUL", key, len, max);
		return NULL;
	}
	return s;
}

int xr_run(const char *const argv[], char *out, size_t outlen)
{
	char *args[XR_RUN_MAX_ARGS + 1] = { NULL };
	size_t got = 0, i;
	int pfd[2], status;
	pid_t pid;
	ssize_t n;

	if (outlen)
		out[0] = '\0';
	/* execvp() wants them writable: copies, made before fork(). */
	for (i = 0; argv[i]; i++) {
		if (i == XR_RUN_MAX_ARGS || !(args[i] = strdup(argv[i]))) {
			while (i--)
				free(args[i]);
			return -E2BIG;
		}
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		pid = -1;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(args[0], args);
		dprintf(2, "%s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
out:
	for (i = 0; args[i]; i++)
		free(args[i]);
	if (pid < 0)
		return -errno;
	close(pfd[1]);
	for (;;) {
		char sink[512];

		if (got + 1 < outlen)
			n = read(pfd[0], out + got, outlen - 1 - got);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got + 1 < outlen)
			got += (size_t)n;
	}
	if (outlen)
		out[got] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int64_t xr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void xr_last_line(const char *text, char *out, size_t len)
{
	const char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r'))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(out, len, "%.*s", (int)(end - start), start);
}

int xr_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int xr_write_atomic(const char *dir, const char *name, const void *data,
		     size_t len, mode_t mode)
{
	char *tmp = NULL, *dst = NULL;
	int fd = -1, rc = 0;

	if (asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	if (asprintf(&dst, "%s/%s", dir, name) < 0) {
		dst = NULL;
		rc = -ENOMEM;
		goto out;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, mode)) {		/* the umask must not widen or narrow it */
		rc = -errno;
		goto out;
	}
	rc = xr_write_all(fd, data, len);
	if (rc)
		goto out;
	if (fsync(fd)) {
		rc = -errno;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst)) {
		rc = -errno;
		goto out;
	}
	/* The rename itself must survive a power loss too. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(dst);
	return rc;
}

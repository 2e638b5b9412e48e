/*
 * util.c - capped file reads and checked JSON fields (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

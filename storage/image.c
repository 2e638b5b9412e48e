/*
 * image.c - the cluster image store (image.h): files named by their
 * sha256, written through a temporary file and renamed into place, so
 * that an image in the store is always whole and always what its name says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "image.h"
#include "storage.h"
#include "util.h"

const char *img_dir = "/var/lib/xenrack/images";

#define COPY_CHUNK (1u << 20)

void img_path(char *out, size_t len, const char *sha)
{
	snprintf(out, len, "%s/sha256-%s", img_dir, sha);
}

bool img_sha_ok(const char *sha)
{
	size_t i;

	for (i = 0; i < IMG_SHA_LEN; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return false;
	return sha[i] == '\0';
}

bool img_sha_of_path(const char *path, char sha[IMG_SHA_LEN + 1])
{
	size_t n = strlen(img_dir);

	if (strncmp(path, img_dir, n) || strncmp(path + n, "/sha256-", 8) ||
	    !img_sha_ok(path + n + 8))
		return false;
	memcpy(sha, path + n + 8, IMG_SHA_LEN + 1);
	return true;
}

static void hex(const unsigned char *md, char sha[IMG_SHA_LEN + 1])
{
	for (int i = 0; i < IMG_SHA_LEN / 2; i++)
		sprintf(sha + 2 * i, "%02x", md[i]);
}

/*
 * Hash what @in holds from where it stands; copy it to @out (when >= 0) on
 * the way.  @what names @in in messages.
 */
static int hash_copy(int in, int out, const char *what, char sha[IMG_SHA_LEN + 1],
		     uint64_t *size, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *buf = malloc(COPY_CHUNK);
	uint64_t total = 0;
	int rc = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		st_errf(err, "%s: out of memory", what);
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			st_errf(err, "%s: %s", what, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > IMG_MAX_BYTES) {
			st_errf(err, "%s: larger than %llu MiB, too large for a kernel or ramdisk",
				what, IMG_MAX_BYTES >> 20);
			rc = -EFBIG;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (out >= 0 && (rc = xr_write_all(out, buf, (size_t)n))) {
			st_errf(err, "image store %s: %s", img_dir, strerror(-rc));
			goto out;
		}
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	hex(md, sha);
	if (size)
		*size = total;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* The store's directory, made when it is not there yet. */
static int make_store(char *err)
{
	if (mkdir(img_dir, 0755) && errno != EEXIST) {
		int rc = -errno;

		st_errf(err, "image store %s: %s", img_dir, strerror(errno));
		return rc;
	}
	return 0;
}

/* Give the file @tmp (open as @fd) its name in the store, read-only. */
static int publish(int fd, const char *tmp, const char *sha, char *err)
{
	char path[4096];

	img_path(path, sizeof(path), sha);
	if (fchmod(fd, 0444) || fsync(fd) || rename(tmp, path)) {
		int e = errno;

		st_errf(err, "image store %s: %s", img_dir, strerror(e));
		unlink(tmp);
		return -e;
	}
	return 0;
}

int img_store_file(const char *path, char sha[IMG_SHA_LEN + 1], uint64_t *size,
		   char *err)
{
	char tmp[4096];
	struct stat st;
	int in, out = -1, rc;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = -errno;
		st_errf(err, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		st_errf(err, "%s: not a regular file", path);
		close(in);
		return -EINVAL;
	}
	rc = make_store(err);
	if (rc) {
		close(in);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s/.in-XXXXXX", img_dir);
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		rc = -errno;
		st_errf(err, "image store %s: %s", img_dir, strerror(errno));
		close(in);
		return rc;
	}
	rc = hash_copy(in, out, path, sha, size, err);
	close(in);
	if (!rc && !img_check(sha, err)) {
		unlink(tmp);		/* the store has it already */
	} else if (!rc) {
		rc = publish(out, tmp, sha, err);
		rc = rc ? rc : 1;
	} else {
		unlink(tmp);
	}
	close(out);
	return rc;
}

int img_check(const char *sha, char *err)
{
	char path[4096], got[IMG_SHA_LEN + 1];
	int fd, rc;

	if (!img_sha_ok(sha)) {
		st_errf(err, "'%.80s' is not a sha256", sha);
		return -EINVAL;
	}
	img_path(path, sizeof(path), sha);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		st_errf(err, "image %s: %s", path, strerror(errno));
		return rc;
	}
	rc = hash_copy(fd, -1, path, got, NULL, err);
	close(fd);
	if (!rc && strcmp(got, sha)) {
		st_errf(err, "image %s is damaged: its bytes hash to %s", path, got);
		rc = -EBADMSG;
	}
	return rc;
}

int img_receive(const char *sha, uint64_t size, uint64_t offset, const void *data,
		size_t len, char *err)
{
	char part[4096], got[IMG_SHA_LEN + 1];
	struct stat st;
	int fd, rc = 0;

	if (!img_sha_ok(sha)) {
		st_errf(err, "field 'sha256': not 64 lowercase hex digits");
		return -EINVAL;
	}
	if (size == 0 || size > IMG_MAX_BYTES) {
		st_errf(err, "field 'size': %llu bytes; an image has 1 to %llu",
			(unsigned long long)size, IMG_MAX_BYTES);
		return -EFBIG;
	}
	if (offset > size || len > size - offset) {
		st_errf(err, "a piece of %zu bytes at %llu overruns the image's %llu",
			len, (unsigned long long)offset, (unsigned long long)size);
		return -EINVAL;
	}
	rc = make_store(err);
	if (rc)
		return rc;
	snprintf(part, sizeof(part), "%s/.sha256-%s.part", img_dir, sha);
	fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0600);
	if (fd < 0) {
		rc = -errno;
		st_errf(err, "image store %s: %s", img_dir, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_size != offset) {
		st_errf(err, "a piece at %llu, but %llu bytes of the image are here",
			(unsigned long long)offset, (unsigned long long)st.st_size);
		rc = -EPROTO;
		goto drop;
	}
	/* The piece goes at the end: the file holds exactly @offset bytes. */
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		rc = -errno;
	else
		rc = xr_write_all(fd, data, len);
	if (rc) {
		st_errf(err, "image store %s: %s", img_dir, strerror(-rc));
		goto drop;
	}
	if (offset + len < size) {
		close(fd);
		return 0;
	}
	/* The last piece: the whole must be what its name says. */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = -errno;
		goto drop;
	}
	rc = hash_copy(fd, -1, part, got, NULL, err);
	if (!rc && strcmp(got, sha)) {
		st_errf(err, "the image received hashes to %s, not to %s", got, sha);
		rc = -EBADMSG;
	}
	if (!rc) {
		rc = publish(fd, part, sha, err);
		close(fd);
		return rc;
	}
drop:
	close(fd);
	unlink(part);
	return rc;
}

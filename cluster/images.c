/*
 * images.c - a domain's kernel and ramdisk in the cluster image store
 * (storage/image.h): kept on this node when the domain is created, sent to
 * every node that may run it before it starts, checked again at a restart.
 *
 * A peer-image request asks whether the receiver has an image ({sha256,
 * size}: the reply says `have`), or carries one piece of it ({sha256, size,
 * offset, data}, data in base64), in order; docs/protocol.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "clu.h"
#include "ctl.h"
#include "image.h"
#include "log.h"
#include "storage.h"
#include "util.h"

/* Raw bytes a piece carries: 4 MiB in base64, under CTL_MAX_BODY. */
#define PIECE_BYTES (3u << 20)
#define PEER_IMAGE_MS 60000

_Static_assert((PIECE_BYTES + 2) / 3 * 4 + 4096 < CTL_MAX_BODY,
	       "a peer-image piece fits in a message");

struct image_ref {
	const char *what;	/* "kernel", "ramdisk" */
	char **path;
};

static size_t refs_of(struct hv_domain *dom, struct image_ref refs[2])
{
	size_t n = 0;

	if (dom->kernel)
		refs[n++] = (struct image_ref){ "kernel", &dom->kernel };
	if (dom->ramdisk)
		refs[n++] = (struct image_ref){ "ramdisk", &dom->ramdisk };
	return n;
}

int clu_images_store(struct hv_domain *dom, char **text, char *err)
{
	struct image_ref refs[2];
	size_t n = refs_of(dom, refs), i;
	char add[2 * PATH_MAX + 64] = "", why[ST_ERR_LEN], sha[IMG_SHA_LEN + 1], path[PATH_MAX];

	for (i = 0; i < n; i++) {
		uint64_t size;
		char *copy;
		int rc;

		if (img_sha_of_path(*refs[i].path, sha)) {
			/* Stored at an earlier create: a restart, here or elsewhere. */
			rc = img_check(sha, why);
			if (rc) {
				st_errf(err, "%s: %s", refs[i].what, why);
				return rc;
			}
			continue;
		}
		rc = img_store_file(*refs[i].path, sha, &size, why);
		if (rc < 0) {
			st_errf(err, "%s: %s", refs[i].what, why);
			return rc;
		}
		img_path(path, sizeof(path), sha);
		if (rc)
			log_info("images: %s %s kept as sha256-%.12s (%llu bytes)", refs[i].what,
				 *refs[i].path, sha, (unsigned long long)size);
		copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		free(*refs[i].path);
		*refs[i].path = copy;
		snprintf(add + strlen(add), sizeof(add) - strlen(add), "%s = \"%s\"\n",
			 refs[i].what, path);
	}
	if (add[0]) {
		/* A later assignment wins: the config keeps what the user wrote
		 * and says which bytes it boots. */
		char *t;

		if (asprintf(&t, "%s\n# clusterctl create: the images, as kept in the "
			     "cluster's image store\n%s", *text, add) < 0)
			return -ENOMEM;
		free(*text);
		*text = t;
	}
	return 0;
}

/* Ask @to whether it has image @sha of @size bytes. */
static int peer_has(struct clu_daemon *d, const struct clu_node *to, const char *sha,
		    uint64_t size, bool *have, char *err)
{
	struct json_object *req = json_object_new_object(), *reply, *o;
	int rc;

	json_object_object_add(req, "sha256", json_object_new_string(sha));
	json_object_object_add(req, "size", json_object_new_int64((int64_t)size));
	rc = clu_peer_call(d, to, CTL_PEER_IMAGE, req, &reply, PEER_IMAGE_MS, err);
	json_object_put(req);
	if (rc)
		return rc;
	*have = json_object_object_get_ex(reply, "have", &o) && json_object_get_boolean(o);
	json_object_put(reply);
	return 0;
}

static int send_image(struct clu_daemon *d, const struct clu_node *to, const char *sha,
		      char *err)
{
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	char *b64 = NULL;
	uint64_t off = 0, size;
	struct stat st;
	bool have;
	int fd, rc;

	img_path(path, sizeof(path), sha);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		st_errf(err, "image %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	size = (uint64_t)st.st_size;
	rc = peer_has(d, to, sha, size, &have, err);
	if (rc || have)
		goto out;
	buf = malloc(PIECE_BYTES);
	b64 = malloc((PIECE_BYTES + 2) / 3 * 4 + 1);
	if (!buf || !b64) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < size) {
		struct json_object *req, *reply;
		size_t want = size - off < PIECE_BYTES ? (size_t)(size - off) : PIECE_BYTES;
		ssize_t got = pread(fd, buf, want, (off_t)off);

		if (got != (ssize_t)want) {
			rc = got < 0 ? -errno : -EIO;
			st_errf(err, "image %s: short read", path);
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, buf, (int)want);
		req = json_object_new_object();
		json_object_object_add(req, "sha256", json_object_new_string(sha));
		json_object_object_add(req, "size", json_object_new_int64((int64_t)size));
		json_object_object_add(req, "offset", json_object_new_int64((int64_t)off));
		json_object_object_add(req, "data", json_object_new_string(b64));
		rc = clu_peer_call(d, to, CTL_PEER_IMAGE, req, &reply, PEER_IMAGE_MS, err);
		json_object_put(req);
		if (rc)
			goto out;
		json_object_put(reply);
		off += want;
	}
	log_info("images: sha256-%.12s sent to %s (%llu bytes)", sha, to->name,
		 (unsigned long long)size);
out:
	free(buf);
	free(b64);
	close(fd);
	return rc;
}

int clu_images_send(struct clu_daemon *d, struct hv_domain *dom, const struct clu_node *to,
		    char *err)
{
	struct image_ref refs[2];
	size_t n = refs_of(dom, refs);
	char sha[IMG_SHA_LEN + 1];

	for (size_t i = 0; i < n; i++) {
		char why[CTL_ERR_LEN];
		int rc;

		if (!img_sha_of_path(*refs[i].path, sha))
			continue;	/* not stored: clu_images_store() was not called */
		rc = send_image(d, to, sha, why);
		if (rc) {
			st_errf(err, "%s: cannot send it to %s: %s", refs[i].what,
				 to->name, why);
			return rc;
		}
	}
	return 0;
}

int clu_peer_image_req(struct json_object *req, struct json_object *reply, char *err)
{
	struct json_object *o;
	const char *sha, *data;
	unsigned char *bytes;
	int64_t size, off;
	size_t len, pad = 0;
	int n, rc;

	sha = xr_json_str(req, "sha256", IMG_SHA_LEN, err, CTL_ERR_LEN);
	if (!sha)
		return -EINVAL;
	if (!img_sha_ok(sha)) {
		st_errf(err, "field 'sha256': not 64 lowercase hex digits");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "size", &o) || !json_object_is_type(o, json_type_int) ||
	    (size = json_object_get_int64(o)) <= 0 || (uint64_t)size > IMG_MAX_BYTES) {
		st_errf(err, "field 'size': missing, or not 1 to %llu", IMG_MAX_BYTES);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "data", &o)) {
		char why[ST_ERR_LEN];

		json_object_object_add(reply, "have", json_object_new_boolean(!img_check(sha, why)));
		return 0;
	}
	data = json_object_get_string(o);
	len = json_object_is_type(o, json_type_string) ? strlen(data) : 0;
	if (!len || len % 4 || len > (PIECE_BYTES + 2) / 3 * 4) {
		st_errf(err, "field 'data': not base64 of 1 to %u bytes", PIECE_BYTES);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(req, "offset", &o) || !json_object_is_type(o, json_type_int) ||
	    (off = json_object_get_int64(o)) < 0) {
		st_errf(err, "field 'offset': missing or negative");
		return -EINVAL;
	}
	bytes = malloc(len / 4 * 3);
	if (!bytes)
		return -ENOMEM;
	n = EVP_DecodeBlock(bytes, (const unsigned char *)data, (int)len);
	if (n < 0) {
		free(bytes);
		st_errf(err, "field 'data': not base64");
		return -EINVAL;
	}
	while (pad < 2 && data[len - 1 - pad] == '=')
		pad++;
	rc = img_receive(sha, (uint64_t)size, (uint64_t)off, bytes, (size_t)n - pad, err);
	free(bytes);
	return rc;
}

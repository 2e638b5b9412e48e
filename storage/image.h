/*
 * image.h - the cluster image store: the kernels and ramdisks domains boot,
 * kept by content on each node's data disk.
 *
 * A stateless node has only what it booted with, so `clusterctl create`
 * copies the files a config names into the store of the node that creates
 * the domain (named sha256-HEX) and sends them to every node that may run
 * it, before the domain starts; a restart elsewhere then boots the same
 * bytes (docs/ha.md, "Domain images").  Nothing here talks to a peer.
 */
#ifndef XR_IMAGE_H
#define XR_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_SHA_LEN 64				/* hex digits of a sha256 */
#define IMG_MAX_BYTES (1ull << 30)		/* a kernel or ramdisk, at most */

/* The store's directory: STATE/images (clusterd --state-dir moves it). */
extern const char *img_dir;

/** img_path - where the image @sha is kept */
void img_path(char *out, size_t len, const char *sha);

/** img_sha_ok - @sha is 64 lowercase hex digits */
bool img_sha_ok(const char *sha);

/** img_sha_of_path - true when @path is an image of the store; its sha in @sha */
bool img_sha_of_path(const char *path, char sha[IMG_SHA_LEN + 1]);

/**
 * img_store_file - keep the file at @path in the store
 * @sha:  receives its sha256
 * @size: receives its size
 * Reads the file once, hashing what it copies.  Return: 1 when it was added
 * to the store, 0 when the store had it already, or a negative errno with
 * the reason, naming @path, in @err (ST_ERR_LEN bytes).
 */
int img_store_file(const char *path, char sha[IMG_SHA_LEN + 1], uint64_t *size,
		   char *err);

/**
 * img_check - the image @sha is in the store and its bytes hash to @sha
 * Return: 0, -ENOENT when it is not there, -EBADMSG when it is damaged.
 */
int img_check(const char *sha, char *err);

/**
 * img_receive - one piece of an image sent by a peer, in order
 * @size:   the image's whole size; @offset: where this piece goes
 * Pieces go to a hidden part file; the last one is checked against @sha
 * and only then does the image appear in the store.  Return: 0, or an
 * error with nothing added to the store (-EPROTO for a piece out of order,
 * -EBADMSG when the bytes do not hash to @sha, -EFBIG, -EINVAL).
 */
int img_receive(const char *sha, uint64_t size, uint64_t offset, const void *data,
		size_t len, char *err);

#endif

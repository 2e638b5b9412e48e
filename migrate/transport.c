/*
 * transport.c - the stream's two halves on the wire: the pump (a pipe's
 * bytes as CHUNK or ZCHUNK frames, hashed, rate-limited, then END) and the
 * feeder (frames checked, decompressed, checked again as a save stream,
 * hashed, into a pipe).  Each runs as a thread beside libxc or libxl.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <zstd.h>

#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "util.h"

#define FRAME_MS 60000	/* one frame; the other side reads or writes at least this often */

static void hexof(const unsigned char sha[32], char hex[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
}

#define pfail(p, rc, ...) mig_errf((p)->err, sizeof((p)->err), rc, __VA_ARGS__)

/* Gather what the pipe has, up to a chunk: fewer, larger frames. */
static ssize_t gather(int fd, uint8_t *buf)
{
	size_t len = 0;
	ssize_t n;

	do {
		n = read(fd, buf + len, MIG_CHUNK_MAX - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 || (n < 0 && errno == EINTR)) && len < MIG_CHUNK_MAX &&
		 poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 0) > 0);
	return n < 0 && errno != EINTR ? -errno : (ssize_t)len;
}

void *mig_pump(void *arg)
{
	struct mig_pump *p = arg;
	size_t zmax = ZSTD_compressBound(MIG_CHUNK_MAX);
	uint8_t *buf = malloc(MIG_CHUNK_MAX), *zbuf = p->compress ? malloc(zmax) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ZSTD_CCtx *z = p->compress ? ZSTD_createCCtx() : NULL;
	int64_t t0 = xr_now_ms();
	bool truncated = false;
	char err[CTL_ERR_LEN];
	int rc = 0;

	if (!buf || !md || (p->compress && (!zbuf || !z)) ||
	    !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = pfail(p, -ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t len = gather(p->in, buf);
		uint64_t before = atomic_load(&p->stream_bytes);

		if (len < 0) {
			rc = pfail(p, (int)len, "reading the save stream: %s", strerror((int)-len));
			break;
		}
		if (!len)
			break;	/* the save is over */
		if (p->cancel && *p->cancel) {
			rc = pfail(p, -ECANCELED, "cancelled");
			break;
		}
		EVP_DigestUpdate(md, buf, (size_t)len);
		atomic_fetch_add(&p->stream_bytes, (uint64_t)len);
		if (!strcmp(p->fault, "corrupt") && before < MIG_FAULT_AT &&
		    before + (uint64_t)len >= MIG_FAULT_AT)
			buf[len / 2] ^= 0x40;	/* after the hash: as if on the wire */
		if (z) {
			size_t zn = ZSTD_compressCCtx(z, zbuf, zmax, buf, (size_t)len, 1);

			if (ZSTD_isError(zn)) {
				rc = pfail(p, -EIO, "zstd: %s", ZSTD_getErrorName(zn));
				break;
			}
			rc = mig_send_raw(p->ssl, MIG_ZCHUNK, zbuf, (uint32_t)zn, FRAME_MS, err);
			atomic_fetch_add(&p->wire_bytes, zn + MIG_HDR_LEN);
		} else {
			rc = mig_send_raw(p->ssl, MIG_CHUNK, buf, (uint32_t)len, FRAME_MS, err);
			atomic_fetch_add(&p->wire_bytes, (uint64_t)len + MIG_HDR_LEN);
		}
		if (rc) {
			pfail(p, rc, "%s", err);
			break;
		}
		if (!strcmp(p->fault, "truncate") && before + (uint64_t)len >= MIG_FAULT_AT) {
			/* END now, with the hash of what was sent: the receiver
			 * must find the stream cut short by itself. */
			log_warn("migrate: fault injected: the stream ends at byte %" PRIu64,
				 before + (uint64_t)len);
			truncated = true;
			break;
		}
		if (p->bandwidth) {
			int64_t due = (int64_t)(atomic_load(&p->wire_bytes) * 1000 / p->bandwidth),
				ahead = due - (xr_now_ms() - t0);

			if (ahead > 0)
				nanosleep(&(struct timespec){ ahead / 1000, (ahead % 1000) * 1000000 },
					  NULL);
		}
	}
	if (!rc) {
		struct json_object *end = json_object_new_object();
		unsigned int hl = 0;
		char hex[65];

		EVP_DigestFinal_ex(md, p->sha, &hl);
		hexof(p->sha, hex);
		json_object_object_add(end, "bytes", json_object_new_int64(
			(int64_t)atomic_load(&p->stream_bytes)));
		json_object_object_add(end, "sha256", json_object_new_string(hex));
		rc = mig_send_json(p->ssl, MIG_END, end, FRAME_MS, err);
		if (rc)
			pfail(p, rc, "%s", err);
		json_object_put(end);
		/* the fault: the rest goes nowhere, so that the save finishes */
		while (truncated && read(p->in, buf, MIG_CHUNK_MAX) > 0)
			;
	}
out:
	p->rc = rc;
	if (rc) {
		/* the writer's next write fails, and it stops */
		close(p->in);
		p->in = -1;
	}
	EVP_MD_CTX_free(md);
	ZSTD_freeCCtx(z);
	free(buf);
	free(zbuf);
	return NULL;
}

#define ffail(f, rc, ...) mig_errf((f)->err, sizeof((f)->err), rc, __VA_ARGS__)

static int feed_bytes(struct mig_feed *f, EVP_MD_CTX *md, const uint8_t *p, size_t len)
{
	char err[CTL_ERR_LEN];
	int rc = f->check ? mig_sv_feed(&f->sv, p, len, err) : 0;

	if (rc)
		return ffail(f, rc, "%s", err);
	EVP_DigestUpdate(md, p, len);
	f->bytes += len;
	rc = xr_write_all(f->out, p, len);
	if (rc)
		return ffail(f, rc, "libxl stopped reading the stream (its reason is in the "
			     "node's log)");
	if (!strcmp(f->fault, "receiver-dies") && f->bytes >= MIG_FAULT_AT) {
		log_warn("migrate: fault injected: the receiver dies after %" PRIu64 " bytes",
			 f->bytes);
		_exit(9);
	}
	return 0;
}

/* The END frame: all bytes, the same hash, a whole stream. */
static int check_end(struct mig_feed *f, struct json_object *o, const unsigned char sha[32])
{
	struct json_object *v = NULL;
	char hex[65];

	hexof(sha, hex);
	if (!json_object_object_get_ex(o, "bytes", &v) || !json_object_is_type(v, json_type_int) ||
	    (uint64_t)json_object_get_int64(v) != f->bytes)
		return ffail(f, -EBADMSG, "the stream's END says %s bytes, %" PRIu64 " arrived",
			     v ? json_object_get_string(v) : "no", f->bytes);
	if (!json_object_object_get_ex(o, "sha256", &v) ||
	    strcmp(json_object_get_string(v), hex))
		return ffail(f, -EBADMSG, "the stream's sha256 differs from the sender's: "
			     "corrupted on the way (%.12s... here)", hex);
	if (f->check && !mig_sv_done(&f->sv))
		return ffail(f, -EBADMSG, "the stream ends at byte %" PRIu64 " before its "
			     "END record: truncated", f->bytes);
	return 0;
}

void *mig_feed(void *arg)
{
	struct mig_feed *f = arg;
	uint8_t *buf = malloc(MIG_ZCHUNK_MAX + 1), *raw = malloc(MIG_CHUNK_MAX);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ZSTD_DCtx *z = ZSTD_createDCtx();
	unsigned want = 1u << MIG_CHUNK | 1u << MIG_ZCHUNK | 1u << MIG_END | 1u << MIG_ABORT;
	char err[CTL_ERR_LEN];
	int rc = 0;

	mig_sv_init(&f->sv);
	if (!buf || !raw || !md || !z || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		rc = ffail(f, -ENOMEM, "out of memory");
		goto out;
	}
	while (!rc) {
		struct json_object *o = NULL;
		unsigned type;
		uint32_t len;

		rc = mig_recv(f->ssl, want, &type, buf, &len, &o, FRAME_MS, err);
		if (rc) {
			ffail(f, rc, "after %" PRIu64 " bytes of stream: %s", f->bytes, err);
			break;
		}
		if (type == MIG_CHUNK) {
			rc = feed_bytes(f, md, buf, len);
		} else if (type == MIG_ZCHUNK) {
			unsigned long long n = ZSTD_getFrameContentSize(buf, len);
			size_t got;

			if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
			    n > MIG_CHUNK_MAX) {
				rc = ffail(f, -EBADMSG, "a zchunk frame of %" PRIu32 " bytes that "
					   "is not one zstd frame of at most %u bytes",
					   len, MIG_CHUNK_MAX);
				break;
			}
			got = ZSTD_decompressDCtx(z, raw, MIG_CHUNK_MAX, buf, len);
			if (ZSTD_isError(got) || got != n)
				rc = ffail(f, -EBADMSG, "a zchunk frame does not decompress: %s",
					   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
			else
				rc = feed_bytes(f, md, raw, got);
		} else if (type == MIG_END) {
			unsigned char sha[32];
			unsigned int hl;

			EVP_DigestFinal_ex(md, sha, &hl);
			rc = check_end(f, o, sha);
			f->end_ms = xr_now_ms();
			json_object_put(o);
			break;
		} else {
			rc = ffail(f, -ECONNABORTED, "the sender aborted: %s", mig_reason(o));
		}
		json_object_put(o);
	}
out:
	f->rc = rc;
	/* End of stream for the reader: it has all, or fails on a short one. */
	close(f->out);
	f->out = -1;
	EVP_MD_CTX_free(md);
	ZSTD_freeDCtx(z);
	free(buf);
	free(raw);
	return NULL;
}

/*
 * stream.c - the libxl v2 save stream around libxc's: what the sender
 * writes before and after xc_domain_save(), and the receiver's check of
 * every header before the bytes reach libxl.
 *
 * Layouts: xen-doc's specs/libxl-migration-stream and
 * specs/libxc-migration-stream.  The libxl header and the libxc image
 * header are big-endian; records are little-endian (x86), each body
 * padded to 8 bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <endian.h>

#include "ctl.h"
#include "mig.h"

#define LIBXL_IDENT      UINT64_C(0x4c6962786c466d74)	/* "LibxlFmt" */
#define LIBXL_VERSION2   2u
#define LIBXL_REC_END    0u
#define LIBXL_REC_LIBXC  1u
#define XC_MARKER        UINT64_C(0xffffffffffffffff)
#define XC_ID            0x58454e46u	/* "XENF" */
#define XC_VERSION       3u
#define XC_DHDR_PV       1u
#define XC_REC_END       0u
#define XC_REC_PAGE_DATA 1u
#define XC_REC_OPTIONAL  0x80000000u
#define XC_BATCH_MAX     1024u		/* libxc's MAX_BATCH_SIZE */
#define XC_REC_MAX       (128u << 20)	/* libxc's REC_LENGTH_MAX */

enum { SV_LIBXL_HDR, SV_LIBXL_REC, SV_XC_IHDR, SV_XC_DHDR, SV_XC_REC, SV_XC_BODY,
       SV_LIBXL_TAIL, SV_DONE };

/* The libxc record types a PV domain's stream may hold. */
static bool xc_type_ok(uint32_t t)
{
	switch (t & ~XC_REC_OPTIONAL) {
	case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07:
	case 0x08: case 0x0c: case 0x0d: case 0x10: case 0x11: case 0x12:
		return true;
	default:
		return (t & XC_REC_OPTIONAL) != 0;	/* libxc skips those */
	}
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint32_t be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~UINT64_C(7);
}

void mig_sv_init(struct mig_sv *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->phase = SV_LIBXL_HDR;
	sv->need = 16;
}

bool mig_sv_done(const struct mig_sv *sv)
{
	return sv->phase == SV_DONE;
}

static int bad(struct mig_sv *sv, char *err, const char *fmt, uint64_t a, uint64_t b)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, a, b);
	snprintf(err, CTL_ERR_LEN, "save stream, byte %" PRIu64 ": %s",
		 sv->off - sv->hlen, what);
	return -EBADMSG;
}

/* A whole header is in sv->hdr: check it and say what comes next. */
static int header(struct mig_sv *sv, char *err)
{
	const uint8_t *h = sv->hdr;
	uint32_t type, len;

	switch (sv->phase) {
	case SV_LIBXL_HDR:
		if (be64(h) != LIBXL_IDENT)
			return bad(sv, err, "libxl header: ident 0x%" PRIx64 ", not \"LibxlFmt\"",
				   be64(h), 0);
		if (be32(h + 8) != LIBXL_VERSION2)
			return bad(sv, err, "libxl header: version %" PRIu64 ", expected %" PRIu64,
				   be32(h + 8), LIBXL_VERSION2);
		if (be32(h + 12))
			return bad(sv, err, "libxl header: options 0x%" PRIx64 " (only 0: "
				   "little-endian, not legacy)", be32(h + 12), 0);
		sv->phase = SV_LIBXL_REC;
		sv->need = 8;
		return 0;
	case SV_LIBXL_REC:
	case SV_LIBXL_TAIL:
		type = le32(h);
		len = le32(h + 4);
		sv->records++;
		if (sv->phase == SV_LIBXL_REC && type != LIBXL_REC_LIBXC)
			return bad(sv, err, "libxl record type %" PRIu64 " where LIBXC_CONTEXT "
				   "(1) must come first", type, 0);
		if (sv->phase == SV_LIBXL_TAIL && type != LIBXL_REC_END)
			return bad(sv, err, "libxl record type %" PRIu64 " after the libxc "
				   "stream: a PV domain without a device model has only END (0)",
				   type, 0);
		if (len)
			return bad(sv, err, "libxl record type %" PRIu64 " with %" PRIu64
				   " bytes of body, expected none", type, len);
		sv->phase = sv->phase == SV_LIBXL_REC ? SV_XC_IHDR : SV_DONE;
		sv->need = sv->phase == SV_XC_IHDR ? 24 : 0;
		return 0;
	case SV_XC_IHDR:
		if (be64(h) != XC_MARKER)
			return bad(sv, err, "libxc image header: marker 0x%" PRIx64, be64(h), 0);
		if (be32(h + 8) != XC_ID)
			return bad(sv, err, "libxc image header: id 0x%" PRIx64 ", not \"XENF\"",
				   be32(h + 8), 0);
		if (be32(h + 12) != XC_VERSION)
			return bad(sv, err, "libxc image header: version %" PRIu64 ", expected %"
				   PRIu64, be32(h + 12), XC_VERSION);
		if (h[16] || h[17])
			return bad(sv, err, "libxc image header: options 0x%" PRIx64
				   " (only little-endian)", (uint64_t)h[16] << 8 | h[17], 0);
		sv->phase = SV_XC_DHDR;
		sv->need = 16;
		return 0;
	case SV_XC_DHDR:
		if (le32(h) != XC_DHDR_PV)
			return bad(sv, err, "libxc domain header: type %" PRIu64
				   ", not an x86 PV domain (1)", le32(h), 0);
		if ((h[4] | h[5] << 8) != 12)
			return bad(sv, err, "libxc domain header: page shift %" PRIu64
				   ", expected 12", (uint64_t)(h[4] | h[5] << 8), 0);
		sv->phase = SV_XC_REC;
		sv->need = 8;
		return 0;
	case SV_XC_REC:
		type = le32(h);
		len = le32(h + 4);
		if (!xc_type_ok(type))
			return bad(sv, err, "libxc record type 0x%" PRIx64
				   " is not one a PV domain's stream holds", type, 0);
		if (len > XC_REC_MAX)
			return bad(sv, err, "libxc record of %" PRIu64 " bytes (at most %" PRIu64 ")",
				   len, XC_REC_MAX);
		if (type == XC_REC_END) {
			if (len)
				return bad(sv, err, "libxc END record with %" PRIu64 " bytes", len, 0);
			sv->records++;
			sv->phase = SV_LIBXL_TAIL;
			sv->need = 8;
			return 0;
		}
		if (type == XC_REC_PAGE_DATA && sv->hlen == 8) {
			sv->need = 16;	/* and its count */
			return 1;
		}
		if (type == XC_REC_PAGE_DATA) {
			uint32_t count = le32(h + 8);

			if (!count || count > XC_BATCH_MAX)
				return bad(sv, err, "PAGE_DATA record of %" PRIu64
					   " pages (1 to %" PRIu64 ")", count, XC_BATCH_MAX);
			if (len < 8 + 8 * (uint64_t)count ||
			    len > 8 + (8 + MIG_PAGE) * (uint64_t)count)
				return bad(sv, err, "PAGE_DATA record of %" PRIu64
					   " bytes for %" PRIu64 " pages", len, count);
			sv->pages += count;
		}
		sv->records++;
		sv->rtype = type;
		sv->skip = pad8(len) - (sv->hlen - 8);	/* PAGE_DATA's count is read */
		sv->phase = sv->skip ? SV_XC_BODY : SV_XC_REC;
		sv->need = sv->skip ? 0 : 8;
		return 0;
	default:
		return bad(sv, err, "internal: no header expected", 0, 0);
	}
}

int mig_sv_feed(struct mig_sv *sv, const uint8_t *p, size_t len, char *err)
{
	while (len) {
		size_t take;
		int rc;

		if (sv->phase == SV_DONE)
			return bad(sv, err, "%" PRIu64 " more bytes after the stream's END record",
				   len, 0);
		if (sv->phase == SV_XC_BODY) {
			take = len < sv->skip ? len : (size_t)sv->skip;
			sv->skip -= take;
			sv->off += take;
			p += take;
			len -= take;
			if (!sv->skip) {
				sv->phase = SV_XC_REC;
				sv->need = 8;
			}
			continue;
		}
		take = sv->need - sv->hlen;
		take = len < take ? len : take;
		memcpy(sv->hdr + sv->hlen, p, take);
		sv->hlen += take;
		sv->off += take;
		p += take;
		len -= take;
		if (sv->hlen < sv->need)
			continue;
		rc = header(sv, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			sv->hlen = 0;
	}
	return 0;
}

void mig_stream_head(uint8_t out[24])
{
	uint64_t ident = htobe64(LIBXL_IDENT);
	uint32_t version = htobe32(LIBXL_VERSION2), zero = 0, type = htole32(LIBXL_REC_LIBXC);

	memcpy(out, &ident, 8);
	memcpy(out + 8, &version, 4);
	memcpy(out + 12, &zero, 4);
	memcpy(out + 16, &type, 4);
	memcpy(out + 20, &zero, 4);
}

void mig_stream_tail(uint8_t out[8])
{
	memset(out, 0, 8);	/* END: type 0, length 0 */
}

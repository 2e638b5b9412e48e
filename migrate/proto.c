/*
 * proto.c - the migration protocol's frames and the request's options
 * (mig.h, docs/migration.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <endian.h>
#include <json-c/json.h>
#include <openssl/ssl.h>

#include "ctl.h"
#include "mig.h"
#include "tls.h"
#include "util.h"

static const char *const frame_names[MIG_FRAME_MAX] = {
	[MIG_CHUNK] = "chunk", [MIG_ZCHUNK] = "zchunk", [MIG_END] = "end",
	[MIG_RECEIVED] = "received", [MIG_COMMIT] = "commit", [MIG_DONE] = "done",
	[MIG_ABORT] = "abort",
};

const char *mig_frame_name(unsigned type)
{
	return type < MIG_FRAME_MAX && frame_names[type] ? frame_names[type] : "?";
}

static uint32_t frame_cap(unsigned type)
{
	return type == MIG_CHUNK ? MIG_CHUNK_MAX : type == MIG_ZCHUNK ? MIG_ZCHUNK_MAX
	       : MIG_JSON_MAX;
}

void mig_hdr_make(uint8_t hdr[MIG_HDR_LEN], unsigned type, uint32_t len)
{
	uint32_t magic = htobe32(MIG_MAGIC), blen = htobe32(len);
	uint16_t t = htobe16((uint16_t)type), flags = 0;

	memcpy(hdr, &magic, 4);
	memcpy(hdr + 4, &t, 2);
	memcpy(hdr + 6, &flags, 2);
	memcpy(hdr + 8, &blen, 4);
}

int mig_hdr_parse(const uint8_t hdr[MIG_HDR_LEN], unsigned want, unsigned *type,
		  uint32_t *len, char *err)
{
	uint32_t magic, blen;
	uint16_t t, flags;

	memcpy(&magic, hdr, 4);
	memcpy(&t, hdr + 4, 2);
	memcpy(&flags, hdr + 6, 2);
	memcpy(&blen, hdr + 8, 4);
	magic = be32toh(magic);
	t = be16toh(t);
	flags = be16toh(flags);
	blen = be32toh(blen);
	if (magic != MIG_MAGIC) {
		snprintf(err, CTL_ERR_LEN, "frame header: magic 0x%08" PRIx32 ", not \"XRMG\"",
			 magic);
		return -EPROTO;
	}
	if (flags) {
		snprintf(err, CTL_ERR_LEN, "frame header: flags 0x%04x, expected 0", flags);
		return -EPROTO;
	}
	if (t == 0 || t >= MIG_FRAME_MAX || !(want & (1u << t))) {
		snprintf(err, CTL_ERR_LEN, "frame header: type %u (%s) is not expected here",
			 t, mig_frame_name(t));
		return -EPROTO;
	}
	if (blen > frame_cap(t)) {
		snprintf(err, CTL_ERR_LEN, "frame header: a %s frame of %" PRIu32
			 " bytes (at most %" PRIu32 ")", mig_frame_name(t), blen, frame_cap(t));
		return -EMSGSIZE;
	}
	*type = t;
	*len = blen;
	return 0;
}

int mig_send_raw(SSL *ssl, unsigned type, const void *buf, uint32_t len, int timeout_ms,
		 char *err)
{
	uint8_t hdr[MIG_HDR_LEN];
	int rc;

	mig_hdr_make(hdr, type, len);
	rc = xr_tls_write(ssl, hdr, sizeof(hdr), timeout_ms, err);
	if (!rc && len)
		rc = xr_tls_write(ssl, buf, len, timeout_ms, err);
	return rc;
}

int mig_send_json(SSL *ssl, unsigned type, struct json_object *o, int timeout_ms, char *err)
{
	struct json_object *empty = NULL;
	const char *s;
	size_t len;
	int rc;

	if (!o)
		o = empty = json_object_new_object();
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	if (len > MIG_JSON_MAX) {
		snprintf(err, CTL_ERR_LEN, "a %s frame of %zu bytes is too long",
			 mig_frame_name(type), len);
		rc = -EMSGSIZE;
	} else {
		rc = mig_send_raw(ssl, type, s, (uint32_t)len, timeout_ms, err);
	}
	json_object_put(empty);
	return rc;
}

int mig_recv(SSL *ssl, unsigned want, unsigned *type, uint8_t *buf, uint32_t *len,
	     struct json_object **o, int timeout_ms, char *err)
{
	uint8_t hdr[MIG_HDR_LEN];
	int rc;

	if (o)
		*o = NULL;
	rc = xr_tls_read(ssl, hdr, sizeof(hdr), timeout_ms, err);
	if (!rc)
		rc = mig_hdr_parse(hdr, want, type, len, err);
	if (!rc && *len)
		rc = xr_tls_read(ssl, buf, *len, timeout_ms, err);
	if (rc || *type == MIG_CHUNK || *type == MIG_ZCHUNK || !o)
		return rc;
	buf[*len] = '\0';
	*o = *len ? json_tokener_parse((const char *)buf) : json_object_new_object();
	if (!*o || !json_object_is_type(*o, json_type_object)) {
		snprintf(err, CTL_ERR_LEN, "a %s frame whose body is not a JSON object",
			 mig_frame_name(*type));
		json_object_put(*o);
		*o = NULL;
		return -EBADMSG;
	}
	return 0;
}

int mig_errf(char *buf, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return rc;
}

const char *mig_reason(struct json_object *o)
{
	struct json_object *v;

	return json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v)
	       : "no reason given";
}

/* ---- the request's options ---- */

static const char *const faults[] = {
	"before-stream", "precopy", "stop-and-copy", "after-received",
	"receiver-dies", "truncate", "corrupt",
};

bool mig_fault_ok(const char *name)
{
	if (!name[0])
		return true;
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (!strcmp(name, faults[i]))
			return true;
	return false;
}

/* An optional integer field within [lo, hi]. */
static int int_field(struct json_object *req, const char *key, int64_t lo, int64_t hi,
		     int64_t *out, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
	    json_object_get_int64(v) > hi) {
		snprintf(err, CTL_ERR_LEN, "field '%s': expected an integer from %" PRId64
			 " to %" PRId64, key, lo, hi);
		return -EINVAL;
	}
	*out = json_object_get_int64(v);
	return 0;
}

static int bool_field(struct json_object *req, const char *key, bool *out, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, CTL_ERR_LEN, "field '%s': expected true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int mig_opts_from_json(struct mig_opts *o, struct json_object *req, char *err)
{
	int64_t down = MIG_DOWNTIME_MS, rounds = MIG_MAX_ROUNDS, bw = 0;
	const char *s;
	struct json_object *v;
	int rc;

	memset(o, 0, sizeof(*o));
	o->policy.throttle = true;
	if (!(s = xr_json_str(req, "name", sizeof(o->domain) - 1, err, CTL_ERR_LEN)))
		return -EINVAL;
	snprintf(o->domain, sizeof(o->domain), "%s", s);
	if (!(s = xr_json_str(req, "to", sizeof(o->to) - 1, err, CTL_ERR_LEN)))
		return -EINVAL;
	snprintf(o->to, sizeof(o->to), "%s", s);
	if ((rc = int_field(req, "downtime_ms", 1, 60000, &down, err)) ||
	    (rc = int_field(req, "max_rounds", 1, 1000, &rounds, err)) ||
	    (rc = int_field(req, "bandwidth", 0, INT64_C(1) << 40, &bw, err)) ||
	    (rc = bool_field(req, "throttle", &o->policy.throttle, err)) ||
	    (rc = bool_field(req, "compress", &o->compress, err)))
		return rc;
	o->policy.downtime_ms = (int)down;
	o->policy.max_rounds = (int)rounds;
	o->bandwidth = (uint64_t)bw;
	if (json_object_object_get_ex(req, "fault", &v)) {
		if (!(s = xr_json_str(req, "fault", sizeof(o->fault) - 1, err, CTL_ERR_LEN)))
			return -EINVAL;
		if (!mig_fault_ok(s)) {
			snprintf(err, CTL_ERR_LEN, "field 'fault': '%.40s' is not a fault this "
				 "build can inject", s);
			return -EINVAL;
		}
		snprintf(o->fault, sizeof(o->fault), "%s", s);
	}
	return 0;
}

struct json_object *mig_opts_to_json(const struct mig_opts *o)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "name", json_object_new_string(o->domain));
	json_object_object_add(r, "to", json_object_new_string(o->to));
	json_object_object_add(r, "downtime_ms", json_object_new_int64(o->policy.downtime_ms));
	json_object_object_add(r, "max_rounds", json_object_new_int64(o->policy.max_rounds));
	json_object_object_add(r, "bandwidth", json_object_new_int64((int64_t)o->bandwidth));
	json_object_object_add(r, "throttle", json_object_new_boolean(o->policy.throttle));
	json_object_object_add(r, "compress", json_object_new_boolean(o->compress));
	if (o->fault[0])
		json_object_object_add(r, "fault", json_object_new_string(o->fault));
	return r;
}

/*
 * recv.c - the target side of a live migration, in the child that serves
 * the source's connection (cluster/peer.c).
 *
 * The hello is checked whole before the answer: the domain is not here,
 * its configuration parses and names it, each of its DRBD resources is
 * ours, replicated to the sender and current, and the memory is free.
 * Then the disks are promoted for the window and libxl restores from a
 * pipe that the feeder thread fills, frame by frame, after the stream
 * check (mig_sv_feed) and the hash.  The copy stays paused until COMMIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libxl.h>
#include <libxl_utils.h>
#include <openssl/ssl.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

#define FRAME_MS  60000		/* the source sends something at least this often */
#define COMMIT_MS 60000

struct receiver {
	struct clu_daemon *d;
	SSL *ssl;
	const char *from;
	char domain[64];
	char fault[24];
	bool compress_ok;
	libxl_ctx *ctx;
	struct st_res *res;
	size_t nres;
	bool promoted;
	struct mig_feed feed;		/* the stream's receiving half */
	char why[CTL_ERR_LEN];
};

#define fail(r, rc, ...) mig_errf((r)->why, sizeof((r)->why), rc, __VA_ARGS__)

/* ---- the hello ---- */

static int check_resources(struct receiver *r, struct json_object *list)
{
	char err[ST_ERR_LEN];
	struct st_state st;
	size_t n;
	int rc;

	if (!list || !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) > 16)
		return fail(r, -EINVAL, "hello: 'resources' must be a list of at most 16");
	r->res = calloc(n + 1, sizeof(*r->res));
	if (!r->res)
		return fail(r, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct st_res *x = &r->res[r->nres];
		const char *name = json_object_is_type(e, json_type_string) ?
				   json_object_get_string(e) : NULL;

		if (!name || !st_res_name_ok(name))
			return fail(r, -EINVAL, "hello: resources[%zu] is not a resource name", i);
		rc = st_load(name, x, err);
		if (rc)
			return fail(r, rc, "%s", err);
		if (strcmp(x->domain, r->domain) || !x->replicated ||
		    strcmp(st_peer_of(x, r->d->node), r->from))
			return fail(r, -EINVAL, "resource %s here is not %s's disk replicated "
				    "with %s", name, r->domain, r->from);
		rc = st_state(x, &st, err);
		if (rc)
			return fail(r, rc, "%s: %s", name, err);
		if (strcmp(st.role, "Secondary") || strcmp(st.disk, "UpToDate") ||
		    strcmp(st.connection, "Connected"))
			return fail(r, -EAGAIN, "disk %s here is %s %s %s, not a connected, "
				    "UpToDate Secondary", x->vdev, st.role, st.connection, st.disk);
		r->nres++;
	}
	return 0;
}

static int check_hello(struct receiver *r, struct json_object *h, libxl_domain_config *dc)
{
	struct json_object *v;
	const char *s, *cfg;
	char err[CTL_ERR_LEN];
	uint64_t free_kb = 0;
	uint32_t domid;
	int64_t pages;

	if (!json_object_object_get_ex(h, "version", &v) || !json_object_is_type(v, json_type_int))
		return fail(r, -EPROTO, "hello: no protocol 'version'");
	if (json_object_get_int64(v) != MIG_VERSION)
		return fail(r, -EPROTONOSUPPORT, "hello: protocol version %" PRId64
			    " (this node speaks %d)", json_object_get_int64(v), MIG_VERSION);
	if (!(s = xr_json_str(h, "domain", HV_NAME_MAX, err, sizeof(err))))
		return fail(r, -EINVAL, "hello: %s", err);
	snprintf(r->domain, sizeof(r->domain), "%s", s);
	if (json_object_object_get_ex(h, "fault", &v)) {
		if (!(s = xr_json_str(h, "fault", sizeof(r->fault) - 1, err, sizeof(err))) ||
		    !mig_fault_ok(s))
			return fail(r, -EINVAL, "hello: 'fault' is not a known fault");
		snprintf(r->fault, sizeof(r->fault), "%s", s);
	}
	if (!json_object_object_get_ex(h, "mem_pages", &v) || !json_object_is_type(v, json_type_int) ||
	    (pages = json_object_get_int64(v)) <= 0 || pages > (INT64_C(1) << 32))
		return fail(r, -EINVAL, "hello: 'mem_pages' must be a positive page count");
	if (!(cfg = xr_json_str(h, "config", MIG_JSON_MAX, err, sizeof(err))))
		return fail(r, -EINVAL, "hello: %s", err);
	if (libxl_domain_config_from_json(r->ctx, dc, cfg))
		return fail(r, -EINVAL, "hello: 'config' is not a libxl domain configuration");
	if (!dc->c_info.name || strcmp(dc->c_info.name, r->domain))
		return fail(r, -EINVAL, "hello: 'config' names domain '%s', not '%s'",
			    dc->c_info.name ? dc->c_info.name : "", r->domain);
	if (dc->c_info.type != LIBXL_DOMAIN_TYPE_PV)
		return fail(r, -EOPNOTSUPP, "hello: %s is not a paravirtual domain", r->domain);
	if (!libxl_name_to_domid(r->ctx, r->domain, &domid))
		return fail(r, -EEXIST, "a domain named '%s' already runs on %s (id %u)",
			    r->domain, r->d->node, domid);
	if (!libxl_get_free_memory(r->ctx, &free_kb) && free_kb / 4 < (uint64_t)pages)
		return fail(r, -ENOMEM, "%s needs %" PRId64 " MiB and %s has %" PRIu64
			    " MiB free", r->domain, pages / 256, r->d->node, free_kb / 1024);
	r->compress_ok = true;
	json_object_object_get_ex(h, "resources", &v);
	return check_resources(r, v);
}

/* Disks Primary for the window; undone by demote(). */
static int promote(struct receiver *r)
{
	char err[ST_ERR_LEN];
	int rc;

	for (size_t i = 0; i < r->nres; i++) {
		rc = st_dual_primary(&r->res[i], true, err);
		if (!rc)
			rc = st_primary(&r->res[i], false, err);
		if (rc)
			return fail(r, rc, "disk %s: %s", r->res[i].vdev, err);
		r->promoted = true;
	}
	return 0;
}

static void demote(struct receiver *r)
{
	char err[ST_ERR_LEN];

	for (size_t i = 0; r->promoted && i < r->nres; i++)
		if (st_secondary(&r->res[i], err))
			log_err("migrate %s: %s", r->domain, err);
	r->promoted = false;
}

/* ---- the session ---- */

static void send_abort(struct receiver *r)
{
	struct json_object *a = json_object_new_object();
	char err[CTL_ERR_LEN];

	json_object_object_add(a, "error", json_object_new_string(r->why));
	mig_send_json(r->ssl, MIG_ABORT, a, 5000, err);
	json_object_put(a);
}

static int restore(struct receiver *r, libxl_domain_config *dc, uint32_t *domid)
{
	libxl_domain_restore_params params;
	pthread_t feeder;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC))
		return fail(r, -errno, "pipe: %s", strerror(errno));
	fcntl(p[1], F_SETPIPE_SZ, MIG_CHUNK_MAX);
	r->feed = (struct mig_feed){ .ssl = r->ssl, .out = p[1], .check = true,
				     .fault = r->fault };
	rc = pthread_create(&feeder, NULL, mig_feed, &r->feed);
	if (rc) {
		close(p[0]);
		close(p[1]);
		return fail(r, -rc, "cannot start the feeder: %s", strerror(rc));
	}
	libxl_domain_restore_params_init(&params);
	params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
	params.stream_version = 2;
	*domid = INVALID_DOMID;
	rc = libxl_domain_create_restore(r->ctx, dc, domid, p[0], -1, &params, NULL, NULL);
	libxl_domain_restore_params_dispose(&params);
	/* The feeder stops at END, or on a failure; a stream libxl gave up
	 * on makes its next write fail. */
	close(p[0]);
	pthread_join(feeder, NULL);
	if (r->feed.rc)
		rc = fail(r, r->feed.rc, "from %s, %s", r->from, r->feed.err);
	else if (rc)
		rc = fail(r, -EIO, "libxl could not restore %s (libxl error %d; the "
			  "node's log has the details)", r->domain, rc);
	if (rc && *domid != (uint32_t)INVALID_DOMID) {
		libxl_domain_destroy(r->ctx, *domid, NULL);
		*domid = INVALID_DOMID;
	}
	return rc;
}

void mig_receive(struct clu_daemon *d, SSL *ssl, const char *from, struct json_object *hello)
{
	struct receiver r = { .d = d, .ssl = ssl, .from = from };
	struct json_object *reply = json_object_new_object(), *o = NULL, *v, *t;
	uint8_t buf[MIG_JSON_MAX + 1];
	libxl_domain_config dc;
	uint32_t domid = INVALID_DOMID;
	char mark[128] = "", err[CTL_ERR_LEN];
	bool paused = false, streaming = false;
	int64_t restore_ms;
	unsigned type;
	uint32_t len;
	int rc;

	libxl_domain_config_init(&dc);
	if (hv_libxl_open_ctx(&r.ctx))
		rc = fail(&r, -ENODEV, "cannot open libxl on %s", d->node);
	else
		rc = check_hello(&r, hello, &dc);
	if (!rc)
		rc = mig_mark(r.domain, "in", mark, sizeof(mark), r.why);
	if (!rc)
		rc = promote(&r);
	if (!rc && json_object_object_get_ex(hello, "paused", &v))
		paused = json_object_get_boolean(v);
	clu_reply_status(reply, rc, r.why);
	if (xr_tls_send(ssl, CTL_REPLY, reply, FRAME_MS, err) && !rc)
		rc = fail(&r, -ECONNRESET, "%s: %s", from, err);
	json_object_put(reply);
	if (rc)
		goto out;
	streaming = true;
	log_info("migrate %s: from %s: receiving", r.domain, from);

	rc = restore(&r, &dc, &domid);
	if (rc)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "domid", json_object_new_int64(domid));
	/* what the restore took after the last byte: most of the downtime */
	restore_ms = xr_now_ms() - r.feed.end_ms;
	json_object_object_add(o, "restore_ms", json_object_new_int64(restore_ms));
	log_info("migrate %s: from %s: restored, paused, %" PRId64 " ms after the stream's end",
		 r.domain, from, restore_ms);
	rc = mig_send_json(ssl, MIG_RECEIVED, o, FRAME_MS, err);
	json_object_put(o);
	o = NULL;
	if (!rc)
		rc = mig_recv(ssl, 1u << MIG_COMMIT | 1u << MIG_ABORT, &type, buf, &len, &o,
			      COMMIT_MS, err);
	if (rc) {
		fail(&r, rc, "%s, before \"commit\": %s", from, err);
		goto out;
	}
	if (type == MIG_ABORT) {
		rc = fail(&r, -ECONNABORTED, "%s aborted: %s", from,
			  mig_reason(o));
		goto out;
	}
	/* COMMIT: from here on this copy is the domain. */
	if (!paused && libxl_domain_unpause(r.ctx, domid, NULL)) {
		rc = fail(&r, -EIO, "%s was restored here but would not unpause", r.domain);
		goto out;
	}
	unlink(mark);
	mark[0] = '\0';
	if (json_object_object_get_ex(hello, "file", &v) && json_object_is_type(v, json_type_string) &&
	    json_object_object_get_ex(hello, "text", &t) && json_object_is_type(t, json_type_string))
		clu_domain_keep(d, r.domain, json_object_get_string(v), json_object_get_string(t));
	mig_send_json(ssl, MIG_DONE, NULL, FRAME_MS, err);
	log_info("migrate %s: from %s: runs here now (id %u)", r.domain, from, domid);
out:
	if (rc) {
		log_err("migrate %s: from %s: %s", r.domain[0] ? r.domain : "?", from, r.why);
		if (domid != (uint32_t)INVALID_DOMID)
			libxl_domain_destroy(r.ctx, domid, NULL);
		if (streaming)
			send_abort(&r);
		demote(&r);
	}
	json_object_put(o);
	if (mark[0])
		unlink(mark);
	libxl_domain_config_dispose(&dc);
	if (r.ctx)
		libxl_ctx_free(r.ctx);
	free(r.res);
}

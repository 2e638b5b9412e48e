/*
 * disks.c - clusterd's side of storage: a domain's disks made ready on
 * this node and its peer before the domain starts, the peer's requests,
 * demotion when a domain has stopped, and the `disks` and `delete` requests.
 *
 * Create, with a peer:
 *   1. plan: every disk checked here (storage.h st_plan); nothing created;
 *   2. PEER_CHECK: the peer checks its side, sends back its used minors;
 *   3. a minor free on both; PEER_PREPARE: the peer brings its replica up;
 *   4. this node brings its side up and promotes (forced on first sync);
 *   5. the domain is created on /dev/drbdN.
 * Any failure undoes steps 3-4 on both nodes (PEER_RELEASE).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "storage.h"
#include "util.h"

#define PEER_CHECK_MS   15000
#define PEER_PREPARE_MS 120000	/* metadata creation on a large disk */

static void random_hex(char *out, size_t bytes)
{
	FILE *f = fopen("/dev/urandom", "re");
	unsigned char b[32] = { 0 };

	if (!f || fread(b, 1, bytes, f) != bytes)
		log_warn("storage: /dev/urandom unreadable; the DRBD secret is weak");
	if (f)
		fclose(f);
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static struct json_object *res_array(const struct st_res *v, size_t n, bool only_new,
				     const bool *is_new)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		if (v[i].replicated && (!only_new || is_new[i]))
			json_object_array_add(arr, st_res_to_json(&v[i]));
	return arr;
}

/* The other node of a replicated resource, as this node sees it. */
static const struct clu_node *other_node(struct clu_daemon *d, const struct st_res *r)
{
	return clu_node_find(d, st_peer_of(r, d->node));
}

static int peer_release(struct clu_daemon *d, const struct clu_node *peer,
			const struct st_res *v, size_t n, const bool *is_new, bool drop,
			char *err)
{
	struct json_object *req = json_object_new_object(), *reply, *names;
	int rc;

	names = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		if (v[i].replicated && (!is_new || is_new[i]))
			json_object_array_add(names, json_object_new_string(v[i].name));
	json_object_object_add(req, "names", names);
	json_object_object_add(req, "drop", json_object_new_boolean(drop));
	rc = clu_peer_call(d, peer, CTL_PEER_RELEASE, req, &reply, PEER_CHECK_MS, err);
	if (rc)
		log_err("storage: %s could not release its side: %s", peer->name, err);
	else
		json_object_put(reply);
	json_object_put(req);
	return rc;
}

/* Ask @peer whether it can hold replicas of @v; learn its used minors. */
static int peer_check(struct clu_daemon *d, const struct clu_node *peer,
		      struct st_res *v, size_t n, const bool *is_new,
		      bool used[ST_MINORS], char *err)
{
	struct json_object *req = json_object_new_object(), *reply, *arr;
	int rc;

	json_object_object_add(req, "disks", res_array(v, n, true, is_new));
	rc = clu_peer_call(d, peer, CTL_PEER_CHECK, req, &reply, PEER_CHECK_MS, err);
	json_object_put(req);
	if (rc)
		return rc;
	if (json_object_object_get_ex(reply, "minors", &arr) &&
	    json_object_is_type(arr, json_type_array))
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			int m = json_object_get_int(json_object_array_get_idx(arr, i));

			if (m >= 0 && m < ST_MINORS)
				used[m] = true;
		}
	json_object_put(reply);
	return 0;
}

/*
 * Which peer: the one asked for, or the first node that says yes.  When it
 * asked a node (peer-check), *@checked is set and @used holds that node's
 * minors, so the create need not ask again.
 */
static int choose_peer(struct clu_daemon *d, const struct hv_domain *dom,
		       const char *want, const struct clu_node **out,
		       bool used[ST_MINORS], bool *checked, char *err)
{
	char names[512], why[CTL_ERR_LEN];
	struct st_res *v;
	size_t n, i;
	bool *is_new;
	int rc;

	*out = NULL;
	*checked = false;
	if (want && !strcmp(want, "none"))
		return 0;
	if (want) {
		if (!strcmp(want, d->node)) {
			st_errf(err, "--peer %s: that is this node; a replica "
				 "must be on another node", want);
			return -EINVAL;
		}
		*out = clu_node_find(d, want);
		if (!*out) {
			clu_node_names(d, names, sizeof(names));
			st_errf(err, "--peer %s: not a node of this cluster (%s)",
				 want, d->nnodes ? names : "a cluster of one node");
			return -ENOENT;
		}
		return 0;
	}
	if (d->nnodes < 2)
		return 0;	/* a cluster of one: unreplicated */
	/* Without a peer, the disks still to be replicated plan unreplicated;
	 * those recorded before name their peer already. */
	rc = st_plan(dom, d->node, d->addr, NULL, NULL, &v, &n, err);
	if (rc)
		return rc;
	is_new = calloc(n ? n : 1, sizeof(bool));
	if (!is_new) {
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		/* A domain keeps the peer its disks were replicated to. */
		if (v[i].replicated && !*out)
			*out = other_node(d, &v[i]);
	}
	if (*out) {
		free(is_new);
		free(v);
		return 0;
	}
	for (i = 0; i < n; i++) {
		is_new[i] = v[i].writable && !v[i].replicated;
		if (is_new[i]) {
			v[i].replicated = true;
			snprintf(v[i].node[0], sizeof(v[i].node[0]), "%s", d->node);
			snprintf(v[i].addr[0], sizeof(v[i].addr[0]), "%s", d->addr);
		}
	}
	for (i = 0; i < n && !is_new[i]; i++)
		;
	if (i == n) {
		free(is_new);
		free(v);
		return 0;
	}
	why[0] = '\0';
	for (i = 0; i < d->nnodes; i++) {
		const struct clu_node *c = &d->nodes[i];

		if (!strcmp(c->name, d->node))
			continue;
		for (size_t j = 0; j < n; j++)
			if (is_new[j]) {
				snprintf(v[j].node[1], sizeof(v[j].node[1]), "%s", c->name);
				snprintf(v[j].addr[1], sizeof(v[j].addr[1]), "%s", c->addr);
			}
		memset(used, 0, ST_MINORS * sizeof(bool));
		if (!peer_check(d, c, v, n, is_new, used, why)) {
			*out = c;
			*checked = true;
			break;
		}
		log_warn("storage: %s cannot hold %s's replicas: %s", c->name, dom->name, why);
	}
	free(is_new);
	free(v);
	if (!*out) {
		st_errf(err, "no node can hold the replica (%s); "
			 "name one with --peer NODE, or --peer none to run unreplicated",
			 why[0] ? why : "no other node");
		return -EHOSTUNREACH;
	}
	return 0;
}

int clu_disks_prepare(struct clu_daemon *d, struct hv_domain *dom, const char *want_peer,
		      struct st_res **out, size_t *nout, char *err)
{
	const struct clu_node *peer = NULL;
	bool used[ST_MINORS], peer_used[ST_MINORS], is_new[HV_MAX_DISKS] = { false };
	bool any_new = false, checked;
	struct st_res *v = NULL;
	size_t n = 0, i, up = 0;
	char err2[CTL_ERR_LEN];	/* the first error is the one reported */
	int lock = -1, rc;

	*out = NULL;
	*nout = 0;
	rc = choose_peer(d, dom, want_peer, &peer, peer_used, &checked, err);
	if (rc)
		return rc;
	rc = st_plan(dom, d->node, d->addr, peer ? peer->name : NULL,
		     peer ? peer->addr : NULL, &v, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		is_new[i] = v[i].fresh = v[i].replicated && v[i].minor < 0;
		any_new |= is_new[i];
	}
	/* No lock is held while a peer is asked: it may be asking us. */
	if (any_new) {
		if (!checked) {
			memset(peer_used, 0, sizeof(peer_used));
			rc = peer_check(d, peer, v, n, is_new, peer_used, err);
			if (rc)
				goto fail;
		}
		st_minors_used(used);
		for (i = 0; i < n; i++) {
			int m;

			if (!is_new[i])
				continue;
			for (m = 0; m < ST_MINORS && (used[m] || peer_used[m]); m++)
				;
			if (m == ST_MINORS) {
				st_errf(err, "no DRBD minor is free on both %s and %s",
					 d->node, peer->name);
				rc = -ENOSPC;
				goto fail;
			}
			used[m] = true;
			v[i].minor = m;
			random_hex(v[i].secret, 16);
		}
		/* The peer's side first: it then waits for us to connect. */
		struct json_object *req = json_object_new_object(), *reply;

		json_object_object_add(req, "disks", res_array(v, n, true, is_new));
		rc = clu_peer_call(d, peer, CTL_PEER_PREPARE, req, &reply, PEER_PREPARE_MS, err);
		json_object_put(req);
		if (rc == -EREMOTEIO)
			goto fail;	/* refused: the peer undid its own work */
		if (rc)
			goto undo;	/* no answer: it may have done it; release */
		json_object_put(reply);
	}
	lock = st_lock(err);
	if (lock < 0) {
		rc = lock;
		goto undo;
	}
	for (up = 0; up < n; up++) {
		int64_t t0;

		rc = st_bring_up(&v[up], is_new[up], err);
		if (rc)
			break;
		t0 = xr_now_ms();
		rc = st_primary(&v[up], is_new[up], err);
		if (rc) {
			up++;	/* it is up: undo it too */
			break;
		}
		if (v[up].replicated && !is_new[up])
			log_info("storage: %s Primary in %.1f s", v[up].name,
				 (double)(xr_now_ms() - t0) / 1000);
	}
	if (!rc) {
		st_unlock(lock);
		*out = v;
		*nout = n;
		return 0;
	}
undo:
	for (i = 0; i < up; i++) {
		char ignore[ST_ERR_LEN];

		st_secondary(&v[i], ignore);
		if (is_new[i] || !v[i].replicated)
			st_teardown(&v[i], false, ignore);
	}
	st_unlock(lock);
	if (any_new)
		peer_release(d, peer, v, n, is_new, true, err2);
fail:
	free(v);
	return rc;
}

int clu_disks_apply(struct hv_domain *dom, const struct st_res *v, size_t n)
{
	char dev[64];

	for (size_t i = 0; i < n && i < dom->ndisks; i++) {
		char *t;

		if (!v[i].replicated)
			continue;
		st_device(&v[i], dev, sizeof(dev));
		t = strdup(dev);
		if (!t)
			return -ENOMEM;
		free(dom->disks[i].target);
		dom->disks[i].target = t;
		dom->disks[i].type = HV_DISK_PHY;
	}
	return 0;
}

void clu_disks_abort(struct clu_daemon *d, const struct st_res *v, size_t n)
{
	bool is_new[HV_MAX_DISKS] = { false }, any_new = false;
	const struct clu_node *peer = NULL;
	char err[ST_ERR_LEN];
	int lock = st_lock(err);

	for (size_t i = 0; i < n; i++) {
		bool gone = false;

		if (st_secondary(&v[i], err))
			log_err("storage: %s: %s", v[i].name, err);
		else if (v[i].fresh || !v[i].replicated)
			gone = !st_teardown(&v[i], false, err);
		if (!gone && v[i].fresh)
			log_err("storage: %s stays on %s: %s", v[i].name, d->node, err);
		/* The peer's side goes only where ours went. */
		is_new[i] = v[i].fresh && gone;
		any_new |= is_new[i];
		if (is_new[i] && !peer)
			peer = other_node(d, &v[i]);
	}
	st_unlock(lock);
	if (any_new && peer)
		peer_release(d, peer, v, n, is_new, true, err);
}

/*
 * A domain that no longer runs here leaves its disks Secondary, so the
 * peer may take over.  Checked whenever the set of running domains changes.
 */
int clu_disks_reconcile(struct clu_daemon *d, const struct hv_dominfo *doms, size_t ndoms)
{
	char err[ST_ERR_LEN];
	struct st_res *v;
	struct st_state s;
	size_t n, i, j;
	int failed = 0;

	(void)d;
	if (st_load_all(&v, &n, err))
		return 0;
	for (i = 0; i < n; i++) {
		if (!v[i].replicated)
			continue;
		for (j = 0; j < ndoms && strcmp(doms[j].name, v[i].domain); j++)
			;
		if (j < ndoms || st_state(&v[i], &s, err) || strcmp(s.role, "Primary"))
			continue;
		if (st_secondary(&v[i], err)) {
			log_err("storage: %s: domain %s is gone but the disk stays Primary "
				"(retrying): %s", v[i].name, v[i].domain, err);
			failed++;
		} else {
			log_info("storage: %s: domain %s is gone; Secondary", v[i].name,
				 v[i].domain);
		}
	}
	free(v);
	return failed;
}

/* ---- requests ---- */

static struct json_object *disk_json(const struct st_res *r, const char *self)
{
	struct json_object *o = json_object_new_object();
	struct st_state s;
	char err[ST_ERR_LEN], sum[48];

	json_object_object_add(o, "domain", json_object_new_string(r->domain));
	json_object_object_add(o, "vdev", json_object_new_string(r->vdev));
	json_object_object_add(o, "disk", json_object_new_string(r->path));
	json_object_object_add(o, "kind", json_object_new_string(r->kind == ST_PHY ? "phy" : "file"));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->size));
	if (!r->replicated) {
		json_object_object_add(o, "state", json_object_new_string(
			r->writable ? "unreplicated" : "unreplicated (read-only)"));
		return o;
	}
	json_object_object_add(o, "resource", json_object_new_string(r->name));
	json_object_object_add(o, "minor", json_object_new_int64(r->minor));
	json_object_object_add(o, "peer", json_object_new_string(st_peer_of(r, self)));
	if (st_state(r, &s, err)) {
		json_object_object_add(o, "state", json_object_new_string(err));
		return o;
	}
	st_state_summary(&s, sum, sizeof(sum));
	json_object_object_add(o, "state", json_object_new_string(sum));
	json_object_object_add(o, "role", json_object_new_string(s.up ? s.role : "-"));
	json_object_object_add(o, "connection", json_object_new_string(s.connection));
	json_object_object_add(o, "disk_state", json_object_new_string(s.disk));
	json_object_object_add(o, "peer_disk_state", json_object_new_string(s.peer_disk));
	if (!strncmp(s.replication, "Sync", 4))
		json_object_object_add(o, "sync_done", json_object_new_double(s.done));
	return o;
}

struct json_object *clu_disks_json(struct clu_daemon *d, const char *domain)
{
	struct json_object *arr = json_object_new_array();
	char err[ST_ERR_LEN];
	struct st_res *v;
	size_t n;

	if (st_load_domain(domain, &v, &n, err) == 0) {
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, disk_json(&v[i], d->node));
		free(v);
	}
	return arr;
}

int clu_disks_delete(struct clu_daemon *d, const char *domain, char *err)
{
	const struct clu_node *peer = NULL;
	bool done[HV_MAX_DISKS] = { false };
	struct st_res *v;
	struct st_state s;
	size_t n, i;
	int lock, rc = 0;

	lock = st_lock(err);
	if (lock < 0)
		return lock;
	rc = st_load_domain(domain, &v, &n, err);
	if (!rc && !n) {
		st_errf(err, "domain '%s' has no disks recorded on %s", domain, d->node);
		rc = -ENOENT;
	}
	/* Running on the peer (its side Primary): its disks are in use. */
	for (i = 0; i < n && !rc; i++) {
		if (v[i].replicated && !st_state(&v[i], &s, err) &&
		    !strcmp(s.peer_role, "Primary")) {
			st_errf(err, "domain '%s' runs on %s (its disk %s is Primary there)",
				domain, other_node(d, &v[i]) ? other_node(d, &v[i])->name : "the peer",
				v[i].vdev);
			rc = -EBUSY;
		}
	}
	for (i = 0; i < n && !rc && i < HV_MAX_DISKS; i++) {
		if (v[i].replicated && !peer)
			peer = other_node(d, &v[i]);
		rc = st_teardown(&v[i], false, err);
		done[i] = !rc;
	}
	st_unlock(lock);
	/* The peer releases what went here, even when not all of it did. */
	if (peer) {
		char why[CTL_ERR_LEN];
		int prc = peer_release(d, peer, v, n, done, false, why);

		if (prc && !rc) {
			st_errf(err, "removed on %s, but not on %s: %s", d->node, peer->name, why);
			rc = prc;
		}
	}
	free(v);
	return rc;
}

/* ---- the peer's side ---- */

/* Read the "disks" array; each must be a resource between us and @from. */
static int read_disks(struct clu_daemon *d, const char *from, struct json_object *req,
		      struct st_res **out, size_t *n, char *err)
{
	struct json_object *arr;
	struct st_res *v;
	size_t i, len;
	char why[ST_ERR_LEN];

	if (!json_object_object_get_ex(req, "disks", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (len = json_object_array_length(arr)) > HV_MAX_DISKS) {
		st_errf(err, "field 'disks' missing or not a list of at most %d",
			 HV_MAX_DISKS);
		return -EINVAL;
	}
	v = calloc(len ? len : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		struct st_res *r = &v[i];

		if (st_res_from_json(r, json_object_array_get_idx(arr, i), why)) {
			st_errf(err, "disks[%zu]: %s", i, why);
			free(v);
			return -EINVAL;
		}
		if (!r->replicated || strcmp(r->node[0], from) || strcmp(r->node[1], d->node)) {
			st_errf(err, "disks[%zu]: %s is not a replica from %s to %s",
				 i, r->name, from, d->node);
			free(v);
			return -EINVAL;
		}
		r->created_file = false;
	}
	*out = v;
	*n = len;
	return 0;
}

static int peer_check_req(struct clu_daemon *d, const char *from, struct json_object *req,
			  struct json_object *reply, char *err)
{
	struct json_object *minors;
	bool used[ST_MINORS];
	struct st_res *v;
	size_t n, i;
	int rc;

	rc = read_disks(d, from, req, &v, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < n && !rc; i++) {
		char why[ST_ERR_LEN];

		rc = st_check_replica(&v[i], why);
		if (rc)
			st_errf(err, "%s", why);
	}
	free(v);
	if (rc)
		return rc;
	st_minors_used(used);
	minors = json_object_new_array();
	for (i = 0; i < ST_MINORS; i++)
		if (used[i])
			json_object_array_add(minors, json_object_new_int((int)i));
	json_object_object_add(reply, "minors", minors);
	return 0;
}

static int peer_prepare_req(struct clu_daemon *d, const char *from, struct json_object *req,
			    char *err)
{
	char why[ST_ERR_LEN];
	struct st_res *v;
	size_t n, i;
	int lock, rc;

	rc = read_disks(d, from, req, &v, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		if (v[i].minor < 0) {
			st_errf(err, "disks[%zu]: no DRBD minor chosen", i);
			free(v);
			return -EINVAL;
		}
	}
	lock = st_lock(err);
	if (lock < 0) {
		free(v);
		return lock;
	}
	/* Checked again under the lock: each is new here (st_check_replica). */
	for (i = 0; i < n; i++) {
		rc = st_check_replica(&v[i], why);
		if (!rc)
			rc = st_bring_up(&v[i], true, why);
		if (rc) {
			st_errf(err, "%s", why);
			while (i-- > 0)
				st_teardown(&v[i], true, why);
			break;
		}
	}
	st_unlock(lock);
	free(v);
	return rc;
}

static int peer_release_req(struct clu_daemon *d, const char *from, struct json_object *req,
			    char *err)
{
	struct json_object *names, *drop;
	struct st_res r;
	bool drop_replica;
	int lock, rc = 0;

	if (!json_object_object_get_ex(req, "names", &names) ||
	    !json_object_is_type(names, json_type_array)) {
		st_errf(err, "field 'names' missing or not a list");
		return -EINVAL;
	}
	drop_replica = json_object_object_get_ex(req, "drop", &drop) &&
		       json_object_get_boolean(drop);
	lock = st_lock(err);
	if (lock < 0)
		return lock;
	for (size_t i = 0; i < json_object_array_length(names) && !rc; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		char why[ST_ERR_LEN];

		if (!name || st_load(name, &r, why))
			continue;	/* nothing here: released already */
		if (strcmp(r.node[0], from) && strcmp(r.node[1], from)) {
			st_errf(err, "%s is not shared with %s", name, from);
			rc = -EACCES;
			break;
		}
		rc = st_teardown(&r, drop_replica, why);
		if (rc)
			st_errf(err, "%s", why);
	}
	st_unlock(lock);
	(void)d;
	return rc;
}

/*
 * DRBD's fence-peer on @from (cluster/member.c): our copy of the resource
 * goes Outdated, so that nothing promotes it, unless we are its Primary.
 * The reply says our role and disk state after the attempt.
 */
static int peer_outdate_req(const char *from, struct json_object *req,
			    struct json_object *reply, char *err)
{
	struct json_object *o;
	struct st_state s;
	struct st_res r;
	int rc;

	if (!json_object_object_get_ex(req, "name", &o) ||
	    !json_object_is_type(o, json_type_string)) {
		st_errf(err, "field 'name' missing or not a string");
		return -EINVAL;
	}
	rc = st_load(json_object_get_string(o), &r, err);
	if (rc == -ENOENT)
		st_errf(err, "no resource %.64s here", json_object_get_string(o));
	if (rc)
		return rc;
	if (strcmp(r.node[0], from) && strcmp(r.node[1], from)) {
		st_errf(err, "%s is not shared with %s", r.name, from);
		return -EACCES;
	}
	rc = st_state(&r, &s, err);
	if (!rc && strcmp(s.role, "Primary") &&
	    (!strcmp(s.disk, "UpToDate") || !strcmp(s.disk, "Consistent"))) {
		rc = st_outdate(&r, err);
		if (!rc) {
			log_warn("storage: %s outdated: %s lost its link to this copy",
				 r.name, from);
			rc = st_state(&r, &s, err);
		}
	}
	if (rc)
		return rc;
	json_object_object_add(reply, "role", json_object_new_string(s.role));
	json_object_object_add(reply, "disk", json_object_new_string(s.disk));
	return 0;
}

int clu_peer_dispatch(struct clu_daemon *d, const char *from, uint16_t type,
		      struct json_object *req, struct json_object *reply, char *err)
{
	switch (type) {
	case CTL_PEER_CHECK:
		return peer_check_req(d, from, req, reply, err);
	case CTL_PEER_PREPARE:
		return peer_prepare_req(d, from, req, err);
	case CTL_PEER_RELEASE:
		return peer_release_req(d, from, req, err);
	case CTL_PEER_OUTDATE:
		return peer_outdate_req(from, req, reply, err);
	case CTL_PEER_IMAGE:
		return clu_peer_image_req(req, reply, err);
	default:
		st_errf(err, "message type %u is not a peer request", type);
		return -EPROTO;
	}
}

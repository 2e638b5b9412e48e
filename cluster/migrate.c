/*
 * migrate.c - `clusterctl migrate` in clusterd: the request, the worker
 * process that takes the client over, and the relay through the node
 * where the domain runs (migrate/mig.h has the migration itself).
 *
 * clusterd's loop never waits on a migration.  A request for a domain
 * running here starts `clusterd --migrate-out FD`, which inherits the
 * client's socket and writes it the progress and the reply.  A request for
 * a domain running on another node starts the same worker with --via
 * NODE: it asks that node (CTL_PEER_MIGRATE) and relays what comes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/ssl.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "tls.h"
#include "util.h"

#define RELAY_MS (30 * 60 * 1000)	/* as clusterctl: a round may be long */

struct where {
	const char *name;
	char node[CLU_NODE_LEN];
};

static bool find_one(void *arg, const struct clu_node *n, int rc,
		     struct json_object *reply, const char *err)
{
	struct where *w = arg;
	struct json_object *doms, *v;

	(void)err;
	if (rc || !json_object_object_get_ex(reply, "domains", &doms))
		return false;
	for (size_t i = 0; i < json_object_array_length(doms); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(doms, i), "name", &v) &&
		    !strcmp(json_object_get_string(v), w->name)) {
			snprintf(w->node, sizeof(w->node), "%s", n->name);
			return true;
		}
	return false;
}

static bool runs_here(struct clu_daemon *d, const char *name)
{
	struct hv_dominfo *v = NULL;
	char err[HV_ERR_LEN];
	size_t n = 0;
	bool here = false;

	if (d->hv->list(d->be, &v, &n, err))
		return false;
	for (size_t i = 0; i < n; i++)
		here |= !strcmp(v[i].name, name);
	free(v);
	return here;
}

/* Cancel: here, else wherever its worker is. */
static bool cancel_one(void *arg, const struct clu_node *n, int rc,
		       struct json_object *reply, const char *err)
{
	struct where *w = arg;

	(void)reply;
	(void)err;
	if (!rc)
		snprintf(w->node, sizeof(w->node), "%s", n->name);
	return !rc;
}

int clu_migrate_request(struct clu_daemon *d, int fd, struct json_object *req,
			struct json_object *reply, char *err)
{
	struct json_object *v, *body;
	struct where w = { 0 };
	struct mig_opts o;
	char fdstr[16];
	const char *js;
	bool here;
	pid_t pid;
	int rc;

	if (json_object_object_get_ex(req, "cancel", &v) && json_object_get_boolean(v)) {
		if (!(w.name = xr_json_str(req, "name", HV_NAME_MAX, err, CTL_ERR_LEN)))
			return -EINVAL;
		rc = mig_cancel(w.name, err);
		if (!rc) {
			json_object_object_add(reply, "node", json_object_new_string(d->node));
			return 0;
		}
		if (json_object_object_get_ex(req, "local", &v) || d->nnodes < 2)
			return rc;
		body = json_object_new_object();
		json_object_object_add(body, "name", json_object_new_string(w.name));
		json_object_object_add(body, "cancel", json_object_new_boolean(1));
		clu_peer_forward(d, CTL_MIGRATE, body, 20000, cancel_one, &w);
		if (!w.node[0])
			return -ENOENT;	/* err says so */
		json_object_object_add(reply, "node", json_object_new_string(w.node));
		return 0;
	}
	rc = mig_opts_from_json(&o, req, err);
	if (rc)
		return rc;
	if (!clu_node_lookup(d, o.to, err))
		return -ENOENT;
	w.name = o.domain;
	here = runs_here(d, o.domain);
	if (!here && !clu_member_where(d, o.domain, w.node) && d->nnodes > 1) {
		struct json_object *fwd = json_object_new_object();

		clu_peer_forward(d, CTL_LIST, fwd, 20000, find_one, &w);
	}
	if (!here && !w.node[0]) {
		snprintf(err, CTL_ERR_LEN, "no domain named '%s' in the cluster", o.domain);
		return -ENOENT;
	}
	if (!strcmp(w.node[0] ? w.node : d->node, o.to)) {
		snprintf(err, CTL_ERR_LEN, "%s already runs on %s", o.domain, o.to);
		return -EALREADY;
	}
	body = mig_opts_to_json(&o);
	js = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	pid = clu_spawn(d, &fd, 1, w.node[0] ?
			(const char *const[]){ "--migrate-out", fdstr, "--request", js,
					       "--via", w.node, NULL } :
			(const char *const[]){ "--migrate-out", fdstr, "--request", js, NULL });
	json_object_put(body);
	if (pid < 0) {
		snprintf(err, CTL_ERR_LEN, "cannot start the migration worker: %s",
			 strerror((int)-pid));
		return (int)pid;
	}
	log_info("migrate %s to %s: worker %d%s%s", o.domain, o.to, (int)pid,
		 w.node[0] ? ", through " : "", w.node);
	return 1;
}

/* The domain runs on @via: it migrates it, we pass its messages on. */
static int relay(struct clu_daemon *d, const char *via, struct json_object *req, int fd,
		 char *err)
{
	const struct clu_node *n = clu_node_find(d, via);
	struct json_object *m = NULL;
	char why[CTL_ERR_LEN];
	uint16_t type = 0;
	SSL *ssl = NULL;
	int rc;

	if (!n || !d->tls_client) {
		snprintf(err, CTL_ERR_LEN, "cannot reach %s", via);
		return -ENOTCONN;
	}
	rc = xr_tls_connect(d->tls_client, n->addr, XR_TLS_PORT, n->name, 20000, &ssl, why);
	if (!rc)
		rc = xr_tls_send(ssl, CTL_PEER_MIGRATE, req, 20000, why);
	while (!rc && type != CTL_REPLY) {
		rc = xr_tls_recv(ssl, &type, &m, RELAY_MS, why);
		if (!rc && type != CTL_REPLY && type != CTL_PROGRESS) {
			snprintf(why, sizeof(why), "sent message type %u", (unsigned)type);
			rc = -EPROTO;
		}
		if (!rc && ctl_send(fd, type, m, -1))
			log_warn("migrate: clusterctl went away; the migration goes on on %s", via);
		json_object_put(m);
		m = NULL;
	}
	xr_tls_close(ssl);
	if (rc)
		snprintf(err, CTL_ERR_LEN, "%s: %.150s (the domain runs where `clusterctl list` "
			 "shows it)", via, why);
	return rc;
}

int clu_migrate_worker(struct clu_daemon *d, int fd, const char *request, const char *via)
{
	struct json_object *req = json_tokener_parse(request);
	char err[CTL_ERR_LEN] = "";
	struct mig_opts o;
	int rc;

	rc = req ? mig_opts_from_json(&o, req, err) : -EINVAL;
	if (!rc && via)
		rc = relay(d, via, req, fd, err);
	else if (!rc)
		rc = mig_send(d, &o, &(struct mig_sink){ .fd = fd });
	if (rc && err[0]) {
		struct json_object *reply = json_object_new_object();

		clu_reply_status(reply, rc, err);
		ctl_send(fd, CTL_REPLY, reply, -1);
		json_object_put(reply);
	}
	json_object_put(req);
	close(fd);
	return rc ? 1 : 0;
}

void clu_migrate_for_peer(struct clu_daemon *d, SSL *ssl, const char *from,
			  struct json_object *req)
{
	struct json_object *reply;
	char err[CTL_ERR_LEN] = "";
	struct mig_opts o;
	int rc = mig_opts_from_json(&o, req, err);

	if (!rc) {
		log_info("migrate %s to %s: asked by %s", o.domain, o.to, from);
		mig_send(d, &o, &(struct mig_sink){ .fd = -1, .ssl = ssl });
		return;
	}
	reply = json_object_new_object();
	clu_reply_status(reply, rc, err);
	xr_tls_send(ssl, CTL_REPLY, reply, 20000, err);
	json_object_put(reply);
}

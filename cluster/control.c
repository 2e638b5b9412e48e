/*
 * control.c - clusterd's side of the control protocol: one handler per
 * message type, each checking its fields before it acts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "storage.h"
#include "util.h"

#define CFG_FILE_MAX 255
#define LIST_PEER_MS 20000	/* a node's list must come back within this */
#define OP_PEER_MS   60000	/* a forwarded shutdown, destroy ... */

typedef int (*handler_fn)(struct clu_daemon *d, struct json_object *req,
			  struct json_object *reply, int *pass_fd, char *err);

/* Find a domain by name or numeric id. */
static int resolve(struct clu_daemon *d, const char *name,
		   struct hv_dominfo *out, char *err)
{
	struct hv_dominfo *v = NULL;
	size_t n = 0, i;
	char *end;
	unsigned long id = strtoul(name, &end, 10);
	bool numeric = *name && !*end;
	int rc;

	rc = d->hv->list(d->be, &v, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name) || (numeric && v[i].domid == id)) {
			*out = v[i];
			free(v);
			return 0;
		}
	}
	free(v);
	snprintf(err, CTL_ERR_LEN, "no domain named '%s' on %s", name, d->node);
	return -ENOENT;
}

static const char *domain_arg(struct json_object *req, struct hv_dominfo *info,
			      struct clu_daemon *d, char *err, int *rc)
{
	const char *name = xr_json_str(req, "name", HV_NAME_MAX, err, CTL_ERR_LEN);

	if (!name) {
		*rc = -EINVAL;
		return NULL;
	}
	*rc = resolve(d, name, info, err);
	return *rc ? NULL : name;
}

/* A request forwarded by another node (or asked to stay on this one). */
static bool local_only(struct json_object *req)
{
	struct json_object *v;

	return json_object_object_get_ex(req, "local", &v) && json_object_get_boolean(v);
}

struct gather {
	struct json_object *domains, *unreachable;
};

/* Another node's domains join the list; a node that did not answer is named. */
static bool gather_one(void *arg, const struct clu_node *n, int rc,
		       struct json_object *reply, const char *err)
{
	struct gather *g = arg;
	struct json_object *doms, *u;

	if (!rc && json_object_object_get_ex(reply, "domains", &doms) &&
	    json_object_is_type(doms, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(doms); i++)
			json_object_array_add(g->domains,
					      json_object_get(json_object_array_get_idx(doms, i)));
		return false;
	}
	u = json_object_new_object();

	json_object_object_add(u, "node", json_object_new_string(n->name));
	json_object_object_add(u, "error", json_object_new_string(err));
	json_object_array_add(g->unreachable, u);
	return false;
}

static int h_list(struct clu_daemon *d, struct json_object *req,
		  struct json_object *reply, int *pass_fd, char *err)
{
	struct hv_dominfo *v = NULL;
	struct json_object *arr;
	struct json_object *lng;
	bool with_disks = json_object_object_get_ex(req, "disks", &lng) &&
			  json_object_get_boolean(lng);
	size_t n = 0, i;
	int rc;

	(void)pass_fd;
	rc = d->hv->list(d->be, &v, &n, err);
	if (rc)
		return rc;
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "id", json_object_new_int64(v[i].domid));
		json_object_object_add(o, "mem_mb", json_object_new_int64((int64_t)(v[i].mem_kb / 1024)));
		json_object_object_add(o, "vcpus", json_object_new_int64(v[i].vcpus));
		json_object_object_add(o, "state", json_object_new_string(v[i].state));
		json_object_object_add(o, "cpu_time", json_object_new_double(v[i].cpu_time));
		json_object_object_add(o, "node", json_object_new_string(d->node));
		if (with_disks && v[i].domid != 0)
			json_object_object_add(o, "disks", clu_disks_json(d, v[i].name));
		json_object_array_add(arr, o);
	}
	free(v);
	/* Every node's domains, asked of each node over the peers' channel. */
	if (!local_only(req) && d->nnodes > 1) {
		struct gather g = { arr, json_object_new_array() };
		struct json_object *fwd = json_object_new_object();

		if (with_disks)
			json_object_object_add(fwd, "disks", json_object_new_boolean(1));
		clu_peer_forward(d, CTL_LIST, fwd, LIST_PEER_MS, gather_one, &g);
		json_object_object_add(reply, "unreachable", g.unreachable);
	}
	json_object_object_add(reply, "domains", arr);
	return 0;
}

static struct json_object *diag_json(const struct hv_diag *diag)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < diag->n; i++) {
		const struct hv_diag_msg *m = &diag->v[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "severity", json_object_new_string(
			m->sev == HV_ERROR ? "error" : "warning"));
		json_object_object_add(o, "line", json_object_new_int64(m->line));
		json_object_object_add(o, "col", json_object_new_int64(m->col));
		json_object_object_add(o, "message", json_object_new_string(m->msg));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* A kernel or ramdisk must be a readable regular file. */
static int check_image(const char *what, const char *path, char *err)
{
	struct stat st;

	if (!path)
		return 0;
	if (stat(path, &st) || access(path, R_OK)) {
		snprintf(err, CTL_ERR_LEN, "%s %s: %s", what, path, strerror(errno));
		return -ENOENT;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, CTL_ERR_LEN, "%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	return 0;
}

/* The images a domain names must be there before anything is made;
 * its disks are checked by storage (st_plan). */
static int check_files(const struct hv_domain *dom, char *err)
{
	int rc = check_image("kernel", dom->kernel, err);

	return rc ? rc : check_image("ramdisk", dom->ramdisk, err);
}

/* The optional "peer" field: a node name, or "none". */
static int peer_arg(struct json_object *req, const char **peer, char *err)
{
	struct json_object *v;

	*peer = NULL;
	if (!json_object_object_get_ex(req, "peer", &v))
		return 0;
	*peer = xr_json_str(req, "peer", CLU_NODE_LEN - 1, err, CTL_ERR_LEN);
	return *peer ? 0 : -EINVAL;
}

/* Where a domain's config is kept: DIR/domains/NAME.json */
static void domain_record_dir(const struct clu_daemon *d, char *out, size_t len)
{
	snprintf(out, len, "%s/domains", d->state_dir ? d->state_dir : CLU_STATE_DIR);
}

/* Keep the config a domain was created from: the HA announcement and a
 * restart elsewhere need it. */
void clu_domain_keep(const struct clu_daemon *d, const char *name, const char *file,
		     const char *text)
{
	struct json_object *o = json_object_new_object();
	char dir[PATH_MAX], fname[HV_NAME_MAX + 8];
	const char *js;
	int rc;

	domain_record_dir(d, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("%s: %s; %s cannot be restarted elsewhere", dir, strerror(errno), name);
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "config", json_object_new_string(text));
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(fname, sizeof(fname), "%s.json", name);
	rc = xr_write_atomic(dir, fname, js, strlen(js), 0600);
	if (rc)
		log_err("%s/%s: %s; %s cannot be restarted elsewhere", dir, fname,
			strerror(-rc), name);
	json_object_put(o);
}

void clu_domain_forget(const struct clu_daemon *d, const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + HV_NAME_MAX + 8];

	domain_record_dir(d, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	unlink(path);
}

int clu_domain_load(const struct clu_daemon *d, const char *name, char **file,
		    char **text)
{
	char dir[PATH_MAX], path[PATH_MAX + HV_NAME_MAX + 8], err[CTL_ERR_LEN];
	struct json_object *o;
	char *buf = NULL;
	size_t len;
	int rc;

	domain_record_dir(d, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	rc = xr_read_file(path, HV_CFG_MAX_BYTES * 2, &buf, &len, "a domain record",
			  err, sizeof(err));
	if (rc)
		return rc;
	o = json_tokener_parse(buf);
	free(buf);
	*file = *text = NULL;
	if (o) {
		const char *f = xr_json_str(o, "file", CFG_FILE_MAX, err, sizeof(err));
		const char *t = xr_json_str(o, "config", HV_CFG_MAX_BYTES, err, sizeof(err));

		if (f && t) {
			*file = strdup(f);
			*text = strdup(t);
		}
	}
	json_object_put(o);
	if (!*file || !*text) {
		free(*file);
		free(*text);
		*file = *text = NULL;
		return -EBADMSG;
	}
	return 0;
}

/*
 * The images go to every node that may run @dom: its disks' peer, or, for
 * an HA domain without replicated disks, every node; a node out of the
 * membership is skipped (a restart there checks them, clu_images_store).
 */
static int send_images(struct clu_daemon *d, struct hv_domain *dom,
		       const struct st_res *disks, size_t ndisks, char *err)
{
	bool ha = hv_domain_is_ha(dom);
	const char *peer = NULL;
	size_t i;

	for (i = 0; i < ndisks && !peer; i++)
		if (disks[i].replicated)
			peer = st_peer_of(&disks[i], d->node);
	for (i = 0; i < d->nnodes; i++) {
		const struct clu_node *n = &d->nodes[i];
		int rc;

		if (!strcmp(n->name, d->node) || (peer ? strcmp(n->name, peer) != 0 : !ha))
			continue;
		if (clu_member_is_out(d, n->name)) {
			log_warn("images: %s is not a member: %s's images are not sent there",
				 n->name, dom->name);
			continue;
		}
		rc = clu_images_send(d, dom, n, err);
		if (rc)
			return rc;
	}
	return 0;
}

int clu_domain_create(struct clu_daemon *d, const char *file, const char *text,
		      const char *peer, struct json_object *reply, char *err)
{
	struct hv_domain dom;
	struct hv_dominfo existing;
	struct hv_diag diag;
	struct st_res *disks = NULL;
	size_t ndisks = 0;
	char lookup_err[CTL_ERR_LEN], where[CLU_NODE_LEN];
	char *cfg = strdup(text);	/* the config, with its stored images */
	uint32_t domid;
	int rc;

	if (!cfg)
		return -ENOMEM;
	hv_domain_init(&dom);
	hv_diag_init(&diag, file);
	rc = hv_domain_parse(&dom, text, strlen(text), &diag);
	json_object_object_add(reply, "diagnostics", diag_json(&diag));
	if (rc) {
		snprintf(err, CTL_ERR_LEN, "%s: %u error%s in the config", file,
			 diag.nerrors, diag.nerrors == 1 ? "" : "s");
		goto out;
	}
	if (!resolve(d, dom.name, &existing, lookup_err)) {
		snprintf(err, CTL_ERR_LEN, "domain '%s' already exists (id %u) on %s",
			 dom.name, existing.domid, d->node);
		rc = -EEXIST;
		goto out;
	}
	/* Names are unique in the cluster. */
	if (clu_member_where(d, dom.name, where)) {
		snprintf(err, CTL_ERR_LEN, "domain '%s' already exists on %s",
			 dom.name, where);
		rc = -EEXIST;
		goto out;
	}
	rc = check_files(&dom, err);
	if (!rc)
		rc = clu_images_store(&dom, &cfg, err);
	if (rc)
		goto out;
	rc = clu_disks_prepare(d, &dom, peer, &disks, &ndisks, err);
	if (rc)
		goto out;
	rc = send_images(d, &dom, disks, ndisks, err);
	if (!rc)
		rc = clu_disks_apply(&dom, disks, ndisks);
	if (!rc)
		rc = d->hv->create(d->be, &dom, &domid, err);
	if (rc) {
		clu_disks_abort(d, disks, ndisks);
		goto out;
	}
	clu_domain_keep(d, dom.name, file, cfg);
	log_info("created domain %s (id %u) from %s", dom.name, domid, file);
	json_object_object_add(reply, "name", json_object_new_string(dom.name));
	json_object_object_add(reply, "id", json_object_new_int64(domid));
	json_object_object_add(reply, "node", json_object_new_string(d->node));
	json_object_object_add(reply, "disks", clu_disks_json(d, dom.name));
out:
	free(disks);
	free(cfg);
	hv_diag_dispose(&diag);
	hv_domain_dispose(&dom);
	return rc;
}

static int h_create(struct clu_daemon *d, struct json_object *req,
		    struct json_object *reply, int *pass_fd, char *err)
{
	const char *file, *text, *peer;
	int rc;

	(void)pass_fd;
	file = xr_json_str(req, "file", CFG_FILE_MAX, err, CTL_ERR_LEN);
	if (!file)
		return -EINVAL;
	text = xr_json_str(req, "config", HV_CFG_MAX_BYTES, err, CTL_ERR_LEN);
	if (!text)
		return -EINVAL;
	rc = peer_arg(req, &peer, err);
	if (rc)
		return rc;
	return clu_domain_create(d, file, text, peer, reply, err);
}

typedef int (*domain_op)(struct hv_backend *be, uint32_t domid, char *err);

struct forwarded {
	int rc;
	char *err;
	char where[CLU_NODE_LEN];
};

/* The first node that has the domain answers; the others say ENOENT. */
static bool forward_one(void *arg, const struct clu_node *n, int rc,
			struct json_object *reply, const char *err)
{
	struct forwarded *f = arg;

	(void)reply;
	if (rc == -ENOENT)
		return false;		/* not there */
	if (!rc) {
		f->rc = 0;
		snprintf(f->where, sizeof(f->where), "%s", n->name);
		return true;
	}
	/* It has the domain and refused (the answer), or could not be asked
	 * (kept unless a node that has it answers). */
	if (rc == -EREMOTEIO || f->rc == -ENOENT) {
		f->rc = rc == -EREMOTEIO ? rc : -EHOSTUNREACH;
		snprintf(f->err, CTL_ERR_LEN, "%s", err);
	}
	return rc == -EREMOTEIO;
}

static int forward_op(struct clu_daemon *d, struct json_object *req, uint16_t type,
		      char *err)
{
	const char *name = json_object_get_string(json_object_object_get(req, "name"));
	struct forwarded f = { .rc = -ENOENT, .err = err };
	struct json_object *body = json_object_new_object();
	char why[CTL_ERR_LEN];

	json_object_object_add(body, "name", json_object_new_string(name));
	clu_peer_forward(d, type, body, OP_PEER_MS, forward_one, &f);
	if (f.rc == -ENOENT) {
		snprintf(err, CTL_ERR_LEN, "no domain named '%s' in the cluster", name);
	} else if (f.rc == -EHOSTUNREACH) {
		snprintf(why, sizeof(why), "%s", err);
		st_errf(err, "no domain named '%s' on the nodes that answered (%s)", name, why);
		f.rc = -ENOENT;
	} else if (!f.rc) {
		log_info("forwarded %s of %s to %s", ctl_type_name(type), name, f.where);
	}
	return f.rc;
}

/*
 * simple_op - apply @op to the domain named in @req.
 * @flag, @want: refuse unless state flag @flag ('p') is set (@want true) or
 * clear (@want false); @flag 0 checks nothing.  @why says what it is instead.
 */
static int simple_op(struct clu_daemon *d, struct json_object *req, uint16_t type,
		     domain_op op, const char *verb, char flag, bool want,
		     const char *why, char *err)
{
	struct hv_dominfo info;
	int rc;

	if (!domain_arg(req, &info, d, err, &rc)) {
		/* Not here: the node that runs it does it. */
		if (rc == -ENOENT && !local_only(req) && d->nnodes > 1)
			return forward_op(d, req, type, err);
		return rc;
	}
	if (info.domid == 0) {
		snprintf(err, CTL_ERR_LEN, "refusing to %s Domain-0", verb);
		return -EPERM;
	}
	if (flag && (strchr(info.state, flag) != NULL) != want) {
		snprintf(err, CTL_ERR_LEN, "domain '%s' is %s", info.name, why);
		return -EALREADY;
	}
	rc = op(d->be, info.domid, err);
	if (!rc)
		log_info("%s domain %s (id %u)", verb, info.name, info.domid);
	return rc;
}

static int h_shutdown(struct clu_daemon *d, struct json_object *req,
		      struct json_object *reply, int *pass_fd, char *err)
{
	(void)reply;
	(void)pass_fd;
	return simple_op(d, req, CTL_SHUTDOWN, d->hv->shutdown, "shut down", 0, false, NULL, err);
}

static int h_destroy(struct clu_daemon *d, struct json_object *req,
		     struct json_object *reply, int *pass_fd, char *err)
{
	(void)reply;
	(void)pass_fd;
	return simple_op(d, req, CTL_DESTROY, d->hv->destroy, "destroy", 0, false, NULL, err);
}

static int h_pause(struct clu_daemon *d, struct json_object *req,
		   struct json_object *reply, int *pass_fd, char *err)
{
	(void)reply;
	(void)pass_fd;
	return simple_op(d, req, CTL_PAUSE, d->hv->pause, "pause", 'p', false,
			 "already paused", err);
}

static int h_unpause(struct clu_daemon *d, struct json_object *req,
		     struct json_object *reply, int *pass_fd, char *err)
{
	(void)reply;
	(void)pass_fd;
	return simple_op(d, req, CTL_UNPAUSE, d->hv->unpause, "unpause", 'p', true,
			 "not paused", err);
}

static int h_console(struct clu_daemon *d, struct json_object *req,
		     struct json_object *reply, int *pass_fd, char *err)
{
	struct hv_dominfo info;
	int rc;

	(void)reply;
	if (!domain_arg(req, &info, d, err, &rc))
		return rc;
	if (info.domid == 0) {
		snprintf(err, CTL_ERR_LEN, "Domain-0's console is the node's own console");
		return -EPERM;
	}
	return d->hv->console(d->be, info.domid, pass_fd, err);
}

static int h_disks(struct clu_daemon *d, struct json_object *req,
		   struct json_object *reply, int *pass_fd, char *err)
{
	struct json_object *v;
	const char *name = NULL;

	(void)pass_fd;
	if (json_object_object_get_ex(req, "name", &v)) {
		name = xr_json_str(req, "name", HV_NAME_MAX, err, CTL_ERR_LEN);
		if (!name)
			return -EINVAL;
	}
	json_object_object_add(reply, "disks", clu_disks_json(d, name));
	return 0;
}

static int h_delete(struct clu_daemon *d, struct json_object *req,
		    struct json_object *reply, int *pass_fd, char *err)
{
	struct hv_dominfo info;
	const char *name = xr_json_str(req, "name", HV_NAME_MAX, err, CTL_ERR_LEN);

	(void)reply;
	(void)pass_fd;
	if (!name)
		return -EINVAL;
	if (!resolve(d, name, &info, err)) {
		snprintf(err, CTL_ERR_LEN, "domain '%s' is running (id %u); shut it down first",
			 name, info.domid);
		return -EBUSY;
	}
	return clu_disks_delete(d, name, err);
}

static int h_nodes(struct clu_daemon *d, struct json_object *req,
		   struct json_object *reply, int *pass_fd, char *err)
{
	struct json_object *o = clu_member_json(d);

	(void)req;
	(void)pass_fd;
	(void)err;
	json_object_object_add(reply, "node", json_object_new_string(d->node));
	json_object_object_foreach(o, key, val)
		json_object_object_add(reply, key, json_object_get(val));
	json_object_put(o);
	return 0;
}

static const handler_fn handlers[CTL_TYPE_MAX] = {
	[CTL_LIST] = h_list,
	[CTL_CREATE] = h_create,
	[CTL_SHUTDOWN] = h_shutdown,
	[CTL_DESTROY] = h_destroy,
	[CTL_PAUSE] = h_pause,
	[CTL_UNPAUSE] = h_unpause,
	[CTL_CONSOLE] = h_console,
	[CTL_DISKS] = h_disks,
	[CTL_DELETE] = h_delete,
	[CTL_NODES] = h_nodes,
	[CTL_MIGRATE] = NULL,	/* clu_migrate_request(): it may hand the client on */
};

void clu_reply_status(struct json_object *reply, int rc, const char *err)
{
	const char *name = strerrorname_np(-rc);

	json_object_object_add(reply, "ok", json_object_new_boolean(rc == 0));
	if (!rc)
		return;
	json_object_object_add(reply, "errno", json_object_new_string(name ? name : "EIO"));
	json_object_object_add(reply, "error", json_object_new_string(
		err && err[0] ? err : strerror(-rc)));
}

void clu_control_refuse(int fd, int rc, const char *err)
{
	struct json_object *reply = json_object_new_object();

	log_warn("control: bad request: %s", err);
	clu_reply_status(reply, rc, err);
	ctl_send(fd, CTL_REPLY, reply, -1);
	json_object_put(reply);
}

int clu_control_dispatch(struct clu_daemon *d, int fd, uint16_t type,
			 struct json_object *req)
{
	struct json_object *reply;
	char err[CTL_ERR_LEN] = "";
	int pass_fd = -1;
	int rc;

	if (type >= CTL_TYPE_MAX || (!handlers[type] && type != CTL_MIGRATE)) {
		snprintf(err, sizeof(err), "message type %u is not a request", type);
		clu_control_refuse(fd, -EPROTO, err);
		return -EPROTO;
	}
	log_debug("clu", "request %s", ctl_type_name(type));
	reply = json_object_new_object();
	if (type == CTL_MIGRATE) {
		rc = clu_migrate_request(d, fd, req, reply, err);
		if (rc == 1) {	/* a worker has the client now */
			json_object_put(reply);
			return -EINPROGRESS;
		}
	} else {
		rc = handlers[type](d, req, reply, &pass_fd, err);
	}
	clu_reply_status(reply, rc, err);
	rc = ctl_send(fd, CTL_REPLY, reply, pass_fd);
	if (pass_fd >= 0)
		close(pass_fd);
	json_object_put(reply);
	return rc;
}

int clu_control_serve(struct clu_daemon *d, int fd)
{
	struct json_object *req = NULL;
	char err[CTL_ERR_LEN] = "";
	uint16_t type = 0;
	int rc;

	rc = ctl_recv(fd, &type, &req, NULL, err);
	if (rc == -EPIPE)
		return rc;
	if (rc) {
		/* Say why, then hang up: the stream can't be trusted any more. */
		clu_control_refuse(fd, rc, err);
		return rc;
	}
	rc = clu_control_dispatch(d, fd, type, req);
	json_object_put(req);
	return rc;
}

/*
 * peer.c - clusterd to clusterd: the rack's nodes (from the enrolment's
 * node.json) and requests between them over mutual TLS (lib/tls.h).
 *
 * A node serves peers on XR_TLS_PORT.  Each connection is handled by a
 * child process, so a slow peer or a long storage action never stalls the
 * daemon's loop, and two nodes asking each other at once cannot deadlock.
 * Only nodes of the cluster are served; the client certificate says which.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

/* Generous: a node under load (nested, emulated) takes seconds to exec
 * the serving clusterd.  Nodes known to be down are not asked at all. */
#define PEER_HANDSHAKE_MS 20000
#define PEER_REQUEST_MS   20000

int clu_cluster_load(struct clu_daemon *d, const char *path, char *err)
{
	struct json_object *o, *nodes, *v;
	const char *s;
	char *text;
	size_t len, i;
	int rc;

	d->nnodes = 0;
	rc = xr_read_file(path, 256 * 1024, &text, &len, "node.json", err, CTL_ERR_LEN);
	if (rc)
		return rc;
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_object_get_ex(o, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array)) {
		st_errf(err, "%s: no \"nodes\" list", path);
		json_object_put(o);
		return -EINVAL;
	}
	for (i = 0; i < json_object_array_length(nodes) && d->nnodes < CLU_MAX_NODES; i++) {
		struct json_object *e = json_object_array_get_idx(nodes, i);
		struct clu_node *n = &d->nodes[d->nnodes];
		char why[CTL_ERR_LEN];

		if (!(s = xr_json_str(e, "name", sizeof(n->name) - 1, why, sizeof(why))))
			continue;
		snprintf(n->name, sizeof(n->name), "%s", s);
		if (!(s = xr_json_str(e, "address", sizeof(n->addr) - 1, why, sizeof(why))))
			continue;
		snprintf(n->addr, sizeof(n->addr), "%s", s);
		d->nnodes++;
	}
	if (json_object_object_get_ex(o, "address", &v) && json_object_is_type(v, json_type_string))
		snprintf(d->addr, sizeof(d->addr), "%s", json_object_get_string(v));
	json_object_put(o);
	if (!clu_node_find(d, d->node)) {
		st_errf(err, "%s: this node (%s) is not in its node list",
			 path, d->node);
		d->nnodes = 0;
		return -EINVAL;
	}
	if (!d->addr[0])
		snprintf(d->addr, sizeof(d->addr), "%s", clu_node_find(d, d->node)->addr);
	return 0;
}

const struct clu_node *clu_node_find(const struct clu_daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nnodes; i++)
		if (!strcmp(d->nodes[i].name, name))
			return &d->nodes[i];
	return NULL;
}

const struct clu_node *clu_node_lookup(const struct clu_daemon *d, const char *name,
				       char *err)
{
	const struct clu_node *n = clu_node_find(d, name);
	char names[160];

	if (!n) {
		clu_node_names(d, names, sizeof(names));
		snprintf(err, CTL_ERR_LEN, "%.60s is not a node of this cluster (%s)", name,
			 names[0] ? names : "a cluster of one");
	}
	return n;
}

void clu_node_names(const struct clu_daemon *d, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->nnodes && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "",
					 d->nodes[i].name);
}

int clu_peer_call(struct clu_daemon *d, const struct clu_node *n, uint16_t type,
		  struct json_object *req, struct json_object **reply,
		  int timeout_ms, char *err)
{
	struct json_object *r = NULL, *v;
	char why[CTL_ERR_LEN];
	uint16_t rtype;
	SSL *ssl;
	int rc;

	*reply = NULL;
	if (!d->tls_client) {
		st_errf(err, "%s: this node has no certificate to reach peers with "
			 "(not enrolled?)", n->name);
		return -ENOTCONN;
	}
	for (int tries = 0;; tries++) {
		rc = xr_tls_connect(d->tls_client, n->addr, XR_TLS_PORT, n->name,
				    PEER_HANDSHAKE_MS, &ssl, why);
		if (rc) {
			st_errf(err, "%s", why);
			return rc;
		}
		rc = xr_tls_send(ssl, type, req, PEER_REQUEST_MS, why);
		if (!rc)
			rc = xr_tls_recv(ssl, &rtype, &r, timeout_ms, why);
		xr_tls_close(ssl);
		/* The peer refused our bytes as corrupted and did nothing:
		 * asking once more is safe for any request.  Logged, since
		 * a sound network never does this. */
		if (rc != -EILSEQ || tries)
			break;
		log_warn("peer: %s: %s; asking once more", n->name, why);
	}
	if (rc) {
		st_errf(err, "%s: %s", n->name, why);
		json_object_put(r);
		return rc;
	}
	if (rtype != CTL_REPLY) {
		st_errf(err, "%s: answered with message type %u, not a reply",
			 n->name, rtype);
		json_object_put(r);
		return -EPROTO;
	}
	if (!json_object_object_get_ex(r, "ok", &v) || !json_object_get_boolean(v)) {
		bool noent = json_object_object_get_ex(r, "errno", &v) &&
			     !strcmp(json_object_get_string(v), "ENOENT");

		st_errf(err, "%s: %s", n->name,
			 json_object_object_get_ex(r, "error", &v) ? json_object_get_string(v)
			 : "refused");
		json_object_put(r);
		return noent ? -ENOENT : -EREMOTEIO;
	}
	*reply = r;
	return 0;
}

int clu_peer_listen(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(XR_TLS_PORT),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, zero = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * A forwarded request is handed to this node's own clusterd over its
 * control socket, like any clusterctl, and its reply goes back whole: the
 * daemon's loop, which owns libxl, does the work, and the child only waits.
 */
static struct json_object *forward_local(struct clu_daemon *d, struct json_object *req,
					 char *err)
{
	static const uint16_t allowed[] = { CTL_LIST, CTL_SHUTDOWN, CTL_DESTROY,
					    CTL_PAUSE, CTL_UNPAUSE, CTL_MIGRATE };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *v, *body, *reply = NULL;
	struct timeval tv = { .tv_sec = 60 };
	uint16_t type, rtype;
	size_t i;
	int fd, rc;

	if (!json_object_object_get_ex(req, "type", &v) || !json_object_is_type(v, json_type_int) ||
	    !json_object_object_get_ex(req, "request", &body) ||
	    !json_object_is_type(body, json_type_object)) {
		st_errf(err, "a forwarded request needs 'type' and 'request'");
		return NULL;
	}
	type = (uint16_t)json_object_get_int(v);
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && allowed[i] != type; i++)
		;
	/* A migration is started with CTL_PEER_MIGRATE; only its cancel is
	 * a one-reply request. */
	if (i == sizeof(allowed) / sizeof(allowed[0]) ||
	    (int64_t)type != json_object_get_int64(v) ||
	    (type == CTL_MIGRATE && (!json_object_object_get_ex(body, "cancel", &v) ||
				     !json_object_get_boolean(v)))) {
		st_errf(err, "request type %" PRId64 " cannot be forwarded", json_object_get_int64(v));
		return NULL;
	}
	/* Answered here only: it goes no further. */
	json_object_object_add(body, "local", json_object_new_boolean(1));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		st_errf(err, "clusterd on %s does not answer: %s", d->node, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = ctl_send(fd, type, body, -1);
	if (!rc)
		rc = ctl_recv(fd, &rtype, &reply, NULL, err);
	close(fd);
	if (rc) {
		if (rc == -EAGAIN)
			st_errf(err, "clusterd on %s did not answer in time", d->node);
		json_object_put(reply);
		return NULL;
	}
	return reply;
}

void clu_peer_serve(struct clu_daemon *d, int fd)
{
	struct json_object *req = NULL, *reply;
	char peer[CLU_NODE_LEN], err[CTL_ERR_LEN] = "";
	uint16_t type;
	SSL *ssl;
	int rc;

	rc = xr_tls_accept(d->tls_server, fd, PEER_HANDSHAKE_MS, &ssl, peer, sizeof(peer), err);
	if (rc) {
		log_warn("peer: refused a connection: %s", err);
		close(fd);
		return;
	}
	rc = xr_tls_recv(ssl, &type, &req, PEER_REQUEST_MS, err);
	if (rc) {
		log_warn("peer %s: bad request: %s", peer, err);
		xr_tls_close(ssl);
		return;
	}
	reply = NULL;
	if (!clu_node_find(d, peer) || !strcmp(peer, d->node)) {
		st_errf(err, "node %s is not a peer of %s in this cluster",
			 peer, d->node);
		rc = -EACCES;
	} else if (type == CTL_PEER_MIGRATE_IN || type == CTL_PEER_MIGRATE) {
		/* A session of its own: it replies, and more. */
		if (type == CTL_PEER_MIGRATE_IN)
			mig_receive(d, ssl, peer, req);
		else
			clu_migrate_for_peer(d, ssl, peer, req);
		json_object_put(req);
		xr_tls_close(ssl);
		return;
	} else if (type == CTL_PEER_FORWARD) {
		reply = forward_local(d, req, err);
		rc = reply ? 0 : -EIO;
	} else {
		reply = json_object_new_object();
		rc = clu_peer_dispatch(d, peer, type, req, reply, err);
	}
	if (!reply) {
		reply = json_object_new_object();
		clu_reply_status(reply, rc, err);
	} else if (type != CTL_PEER_FORWARD) {
		clu_reply_status(reply, rc, err);
	}
	if (rc)
		log_warn("peer %s: %s: %s", peer, ctl_type_name(type) ? ctl_type_name(type) : "?", err);
	rc = xr_tls_send(ssl, CTL_REPLY, reply, PEER_REQUEST_MS, err);
	if (rc)
		log_warn("peer %s: cannot reply: %s", peer, err);
	json_object_put(reply);
	json_object_put(req);
	xr_tls_close(ssl);
}

pid_t clu_spawn(struct clu_daemon *d, const int keep[], size_t nkeep,
		const char *const extra[])
{
	pid_t pid;

	if (d->nchildren >= CLU_MAX_CHILDREN) {
		log_warn("%d requests already being served; refusing one", CLU_MAX_CHILDREN);
		return -EAGAIN;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		const char *argv[24];
		sigset_t none;
		int i = 0;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t k = 0; k < nkeep; k++)
			fcntl(keep[k], F_SETFD, 0);	/* the descriptors it keeps */
		argv[i++] = "clusterd";
		while (*extra && i < 12)
			argv[i++] = *extra++;
		argv[i++] = "-n";
		argv[i++] = d->node;
		argv[i++] = "-s";
		argv[i++] = d->sock_path;
		argv[i++] = "--cert-dir";
		argv[i++] = d->cert_dir;
		if (d->state_dir) {
			argv[i++] = "--state-dir";
			argv[i++] = d->state_dir;
		}
		if (d->use_syslog)
			argv[i++] = "--syslog";
		argv[i] = NULL;
		execv("/proc/self/exe", (char *const *)(uintptr_t)argv);
		log_err("cannot exec clusterd %s: %s", argv[1], strerror(errno));
		_exit(127);
	}
	d->children[d->nchildren++] = pid;
	return pid;
}

void clu_peer_accept(struct clu_daemon *d, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	char fdstr[16];

	if (fd < 0)
		return;
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	clu_spawn(d, &fd, 1, (const char *const[]){ "--serve-peer", fdstr, NULL });
	close(fd);
}

void clu_peer_reap(struct clu_daemon *d)
{
	for (int i = d->nchildren - 1; i >= 0; i--) {
		pid_t r = waitpid(d->children[i], NULL, WNOHANG);

		if (r == d->children[i] || (r < 0 && errno == ECHILD))
			d->children[i] = d->children[--d->nchildren];
	}
}

void clu_peer_forward(struct clu_daemon *d, uint16_t type, struct json_object *body,
		      int timeout_ms,
		      bool (*each)(void *arg, const struct clu_node *n, int rc,
				   struct json_object *reply, const char *err),
		      void *arg)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "type", json_object_new_int(type));
	json_object_object_add(req, "request", body);
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct clu_node *n = &d->nodes[i];
		struct json_object *reply = NULL;
		char err[CTL_ERR_LEN] = "";
		bool stop;
		int rc;

		if (!strcmp(n->name, d->node))
			continue;
		if (clu_member_is_out(d, n->name)) {
			rc = -EHOSTDOWN;
			snprintf(err, sizeof(err), "%s: not in the cluster's membership", n->name);
		} else {
			rc = clu_peer_call(d, n, CTL_PEER_FORWARD, req, &reply, timeout_ms, err);
		}
		stop = each(arg, n, rc, reply, err[0] ? err : strerror(-rc));
		json_object_put(reply);
		if (stop)
			break;
	}
	json_object_put(req);
}

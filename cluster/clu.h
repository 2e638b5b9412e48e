/*
 * clu.h - the cluster module: clusterd (node daemon) and clusterctl (CLI).
 */
#ifndef XR_CLU_H
#define XR_CLU_H

#include <stdint.h>

#include "hv.h"

#include <sys/types.h>

struct json_object;
struct pollfd;
struct clu_member;
struct ssl_ctx_st;
struct ssl_st;
struct st_res;

#define CLU_MAX_CLIENTS 32
#define CLU_CLIENT_TIMEOUT_MS 5000	/* a request must arrive whole within this */
#define CLU_MAX_NODES 64
#define CLU_MAX_CHILDREN 16		/* peer requests served at once */
#define CLU_NODE_LEN 64
#define CLU_NODE_JSON "/etc/xenrack/node.json"

/* A node of the rack, as enrolment (bootd's inventory) lists it. */
struct clu_node {
	char name[CLU_NODE_LEN];
	char addr[64];
};

struct clu_daemon {
	const struct hv_ops *hv;
	struct hv_backend *be;
	char node[CLU_NODE_LEN];	/* this node's name, shown in the Node column */
	char addr[64];			/* this node's address on the node network */
	struct clu_node nodes[CLU_MAX_NODES];	/* empty: a cluster of one */
	size_t nnodes;
	struct ssl_ctx_st *tls_client, *tls_server;	/* NULL: not enrolled */
	pid_t children[CLU_MAX_CHILDREN];	/* serving peers */
	int nchildren;
	const char *sock_path;		/* the control socket, for forwarded requests */
	const char *cert_dir;		/* --cert-dir */
	const char *state_dir;		/* --state-dir, or NULL for the default */
	bool use_syslog;
	struct clu_member *member;	/* NULL: no corosync (a cluster of one) */
};

#define CLU_STATE_DIR "/var/lib/xenrack"
#define CLU_WATCHDOG_S 10		/* W: docs/ha.md */

/* ---- member.c: corosync membership, the CPG domain table, HA ---- */

/**
 * clu_member_open - join corosync's CPG group and track quorum
 * @watchdog_secs: the Xen watchdog timeout W, fed while quorate; 0: none
 * @watchdog_dev:  its device, /dev/watchdog (xen_wdt) on a node
 * Return: 0 (also for a cluster of one, which needs no corosync), or a
 * negative errno when corosync cannot be reached (HA is then off).
 */
int clu_member_open(struct clu_daemon *d, int watchdog_secs, const char *watchdog_dev);
/** clu_member_fds - the descriptors to poll (0 or 2), into @fds */
int clu_member_fds(struct clu_daemon *d, struct pollfd *fds);
/** clu_member_dispatch - corosync's callbacks, after poll() */
void clu_member_dispatch(struct clu_daemon *d, const struct pollfd *fds);
/**
 * clu_member_tick - once a second, with the domains running here: send our
 * table when it changed, feed the watchdog while quorate, restart here what
 * ha_decide() gives this node.
 */
void clu_member_tick(struct clu_daemon *d, const struct hv_dominfo *v, size_t n);
/** clu_member_where - true when another member runs @name; its name in @node */
bool clu_member_where(const struct clu_daemon *d, const char *name, char node[CLU_NODE_LEN]);
/** clu_member_is_out - true when corosync says node @name is not a member */
bool clu_member_is_out(const struct clu_daemon *d, const char *name);
/** clu_member_json - membership, quorum and each node's domains (`nodes`) */
struct json_object *clu_member_json(const struct clu_daemon *d);
/**
 * clu_fence_peer - DRBD's fence-peer handler for resource @res (ha.h rule
 * 7): waits until the peer's copy is outdated, or the peer is out of the
 * quorate membership, or is Primary, and returns that as DRBD's exit code
 * (4, 5, 6; 3 when the peer's copy was not current).  Never returns while
 * this node is not quorate.  1 when @res is not a resource here.
 */
int clu_fence_peer(struct clu_daemon *d, const char *res);
/** clu_member_close - leave; @running domains here keep the watchdog armed */
void clu_member_close(struct clu_daemon *d, size_t running);

/* ---- control.c: requests ---- */

/**
 * clu_domain_create - create a domain from config @text (named @file in
 * messages) on this node, its disks prepared; the config is kept for HA
 * @peer: the disks' replica node, "none", or NULL to choose (or keep)
 */
int clu_domain_create(struct clu_daemon *d, const char *file, const char *text,
		      const char *peer, struct json_object *reply, char *err);
/** clu_domain_keep - keep the config @name was created from (for HA) */
void clu_domain_keep(const struct clu_daemon *d, const char *name, const char *file,
		     const char *text);
/** clu_domain_forget - it runs elsewhere now: the config kept here goes */
void clu_domain_forget(const struct clu_daemon *d, const char *name);
/** clu_domain_load - the file name and config a domain was created from */
int clu_domain_load(const struct clu_daemon *d, const char *name, char **file,
		    char **text);

/* ---- peer.c: the rack's nodes, requests between them ---- */

/** clu_cluster_load - the node list of node.json at @path */
int clu_cluster_load(struct clu_daemon *d, const char *path, char *err);
/** clu_node_find - the node called @name, or NULL */
const struct clu_node *clu_node_find(const struct clu_daemon *d, const char *name);
/** clu_node_lookup - as clu_node_find(); NULL with "NAME is not a node of
 * this cluster (node1, node2)" in @err (CTL_ERR_LEN bytes) */
const struct clu_node *clu_node_lookup(const struct clu_daemon *d, const char *name,
				       char *err);
/** clu_node_names - "node1, node2" */
void clu_node_names(const struct clu_daemon *d, char *out, size_t len);

/**
 * clu_peer_call - one request to node @n over mutual TLS, and its reply
 * @reply: receives the reply when it says ok (caller puts it)
 * Return: 0; -EREMOTEIO when the peer refused (its reason in @err, after
 * its name); another negative errno when it could not be asked.
 */
int clu_peer_call(struct clu_daemon *d, const struct clu_node *n, uint16_t type,
		  struct json_object *req, struct json_object **reply,
		  int timeout_ms, char *err);
/** clu_peer_listen - the TCP socket peers connect to (XR_TLS_PORT) */
int clu_peer_listen(void);
/**
 * clu_peer_accept - accept a peer and serve it in a new process
 * The child execs clusterd --serve-peer FD at once: clusterd has threads
 * (libxenstore's), and a forked copy of a threaded process may not use
 * OpenSSL or malloc safely; a fresh image may.
 */
void clu_peer_accept(struct clu_daemon *d, int lfd);
/** clu_peer_serve - serve the one request of the peer connected on @fd */
void clu_peer_serve(struct clu_daemon *d, int fd);
/**
 * clu_spawn - run a fresh clusterd with arguments @extra (NULL-ended) and
 * this daemon's own, keeping the @nkeep descriptors @keep open for it
 * Return: its pid, tracked with the peer children; or a negative errno.
 */
pid_t clu_spawn(struct clu_daemon *d, const int keep[], size_t nkeep,
		const char *const extra[]);
/** clu_peer_reap - collect the children that have finished */
void clu_peer_reap(struct clu_daemon *d);
/**
 * clu_peer_forward - send request @type with @body (consumed) to every
 * other node's clusterd, marked local so it goes no further
 * @each:  called with each node and what clu_peer_call() gave: 0 and the
 *         reply, or -ENOENT / -EREMOTEIO (it answered no) or another
 *         errno (it could not be asked), a NULL reply and the reason
 * Stops early when @each returns true.
 */
void clu_peer_forward(struct clu_daemon *d, uint16_t type, struct json_object *body,
		      int timeout_ms,
		      bool (*each)(void *arg, const struct clu_node *n, int rc,
				   struct json_object *reply, const char *err),
		      void *arg);
/** clu_peer_dispatch - act on peer @from's request (in the child) */
int clu_peer_dispatch(struct clu_daemon *d, const char *from, uint16_t type,
		      struct json_object *req, struct json_object *reply, char *err);

/* ---- disks.c: storage for domains ---- */

/**
 * clu_disks_prepare - make @dom's disks ready here and on their peer
 * @want_peer: the peer asked for, "none", or NULL to choose
 * @out, @nout: the resources (caller frees), in @dom's disk order
 * Return: 0, or an error with nothing left behind on either node.
 */
int clu_disks_prepare(struct clu_daemon *d, struct hv_domain *dom, const char *want_peer,
		      struct st_res **out, size_t *nout, char *err);
/** clu_disks_apply - point @dom's replicated disks at their DRBD devices */
int clu_disks_apply(struct hv_domain *dom, const struct st_res *v, size_t n);
/** clu_disks_abort - undo clu_disks_prepare() after the domain failed to start */
void clu_disks_abort(struct clu_daemon *d, const struct st_res *v, size_t n);
/**
 * clu_disks_reconcile - demote the disks of domains no longer running here
 * Return: how many could not be demoted (still held open), to try again.
 */
int clu_disks_reconcile(struct clu_daemon *d, const struct hv_dominfo *doms, size_t n);
/** clu_disks_json - the disks of @domain (NULL: all) with their state */
struct json_object *clu_disks_json(struct clu_daemon *d, const char *domain);
/** clu_disks_delete - tear down @domain's resources here and on its peer */
int clu_disks_delete(struct clu_daemon *d, const char *domain, char *err);

/* ---- images.c: kernels and ramdisks in the cluster image store ---- */

/**
 * clu_images_store - keep @dom's kernel and ramdisk in this node's image
 * store and point @dom at them; lines naming them are added to the config
 * *@text (replaced), so that a restart elsewhere boots the same bytes.
 * Images already in the store are checked.  Return: 0, or an error naming
 * the file in @err.
 */
int clu_images_store(struct hv_domain *dom, char **text, char *err);
/** clu_images_send - send @dom's stored images to node @to, unless it has them */
int clu_images_send(struct clu_daemon *d, struct hv_domain *dom, const struct clu_node *to,
		    char *err);
/** clu_peer_image_req - a peer's peer-image request (in the child) */
int clu_peer_image_req(struct json_object *req, struct json_object *reply, char *err);

/** clu_reply_status - add "ok", and "errno" + "error" when @rc is not 0 */
void clu_reply_status(struct json_object *reply, int rc, const char *err);

/**
 * clu_control_dispatch - act on one request and write the reply to @fd
 * @type, @req: the request as ctl_reader_feed() delivered it
 * Return: 0 to keep the connection, or a negative errno to close it.
 */
int clu_control_dispatch(struct clu_daemon *d, int fd, uint16_t type,
			 struct json_object *req);

/** clu_control_refuse - answer a bad message with error @rc and @err */
void clu_control_refuse(int fd, int rc, const char *err);

/**
 * clu_control_serve - read one request from @fd (blocking), then dispatch
 * Return: as clu_control_dispatch(); -EPIPE when the client hung up.
 */
int clu_control_serve(struct clu_daemon *d, int fd);

/* ---- migrate.c: clusterctl migrate, here and through other nodes ---- */

/**
 * clu_migrate_request - CTL_MIGRATE from a client on @fd
 * Return: 1 when a worker process has taken the client over (it sends the
 * progress and the reply); else 0 or an error for the reply, as a handler.
 */
int clu_migrate_request(struct clu_daemon *d, int fd, struct json_object *req,
			struct json_object *reply, char *err);
/** clu_migrate_worker - clusterd --migrate-out FD: the worker's whole life */
int clu_migrate_worker(struct clu_daemon *d, int fd, const char *request, const char *via);
/** clu_migrate_for_peer - CTL_PEER_MIGRATE: migrate from here for @from */
void clu_migrate_for_peer(struct clu_daemon *d, struct ssl_st *ssl, const char *from,
			  struct json_object *req);

/**
 * clu_console_relay - connect the terminal to a domain console
 * @fd: the console (a pty), closed on return
 * Ctrl-] ends the session.  Return: 0, or a negative errno.
 */
int clu_console_relay(int fd);

#endif

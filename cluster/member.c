/*
 * member.c - clusterd in the corosync cluster: membership and quorum, the
 * domain table replicated over CPG, fencing with the Xen watchdog, and the
 * HA restart of a lost node's domains (the decision is ha.c's).
 *
 * The model (docs/ha.md):
 *   - Every clusterd joins the CPG group "xenrack".  CPG delivers messages
 *     in one order to all members, and membership changes in that order too.
 *   - Each node multicasts its own domains (those running on it, with the
 *     config each was created from, its HA flag and its disks' peer) when
 *     they change and after every membership change.  Each node keeps the
 *     last table of every node: that is the cluster's domain table.
 *   - When a node leaves the group, its last table becomes the lost
 *     domains.  After a membership change nothing acts until every member
 *     has announced itself again (the state is re-synchronised).
 *   - The watchdog (/dev/watchdog, Xen's xen_wdt) is fed only while this
 *     node is quorate and its clusterd is in the group; a node cut off
 *     stops feeding it and Xen resets the node W seconds later.  Each node
 *     announces its W; a node that had none is never fenced, and its
 *     domains are never started elsewhere (HA_UNFENCED).
 *   - The quorate side waits out that deadline (the fence wait, F) before
 *     ha_decide() lets the node holding a lost domain's replica restart it.
 *
 * Node ids: corosync's nodeid of a node is its position in node.json plus
 * one; enrolment writes corosync.conf that way (pxe/corosync.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <json-c/json.h>
#include <linux/watchdog.h>

#include "clu.h"
#include "ctl.h"
#include "ha.h"
#include "log.h"
#include "storage.h"
#include "util.h"

#define GROUP "xenrack"
#define ANNOUNCE_MAX (1u << 20)		/* a node's table, as sent */
#define RETRY_MS 10000			/* a failed restart is tried again after */
#define RECONNECT_MS 2000		/* corosync is asked again after */
#define FENCE_ASK_MS 5000		/* the peer's answer to peer-outdate */

/* A domain as its node announced it. */
struct mb_dom {
	char name[HV_NAME_MAX + 1];
	char state[8];
	char peer[CLU_NODE_LEN];	/* its disks' replica, "" when none */
	bool movable;		/* no peer, and no disk written only there */
	bool ha;
	char *file, *config;
};

struct mb_node {
	bool member;		/* its clusterd is in the CPG group */
	int wd_secs;		/* its armed watchdog's timeout; 0: none */
	bool heard;		/* it announced itself since the last change */
	int64_t left_ms;	/* when it left the group */
	struct mb_dom *doms;	/* its last table */
	size_t ndoms;
};

/* A domain of a lost node, until it runs again somewhere. */
struct mb_lost {
	struct mb_dom dom;
	int owner;		/* node index */
	int64_t retry_ms;	/* a failed restart here waits until then */
};

/*
 * What corosync says of quorum, tracked the same way by the main loop and
 * by the fence thread (each with a connection of its own).  When the
 * membership loses a node, the node counts as not quorate until quorum is
 * decided for the new ring: a node just cut off still holds its old
 * qdevice vote for a few seconds, and must not feed its watchdog then.
 */
struct quorum_view {
	bool quorate;
	uint64_t ring_seq;	/* the membership quorum was last decided for */
	uint64_t members;	/* bit id - 1 for each corosync node id */
	bool say;		/* log the changes (the main loop's view) */
};

struct clu_member {
	struct clu_daemon *d;
	cpg_handle_t cpg;
	quorum_handle_t quorum;
	int cpg_fd, quorum_fd;
	bool connected;		/* to corosync */
	bool said_down;		/* "corosync does not answer" was logged */
	int64_t next_try_ms;	/* when to connect again */
	bool in_group;
	struct quorum_view qv;	/* the main loop's */
	uint32_t my_id;
	struct mb_node nodes[CLU_MAX_NODES];
	struct mb_lost *lost;
	size_t nlost;
	bool announce;		/* our table must be sent */
	char sent[4096];	/* the names and states last sent */
	_Atomic int wd_fd;	/* the watchdog device, once armed (fence thread) */
	int wd_secs;
	_Atomic bool fed_ok;	/* main loop: in the group; the thread feeds only then */
	_Atomic bool stop;	/* the fence thread ends */
	pthread_t fence;
	bool fence_started;
	const char *wd_dev;
	int sent_wd;		/* the watchdog timeout last announced */
	int64_t fence_ms;
};


/* The index of node @name in node.json's list (corosync's id - 1), or -1. */
static int node_index(const struct clu_daemon *d, const char *name)
{
	const struct clu_node *n = clu_node_find(d, name);

	return n ? (int)(n - d->nodes) : -1;
}

static void dom_free(struct mb_dom *v)
{
	free(v->file);
	free(v->config);
	v->file = v->config = NULL;
}

static void table_free(struct mb_node *n)
{
	for (size_t i = 0; i < n->ndoms; i++)
		dom_free(&n->doms[i]);
	free(n->doms);
	n->doms = NULL;
	n->ndoms = 0;
}

static void lost_drop(struct clu_member *m, size_t i)
{
	dom_free(&m->lost[i].dom);
	m->lost[i] = m->lost[--m->nlost];
}

/* ---- quorum, as corosync reports it ---- */

static struct quorum_view *view_of(quorum_handle_t h)
{
	const void *ctx = NULL;

	quorum_context_get(h, &ctx);
	return (struct quorum_view *)(uintptr_t)ctx;
}

static uint64_t id_mask(uint32_t n, const uint32_t *ids)
{
	uint64_t mask = 0;

	for (uint32_t i = 0; i < n; i++)
		if (ids[i] >= 1 && ids[i] <= 64)
			mask |= 1ull << (ids[i] - 1);
	return mask;
}

static void on_nodelist(quorum_handle_t h, struct quorum_ring_id ring, uint32_t n,
			const uint32_t *members, uint32_t njoined, const uint32_t *joined,
			uint32_t nleft, const uint32_t *left)
{
	struct quorum_view *q = view_of(h);

	(void)njoined, (void)joined, (void)left;
	if (ring.seq <= q->ring_seq)
		return;
	q->members = id_mask(n, members);
	if (!nleft)
		return;
	if (q->say && q->quorate)
		log_warn("cluster: %u node%s left corosync's membership; not quorate "
			 "until quorum is decided again", nleft, nleft == 1 ? "" : "s");
	q->quorate = false;
}

static void on_quorum(quorum_handle_t h, uint32_t quorate, struct quorum_ring_id ring,
		      uint32_t n, const uint32_t *members)
{
	struct quorum_view *q = view_of(h);

	q->members = id_mask(n, members);
	if (q->say && !!quorate != q->quorate)
		log_warn("cluster: %s (%u node%s in the membership)",
			 quorate ? "quorate" : "NOT quorate: this node starts nothing "
			 "and stops feeding its watchdog", n, n == 1 ? "" : "s");
	q->quorate = quorate;
	q->ring_seq = ring.seq;
}

static quorum_model_v1_data_t quorum_model = {
	.model = QUORUM_MODEL_V1,
	.quorum_notify_fn = on_quorum,
	.nodelist_notify_fn = on_nodelist,
};

/* A quorum connection of its own, tracking into @view; false if corosync
 * does not answer. */
static bool quorum_connect(quorum_handle_t *q, struct quorum_view *view, int *fd)
{
	uint32_t qtype;

	*view = (struct quorum_view){ 0 };
	if (quorum_model_initialize(q, QUORUM_MODEL_V1, (quorum_model_data_t *)&quorum_model,
				    &qtype, view) != CS_OK)
		return false;
	if (quorum_trackstart(*q, CS_TRACK_CHANGES | CS_TRACK_CURRENT) == CS_OK &&
	    quorum_fd_get(*q, fd) == CS_OK)
		return true;
	quorum_finalize(*q);
	return false;
}

/* ---- the watchdog: fencing ---- */

/*
 * The fence thread feeds the watchdog.  It has a quorum connection of its
 * own, so that a main loop busy for a while (a domain create takes tens of
 * seconds under emulation) neither misses a keepalive nor feeds on stale
 * news: it feeds once a second while corosync says quorate and the main
 * loop last saw this node in the CPG group, and never between a membership
 * change and the quorum decision for it.
 */
static void watchdog_keepalive(struct clu_member *m)
{
	int t = m->wd_secs, fd = m->wd_fd;

	if (fd < 0) {
		fd = open(m->wd_dev, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			log_err("ha: %s: %s; this node cannot be fenced, so no node "
				"will restart its domains", m->wd_dev, strerror(errno));
			m->stop = true;
			return;
		}
		if (ioctl(fd, WDIOC_SETTIMEOUT, &t) && errno != ENOTTY)
			log_warn("ha: %s: cannot set %d s: %s", m->wd_dev, t, strerror(errno));
		log_info("ha: watchdog %s armed: Xen resets this node %d s after "
			 "it stops being quorate", m->wd_dev, t);
		m->wd_fd = fd;
	}
	/* Any byte but 'V' is a keepalive, for every Linux watchdog driver. */
	if (write(fd, "1", 1) != 1)
		log_warn("ha: watchdog keepalive: %s", strerror(errno));
}

static void *fence_main(void *arg)
{
	struct clu_member *m = arg;
	struct quorum_view view = { 0 };
	quorum_handle_t q = 0;
	bool connected = false;
	int64_t next_feed = 0;
	int fd = -1;

	while (!m->stop) {
		struct pollfd p = { .fd = -1, .events = POLLIN };
		int64_t now;

		if (!connected)
			connected = quorum_connect(&q, &view, &fd);
		p.fd = connected ? fd : -1;
		poll(&p, 1, connected ? 250 : RECONNECT_MS);
		if (connected && p.revents && quorum_dispatch(q, CS_DISPATCH_ALL) != CS_OK) {
			quorum_finalize(q);
			connected = false;
			view.quorate = false;
		}
		now = xr_now_ms();
		if (connected && view.quorate && m->fed_ok && now >= next_feed) {
			/* A late keepalive says the node was stalled: too near W,
			 * and Xen resets a healthy node. */
			if (next_feed && now - next_feed > 3000 && m->wd_fd >= 0)
				log_warn("ha: watchdog fed %.1f s late (W is %d s)",
					 (double)(now - next_feed) / 1000, m->wd_secs);
			watchdog_keepalive(m);
			next_feed = now + 1000;
		} else if (!(connected && view.quorate && m->fed_ok)) {
			next_feed = 0;
		}
	}
	if (connected)
		quorum_finalize(q);
	return NULL;
}

/* ---- DRBD's fence-peer handler: clusterd --fence-peer RES ---- */

/* Ask @peer to outdate its copy of @res; its role and disk into @role, @disk. */
static int ask_outdate(struct clu_daemon *d, const struct clu_node *peer, const char *res,
		       char role[16], char disk[24], char *err)
{
	struct json_object *req = json_object_new_object(), *reply, *o;
	int rc;

	json_object_object_add(req, "name", json_object_new_string(res));
	rc = clu_peer_call(d, peer, CTL_PEER_OUTDATE, req, &reply, FENCE_ASK_MS, err);
	json_object_put(req);
	if (rc)
		return rc;
	snprintf(role, 16, "%s", json_object_object_get_ex(reply, "role", &o) ?
		 json_object_get_string(o) : "");
	snprintf(disk, 24, "%s", json_object_object_get_ex(reply, "disk", &o) ?
		 json_object_get_string(o) : "");
	json_object_put(reply);
	return 0;
}

int clu_fence_peer(struct clu_daemon *d, const char *res)
{
	struct quorum_view view = { 0 };
	struct ha_fence_view fv = { 0 };
	const struct clu_node *peer;
	enum ha_fence f, said = HA_FP_ASK;
	quorum_handle_t q = 0;
	bool connected = false, told_down = false, said_quorate = false;
	char err[CTL_ERR_LEN] = "", said_err[CTL_ERR_LEN] = "", role[16] = "", disk[24] = "";
	struct st_res r;
	int fd = -1;

	if (st_load(res, &r, err)) {
		log_err("fence-peer %s: %s", res, err[0] ? err : "no such resource here");
		return 1;	/* not a code DRBD knows: its I/O stays frozen */
	}
	peer = clu_node_find(d, st_peer_of(&r, d->node));
	if (!peer) {
		log_err("fence-peer %s: its peer %s is not in node.json", res,
			st_peer_of(&r, d->node));
		return 1;
	}
	log_warn("fence-peer %s: the link to %s is lost; its I/O waits for this", res,
		 peer->name);
	for (;;) {
		struct pollfd p = { .fd = -1, .events = POLLIN };

		if (!connected) {
			connected = quorum_connect(&q, &view, &fd);
			if (!connected && !told_down)
				log_warn("fence-peer %s: corosync does not answer; waiting for it", res);
			told_down = !connected;
		}
		p.fd = connected ? fd : -1;
		poll(&p, 1, connected ? 1000 : RECONNECT_MS);
		if (connected && p.revents && quorum_dispatch(q, CS_DISPATCH_ALL) != CS_OK) {
			quorum_finalize(q);
			connected = false;
			continue;
		}
		if (!connected || !view.ring_seq)
			continue;	/* no decision for a membership seen yet */
		fv = (struct ha_fence_view){
			.quorate = view.quorate,
			.peer_member = view.members >> (peer - d->nodes) & 1,
		};
		f = ha_fence(&fv);
		if (f == HA_FP_ASK) {
			if (ask_outdate(d, peer, res, role, disk, err)) {
				if (strcmp(err, said_err))	/* once, not every second */
					log_warn("fence-peer %s: %s", res, err);
				snprintf(said_err, sizeof(said_err), "%s", err);
				f = HA_FP_WAIT;
			} else {
				fv.peer_role = role;
				fv.peer_disk = disk;
				f = ha_fence(&fv);
			}
		}
		if (f == HA_FP_WAIT) {
			/* Said again when the reason changes: quorum lost or back. */
			if (said != f || said_quorate != view.quorate)
				log_warn("fence-peer %s: %s; I/O stays frozen", res,
					 !view.quorate ? "this node is not quorate: it waits for "
					 "quorum, or for its watchdog to reset it"
					 : "the peer's copy is not outdated yet");
			said = f;
			said_quorate = view.quorate;
			continue;
		}
		break;
	}
	quorum_finalize(q);
	switch (f) {
	case HA_FP_GONE:
		log_warn("fence-peer %s: %s is out of the quorate membership and cannot "
			 "promote its copy; I/O resumes", res, peer->name);
		break;
	case HA_FP_OUTDATED:
	case HA_FP_INCONSISTENT:
		log_warn("fence-peer %s: %s's copy is %s; I/O resumes", res, peer->name, disk);
		break;
	default:
		log_warn("fence-peer %s: %s is Primary: this copy is the stale one", res,
			 peer->name);
		break;
	}
	return f;
}

/* ---- announcements ---- */

/* Our running domains, as the table sends them. */
static struct json_object *own_table(struct clu_member *m, const struct hv_dominfo *v,
				     size_t n)
{
	struct clu_daemon *d = m->d;
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o;
		struct st_res *r = NULL;
		size_t nr = 0;
		char *file = NULL, *text = NULL, err[ST_ERR_LEN];
		const char *peer = "";
		bool ha = false, movable = true;

		if (v[i].domid == 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "state", json_object_new_string(v[i].state));
		/* Its disks bind it: to their peer, or (written here only) to here. */
		if (!st_load_domain(v[i].name, &r, &nr, err)) {
			for (size_t j = 0; j < nr; j++) {
				if (r[j].replicated && !peer[0])
					peer = st_peer_of(&r[j], d->node);
				else if (!r[j].replicated && r[j].writable)
					movable = false;
			}
		}
		json_object_object_add(o, "peer", json_object_new_string(peer));
		json_object_object_add(o, "movable", json_object_new_boolean(!peer[0] && movable));
		free(r);
		if (!clu_domain_load(d, v[i].name, &file, &text)) {
			struct hv_domain dom;
			struct hv_diag diag;

			hv_domain_init(&dom);
			hv_diag_init(&diag, file);
			if (!hv_domain_parse(&dom, text, strlen(text), &diag))
				ha = hv_domain_is_ha(&dom);
			hv_diag_dispose(&diag);
			hv_domain_dispose(&dom);
			json_object_object_add(o, "file", json_object_new_string(file));
			json_object_object_add(o, "config", json_object_new_string(text));
		}
		free(file);
		free(text);
		json_object_object_add(o, "ha", json_object_new_boolean(ha));
		json_object_array_add(arr, o);
	}
	return arr;
}

static int armed_secs(const struct clu_member *m)
{
	return m->wd_fd >= 0 ? m->wd_secs : 0;
}

/* "NAME=STATE/" for each domain running here: what the table last said. */
static void running_names(const struct hv_dominfo *v, size_t n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (v[i].domid && used < len)
			used += (size_t)snprintf(out + used, len - used, "%s=%s/",
						 v[i].name, v[i].state);
}

/* Send our table (@names is running_names() of @v). */
static void announce(struct clu_member *m, const struct hv_dominfo *v, size_t n,
		     const char *names)
{
	struct json_object *o = json_object_new_object();
	struct iovec iov;
	const char *js;
	cs_error_t rc;

	json_object_object_add(o, "node", json_object_new_string(m->d->node));
	json_object_object_add(o, "watchdog", json_object_new_int(armed_secs(m)));
	json_object_object_add(o, "domains", own_table(m, v, n));
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	iov.iov_base = (void *)(uintptr_t)js;
	iov.iov_len = strlen(js) + 1;
	rc = cpg_mcast_joined(m->cpg, CPG_TYPE_AGREED, &iov, 1);
	if (rc == CS_OK) {
		m->announce = false;
		m->sent_wd = armed_secs(m);
		snprintf(m->sent, sizeof(m->sent), "%s", names);
	} else {
		log_warn("cpg: cannot send this node's domains (error %d); will retry", rc);
	}
	json_object_put(o);
}

/* A node's table arrived: it replaces what we had of that node. */
static int take_table(struct clu_member *m, uint32_t nodeid, const char *msg, size_t len)
{
	struct clu_daemon *d = m->d;
	struct json_object *o = NULL, *arr;
	char err[CTL_ERR_LEN];
	const char *name;
	struct mb_node *n;
	struct mb_dom *doms = NULL;
	size_t nd = 0, i;
	int idx;

	if (!len || msg[len - 1] != '\0' || len > ANNOUNCE_MAX ||
	    !(o = json_tokener_parse(msg))) {
		log_warn("cpg: node id %u sent a message that is not JSON; ignored", nodeid);
		return -EBADMSG;
	}
	name = xr_json_str(o, "node", CLU_NODE_LEN - 1, err, sizeof(err));
	idx = name ? node_index(d, name) : -1;
	if (idx < 0 || (uint32_t)idx + 1 != nodeid) {
		log_warn("cpg: node id %u announced itself as '%s', which node.json "
			 "gives another id; ignored", nodeid, name ? name : "?");
		goto bad;
	}
	if (!json_object_object_get_ex(o, "domains", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		log_warn("cpg: %s: field 'domains' missing; ignored", name);
		goto bad;
	}
	nd = json_object_array_length(arr);
	doms = calloc(nd ? nd : 1, sizeof(*doms));
	if (!doms)
		goto bad;
	for (i = 0; i < nd; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *b;
		const char *dn = xr_json_str(e, "name", HV_NAME_MAX, err, sizeof(err));
		const char *st = xr_json_str(e, "state", sizeof(doms[i].state) - 1, err, sizeof(err));
		const char *peer = json_object_get_string(json_object_object_get(e, "peer"));
		const char *file = json_object_get_string(json_object_object_get(e, "file"));
		const char *cfg = json_object_get_string(json_object_object_get(e, "config"));

		if (!dn || !st) {
			log_warn("cpg: %s: domain %zu: %s; ignored", name, i, err);
			goto bad;
		}
		snprintf(doms[i].name, sizeof(doms[i].name), "%s", dn);
		snprintf(doms[i].state, sizeof(doms[i].state), "%s", st);
		snprintf(doms[i].peer, sizeof(doms[i].peer), "%s", peer ? peer : "");
		doms[i].ha = json_object_object_get_ex(e, "ha", &b) && json_object_get_boolean(b);
		doms[i].movable = json_object_object_get_ex(e, "movable", &b) &&
				  json_object_get_boolean(b);
		doms[i].file = file ? strdup(file) : NULL;
		doms[i].config = cfg ? strdup(cfg) : NULL;
	}
	n = &m->nodes[idx];
	n->wd_secs = json_object_get_int(json_object_object_get(o, "watchdog"));
	table_free(n);
	n->doms = doms;
	n->ndoms = nd;
	n->heard = true;
	/* A lost domain that runs again (here or anywhere) is found. */
	for (i = 0; i < nd; i++)
		for (size_t j = 0; j < m->nlost; j++)
			if (!strcmp(m->lost[j].dom.name, doms[i].name)) {
				lost_drop(m, j);
				break;
			}
	json_object_put(o);
	return 0;
bad:
	if (doms) {
		for (i = 0; i < nd; i++)
			dom_free(&doms[i]);
		free(doms);
	}
	json_object_put(o);
	return -EBADMSG;
}

/* ---- corosync callbacks ---- */

static struct clu_member *ctx_of(cpg_handle_t h)
{
	void *ctx = NULL;

	cpg_context_get(h, &ctx);
	return ctx;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
		       uint32_t pid, void *msg, size_t len)
{
	(void)group;
	(void)pid;
	take_table(ctx_of(h), nodeid, msg, len);
}

/* A node left: what it ran is lost, until it runs again. */
static void node_lost(struct clu_member *m, int idx)
{
	struct mb_node *n = &m->nodes[idx];
	int64_t now = xr_now_ms();

	n->member = false;
	n->left_ms = now;
	for (size_t i = 0; i < n->ndoms; i++) {
		struct mb_lost *v = realloc(m->lost, (m->nlost + 1) * sizeof(*v));

		if (!v)
			break;
		m->lost = v;
		v[m->nlost] = (struct mb_lost){ .dom = n->doms[i], .owner = idx };
		n->doms[i].file = n->doms[i].config = NULL;	/* moved */
		m->nlost++;
		log_info("ha: %s of lost node %s%s", n->doms[i].name, m->d->nodes[idx].name,
			 n->doms[i].ha ? " (HA): restart after the fence wait" : ": not HA, stays down");
	}
	table_free(n);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
		       const struct cpg_address *members, size_t nmembers,
		       const struct cpg_address *left, size_t nleft,
		       const struct cpg_address *joined, size_t njoined)
{
	struct clu_member *m = ctx_of(h);
	struct clu_daemon *d = m->d;
	bool now_member[CLU_MAX_NODES] = { false };
	char list[512] = "";
	size_t used = 0, i;

	(void)group;
	(void)left;
	(void)nleft;
	(void)joined;
	(void)njoined;
	for (i = 0; i < nmembers; i++) {
		uint32_t id = members[i].nodeid;

		if (id >= 1 && id <= d->nnodes) {
			now_member[id - 1] = true;
			if (used < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 used ? ", " : "", d->nodes[id - 1].name);
		} else {
			log_warn("cpg: node id %u is not in node.json; ignored", id);
		}
	}
	for (i = 0; i < d->nnodes; i++) {
		if (m->nodes[i].member && !now_member[i]) {
			log_warn("cluster: node %s left", d->nodes[i].name);
			node_lost(m, (int)i);
		} else if (!m->nodes[i].member && now_member[i]) {
			log_info("cluster: node %s joined", d->nodes[i].name);
		}
		m->nodes[i].member = now_member[i];
		m->nodes[i].heard = false;
	}
	m->in_group = m->my_id >= 1 && m->my_id <= d->nnodes && now_member[m->my_id - 1];
	m->announce = true;	/* everyone tells the newcomers what it runs */
	log_info("cluster: members %s", list[0] ? list : "none");
}

/* ---- the daemon's side ---- */

/* Connect to corosync (again): quorum tracking and the CPG group. */
static int connect_corosync(struct clu_member *m)
{
	static cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = on_deliver,
		.cpg_confchg_fn = on_confchg,
	};
	struct clu_daemon *d = m->d;
	struct cpg_name group;
	uint32_t qtype;
	cs_error_t rc;
	bool have_cpg = false;

	m->next_try_ms = xr_now_ms() + RECONNECT_MS;
	m->qv = (struct quorum_view){ .say = true };
	rc = quorum_model_initialize(&m->quorum, QUORUM_MODEL_V1,
				     (quorum_model_data_t *)&quorum_model, &qtype, &m->qv);
	if (rc != CS_OK) {
		if (!m->said_down)
			log_err("cluster: corosync does not answer (error %d); HA waits for it, "
				"trying every %d s", rc, RECONNECT_MS / 1000);
		m->said_down = true;
		return -ENOTCONN;
	}
	rc = cpg_model_initialize(&m->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, m);
	have_cpg = rc == CS_OK;
	if (rc == CS_OK)
		rc = cpg_local_get(m->cpg, &m->my_id);
	snprintf(group.value, sizeof(group.value), "%s", GROUP);
	group.length = strlen(GROUP);
	if (rc == CS_OK)
		rc = cpg_join(m->cpg, &group);
	if (rc == CS_OK)
		rc = quorum_trackstart(m->quorum, CS_TRACK_CHANGES | CS_TRACK_CURRENT);
	if (rc == CS_OK)
		rc = cpg_fd_get(m->cpg, &m->cpg_fd);
	if (rc == CS_OK)
		rc = quorum_fd_get(m->quorum, &m->quorum_fd);
	if (rc != CS_OK) {
		if (!m->said_down)
			log_err("cluster: corosync CPG: error %d; trying again every %d s",
				rc, RECONNECT_MS / 1000);
		m->said_down = true;
		if (have_cpg)
			cpg_finalize(m->cpg);
		quorum_finalize(m->quorum);
		return -ENOTCONN;
	}
	if (m->my_id != (uint32_t)node_index(d, d->node) + 1)
		log_warn("cluster: corosync calls this node %u, node.json %d", m->my_id,
			 node_index(d, d->node) + 1);
	m->connected = true;
	m->said_down = false;
	log_info("cluster: joined CPG group %s as node id %u; fence wait %lld s",
		 GROUP, m->my_id, (long long)m->fence_ms / 1000);
	return 0;
}

static void disconnect_corosync(struct clu_member *m)
{
	if (!m->connected)
		return;
	cpg_finalize(m->cpg);
	quorum_finalize(m->quorum);
	m->connected = m->qv.quorate = m->in_group = false;	/* qv anew at connect */
	m->cpg_fd = m->quorum_fd = -1;
	m->next_try_ms = xr_now_ms() + RECONNECT_MS;
}

int clu_member_open(struct clu_daemon *d, int watchdog_secs, const char *watchdog_dev)
{
	struct clu_member *m;

	if (d->nnodes < 2)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->wd_fd = m->cpg_fd = m->quorum_fd = -1;
	m->wd_secs = watchdog_secs;
	m->wd_dev = watchdog_dev;
	if (watchdog_secs > 0) {
		int rc = pthread_create(&m->fence, NULL, fence_main, m);

		if (rc)
			log_err("ha: cannot start the fence thread: %s; the watchdog stays "
				"unarmed and this node's domains are never moved", strerror(rc));
		m->fence_started = !rc;
	}
	/* docs/ha.md: F = W + (Dmax - Dmin) + margin. */
	m->fence_ms = (watchdog_secs > 0 ? watchdog_secs : CLU_WATCHDOG_S) * 1000 + 4000;
	d->member = m;
	return connect_corosync(m);
}

int clu_member_fds(struct clu_daemon *d, struct pollfd *fds)
{
	struct clu_member *m = d->member;

	if (!m || !m->connected)
		return 0;
	fds[0] = (struct pollfd){ .fd = m->cpg_fd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = m->quorum_fd, .events = POLLIN };
	return 2;
}

void clu_member_dispatch(struct clu_daemon *d, const struct pollfd *fds)
{
	struct clu_member *m = d->member;

	if (!m || !m->connected)
		return;
	if ((fds[0].revents && cpg_dispatch(m->cpg, CS_DISPATCH_ALL) != CS_OK) ||
	    (fds[1].revents && quorum_dispatch(m->quorum, CS_DISPATCH_ALL) != CS_OK)) {
		/* corosync is gone: we are nobody's member, and the watchdog,
		 * no longer fed, resets the node unless it comes back. */
		log_err("cluster: lost the connection to corosync; not quorate, "
			"the watchdog is no longer fed");
		disconnect_corosync(m);
	}
}

/* Start a lost domain here: its disk is promoted, then it is created. */
static void restart_here(struct clu_member *m, struct mb_lost *l, int64_t now)
{
	struct clu_daemon *d = m->d;
	struct json_object *reply = json_object_new_object();
	char err[CTL_ERR_LEN] = "";
	int64_t t0 = xr_now_ms();
	int rc;

	if (!l->dom.config) {
		log_err("ha: %s: its node sent no config; it cannot be restarted", l->dom.name);
		l->retry_ms = INT64_MAX;
		json_object_put(reply);
		return;
	}
	log_info("ha: restarting %s here: node %s left %.1f s ago, its fence wait is over",
		 l->dom.name, d->nodes[l->owner].name,
		 (double)(now - m->nodes[l->owner].left_ms) / 1000);
	rc = clu_domain_create(d, l->dom.file ? l->dom.file : "(cluster)", l->dom.config,
			       NULL, reply, err);
	json_object_put(reply);
	if (rc) {
		log_err("ha: cannot restart %s here: %s; trying again in %d s",
			l->dom.name, err, RETRY_MS / 1000);
		l->retry_ms = xr_now_ms() + RETRY_MS;
		return;
	}
	l->retry_ms = INT64_MAX;	/* done: our table, when it comes back, drops it */
	log_info("ha: %s restarted here in %.1f s (%.1f s after its node left)",
		 l->dom.name, (double)(xr_now_ms() - t0) / 1000,
		 (double)(xr_now_ms() - m->nodes[l->owner].left_ms) / 1000);
	m->announce = true;
}

/* Once a second, with what runs here: announce, feed, decide. */
void clu_member_tick(struct clu_daemon *d, const struct hv_dominfo *v, size_t n)
{
	struct clu_member *m = d->member;
	struct ha_node hn[CLU_MAX_NODES];
	struct ha_dom *hd;
	struct ha_decision *out;
	char names[sizeof(m->sent)];
	bool synced = true;
	int self = node_index(d, d->node);
	int64_t now = xr_now_ms();
	size_t i;

	if (!m)
		return;
	if (!m->connected && now >= m->next_try_ms)
		connect_corosync(m);
	m->fed_ok = m->connected && m->in_group;
	if (!m->in_group)
		return;
	/* Our table goes out when it changed, or when asked for. */
	running_names(v, n, names, sizeof(names));
	if (m->announce || strcmp(names, m->sent) || m->sent_wd != armed_secs(m))
		announce(m, v, n, names);
	for (i = 0; i < d->nnodes; i++)
		if (m->nodes[i].member && !m->nodes[i].heard)
			synced = false;
	if (!m->qv.quorate || !synced || !m->nlost)
		return;
	hd = calloc(m->nlost, sizeof(*hd));
	out = calloc(m->nlost, sizeof(*out));
	if (!hd || !out)
		goto out;
	for (i = 0; i < d->nnodes; i++)
		hn[i] = (struct ha_node){ .member = m->nodes[i].member,
					  .left_ms = m->nodes[i].left_ms,
					  .unfenced = !m->nodes[i].wd_secs };
	for (i = 0; i < m->nlost; i++)
		hd[i] = (struct ha_dom){ .owner = m->lost[i].owner,
					 .peer = m->lost[i].dom.peer[0]
						 ? node_index(d, m->lost[i].dom.peer)
						 : m->lost[i].dom.movable ? HA_ANY : HA_NONE,
					 .ha = m->lost[i].dom.ha,
					 .running = false };
	ha_decide(&(struct ha_view){ .nodes = hn, .nnodes = d->nnodes, .doms = hd,
				     .ndoms = m->nlost, .quorate = true, .now_ms = now,
				     .fence_ms = m->fence_ms }, out, NULL);
	for (i = 0; i < m->nlost; i++) {
		struct mb_lost *l = &m->lost[i];

		if (out[i].verdict != HA_RESTART || out[i].target != self || now < l->retry_ms)
			continue;
		restart_here(m, l, now);
	}
out:
	free(hd);
	free(out);
}

bool clu_member_where(const struct clu_daemon *d, const char *name, char node[CLU_NODE_LEN])
{
	const struct clu_member *m = d->member;

	if (!m)
		return false;
	for (size_t i = 0; i < d->nnodes; i++) {
		if (!m->nodes[i].member || !strcmp(d->nodes[i].name, d->node))
			continue;
		for (size_t j = 0; j < m->nodes[i].ndoms; j++)
			if (!strcmp(m->nodes[i].doms[j].name, name)) {
				snprintf(node, CLU_NODE_LEN, "%s", d->nodes[i].name);
				return true;
			}
	}
	return false;
}

bool clu_member_is_out(const struct clu_daemon *d, const char *name)
{
	const struct clu_member *m = d->member;
	int i = node_index(d, name);

	return m && m->in_group && i >= 0 && !m->nodes[i].member;
}

struct json_object *clu_member_json(const struct clu_daemon *d)
{
	const struct clu_member *m = d->member;
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *lost = json_object_new_array();
	int64_t now = xr_now_ms();

	json_object_object_add(o, "corosync", json_object_new_boolean(m && m->connected));
	json_object_object_add(o, "quorate", json_object_new_boolean(m ? m->qv.quorate : d->nnodes < 2));
	json_object_object_add(o, "watchdog", json_object_new_int(m && m->wd_fd >= 0 ? m->wd_secs : 0));
	json_object_object_add(o, "fence_wait", json_object_new_int64(m ? m->fence_ms / 1000 : 0));
	for (size_t i = 0; i < d->nnodes; i++) {
		struct json_object *e = json_object_new_object(), *doms = json_object_new_array();
		bool self = !strcmp(d->nodes[i].name, d->node);

		json_object_object_add(e, "name", json_object_new_string(d->nodes[i].name));
		json_object_object_add(e, "address", json_object_new_string(d->nodes[i].addr));
		json_object_object_add(e, "member", json_object_new_boolean(
			m ? m->nodes[i].member : self));
		if (m)
			for (size_t j = 0; j < m->nodes[i].ndoms; j++)
				json_object_array_add(doms, json_object_new_string(m->nodes[i].doms[j].name));
		json_object_object_add(e, "domains", doms);
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "nodes", arr);
	for (size_t i = 0; m && i < m->nlost; i++) {
		const struct mb_lost *l = &m->lost[i];
		struct json_object *e = json_object_new_object();
		int64_t since = now - m->nodes[l->owner].left_ms;

		json_object_object_add(e, "name", json_object_new_string(l->dom.name));
		json_object_object_add(e, "node", json_object_new_string(d->nodes[l->owner].name));
		json_object_object_add(e, "ha", json_object_new_boolean(l->dom.ha));
		json_object_object_add(e, "peer", json_object_new_string(l->dom.peer));
		json_object_object_add(e, "movable", json_object_new_boolean(l->dom.movable));
		json_object_object_add(e, "lost_s", json_object_new_int64(since / 1000));
		json_object_array_add(lost, e);
	}
	json_object_object_add(o, "lost", lost);
	return o;
}

void clu_member_close(struct clu_daemon *d, size_t running)
{
	struct clu_member *m = d->member;

	if (!m)
		return;
	/*
	 * The other nodes will count this one's domains as lost.  With none
	 * running, the watchdog is disarmed (the magic close).  With some, it
	 * stays armed: unless a clusterd feeds it again within W seconds, Xen
	 * resets the node before the others restart its domains.
	 */
	if (m->fence_started) {
		m->stop = true;
		pthread_join(m->fence, NULL);
	}
	if (m->wd_fd >= 0) {
		if (!running && write(m->wd_fd, "V", 1) != 1)
			log_warn("ha: watchdog: cannot disarm: %s", strerror(errno));
		if (running)
			log_warn("ha: %zu domain%s run here: the watchdog stays armed; "
				 "restart clusterd within %d s or Xen resets this node",
				 running, running == 1 ? "" : "s", m->wd_secs);
		close(m->wd_fd);
	}
	disconnect_corosync(m);
	for (size_t i = 0; i < d->nnodes; i++)
		table_free(&m->nodes[i]);
	while (m->nlost)
		lost_drop(m, m->nlost - 1);
	free(m->lost);
	free(m);
	d->member = NULL;
}

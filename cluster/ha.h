/*
 * ha.h - who restarts what, where, when a node is lost: the decision of
 * the high-availability manager, as plain code over a view of the cluster.
 *
 * clusterd will feed it the membership corosync reports and the domain
 * table replicated over CPG (issue 5); tests/sim/ha_sim.c drives it with
 * 32 nodes, 2000 domains, random crashes and partitions, and checks that
 * two copies never run and that no domain with a surviving replica is lost.
 *
 * The rules:
 *   1. A partition without quorum decides nothing.
 *   2. A domain is restarted only when its node has left the membership,
 *      and not before that node's fencing deadline: the lost node stopped
 *      feeding its Xen watchdog when it lost quorum, and is reset by then.
 *   3. It is restarted on the node holding its DRBD replica, and only if
 *      that node is a member and the replica is current (HA_NONE says it
 *      is not: DRBD refuses to promote an outdated disk); otherwise it
 *      waits.  A domain without writable disks (HA_ANY) goes to the first
 *      member, the same one on every node.
 *   4. An HA domain whose node is a member but which does not run there
 *      (the node came back after a crash) is started on that node.
 *   5. Only HA domains (autorestart, or on_crash = restart) move.
 *   6. A node that cannot be fenced (it had no watchdog) keeps its domains:
 *      nothing proves they stopped, so they are never started elsewhere.
 *   7. DRBD's fence-peer (ha_fence): a Primary that lost its replication
 *      link, or a Secondary promoted without one, holds the disk's I/O
 *      until it is sure the other copy cannot be promoted behind its back.
 *      Without quorum it waits (the watchdog resets the node if quorum
 *      does not return); with quorum and the peer out of the membership
 *      it goes on (the peer's partition has no quorum: rule 1); with the
 *      peer a member, the peer outdates its copy, or says it is Primary.
 */
#ifndef XR_HA_H
#define XR_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_NONE (-1)
#define HA_ANY  (-2)	/* .peer: no disk binds it; any member may run it */

struct ha_node {
	bool member;		/* in this partition's membership */
	int64_t left_ms;	/* when it left it (valid when !member) */
	bool unfenced;		/* it fed no watchdog: never assume it is reset */
};

struct ha_dom {
	int owner;		/* node index that runs (or ran) it */
	int peer;		/* node index of a current replica, HA_NONE or HA_ANY */
	bool ha;		/* restart it elsewhere when its node is lost */
	bool running;		/* a copy runs on its owner */
};

struct ha_view {
	const struct ha_node *nodes;
	size_t nnodes;
	const struct ha_dom *doms;
	size_t ndoms;
	bool quorate;		/* this partition has quorum */
	int64_t now_ms;
	int64_t fence_ms;	/* a lost node is surely reset this long after it left */
};

enum ha_verdict {
	HA_KEEP,		/* nothing to do: it runs on a member, or is not HA */
	HA_RESTART,		/* start it on .target now */
	HA_FENCE_WAIT,		/* its node is lost; wait until .at_ms */
	HA_NO_REPLICA,		/* its node is lost and no member holds its disk */
	HA_UNFENCED,		/* its node is lost but had no watchdog to reset it */
	HA_NO_QUORUM,		/* this partition may not act */
};

struct ha_decision {
	enum ha_verdict verdict;
	int target;		/* HA_RESTART: the node to start it on */
	int64_t at_ms;		/* HA_FENCE_WAIT: when it may be restarted */
};

/**
 * ha_decide - what to do with each domain of @v
 * @out: one decision per domain, in @v->doms order
 * Return: how many are HA_RESTART now; *@next_ms (if not NULL) receives the
 * earliest fencing deadline still to come, or INT64_MAX.
 */
size_t ha_decide(const struct ha_view *v, struct ha_decision *out, int64_t *next_ms);

/** ha_verdict_name - "restart", "fence-wait" ... */
const char *ha_verdict_name(enum ha_verdict v);

/* What DRBD's fence-peer handler does next; the values it exits with are
 * DRBD's (drbd.conf(5), handlers, fence-peer). */
enum ha_fence {
	HA_FP_WAIT = 0,		/* not yet: I/O stays frozen, ask again */
	HA_FP_ASK = 1,		/* have the peer outdate its copy */
	HA_FP_INCONSISTENT = 3,	/* the peer's copy is not current anyway */
	HA_FP_OUTDATED = 4,		/* the peer outdated its copy */
	HA_FP_GONE = 5,		/* the peer is out of the quorate membership */
	HA_FP_PRIMARY = 6,		/* the peer is Primary: this copy is the stale one */
};

struct ha_fence_view {
	bool quorate;			/* this node's partition */
	bool peer_member;		/* the peer is in corosync's membership */
	const char *peer_role;		/* its answer, or NULL before asking */
	const char *peer_disk;
};

/** ha_fence - rule 7: the next step of the fence-peer handler */
enum ha_fence ha_fence(const struct ha_fence_view *v);

#endif

/*
 * ha.c - the HA restart decision (ha.h).  No I/O, no clock: everything it
 * knows is in the view, so the simulator and clusterd run the same code.
 */
#include <string.h>

#include "ha.h"

const char *ha_verdict_name(enum ha_verdict v)
{
	switch (v) {
	case HA_KEEP:		return "keep";
	case HA_RESTART:	return "restart";
	case HA_FENCE_WAIT:	return "fence-wait";
	case HA_NO_REPLICA:	return "no-replica";
	case HA_UNFENCED:	return "unfenced";
	case HA_NO_QUORUM:	return "no-quorum";
	}
	return "?";
}

static bool is_member(const struct ha_view *v, int node)
{
	return node >= 0 && (size_t)node < v->nnodes && v->nodes[node].member;
}

size_t ha_decide(const struct ha_view *v, struct ha_decision *out, int64_t *next_ms)
{
	int64_t next = INT64_MAX;
	size_t restarts = 0;

	for (size_t i = 0; i < v->ndoms; i++) {
		const struct ha_dom *d = &v->doms[i];
		struct ha_decision *o = &out[i];
		int64_t deadline;

		*o = (struct ha_decision){ .verdict = HA_KEEP, .target = HA_NONE };
		if (!d->ha || (is_member(v, d->owner) && d->running))
			continue;
		if (!v->quorate) {
			o->verdict = HA_NO_QUORUM;
			continue;
		}
		if (is_member(v, d->owner)) {
			/* Its node is back (it was reset or crashed): start it there. */
			o->verdict = HA_RESTART;
			o->target = d->owner;
			restarts++;
			continue;
		}
		if (d->owner >= 0 && (size_t)d->owner < v->nnodes && v->nodes[d->owner].unfenced) {
			o->verdict = HA_UNFENCED;
			continue;
		}
		/* An owner outside the node table is treated as lost long ago. */
		deadline = d->owner >= 0 && (size_t)d->owner < v->nnodes
			   ? v->nodes[d->owner].left_ms + v->fence_ms : v->now_ms;
		if (v->now_ms < deadline) {
			o->verdict = HA_FENCE_WAIT;
			o->at_ms = deadline;
			if (deadline < next)
				next = deadline;
			continue;
		}
		if (d->peer == HA_ANY) {
			for (size_t n = 0; n < v->nnodes; n++)
				if (v->nodes[n].member) {
					o->verdict = HA_RESTART;
					o->target = (int)n;
					restarts++;
					break;
				}
			if (o->verdict != HA_RESTART)
				o->verdict = HA_NO_REPLICA;
			continue;
		}
		if (!is_member(v, d->peer)) {
			o->verdict = HA_NO_REPLICA;
			continue;
		}
		o->verdict = HA_RESTART;
		o->target = d->peer;
		restarts++;
	}
	if (next_ms)
		*next_ms = next;
	return restarts;
}

enum ha_fence ha_fence(const struct ha_fence_view *v)
{
	static const char *const not_current[] = {
		"Inconsistent", "Diskless", "Failed", "Attaching", "Negotiating",
	};

	if (!v->quorate)
		return HA_FP_WAIT;
	if (!v->peer_member)
		return HA_FP_GONE;
	if (!v->peer_role || !v->peer_disk)
		return HA_FP_ASK;
	if (!strcmp(v->peer_role, "Primary"))
		return HA_FP_PRIMARY;
	if (!strcmp(v->peer_disk, "Outdated"))
		return HA_FP_OUTDATED;
	for (size_t i = 0; i < sizeof(not_current) / sizeof(not_current[0]); i++)
		if (!strcmp(v->peer_disk, not_current[i]))
			return HA_FP_INCONSISTENT;
	/* Still UpToDate: it has not yet noticed the link is gone. */
	return HA_FP_WAIT;
}

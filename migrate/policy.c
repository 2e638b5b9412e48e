/*
 * policy.c - when precopy stops: the downtime target against the measured
 * rate, and what to do with a guest that dirties memory faster than it
 * can be sent (docs/migration.md, "The precopy policy").
 *
 * Before each round libxc says how many pages are dirty.  At the rate the
 * last round went, sending them would take dirty / rate ms: when that
 * fits the downtime target, the guest is suspended and the rest is sent.
 * A round that is not at least 10 % smaller than the one before makes no
 * progress; two of those in a row and the guest's vCPUs are capped one
 * step further (credit2 caps), so it dirties less.  A guest that still
 * does not converge, or one that has taken the rounds allowed, stays
 * where it is: giving up costs the guest nothing, while a stop-and-copy
 * of a large dirty set would freeze it for as long as that takes.
 */
#include <stdio.h>
#include <string.h>

#include "mig.h"

static const int caps[] = MIG_CAPS;
#define NCAPS ((int)(sizeof(caps) / sizeof(caps[0])))
#define STALL_ROUNDS 2		/* rounds without progress before a step */
#define NO_THROTTLE_STALLS 5	/* ... before giving up, without throttling */
#define MAX_PASSES 8		/* the memory's size sent this often: give up */

void mig_policy_init(struct mig_state *s, const struct mig_policy *p)
{
	memset(s, 0, sizeof(*s));
	s->p = *p;
	if (s->p.downtime_ms <= 0)
		s->p.downtime_ms = MIG_DOWNTIME_MS;
	if (s->p.max_rounds <= 0)
		s->p.max_rounds = MIG_MAX_ROUNDS;
}

static enum mig_verdict give_up(struct mig_state *s, const struct mig_round *r,
				const char *why)
{
	char cap[48] = "";

	if (s->cap)
		snprintf(cap, sizeof(cap), ", with the guest capped at %d%% of a CPU", s->cap);
	snprintf(s->why, sizeof(s->why), "%s: round %u still has %llu dirty pages, "
		 "%lld ms at the rate measured against a target of %d ms%s", why, r->round,
		 (unsigned long long)r->dirty, (long long)s->projected_ms, s->p.downtime_ms, cap);
	return MIG_GIVE_UP;
}

enum mig_verdict mig_policy_decide(struct mig_state *s, const struct mig_round *r)
{
	/* Round 1 sends all memory; nothing is measured before it. */
	if (r->round <= 1 || !r->send_ms)
		return MIG_GO_ON;
	/* A small round measures the rate poorly: keep the earlier figure. */
	if (r->last_dirty >= 64 || s->rate <= 0)
		s->rate = (double)r->last_dirty / (double)r->send_ms;
	s->projected_ms = s->rate > 0 ? (int64_t)((double)r->dirty / s->rate) : INT32_MAX;
	if (s->projected_ms <= s->p.downtime_ms) {
		snprintf(s->why, sizeof(s->why), "%llu dirty pages: %lld ms at the rate "
			 "measured, within the %d ms target", (unsigned long long)r->dirty,
			 (long long)s->projected_ms, s->p.downtime_ms);
		return MIG_STOP_AND_COPY;
	}
	if (r->round >= (unsigned)s->p.max_rounds)
		return give_up(s, r, "it did not converge in the rounds allowed");
	if (s->p.mem_pages && r->sent_pages > MAX_PASSES * s->p.mem_pages)
		return give_up(s, r, "its memory has been sent 8 times over");
	s->stalled = r->dirty * 10 < r->last_dirty * 9 ? 0 : s->stalled + 1;
	if (s->stalled < STALL_ROUNDS)
		return MIG_GO_ON;
	if (s->p.throttle && s->cap_step < NCAPS) {
		s->cap = caps[s->cap_step++];
		s->stalled = 0;
		return MIG_THROTTLE;
	}
	if (s->stalled >= (s->p.throttle ? STALL_ROUNDS + 1 : NO_THROTTLE_STALLS))
		return give_up(s, r, s->p.throttle ? "it does not converge even throttled"
			       : "it does not converge (throttling is off)");
	return MIG_GO_ON;
}

/*
 * test_ha.c - the HA decision's rules (cluster/ha.h), one case each; the
 * simulator (tests/sim/ha_sim.c) drives them at scale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha.h"

#define FENCE 14000

/* Node 0 left at t=1000; nodes 1 and 2 are members. */
static struct ha_node nodes[3] = {
	{ .member = false, .left_ms = 1000 },
	{ .member = true },
	{ .member = true },
};

static struct ha_decision decide(struct ha_dom dom, bool quorate, int64_t now)
{
	struct ha_view v = { .nodes = nodes, .nnodes = 3, .doms = &dom, .ndoms = 1,
			     .quorate = quorate, .now_ms = now, .fence_ms = FENCE };
	struct ha_decision out;

	ha_decide(&v, &out, NULL);
	return out;
}

static void test_rules(void **state)
{
	struct ha_dom lost = { .owner = 0, .peer = 2, .ha = true };
	struct ha_decision o;

	(void)state;
	/* 1: no quorum, nothing. */
	assert_int_equal(decide(lost, false, 99000).verdict, HA_NO_QUORUM);
	/* 2: not before the lost node's watchdog has surely reset it. */
	o = decide(lost, true, 1000 + FENCE - 1);
	assert_int_equal(o.verdict, HA_FENCE_WAIT);
	assert_int_equal(o.at_ms, 1000 + FENCE);
	/* 3: then on the node holding its replica. */
	o = decide(lost, true, 1000 + FENCE);
	assert_int_equal(o.verdict, HA_RESTART);
	assert_int_equal(o.target, 2);
	/* ... and nowhere when no member holds one. */
	assert_int_equal(decide((struct ha_dom){ .owner = 0, .peer = HA_NONE, .ha = true },
				true, 99000).verdict, HA_NO_REPLICA);
	/* ... and one without writable disks on the first member. */
	o = decide((struct ha_dom){ .owner = 0, .peer = HA_ANY, .ha = true }, true, 99000);
	assert_int_equal(o.verdict, HA_RESTART);
	assert_int_equal(o.target, 1);
	/* 4: its node is back and it does not run: there. */
	o = decide((struct ha_dom){ .owner = 1, .peer = 2, .ha = true }, true, 99000);
	assert_int_equal(o.verdict, HA_RESTART);
	assert_int_equal(o.target, 1);
	/* 5: a domain that is not HA stays down. */
	assert_int_equal(decide((struct ha_dom){ .owner = 0, .peer = 2 }, true, 99000).verdict,
			 HA_KEEP);
	/* 6: a node without a watchdog cannot be fenced: never. */
	nodes[0].unfenced = true;
	assert_int_equal(decide(lost, true, 99000).verdict, HA_UNFENCED);
	nodes[0].unfenced = false;
}

static enum ha_fence fence(bool quorate, bool member, const char *role, const char *disk)
{
	struct ha_fence_view v = { quorate, member, role, disk };

	return ha_fence(&v);
}

static void test_fence_peer(void **state)
{
	(void)state;
	/* Without quorum nothing resumes, whatever the peer would say. */
	assert_int_equal(fence(false, true, NULL, NULL), HA_FP_WAIT);
	assert_int_equal(fence(false, false, NULL, NULL), HA_FP_WAIT);
	assert_int_equal(fence(false, true, "Secondary", "Outdated"), HA_FP_WAIT);
	/* Quorate, the peer out of the membership: it cannot promote. */
	assert_int_equal(fence(true, false, NULL, NULL), HA_FP_GONE);
	/* Quorate, the peer a member: ask it, then act on its answer. */
	assert_int_equal(fence(true, true, NULL, NULL), HA_FP_ASK);
	assert_int_equal(fence(true, true, "Secondary", "Outdated"), HA_FP_OUTDATED);
	assert_int_equal(fence(true, true, "Primary", "UpToDate"), HA_FP_PRIMARY);
	assert_int_equal(fence(true, true, "Secondary", "Inconsistent"), HA_FP_INCONSISTENT);
	assert_int_equal(fence(true, true, "Secondary", "Diskless"), HA_FP_INCONSISTENT);
	/* Not outdated yet (still connected there), or down: ask again later. */
	assert_int_equal(fence(true, true, "Secondary", "UpToDate"), HA_FP_WAIT);
	assert_int_equal(fence(true, true, "", ""), HA_FP_WAIT);
	/* The exit codes are DRBD's. */
	assert_int_equal(HA_FP_OUTDATED, 4);
	assert_int_equal(HA_FP_GONE, 5);
	assert_int_equal(HA_FP_PRIMARY, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence_peer),
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

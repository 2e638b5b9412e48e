/*
 * ha_sim.c - drive the HA decision (cluster/ha.c) through a simulated rack
 * and check what must never happen.
 *
 *   ha_sim [--seed N] [--nodes N] [--domains N] [--hours H]
 *          [--fence-ms MS] [--watchdog-ms MS] [--quiet]
 *
 * The world, in 100 ms steps:
 *   - nodes crash (their domains stop at once) and boot again later;
 *   - the network splits a random set of nodes off, and later heals;
 *   - each connected group of nodes learns its new membership together
 *     (corosync's consensus), after a delay drawn from [1.5 s, 3.5 s];
 *   - a node feeds its Xen watchdog only while it is in an installed,
 *     quorate membership: from the moment its ring breaks (any change)
 *     until a quorate membership is installed again, it does not, and
 *     WATCHDOG ms after it stopped it is reset (if it runs domains);
 *   - the domain table (what CPG replicates) changes only by decisions of
 *     a quorate group: ha_decide() on that group's view, then the restart;
 *   - a replica falls behind while its node is down and the owner runs;
 *     cut off but up, it stays current (the owner's I/O is frozen by DRBD
 *     fencing), so only the fencing wait keeps two copies apart.
 * Checked at every step: no domain runs twice ("double copies" counts
 * each domain found running twice at each 100 ms step).  At the end, after the
 * network heals and every node is back: every HA domain runs.  Exit 0 when
 * both hold, 1 otherwise.  (Non-HA domains stop with their node and stay
 * stopped, as they should.)  Replica currency is the simulator's truth;
 * clusterd must learn it from DRBD (its peer-disk state, and fencing that
 * outdates a replica cut off from a running owner).
 * With --fence-ms below the watchdog minus the fastest detection, two
 * copies must appear: tests/sim/ha.sh runs that case to prove the check
 * can fail.  docs/ha.md has the timing budget.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ha.h"

#define MAX_NODES 64
#define STEP_MS 100
#define DETECT_MIN_MS 1500
#define DETECT_MAX_MS 3500
#define REBOOT_MS 60000

struct node {
	bool up;
	int group;		/* nodes in one group reach each other */
	uint64_t view;		/* the membership this node believes (bitmask) */
	int64_t view_at;	/* when a pending new view takes effect, or -1 */
	uint64_t pending;
	int64_t left_ms[MAX_NODES];	/* when it saw each node leave */
	int64_t noquorum_ms;	/* when its view lost quorum, or -1 */
	int64_t boot_at;	/* when a down node is up again */
};

struct dom {
	struct ha_dom d;	/* the replicated table's entry */
	bool current;		/* the replica on d.peer holds the latest data */
	uint64_t running;	/* nodes where a copy runs (bitmask) */
};

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int rnd(int n)
{
	return (int)(next_rand() % (uint64_t)n);
}

static int popcount(uint64_t x)
{
	return __builtin_popcountll(x);
}

int main(int argc, char **argv)
{
	int nnodes = 32, ndoms = 2000, hours = 4, quiet = 0;
	int64_t watchdog = 10000, fence = -1;
	static struct node nodes[MAX_NODES];
	struct dom *doms;
	struct ha_dom *table;
	struct ha_node hn[MAX_NODES];
	struct ha_decision *dec;
	int64_t now, end, decide_ns = 0, decide_max = 0, decisions = 0;
	long crashes = 0, splits = 0, heals = 0, resets = 0, restarts = 0;
	long double_copies = 0, lost = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
		if (!v) { fprintf(stderr, "ha_sim: %s needs a value\n", a); return 2; }
		if (!strcmp(a, "--seed")) rng = strtoull(v, NULL, 10) * 2654435761u + 1;
		else if (!strcmp(a, "--nodes")) nnodes = atoi(v);
		else if (!strcmp(a, "--domains")) ndoms = atoi(v);
		else if (!strcmp(a, "--hours")) hours = atoi(v);
		else if (!strcmp(a, "--fence-ms")) fence = atoll(v);
		else if (!strcmp(a, "--watchdog-ms")) watchdog = atoll(v);
		else { fprintf(stderr, "ha_sim: unknown option %s\n", a); return 2; }
		i++;
	}
	if (nnodes < 3 || nnodes > MAX_NODES || ndoms < 1 || hours < 1) {
		fprintf(stderr, "ha_sim: 3 to %d nodes, at least a domain and an hour\n", MAX_NODES);
		return 2;
	}
	/* The budget of docs/ha.md: the watchdog, plus the spread between
	 * the two sides learning of the split, plus a margin. */
	if (fence < 0)
		fence = watchdog + (DETECT_MAX_MS - DETECT_MIN_MS) + 2000;
	doms = calloc((size_t)ndoms, sizeof(*doms));
	table = calloc((size_t)ndoms, sizeof(*table));
	dec = calloc((size_t)ndoms, sizeof(*dec));
	if (!doms || !table || !dec)
		return 1;
	uint64_t all = nnodes == 64 ? ~0ull : (1ull << nnodes) - 1;
	for (int n = 0; n < nnodes; n++)
		nodes[n] = (struct node){ .up = true, .view = all, .view_at = -1,
					  .noquorum_ms = -1 };
	for (int i = 0; i < ndoms; i++) {
		struct dom *d = &doms[i];

		d->d.owner = rnd(nnodes);
		d->d.peer = (d->d.owner + 1 + rnd(nnodes - 1)) % nnodes;
		d->d.ha = rnd(10) < 8;	/* 80 % autorestart */
		d->current = true;
		d->running = 1ull << d->d.owner;
	}

	end = (int64_t)hours * 3600 * 1000;
	for (now = 0; now < end; now += STEP_MS) {
		bool calm = now > end - 10 * 60 * 1000;	/* the last 10 minutes */
		bool changed = false;

		/* ---- the world ---- */
		if (!calm && rnd(300) == 0) {		/* a crash, about every 30 s */
			int n = rnd(nnodes);

			if (nodes[n].up) {
				nodes[n].up = false;
				nodes[n].boot_at = now + REBOOT_MS;
				crashes++;
				changed = true;
			}
		}
		if (!calm && rnd(600) == 0) {		/* a split, about every minute */
			int g = 1 + rnd(1000), k = 1 + rnd(nnodes / 2);

			for (int j = 0; j < k; j++)
				nodes[rnd(nnodes)].group = g;
			splits++;
			changed = true;
		}
		if (calm || rnd(900) == 0) {		/* healing */
			bool any = false;

			for (int n = 0; n < nnodes; n++) {
				any |= nodes[n].group != 0;
				nodes[n].group = 0;
			}
			heals += any && !calm;
			changed |= any;
		}
		for (int n = 0; n < nnodes; n++) {
			struct node *x = &nodes[n];

			if (!x->up && now >= x->boot_at) {
				/* Booted again: no domain runs on it; joins group 0. */
				x->up = true;
				x->group = 0;
				x->view = 1ull << n;
				x->noquorum_ms = -1;
				/* It knows nothing of before: any node might have
				 * left just now, as far as it can tell. */
				for (int m = 0; m < nnodes; m++)
					x->left_ms[m] = now;
				changed = true;
			}
		}
		/* A change of who reaches whom: each group learns it together. */
		if (changed) {
			for (int g = 0; g < nnodes; g++) {
				int grp = nodes[g].group;
				uint64_t reach = 0;
				int64_t at;
				bool first = true;

				if (!nodes[g].up)
					continue;
				for (int m = 0; m < g; m++)
					if (nodes[m].up && nodes[m].group == grp)
						first = false;
				if (!first)
					continue;
				for (int m = 0; m < nnodes; m++)
					if (nodes[m].up && nodes[m].group == grp)
						reach |= 1ull << m;
				at = now + DETECT_MIN_MS + rnd(DETECT_MAX_MS - DETECT_MIN_MS + 1);
				/* The ring is broken: until a quorate membership
				 * is installed, nobody feeds its watchdog. */
				for (int m = 0; m < nnodes; m++)
					if (reach & (1ull << m)) {
						nodes[m].pending = reach;
						nodes[m].view_at = at;
						if (nodes[m].noquorum_ms < 0)
							nodes[m].noquorum_ms = now;
					}
			}
		}
		for (int n = 0; n < nnodes; n++) {
			struct node *x = &nodes[n];

			if (!x->up || x->view_at < 0 || now < x->view_at)
				continue;
			for (int m = 0; m < nnodes; m++)
				if ((x->view & (1ull << m)) && !(x->pending & (1ull << m)))
					x->left_ms[m] = now;
			x->view = x->pending;
			x->view_at = -1;
			if (popcount(x->view) * 2 > nnodes)
				x->noquorum_ms = -1;
			else if (x->noquorum_ms < 0)
				x->noquorum_ms = now;
		}
		/* The watchdog, armed while a node runs domains: without quorum
		 * it resets the node.  A node running nothing has nothing to fence. */
		uint64_t busy = 0;

		for (int i = 0; i < ndoms; i++)
			busy |= doms[i].running;
		for (int n = 0; n < nnodes; n++) {
			struct node *x = &nodes[n];

			if (x->up && (busy & (1ull << n)) && x->noquorum_ms >= 0 &&
			    now >= x->noquorum_ms + watchdog) {
				x->up = false;
				x->boot_at = now + REBOOT_MS;
				resets++;
			}
		}
		/* Copies on nodes that are down are gone; replicas fall behind. */
		for (int i = 0; i < ndoms; i++) {
			struct dom *d = &doms[i];
			int o = d->d.owner, p = d->d.peer;

			for (int n = 0; n < nnodes; n++)
				if (!nodes[n].up)
					d->running &= ~(1ull << n);
			/* A replica falls behind only while its node is down: an
			 * owner cut off from a live peer freezes its I/O (DRBD
			 * fencing) until it is reset, so the peer stays current,
			 * and is promotable: only the fencing wait keeps two
			 * copies from running. */
			if ((d->running & (1ull << o)) && !nodes[p].up)
				d->current = false;
			else if (nodes[o].up && nodes[p].up && nodes[p].group == nodes[o].group)
				d->current = true;	/* connected: resynced */
			if (popcount(d->running) > 1)
				double_copies++;
		}

		/* ---- the decision, in every group whose view is quorate ---- */
		for (int g = 0; g < nnodes; g++) {
			struct node *x = &nodes[g];
			struct ha_view v;
			struct timespec t0, t1;
			/* While corosync forms a new membership nothing is
			 * delivered: only an installed, quorate view acts. */
			bool leader = x->up && x->view_at < 0 && popcount(x->view) * 2 > nnodes;
			int64_t ns;

			for (int m = 0; m < g && leader; m++)
				if (nodes[m].up && nodes[m].group == x->group && nodes[m].view == x->view)
					leader = false;
			if (!leader)
				continue;
			for (int m = 0; m < nnodes; m++)
				hn[m] = (struct ha_node){ .member = !!(x->view & (1ull << m)),
							  .left_ms = x->left_ms[m] };
			for (int i = 0; i < ndoms; i++) {
				table[i] = doms[i].d;
				table[i].running = !!(doms[i].running & (1ull << doms[i].d.owner));
				/* DRBD would refuse to promote an outdated replica. */
				if (!doms[i].current)
					table[i].peer = HA_NONE;
			}
			v = (struct ha_view){ .nodes = hn, .nnodes = (size_t)nnodes,
					      .doms = table, .ndoms = (size_t)ndoms,
					      .quorate = true, .now_ms = now, .fence_ms = fence };
			clock_gettime(CLOCK_MONOTONIC, &t0);
			ha_decide(&v, dec, NULL);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ns = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
			decide_ns += ns;
			decide_max = ns > decide_max ? ns : decide_max;
			decisions++;
			for (int i = 0; i < ndoms; i++) {
				struct dom *d = &doms[i];
				int t = dec[i].target;

				if (dec[i].verdict != HA_RESTART)
					continue;
				/* The target must still be reachable from this group. */
				if (!nodes[t].up || nodes[t].group != x->group)
					continue;
				if (t != d->d.owner) {
					d->d.peer = d->d.owner;
					d->d.owner = t;
					d->current = false;	/* the old node is down */
				}
				d->running |= 1ull << t;
				restarts++;
				if (popcount(d->running) > 1)
					double_copies++;
			}
		}
	}
	/* Every node is back and the network whole: every HA domain runs. */
	for (int i = 0; i < ndoms; i++)
		if (doms[i].d.ha && !doms[i].running)
			lost++;
	if (!quiet || double_copies || lost)
		printf("ha_sim: %d nodes, %d domains, %d h; fence %" PRId64 " ms, watchdog %" PRId64
		       " ms, detection %d-%d ms\n"
		       "  events: %ld crashes, %ld splits, %ld heals, %ld watchdog resets; %ld restarts\n"
		       "  double copies: %ld   HA domains not running at the end: %ld\n"
		       "  decision over %d domains: %" PRId64 " calls, mean %.1f us, max %.1f us\n",
		       nnodes, ndoms, hours, fence, watchdog, DETECT_MIN_MS, DETECT_MAX_MS,
		       crashes, splits, heals, resets, restarts, double_copies, lost,
		       ndoms, decisions,
		       decisions ? decide_ns / 1e3 / (double)decisions : 0.0, decide_max / 1e3);
	free(doms);
	free(table);
	free(dec);
	return double_copies || lost ? 1 : 0;
}

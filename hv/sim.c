/*
 * sim.c - a simulated hypervisor backend.
 *
 * For fast tests of clusterd and clusterctl on machines without Xen.  It
 * keeps domains in memory, honours shutdown requests with the domain's
 * on_poweroff action and gives each domain a pty as its console that prints
 * a boot banner.  It never stands in for the proof on real Xen
 * (tests/integration/ does that).
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"

struct sim_dom {
	char name[HV_NAME_MAX + 1];
	uint32_t domid;
	unsigned mem_mb, vcpus;
	bool paused;
	enum hv_action on_poweroff;
	double cpu_time;	/* seconds run before the last pause */
	double since;		/* when it last began running */
	int master, slave;	/* console pty */
};

struct hv_backend {
	struct sim_dom *v;
	size_t n;
	uint32_t next_domid;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sim_dom *find(struct hv_backend *be, uint32_t domid, char *err)
{
	for (size_t i = 0; i < be->n; i++)
		if (be->v[i].domid == domid)
			return &be->v[i];
	snprintf(err, HV_ERR_LEN, "no domain with id %u", domid);
	return NULL;
}

static int sim_open(struct hv_backend **out, char *err)
{
	struct hv_backend *be = calloc(1, sizeof(*be));

	(void)err;
	if (!be)
		return -ENOMEM;
	be->next_domid = 1;
	*out = be;
	return 0;
}

static void drop(struct hv_backend *be, struct sim_dom *d)
{
	close(d->master);
	close(d->slave);
	*d = be->v[--be->n];
}

static void sim_close(struct hv_backend *be)
{
	if (!be)
		return;
	while (be->n)
		drop(be, &be->v[0]);
	free(be->v);
	free(be);
}

static int sim_create(struct hv_backend *be, const struct hv_domain *dom,
		      uint32_t *domid, char *err)
{
	struct sim_dom *v, *d;
	struct termios tio;
	char banner[128];
	int len;

	v = realloc(be->v, (be->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	be->v = v;
	d = &be->v[be->n];
	memset(d, 0, sizeof(*d));
	if (openpty(&d->master, &d->slave, NULL, NULL, NULL)) {
		snprintf(err, HV_ERR_LEN, "cannot allocate a console pty: %s",
			 strerror(errno));
		return -errno;
	}
	fcntl(d->master, F_SETFD, FD_CLOEXEC);
	fcntl(d->slave, F_SETFD, FD_CLOEXEC);
	/* Raw, as xenconsoled leaves its ptys. */
	tcgetattr(d->slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(d->slave, TCSANOW, &tio);
	snprintf(d->name, sizeof(d->name), "%s", dom->name);
	d->domid = be->next_domid++;
	d->mem_mb = dom->memory_mb;
	d->vcpus = dom->vcpus;
	d->on_poweroff = dom->on_poweroff;
	d->since = now_s();
	len = snprintf(banner, sizeof(banner),
		       "[sim] domain %s (id %u) booting\r\n", d->name, d->domid);
	if (write(d->master, banner, (size_t)len) != len) {
		snprintf(err, HV_ERR_LEN, "cannot write the console banner");
		close(d->master);
		close(d->slave);
		return -EIO;
	}
	be->n++;
	*domid = d->domid;
	return 0;
}

static int sim_list(struct hv_backend *be, struct hv_dominfo **out, size_t *n,
		    char *err)
{
	struct hv_dominfo *v = calloc(be->n + 1, sizeof(*v));
	double t = now_s();

	(void)err;
	if (!v)
		return -ENOMEM;
	snprintf(v[0].name, sizeof(v[0].name), "Domain-0");
	v[0].mem_kb = 512 * 1024;
	v[0].vcpus = 1;
	snprintf(v[0].state, sizeof(v[0].state), "r-----");
	for (size_t i = 0; i < be->n; i++) {
		const struct sim_dom *d = &be->v[i];
		struct hv_dominfo *o = &v[i + 1];

		snprintf(o->name, sizeof(o->name), "%s", d->name);
		o->domid = d->domid;
		o->mem_kb = (uint64_t)d->mem_mb * 1024;
		o->vcpus = d->vcpus;
		o->cpu_time = d->cpu_time + (d->paused ? 0 : (t - d->since) / 100);
		snprintf(o->state, sizeof(o->state), d->paused ? "--p---" : "-b----");
	}
	*out = v;
	*n = be->n + 1;
	return 0;
}

static int sim_shutdown(struct hv_backend *be, uint32_t domid, char *err)
{
	struct sim_dom *d = find(be, domid, err);

	if (!d)
		return -ENOENT;
	/* The simulated guest obeys at once; poweroff acts on on_poweroff. */
	if (d->on_poweroff == HV_ACT_RESTART) {
		d->domid = be->next_domid++;
		d->cpu_time = 0;
		d->since = now_s();
		return 0;
	}
	drop(be, d);
	return 0;
}

static int sim_destroy(struct hv_backend *be, uint32_t domid, char *err)
{
	struct sim_dom *d = find(be, domid, err);

	if (!d)
		return -ENOENT;
	drop(be, d);
	return 0;
}

static int sim_pause(struct hv_backend *be, uint32_t domid, char *err)
{
	struct sim_dom *d = find(be, domid, err);

	if (!d)
		return -ENOENT;
	if (!d->paused)
		d->cpu_time += (now_s() - d->since) / 100;
	d->paused = true;
	return 0;
}

static int sim_unpause(struct hv_backend *be, uint32_t domid, char *err)
{
	struct sim_dom *d = find(be, domid, err);

	if (!d)
		return -ENOENT;
	if (d->paused)
		d->since = now_s();
	d->paused = false;
	return 0;
}

static int sim_console(struct hv_backend *be, uint32_t domid, int *fd, char *err)
{
	struct sim_dom *d = find(be, domid, err);

	if (!d)
		return -ENOENT;
	*fd = fcntl(d->slave, F_DUPFD_CLOEXEC, 0);
	return *fd < 0 ? -errno : 0;
}

const struct hv_ops hv_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.create = sim_create,
	.list = sim_list,
	.shutdown = sim_shutdown,
	.destroy = sim_destroy,
	.pause = sim_pause,
	.unpause = sim_unpause,
	.console = sim_console,
};

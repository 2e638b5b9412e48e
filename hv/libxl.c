/*
 * libxl.c - the hypervisor backend over libxl (Xen 4.17).
 *
 * clusterd owns the one libxl context of the node.  libxl's events are
 * folded into clusterd's poll() loop with libxl_osevent_beforepoll/afterpoll;
 * a death watch on every guest lets us carry out its on_poweroff, on_reboot
 * and on_crash actions, which libxl records but leaves to the toolstack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>

#include "hv.h"
#include "libxl_map.h"
#include "log.h"
#include "util.h"

struct watch {
	uint32_t domid;
	libxl_evgen_domain_death *evgen;
};

#define HV_CRASH_SLOTS 64

struct hv_backend {
	libxl_ctx *ctx;
	struct hv_crashes crashes[HV_CRASH_SLOTS];	/* crash-loop counts */
	struct watch *watches;
	size_t nwatches;
};

static int xl_errno(int rc)
{
	switch (rc) {
	case ERROR_NOMEM:        return -ENOMEM;
	case ERROR_INVAL:        return -EINVAL;
	case ERROR_DOMAIN_NOTFOUND: return -ENOENT;
	case ERROR_NOPARAVIRT:   return -EOPNOTSUPP;
	default:                 return -EIO;
	}
}

/* libxl's messages go where ours go: stderr or syslog (log.h). */
static void xtl_vmessage(xentoollog_logger *lg, xentoollog_level level,
			 int errnoval, const char *context, const char *fmt,
			 va_list ap)
{
	char buf[1024];
	int prio = level >= XTL_ERROR ? 3 : level >= XTL_WARN ? 4 :
		   level >= XTL_PROGRESS ? 6 : 7;

	(void)lg;
	if (prio == 7 && !log_debug_enabled("libxl"))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_msg(prio, context ? context : "libxl", "%s%s%s", buf,
		errnoval >= 0 ? ": " : "", errnoval >= 0 ? strerror(errnoval) : "");
}

static void xtl_destroy(xentoollog_logger *lg)
{
	(void)lg;	/* static */
}

static xentoollog_logger logger = { .vmessage = xtl_vmessage, .destroy = xtl_destroy };

xentoollog_logger *hv_libxl_logger(void)
{
	return &logger;
}

int hv_libxl_open_ctx(libxl_ctx **out)
{
	/* Our processes have children of their own (peer requests,
	 * drbdadm): libxl must reap only its own, or our waitpid() finds
	 * them gone. */
	static const libxl_childproc_hooks hooks = {
		.chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
	};

	if (libxl_ctx_alloc(out, LIBXL_VERSION, 0, &logger)) {
		*out = NULL;
		return -ENODEV;
	}
	libxl_childproc_setmode(*out, &hooks, NULL);
	return 0;
}

static void watch_add(struct hv_backend *be, uint32_t domid)
{
	struct watch *w;
	libxl_evgen_domain_death *evgen;

	for (size_t i = 0; i < be->nwatches; i++)
		if (be->watches[i].domid == domid)
			return;
	if (libxl_evenable_domain_death(be->ctx, domid, domid, &evgen)) {
		log_warn("domain %u: cannot watch for its shutdown", domid);
		return;
	}
	w = realloc(be->watches, (be->nwatches + 1) * sizeof(*w));
	if (!w) {
		libxl_evdisable_domain_death(be->ctx, evgen);
		return;
	}
	be->watches = w;
	be->watches[be->nwatches++] = (struct watch){ domid, evgen };
}

static void watch_drop(struct hv_backend *be, uint32_t domid)
{
	for (size_t i = 0; i < be->nwatches; i++) {
		if (be->watches[i].domid != domid)
			continue;
		libxl_evdisable_domain_death(be->ctx, be->watches[i].evgen);
		be->watches[i] = be->watches[--be->nwatches];
		return;
	}
}

static int xl_open(struct hv_backend **out, char *err)
{
	struct hv_backend *be = calloc(1, sizeof(*be));
	libxl_dominfo *info;
	int n, i, rc;

	if (!be)
		return -ENOMEM;
	rc = hv_libxl_open_ctx(&be->ctx);
	if (rc) {
		snprintf(err, HV_ERR_LEN, "cannot open libxl (is this Xen's Dom0, "
			 "with xenstored running?)");
		free(be);
		return -ENODEV;
	}
	/* Guests started before we were: watch them too, kill nothing. */
	info = libxl_list_domain(be->ctx, &n);
	for (i = 0; info && i < n; i++)
		if (info[i].domid != 0)
			watch_add(be, info[i].domid);
	if (info)
		libxl_dominfo_list_free(info, n);
	*out = be;
	return 0;
}

static void xl_close(struct hv_backend *be)
{
	if (!be)
		return;
	while (be->nwatches)
		watch_drop(be, be->watches[0].domid);
	free(be->watches);
	libxl_ctx_free(be->ctx);
	free(be);
}

static int xl_create(struct hv_backend *be, const struct hv_domain *dom,
		     uint32_t *domid, char *err)
{
	libxl_domain_config dc;
	int rc;

	libxl_domain_config_init(&dc);
	rc = hv_libxl_config(dom, &dc, err);
	if (rc)
		goto out;
	*domid = INVALID_DOMID;
	rc = libxl_domain_create_new(be->ctx, &dc, domid, NULL, NULL);
	if (rc) {
		snprintf(err, HV_ERR_LEN, "libxl could not create domain %s "
			 "(libxl error %d; the node's log has the details)",
			 dom->name, rc);
		/* libxl tears a failed domain down itself, except when aborted. */
		if (rc == ERROR_ABORTED && *domid != (uint32_t)INVALID_DOMID)
			libxl_domain_destroy(be->ctx, *domid, NULL);
		rc = xl_errno(rc);
		goto out;
	}
	rc = libxl_domain_unpause(be->ctx, *domid, NULL);
	if (rc) {
		snprintf(err, HV_ERR_LEN, "domain %s was built but would not start "
			 "(libxl error %d); destroyed it", dom->name, rc);
		libxl_domain_destroy(be->ctx, *domid, NULL);
		rc = xl_errno(rc);
		goto out;
	}
	watch_add(be, *domid);
out:
	libxl_domain_config_dispose(&dc);
	return rc;
}

static void state_flags(const libxl_dominfo *d, char *s)
{
	bool crashed = d->shutdown &&
		       d->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH;

	s[0] = d->running ? 'r' : '-';
	s[1] = d->blocked ? 'b' : '-';
	s[2] = d->paused ? 'p' : '-';
	s[3] = d->shutdown && !crashed ? 's' : '-';
	s[4] = crashed ? 'c' : '-';
	s[5] = d->dying ? 'd' : '-';
	s[6] = '\0';
}

static int xl_list(struct hv_backend *be, struct hv_dominfo **out, size_t *n,
		   char *err)
{
	libxl_dominfo *info;
	struct hv_dominfo *v;
	int nb, i;

	info = libxl_list_domain(be->ctx, &nb);
	if (!info) {
		snprintf(err, HV_ERR_LEN, "libxl could not list domains");
		return -EIO;
	}
	v = calloc((size_t)nb + 1, sizeof(*v));
	if (!v) {
		libxl_dominfo_list_free(info, nb);
		return -ENOMEM;
	}
	for (i = 0; i < nb; i++) {
		char *name = libxl_domid_to_name(be->ctx, info[i].domid);

		/* One that came in by migration, or resumed after one. */
		if (info[i].domid && !info[i].shutdown && !info[i].dying)
			watch_add(be, info[i].domid);

		snprintf(v[i].name, sizeof(v[i].name), "%s", name ? name : "(null)");
		free(name);
		v[i].domid = info[i].domid;
		v[i].mem_kb = info[i].current_memkb;
		v[i].vcpus = info[i].vcpu_online;
		v[i].cpu_time = (double)info[i].cpu_time / 1e9;
		state_flags(&info[i], v[i].state);
	}
	libxl_dominfo_list_free(info, nb);
	*out = v;
	*n = (size_t)nb;
	return 0;
}

static int xl_shutdown(struct hv_backend *be, uint32_t domid, char *err)
{
	int rc = libxl_domain_shutdown(be->ctx, domid, NULL);

	if (rc == ERROR_NOPARAVIRT)
		snprintf(err, HV_ERR_LEN, "the guest has no PV drivers to hear a "
			 "shutdown request; use destroy");
	else if (rc)
		snprintf(err, HV_ERR_LEN, "libxl could not send the shutdown "
			 "request (libxl error %d)", rc);
	return rc ? xl_errno(rc) : 0;
}

static int xl_destroy(struct hv_backend *be, uint32_t domid, char *err)
{
	int rc = libxl_domain_destroy(be->ctx, domid, NULL);

	if (rc) {
		snprintf(err, HV_ERR_LEN, "libxl could not destroy the domain "
			 "(libxl error %d)", rc);
		return xl_errno(rc);
	}
	watch_drop(be, domid);
	return 0;
}

static int xl_pause(struct hv_backend *be, uint32_t domid, char *err)
{
	int rc = libxl_domain_pause(be->ctx, domid, NULL);

	if (rc)
		snprintf(err, HV_ERR_LEN, "libxl could not pause (libxl error %d)", rc);
	return rc ? xl_errno(rc) : 0;
}

static int xl_unpause(struct hv_backend *be, uint32_t domid, char *err)
{
	int rc = libxl_domain_unpause(be->ctx, domid, NULL);

	if (rc)
		snprintf(err, HV_ERR_LEN, "libxl could not unpause (libxl error %d)", rc);
	return rc ? xl_errno(rc) : 0;
}

static int xl_console(struct hv_backend *be, uint32_t domid, int *fd, char *err)
{
	char *path = NULL;
	int rc;

	rc = libxl_console_get_tty(be->ctx, domid, 0, LIBXL_CONSOLE_TYPE_PV, &path);
	if (rc || !path) {
		snprintf(err, HV_ERR_LEN, "domain %u has no PV console (is "
			 "xenconsoled running?)", domid);
		free(path);
		return -ENOENT;
	}
	*fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*fd < 0) {
		rc = -errno;
		snprintf(err, HV_ERR_LEN, "opening console %s: %s", path, strerror(-rc));
	}
	free(path);
	return *fd < 0 ? rc : 0;
}

/* Write the dead domain's memory to HV_DUMP_DIR before it goes. */
static void core_dump(struct hv_backend *be, uint32_t domid, const char *name)
{
	char path[256];
	int rc;

	if (mkdir(HV_DUMP_DIR, 0700) && errno != EEXIST) {
		log_err("domain %s: cannot create %s: %s", name, HV_DUMP_DIR,
			strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/%s-%ld.core", HV_DUMP_DIR, name,
		 (long)time(NULL));
	rc = libxl_domain_core_dump(be->ctx, domid, path, NULL);
	if (rc)
		log_err("domain %s: core dump to %s failed (libxl error %d)",
			name, path, rc);
	else
		log_info("domain %s: core dumped to %s", name, path);
}

/* Carry out the domain's configured action for why it stopped. */
static void on_shutdown(struct hv_backend *be, uint32_t domid,
			libxl_shutdown_reason reason)
{
	libxl_domain_config dc;
	libxl_action_on_shutdown act;
	uint32_t newid = INVALID_DOMID;
	const char *name;
	int rc;

	if (reason == LIBXL_SHUTDOWN_REASON_SUSPEND) {
		/* A migration owns it now.  libxl reports one shutdown a watch:
		 * should it resume here, the next list watches it again. */
		watch_drop(be, domid);
		return;
	}
	libxl_domain_config_init(&dc);
	rc = libxl_retrieve_domain_configuration(be->ctx, domid, &dc, NULL);
	if (rc) {
		log_warn("domain %u stopped and its configuration is gone; destroying it",
			 domid);
		act = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	} else {
		act = hv_libxl_action(&dc, reason);
	}
	name = dc.c_info.name ? dc.c_info.name : "?";
	if (reason == LIBXL_SHUTDOWN_REASON_CRASH &&
	    (act == LIBXL_ACTION_ON_SHUTDOWN_RESTART ||
	     act == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)) {
		unsigned n;

		if (!hv_crash_restart_ok(be->crashes, HV_CRASH_SLOTS, name,
					 xr_now_ms(), &n)) {
			log_err("domain %s crashed %u times in %d s: a crash loop; left "
				"crashed (state c) instead of restarted; destroy it to clear",
				name, n, HV_CRASH_LOOP_S);
			act = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
		}
	}
	log_info("domain %u (%s) stopped: %s; action %s", domid, name,
		 libxl_shutdown_reason_to_string(reason),
		 libxl_action_on_shutdown_to_string(act));
	if (act == LIBXL_ACTION_ON_SHUTDOWN_PRESERVE)
		goto out;
	if (act == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ||
	    act == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)
		core_dump(be, domid, name);
	watch_drop(be, domid);
	libxl_domain_destroy(be->ctx, domid, NULL);
	if (act != LIBXL_ACTION_ON_SHUTDOWN_RESTART &&
	    act != LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART)
		goto out;
	rc = libxl_domain_create_new(be->ctx, &dc, &newid, NULL, NULL);
	if (!rc)
		rc = libxl_domain_unpause(be->ctx, newid, NULL);
	if (rc) {
		log_err("domain %s: restart failed (libxl error %d)", name, rc);
		if (newid != (uint32_t)INVALID_DOMID)
			libxl_domain_destroy(be->ctx, newid, NULL);
	} else {
		log_info("domain %s: restarted as id %u", name, newid);
		watch_add(be, newid);
	}
out:
	libxl_domain_config_dispose(&dc);
}

static int xl_poll_prepare(struct hv_backend *be, struct pollfd *fds,
			   int *nfds, int *timeout_ms)
{
	struct timeval now;
	int rc;

	gettimeofday(&now, NULL);
	rc = libxl_osevent_beforepoll(be->ctx, nfds, fds, timeout_ms, now);
	return rc == ERROR_BUFFERFULL ? -ENOBUFS : rc ? -EIO : 0;
}

static void xl_poll_dispatch(struct hv_backend *be, struct pollfd *fds, int nfds)
{
	struct timeval now;
	libxl_event *ev;

	gettimeofday(&now, NULL);
	libxl_osevent_afterpoll(be->ctx, nfds, fds, now);
	while (!libxl_event_check(be->ctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL)) {
		switch (ev->type) {
		case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
			on_shutdown(be, ev->domid, ev->u.domain_shutdown.shutdown_reason);
			break;
		case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
			watch_drop(be, ev->domid);
			break;
		default:
			break;
		}
		libxl_event_free(be->ctx, ev);
	}
}

const struct hv_ops hv_libxl_ops = {
	.name = "libxl",
	.open = xl_open,
	.close = xl_close,
	.create = xl_create,
	.list = xl_list,
	.shutdown = xl_shutdown,
	.destroy = xl_destroy,
	.pause = xl_pause,
	.unpause = xl_unpause,
	.console = xl_console,
	.poll_prepare = xl_poll_prepare,
	.poll_dispatch = xl_poll_dispatch,
};

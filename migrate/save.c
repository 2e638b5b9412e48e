/*
 * save.c - the save process (clusterd --migrate-save): xc_domain_save() of
 * one domain into a pipe, with our precopy policy and suspend callbacks.
 *
 * It runs alone, single-threaded, in a process of its own, as libxl runs
 * libxc's save in libxl-save-helper.  The process that maps a guest's
 * memory page after page holds nothing else: in the virtual rack, nested
 * Xen PV under TCG has been seen to corrupt the heap of a process that
 * maps foreign pages while another of its threads works (docs/migration.md,
 * "The save process").  The sender (send.c) keeps the TLS session, the
 * pump and the progress; this process tells it, over a socket, each round
 * and at the end what became of the domain.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libxl.h>
#include <xenctrl.h>
#include <xenguest.h>

#include "ctl.h"
#include "hv.h"
#include "log.h"
#include "mig.h"
#include "util.h"

static volatile sig_atomic_t cancelled;

static void on_cancel(int sig)
{
	(void)sig;
	cancelled = 1;
}

struct saver {
	libxl_ctx *ctx;
	xc_interface *xch;
	uint32_t domid;
	int ctl;			/* to the sender */
	char fault[24];
	struct mig_state ps;
	unsigned round;
	uint64_t round_dirty, sent_pages;
	int64_t t_start, t_round, round_ms, t_suspend;
	int data;			/* the stream's pipe */
	int orig_cap;
	bool capped, suspended, gave_up, lost;
	char why[CTL_ERR_LEN];
};

static void tell(struct saver *s, uint16_t type, struct json_object *o)
{
	/* The sender is gone: stop at the next decision. */
	if (!s->lost && ctl_send(s->ctl, type, o, -1))
		s->lost = true;
	json_object_put(o);
}

static void jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void set_cap(struct saver *s, int cap)
{
	libxl_domain_sched_params p;

	libxl_domain_sched_params_init(&p);
	if (!libxl_domain_sched_params_get(s->ctx, s->domid, &p)) {
		if (!s->capped) {
			s->orig_cap = p.cap == LIBXL_DOMAIN_SCHED_PARAM_CAP_DEFAULT ? 0 : p.cap;
			s->capped = true;
		}
		p.cap = cap;
		if (libxl_domain_sched_params_set(s->ctx, s->domid, &p))
			log_warn("migrate: domain %u: cannot cap its CPU at %d%%", s->domid, cap);
	}
	libxl_domain_sched_params_dispose(&p);
}

/* Called twice a round: before it with the dirty count (>= 0), and after
 * it with -1.  The decision is made before; after, the round is timed. */
static int precopy_policy(struct precopy_stats st, void *data)
{
	struct saver *s = data;
	int64_t now = xr_now_ms();
	struct json_object *o;
	enum mig_verdict v;

	if (cancelled || s->lost)
		return XGS_POLICY_ABORT;
	if (st.dirty_count < 0) {
		s->round_ms = now - s->t_round;
		s->sent_pages += s->round_dirty;
		return XGS_POLICY_CONTINUE_PRECOPY;
	}
	s->round++;
	v = mig_policy_decide(&s->ps, &(struct mig_round){
		.round = s->round, .dirty = (uint64_t)st.dirty_count,
		.sent_pages = s->sent_pages, .send_ms = s->round_ms,
		.last_dirty = s->round_dirty });
	s->round_dirty = (uint64_t)st.dirty_count;
	s->t_round = now;
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string("round"));
	jint(o, "round", s->round);
	jint(o, "dirty_pages", st.dirty_count);
	jint(o, "elapsed_ms", now - s->t_start);
	if (s->ps.rate > 0) {
		json_object_object_add(o, "rate_mib_s", json_object_new_double(
			s->ps.rate * MIG_PAGE * 1000 / (1 << 20)));
		jint(o, "projected_downtime_ms", s->ps.projected_ms);
		jint(o, "eta_ms", (int64_t)((double)st.dirty_count / s->ps.rate));
	}
	if (v == MIG_THROTTLE || s->ps.cap)
		jint(o, "cap_pct", s->ps.cap);
	json_object_object_add(o, "decision", json_object_new_string(
		v == MIG_STOP_AND_COPY ? "stop-and-copy" : v == MIG_THROTTLE ? "throttle" :
		v == MIG_GIVE_UP ? "give-up" : "continue"));
	tell(s, CTL_PROGRESS, o);
	if (!strcmp(s->fault, "precopy") && s->round == 2) {
		o = json_object_new_object();
		json_object_object_add(o, "event", json_object_new_string("fault"));
		json_object_object_add(o, "where", json_object_new_string("in precopy round 2"));
		tell(s, CTL_PROGRESS, o);
	}
	switch (v) {
	case MIG_THROTTLE:
		log_info("migrate: round %u makes no progress; capping the guest at %d%% of "
			 "a CPU", s->round, s->ps.cap);
		set_cap(s, s->ps.cap);
		return XGS_POLICY_CONTINUE_PRECOPY;
	case MIG_STOP_AND_COPY:
		log_info("migrate: stop-and-copy after round %u: %s", s->round, s->ps.why);
		return XGS_POLICY_STOP_AND_COPY;
	case MIG_GIVE_UP:
		s->gave_up = true;
		snprintf(s->why, sizeof(s->why), "%s", s->ps.why);
		return XGS_POLICY_ABORT;
	default:
		return XGS_POLICY_CONTINUE_PRECOPY;
	}
}

static int suspend_cb(void *data)
{
	struct saver *s = data;
	int rc;

	if (cancelled || s->lost)
		return 0;	/* libxc gives up: not suspended */
	s->t_suspend = xr_now_ms();
	rc = libxl_domain_suspend_only(s->ctx, s->domid, NULL);
	if (rc) {
		snprintf(s->why, sizeof(s->why), "libxl could not suspend the domain "
			 "(libxl error %d)", rc);
		return 0;
	}
	s->suspended = true;
	if (!strcmp(s->fault, "stop-and-copy")) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("fault"));
		json_object_object_add(o, "where", json_object_new_string("in stop-and-copy"));
		tell(s, CTL_PROGRESS, o);
	}
	return 1;
}

/* The request: {"domid", "data_fd", "ctl_fd", the policy's fields,
 * "fault", "t_start"}; send.c's spawn_saver() writes it. */
static int parse(struct saver *s, const char *js)
{
	struct json_object *o = json_tokener_parse(js), *v;
	struct mig_policy p = { 0 };
	int ok = 0;

	if (!o)
		return -EINVAL;
	if (json_object_object_get_ex(o, "domid", &v)) {
		s->domid = (uint32_t)json_object_get_int64(v);
		ok++;
	}
	s->data = json_object_object_get_ex(o, "data_fd", &v) ? json_object_get_int(v) : -1;
	s->ctl = json_object_object_get_ex(o, "ctl_fd", &v) ? json_object_get_int(v) : -1;
	if (json_object_object_get_ex(o, "downtime_ms", &v))
		p.downtime_ms = json_object_get_int(v);
	if (json_object_object_get_ex(o, "max_rounds", &v))
		p.max_rounds = json_object_get_int(v);
	if (json_object_object_get_ex(o, "throttle", &v))
		p.throttle = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "mem_pages", &v))
		p.mem_pages = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "t_start", &v))
		s->t_start = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "fault", &v))
		snprintf(s->fault, sizeof(s->fault), "%s", json_object_get_string(v));
	mig_policy_init(&s->ps, &p);
	json_object_put(o);
	return ok && s->data >= 0 && s->ctl >= 0 ? 0 : -EINVAL;
}

int mig_save_main(const char *request)
{
	struct saver s = { .ctl = -1, .data = -1 };
	struct save_callbacks cb = { .suspend = suspend_cb, .precopy_policy = precopy_policy,
				     .data = &s };
	struct sigaction sa = { .sa_handler = on_cancel };
	struct json_object *r = json_object_new_object();
	uint8_t head[24], tail[8];
	int rc;

	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = parse(&s, request);
	if (rc)
		snprintf(s.why, sizeof(s.why), "the save process got a bad request");
	else if (hv_libxl_open_ctx(&s.ctx) ||
		 !(s.xch = xc_interface_open(hv_libxl_logger(), hv_libxl_logger(), 0)))
		rc = -ENODEV;
	if (rc == -ENODEV)
		snprintf(s.why, sizeof(s.why), "cannot open libxl and libxc");
	if (!rc) {
		mig_stream_head(head);
		mig_stream_tail(tail);
		rc = xr_write_all(s.data, head, sizeof(head));
		if (!rc && xc_domain_save(s.xch, s.data, s.domid, XCFLAGS_LIVE, &cb,
					  XC_STREAM_PLAIN, -1))
			rc = s.gave_up ? -ETIMEDOUT : cancelled ? -ECANCELED : -EIO;
		if (!rc)
			rc = xr_write_all(s.data, tail, sizeof(tail));
		if (rc && !s.why[0])
			snprintf(s.why, sizeof(s.why), cancelled ? "cancelled" :
				 "the save failed (libxc's reason is in the node's log)");
	}
	if (s.data >= 0)
		close(s.data);	/* the pump's end of stream */
	/* Not suspended: the guest runs on here, as fast as before. */
	if (s.capped && !s.suspended) {
		set_cap(&s, s.orig_cap);
		s.capped = false;
	}
	json_object_object_add(r, "ok", json_object_new_boolean(!rc));
	json_object_object_add(r, "error", json_object_new_string(s.why));
	json_object_object_add(r, "errno", json_object_new_int(-rc));
	json_object_object_add(r, "suspended", json_object_new_boolean(s.suspended));
	json_object_object_add(r, "capped", json_object_new_boolean(s.capped));
	jint(r, "orig_cap", s.orig_cap);
	jint(r, "t_suspend", s.t_suspend);
	jint(r, "rounds", s.round);
	tell(&s, CTL_REPLY, r);
	if (s.xch)
		xc_interface_close(s.xch);
	if (s.ctx)
		libxl_ctx_free(s.ctx);
	return rc ? 1 : 0;
}

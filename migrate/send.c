/*
 * send.c - the source side of a live migration (clusterd --migrate-out,
 * or a peer's CTL_PEER_MIGRATE): one process per migration.
 *
 * It checks the domain and its disks, opens the two-primaries window and
 * the TLS session to the target, and has the target check the hello.  The
 * save process (save.c) then writes the stream into a pipe, round after
 * round, while the pump thread (transport.c) hashes, compresses and sends
 * it; the rounds are relayed to clusterctl as they come.  The domain keeps
 * running here until the target has restored it and been told to commit;
 * any failure before that resumes it here.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libxl.h>
#include <libxl_utils.h>
#include <openssl/ssl.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "mig.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

#define HELLO_MS    120000	/* the target checks, promotes its disks */
#define FRAME_MS    60000	/* one frame, either way */
#define RESTORE_MS  300000	/* the target's restore after the last byte */

static volatile sig_atomic_t cancelled;

static void on_cancel(int sig)
{
	(void)sig;
	cancelled = 1;
}

struct sender {
	struct clu_daemon *d;
	const struct mig_opts *o;
	struct mig_sink *sink;
	libxl_ctx *ctx;
	uint32_t domid;
	SSL *ssl;
	const struct clu_node *to;
	struct st_res *res;
	size_t nres;
	uint64_t mem_pages;

	struct mig_pump pump;		/* the stream's sending half */
	atomic_bool cut;		/* a fault cut the connection */

	/* what the save process said */
	unsigned rounds;
	int64_t t_start, t_suspend, t_done, restore_ms;
	int orig_cap;
	bool capped, suspended;
	char why[CTL_ERR_LEN];
};

/* ---- progress, to clusterctl ---- */

static void emit(struct sender *s, struct json_object *o)
{
	char err[CTL_ERR_LEN];
	int rc;

	if (s->sink->fd >= 0)
		rc = ctl_send(s->sink->fd, CTL_PROGRESS, o, -1);
	else if (s->sink->ssl)
		rc = xr_tls_send(s->sink->ssl, CTL_PROGRESS, o, FRAME_MS, err);
	else
		rc = 0;
	/* clusterctl went away: the migration goes on; --cancel stops it */
	if (rc) {
		s->sink->fd = -1;
		s->sink->ssl = NULL;
	}
	json_object_put(o);
}

static struct json_object *event(const char *name)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string(name));
	return o;
}

static void jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void say(struct sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct sender *s, const char *fmt, ...)
{
	struct json_object *o = event("message");
	char buf[CTL_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_info("migrate %s: %s", s->o->domain, buf);
	json_object_object_add(o, "message", json_object_new_string(buf));
	emit(s, o);
}

/* ---- faults, for the tests (docs/migration.md) ---- */

static bool fault(const struct sender *s, const char *name)
{
	return !strcmp(s->o->fault, name);
}

static void cut(struct sender *s, const char *where)
{
	log_warn("migrate %s: fault injected: cutting the connection %s", s->o->domain, where);
	atomic_store(&s->cut, true);
	shutdown(SSL_get_fd(s->ssl), SHUT_RDWR);
}

/* Back to the guest's own share of the CPU (the save process capped it). */
static void uncap(struct sender *s)
{
	libxl_domain_sched_params p;

	if (!s->capped)
		return;
	libxl_domain_sched_params_init(&p);
	if (!libxl_domain_sched_params_get(s->ctx, s->domid, &p)) {
		p.cap = s->orig_cap;
		if (libxl_domain_sched_params_set(s->ctx, s->domid, &p))
			log_warn("migrate %s: cannot lift its CPU cap", s->o->domain);
	}
	libxl_domain_sched_params_dispose(&p);
	s->capped = false;
}

/* ---- the steps ---- */

#define fail(s, rc, ...) mig_errf((s)->why, sizeof((s)->why), rc, __VA_ARGS__)

/* The disks must be replicated to the target and current on both nodes. */
static int check_disks(struct sender *s)
{
	char err[ST_ERR_LEN];
	struct st_state st;
	int rc;

	rc = st_load_domain(s->o->domain, &s->res, &s->nres, err);
	if (rc)
		return fail(s, rc, "%s", err);
	for (size_t i = 0; i < s->nres; i++) {
		const struct st_res *r = &s->res[i];

		if (!r->replicated && r->writable)
			return fail(s, -EXDEV, "disk %s (%s) is not replicated: %s has no copy "
				    "of it", r->vdev, r->path, s->o->to);
		if (!r->replicated)
			continue;
		if (strcmp(st_peer_of(r, s->d->node), s->o->to))
			return fail(s, -EXDEV, "disk %s is replicated to %s, not %s: %s can "
				    "move only there", r->vdev, st_peer_of(r, s->d->node),
				    s->o->to, s->o->domain);
		rc = st_state(r, &st, err);
		if (rc)
			return fail(s, rc, "disk %s: %s", r->vdev, err);
		if (strcmp(st.connection, "Connected") || strcmp(st.disk, "UpToDate") ||
		    strcmp(st.peer_disk, "UpToDate"))
			return fail(s, -EAGAIN, "disk %s (%s) is %s/%s here and %s on %s: "
				    "wait until it is UpToDate on both", r->vdev, r->name,
				    st.connection, st.disk, st.peer_disk, s->o->to);
	}
	return 0;
}

static void window(struct sender *s, bool open)
{
	char err[ST_ERR_LEN];

	for (size_t i = 0; i < s->nres; i++) {
		if (!s->res[i].replicated)
			continue;
		/* Closing waits for the target to demote (DRBD refuses while
		 * both are Primary). */
		for (int t = 0; st_dual_primary(&s->res[i], open, err); t++) {
			if (open || t == 20) {
				log_warn("migrate %s: %s: %s", s->o->domain, s->res[i].name, err);
				break;
			}
			sleep(1);
		}
	}
}

/* The hello: what the target needs to check before any data flows. */
static struct json_object *hello(struct sender *s, const char *config_json, bool paused)
{
	struct json_object *h = json_object_new_object(), *res = json_object_new_array();
	char *file = NULL, *text = NULL;

	jint(h, "version", MIG_VERSION);
	json_object_object_add(h, "domain", json_object_new_string(s->o->domain));
	json_object_object_add(h, "config", json_object_new_string(config_json));
	jint(h, "mem_pages", (int64_t)s->mem_pages);
	json_object_object_add(h, "paused", json_object_new_boolean(paused));
	for (size_t i = 0; i < s->nres; i++)
		if (s->res[i].replicated)
			json_object_array_add(res, json_object_new_string(s->res[i].name));
	json_object_object_add(h, "resources", res);
	if (!clu_domain_load(s->d, s->o->domain, &file, &text) && file && text) {
		json_object_object_add(h, "file", json_object_new_string(file));
		json_object_object_add(h, "text", json_object_new_string(text));
	}
	if (s->o->fault[0])
		json_object_object_add(h, "fault", json_object_new_string(s->o->fault));
	free(file);
	free(text);
	return h;
}

/* Wait for the target's next frame, one of @want; ABORT is always allowed. */
static int expect(struct sender *s, unsigned want, int timeout_ms, struct json_object **o)
{
	static uint8_t buf[MIG_JSON_MAX + 1];
	char err[CTL_ERR_LEN];
	unsigned type;
	uint32_t len;
	int rc;

	rc = mig_recv(s->ssl, want | 1u << MIG_ABORT, &type, buf, &len, o, timeout_ms, err);
	if (rc)
		return fail(s, rc, "%s: %s", s->o->to, err);
	if (type == MIG_ABORT) {
		rc = fail(s, -EREMOTEIO, "%s refused: %s", s->o->to, mig_reason(*o));
		json_object_put(*o);
		*o = NULL;
	}
	return rc;
}

static int connect_target(struct sender *s, struct json_object *h)
{
	struct json_object *r = NULL, *v;
	char err[CTL_ERR_LEN];
	uint16_t type;
	int rc;

	if (!s->d->tls_client)
		return fail(s, -ENOTCONN, "this node has no certificate (not enrolled?)");
	rc = xr_tls_connect(s->d->tls_client, s->to->addr, XR_TLS_PORT, s->to->name,
			    FRAME_MS, &s->ssl, err);
	if (!rc)
		rc = xr_tls_send(s->ssl, CTL_PEER_MIGRATE_IN, h, FRAME_MS, err);
	if (!rc)
		rc = xr_tls_recv(s->ssl, &type, &r, HELLO_MS, err);
	if (rc)
		return fail(s, rc, "%s", err);
	if (type != CTL_REPLY || !json_object_object_get_ex(r, "ok", &v) ||
	    !json_object_get_boolean(v)) {
		rc = fail(s, -EREMOTEIO, "%s refused: %s", s->o->to, mig_reason(r));
	}
	json_object_put(r);
	return rc;
}

/* Undo: the domain runs here again, as it was. */
static void resume_here(struct sender *s)
{
	if (s->ssl && !atomic_load(&s->cut)) {
		struct json_object *a = json_object_new_object();
		char err[CTL_ERR_LEN];

		json_object_object_add(a, "error", json_object_new_string(s->why));
		mig_send_json(s->ssl, MIG_ABORT, a, 5000, err);
		json_object_put(a);
	}
	if (s->ssl) {
		xr_tls_close(s->ssl);
		s->ssl = NULL;
	}
	if (s->suspended) {
		int rc = libxl_domain_resume(s->ctx, s->domid, 1, NULL);

		if (rc)
			log_err("migrate %s: cannot resume it here (libxl error %d)!",
				s->o->domain, rc);
		else
			s->suspended = false;
	}
	uncap(s);
	window(s, false);
}

enum there { RUNS_THERE, GONE_THERE, UNKNOWN };

/*
 * After COMMIT without DONE: ask the target what became of its copy.  It
 * unpauses on COMMIT and discards its copy when the connection ends
 * without one, so a paused copy there is about to be one or the other.
 */
static enum there target_has_it(struct sender *s)
{
	struct json_object *req = json_object_new_object(), *fwd = json_object_new_object(),
			   *r = NULL, *doms, *v;
	enum there verdict = UNKNOWN;
	char err[CTL_ERR_LEN];

	json_object_object_add(fwd, "local", json_object_new_boolean(1));
	json_object_object_add(req, "type", json_object_new_int(CTL_LIST));
	json_object_object_add(req, "request", fwd);
	for (int t = 0; t < 12 && verdict != RUNS_THERE; t++) {
		bool seen = false, paused = false;

		if (t)
			sleep(5);
		if (clu_peer_call(s->d, s->to, CTL_PEER_FORWARD, req, &r, 20000, err)) {
			log_warn("migrate %s: asking %s: %s", s->o->domain, s->o->to, err);
			continue;
		}
		if (json_object_object_get_ex(r, "domains", &doms))
			for (size_t i = 0; i < json_object_array_length(doms); i++) {
				struct json_object *e = json_object_array_get_idx(doms, i);

				if (!json_object_object_get_ex(e, "name", &v) ||
				    strcmp(json_object_get_string(v), s->o->domain))
					continue;
				seen = true;
				paused = json_object_object_get_ex(e, "state", &v) &&
					 strlen(json_object_get_string(v)) > 2 &&
					 json_object_get_string(v)[2] == 'p';
			}
		json_object_put(r);
		r = NULL;
		verdict = seen && !paused ? RUNS_THERE : !seen ? GONE_THERE : UNKNOWN;
		if (verdict == GONE_THERE && t >= 2)
			break;
	}
	json_object_put(req);
	return verdict;
}

/* The domain runs on the target: ours goes, and our disks step down. */
static void hand_over(struct sender *s)
{
	char err[ST_ERR_LEN];
	int rc = libxl_domain_destroy(s->ctx, s->domid, NULL);

	if (rc)
		log_err("migrate %s: it runs on %s, but its old copy here could not be "
			"destroyed (libxl error %d)", s->o->domain, s->o->to, rc);
	for (size_t i = 0; i < s->nres; i++)
		if (s->res[i].replicated && st_secondary(&s->res[i], err))
			log_err("migrate %s: %s", s->o->domain, err);
	window(s, false);
	clu_domain_forget(s->d, s->o->domain);
}

/* Start the save process: clusterd --migrate-save, its fds inherited. */
static pid_t spawn_saver(struct sender *s, int data_fd, int ctl_fd)
{
	struct json_object *req = json_object_new_object();
	pid_t pid;

	json_object_object_add(req, "domid", json_object_new_int64(s->domid));
	json_object_object_add(req, "data_fd", json_object_new_int(data_fd));
	json_object_object_add(req, "ctl_fd", json_object_new_int(ctl_fd));
	json_object_object_add(req, "downtime_ms", json_object_new_int(s->o->policy.downtime_ms));
	json_object_object_add(req, "max_rounds", json_object_new_int(s->o->policy.max_rounds));
	json_object_object_add(req, "throttle", json_object_new_boolean(s->o->policy.throttle));
	json_object_object_add(req, "mem_pages", json_object_new_int64((int64_t)s->mem_pages));
	json_object_object_add(req, "t_start", json_object_new_int64(s->t_start));
	json_object_object_add(req, "fault", json_object_new_string(s->o->fault));
	pid = clu_spawn(s->d, (const int[]){ data_fd, ctl_fd }, 2, (const char *const[]){
		"--migrate-save", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
		NULL });
	json_object_put(req);
	return pid;
}

/* What the save process said at its end. */
static int saved(struct sender *s, struct json_object *r)
{
	struct json_object *v;

	s->suspended = json_object_object_get_ex(r, "suspended", &v) && json_object_get_boolean(v);
	s->capped = json_object_object_get_ex(r, "capped", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(r, "orig_cap", &v))
		s->orig_cap = json_object_get_int(v);
	if (json_object_object_get_ex(r, "t_suspend", &v))
		s->t_suspend = json_object_get_int64(v);
	if (json_object_object_get_ex(r, "rounds", &v))
		s->rounds = (unsigned)json_object_get_int(v);
	if (json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v))
		return 0;
	fail(s, 0, "%s", json_object_object_get_ex(r, "error", &v) ?
	     json_object_get_string(v) : "the save failed");
	return json_object_object_get_ex(r, "errno", &v) && json_object_get_int(v) > 0 ?
	       -json_object_get_int(v) : -EIO;
}

/*
 * The stream, from the first round to the last byte sent: the save
 * process's rounds go on to clusterctl, a cancel goes on to it, and its
 * end says whether the domain was suspended.
 */
static int stream(struct sender *s)
{
	int data[2], ctl[2], rc = 0, status;
	bool told = false, done = false;
	pthread_t pump;
	pid_t pid;

	if (pipe2(data, O_CLOEXEC))
		return fail(s, -errno, "pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl)) {
		close(data[0]);
		close(data[1]);
		return fail(s, -errno, "socketpair: %s", strerror(errno));
	}
	fcntl(data[1], F_SETPIPE_SZ, MIG_CHUNK_MAX);
	pid = spawn_saver(s, data[1], ctl[1]);
	close(data[1]);
	close(ctl[1]);
	if (pid < 0) {
		close(data[0]);
		close(ctl[0]);
		return fail(s, (int)pid, "cannot start the save process: %s", strerror((int)-pid));
	}
	s->pump = (struct mig_pump){ .in = data[0], .ssl = s->ssl, .compress = s->o->compress,
				     .bandwidth = s->o->bandwidth, .fault = s->o->fault,
				     .cancel = &cancelled };
	if ((rc = pthread_create(&pump, NULL, mig_pump, &s->pump))) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(data[0]);
		close(ctl[0]);
		return fail(s, -rc, "cannot start the pump: %s", strerror(rc));
	}
	while (!done) {
		struct pollfd pf = { .fd = ctl[0], .events = POLLIN };
		struct json_object *m = NULL;
		char err[CTL_ERR_LEN];
		const char *ev;
		uint16_t type;

		if ((cancelled || s->pump.rc) && !told) {
			kill(pid, SIGUSR1);	/* it stops at its next decision */
			told = true;
		}
		if (poll(&pf, 1, 500) <= 0)
			continue;
		rc = ctl_recv(ctl[0], &type, &m, NULL, err);
		if (rc) {
			fail(s, -EIO, "the save process ended without a word (the node's log "
			     "may say why)");
			rc = -EIO;
			break;
		}
		ev = json_object_get_string(json_object_object_get(m, "event"));
		if (type == CTL_REPLY) {
			rc = saved(s, m);
			done = true;
		} else if (ev && !strcmp(ev, "fault")) {
			cut(s, json_object_get_string(json_object_object_get(m, "where")));
		} else {
			json_object_object_add(m, "sent_bytes", json_object_new_int64(
				(int64_t)atomic_load(&s->pump.wire_bytes)));
			emit(s, json_object_get(m));
		}
		json_object_put(m);
	}
	close(ctl[0]);
	waitpid(pid, &status, 0);
	pthread_join(pump, NULL);
	if (s->pump.in >= 0)
		close(s->pump.in);
	if (rc == -EIO && !done) {
		/* It died: was the domain left suspended? */
		libxl_dominfo info;

		libxl_dominfo_init(&info);
		s->suspended = !libxl_domain_info(s->ctx, &info, s->domid) && info.shutdown;
		libxl_dominfo_dispose(&info);
	}
	if (cancelled)
		return fail(s, -ECANCELED, "cancelled");
	if (s->pump.rc)
		return fail(s, s->pump.rc, "sending to %s: %s", s->o->to, s->pump.err);
	return rc;
}

static int run(struct sender *s)
{
	struct json_object *h, *o = NULL, *v;
	libxl_domain_config dc;
	libxl_dominfo info;
	bool paused;
	char *js;
	int rc;

	if (!strcmp(s->o->to, s->d->node))
		return fail(s, -EINVAL, "%s already runs on %s", s->o->domain, s->d->node);
	s->to = clu_node_lookup(s->d, s->o->to, s->why);
	if (!s->to)
		return -ENOENT;
	if (libxl_name_to_domid(s->ctx, s->o->domain, &s->domid))
		return fail(s, -ENOENT, "no domain named '%s' on %s", s->o->domain, s->d->node);
	libxl_dominfo_init(&info);
	rc = libxl_domain_info(s->ctx, &info, s->domid);
	if (rc || info.shutdown || info.dying || info.domain_type != LIBXL_DOMAIN_TYPE_PV) {
		libxl_dominfo_dispose(&info);
		return fail(s, -EINVAL, "%s is not a running paravirtual domain", s->o->domain);
	}
	s->mem_pages = info.max_memkb / 4;
	paused = info.paused;
	libxl_dominfo_dispose(&info);
	rc = check_disks(s);
	if (rc)
		return rc;

	libxl_domain_config_init(&dc);
	rc = libxl_retrieve_domain_configuration(s->ctx, s->domid, &dc, NULL);
	js = rc ? NULL : libxl_domain_config_to_json(s->ctx, &dc);
	libxl_domain_config_dispose(&dc);
	if (!js)
		return fail(s, -EIO, "libxl could not give %s's configuration", s->o->domain);
	h = hello(s, js, paused);
	free(js);

	window(s, true);
	say(s, "%s -> %s: checking the target", s->d->node, s->o->to);
	rc = connect_target(s, h);
	json_object_put(h);
	if (rc) {
		resume_here(s);
		return rc;
	}
	if (fault(s, "before-stream")) {
		cut(s, "before the stream");
		resume_here(s);
		return fail(s, -ECONNRESET, "fault injected: the connection was cut before the "
			    "stream");
	}

	/* The stream: the save process writes it, the pump sends it. */
	rc = stream(s);
	if (rc) {
		resume_here(s);
		return rc;
	}

	/* Restored there, paused: commit, unless cancelled meanwhile. */
	rc = expect(s, 1u << MIG_RECEIVED, RESTORE_MS, &o);
	if (!rc && json_object_object_get_ex(o, "restore_ms", &v))
		s->restore_ms = json_object_get_int64(v);
	json_object_put(o);
	if (!rc && fault(s, "after-received"))
		cut(s, "after \"received\", before \"commit\"");
	if (!rc && (cancelled || atomic_load(&s->cut)))
		rc = fail(s, cancelled ? -ECANCELED : -ECONNRESET, cancelled ? "cancelled" :
			  "fault injected: the connection was cut before \"commit\"");
	if (rc) {
		resume_here(s);
		return rc;
	}
	{
		char err[CTL_ERR_LEN];

		rc = mig_send_json(s->ssl, MIG_COMMIT, NULL, FRAME_MS, err);
		if (rc)
			fail(s, rc, "%s: %s", s->o->to, err);
		else
			rc = expect(s, 1u << MIG_DONE, FRAME_MS, &o);
		json_object_put(o);
	}
	s->t_done = xr_now_ms();
	if (rc) {
		enum there t = target_has_it(s);

		if (t == GONE_THERE) {
			/* It never unpaused there: it runs here again. */
			resume_here(s);
			return rc;
		}
		if (t == UNKNOWN) {
			/* Either could be wrong: neither runs until someone knows. */
			char first[CTL_ERR_LEN];

			snprintf(first, sizeof(first), "%s", s->why);
			xr_tls_close(s->ssl);
			s->ssl = NULL;
			return fail(s, rc, "%.120s; %s did not say whether it runs %s, so it "
				    "stays suspended here: see docs/migration.md, \"After a lost "
				    "commit\"", first, s->o->to, s->o->domain);
		}
		log_warn("migrate %s: %s; but it runs on %s: handing over", s->o->domain,
			 s->why, s->o->to);
		s->t_done = xr_now_ms();
	}
	xr_tls_close(s->ssl);
	s->ssl = NULL;
	hand_over(s);
	return 0;
}

int mig_send(struct clu_daemon *d, const struct mig_opts *o, struct mig_sink *sink)
{
	struct sender s = { .d = d, .o = o, .sink = sink, .pump = { .in = -1 } };
	struct json_object *reply = json_object_new_object();
	struct sigaction sa = { .sa_handler = on_cancel };
	char mark[128], err[CTL_ERR_LEN];
	int rc;

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	s.t_start = xr_now_ms();
	rc = mig_mark(o->domain, "out", mark, sizeof(mark), err);
	if (rc) {
		fail(&s, rc, "%s", err);
		goto out;
	}
	if (hv_libxl_open_ctx(&s.ctx)) {
		rc = fail(&s, -ENODEV, "cannot open libxl");
	} else {
		rc = run(&s);
	}
	unlink(mark);
out:
	if (!rc) {
		uint64_t down = (uint64_t)(s.t_done - s.t_suspend);

		jint(reply, "total_ms", s.t_done - s.t_start);
		jint(reply, "downtime_ms", (int64_t)down);
		jint(reply, "restore_ms", s.restore_ms);
		jint(reply, "rounds", s.rounds);
		jint(reply, "stream_bytes", (int64_t)atomic_load(&s.pump.stream_bytes));
		jint(reply, "sent_bytes", (int64_t)atomic_load(&s.pump.wire_bytes));
		jint(reply, "mem_pages", (int64_t)s.mem_pages);
		json_object_object_add(reply, "node", json_object_new_string(o->to));
		log_info("migrate %s: now on %s: %" PRId64 " ms in all, downtime %" PRIu64
			 " ms, %" PRIu64 " bytes sent (%" PRIu64 " of stream), %u rounds",
			 o->domain, o->to, s.t_done - s.t_start, down, (uint64_t)atomic_load(&s.pump.wire_bytes),
			 (uint64_t)atomic_load(&s.pump.stream_bytes), s.rounds);
	} else {
		log_err("migrate %s to %s: %s", o->domain, o->to, s.why);
		json_object_object_add(reply, "node", json_object_new_string(d->node));
	}
	clu_reply_status(reply, rc, s.why);
	if (sink->fd >= 0)
		ctl_send(sink->fd, CTL_REPLY, reply, -1);
	else if (sink->ssl)
		xr_tls_send(sink->ssl, CTL_REPLY, reply, FRAME_MS, err);
	json_object_put(reply);
	free(s.res);
	if (s.ctx)
		libxl_ctx_free(s.ctx);
	return rc;
}

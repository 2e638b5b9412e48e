/*
 * clusterd.c - the xenrack node daemon: owns the node's hypervisor
 * connection and answers clusterctl on a local UNIX socket.
 *
 * One poll() loop serves the listening socket, the clients, a signalfd
 * for SIGTERM/SIGINT and whatever descriptors the backend (libxl) needs.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clu.h"
#include "ctl.h"
#include "log.h"
#include "image.h"
#include "mig.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

#define MAX_BACKEND_FDS 64

static void usage(FILE *out)
{
	fprintf(out,
		"usage: clusterd [options]\n"
		"  -s, --socket PATH   control socket (default %s)\n"
		"  -n, --node NAME     this node's name (default: the host name)\n"
		"      --hv BACKEND    libxl (default) or sim (simulated, for tests)\n"
		"      --cert-dir DIR  node.crt, node.key, ca.crt, node.json (default %s)\n"
		"      --state-dir DIR disk records in DIR/storage, images in DIR/images\n"
		"                      (default /var/lib/xenrack)\n"
		"      --watchdog SECS Xen watchdog timeout, fed while quorate (default %d;\n"
		"                      0: none, and this node's domains are never fenced)\n"
		"      --watchdog-device PATH  (default /dev/watchdog)\n"
		"      --syslog        log to syslog instead of stderr\n"
		"      --fence-peer RES  act as DRBD's fence-peer handler for resource RES\n"
		"                      and exit with DRBD's code (docs/storage.md, Fencing)\n"
		"  -h, --help          this text\n", CTL_SOCKET, XR_TLS_DIR, CLU_WATCHDOG_S);
}

static int make_parent_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int rc = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			rc = -errno;
	}
	free(dir);
	return rc;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		fatal("socket path %s is too long", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = make_parent_dir(path);
	if (rc)
		fatal("cannot create the directory of %s: %s", path, strerror(-rc));
	/* A socket that still answers belongs to a running clusterd. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("another clusterd is already serving %s", path);
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		fatal("socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("bind %s: %s", path, strerror(errno));
	/* Only root may drive the hypervisor. */
	if (chmod(path, 0600))
		fatal("chmod %s: %s", path, strerror(errno));
	if (listen(fd, 16))
		fatal("listen %s: %s", path, strerror(errno));
	return fd;
}

struct client {
	int fd;
	struct ctl_reader rd;
	int64_t deadline_ms;	/* when a started request must be whole */
};


/* Returns false when the listening socket should rest (out of descriptors). */
static bool accept_client(int lfd, struct client *clients, int *nclients)
{
	struct timeval tv = { .tv_sec = CLU_CLIENT_TIMEOUT_MS / 1000 };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct client *c;

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("control: out of file descriptors; not accepting "
				 "until a client leaves");
			return false;
		}
		return true;
	}
	if (*nclients >= CLU_MAX_CLIENTS) {
		log_warn("control: %d clients already connected; refusing one",
			 CLU_MAX_CLIENTS);
		close(fd);
		return true;
	}
	/* Replies are small; a client that never reads one is dropped. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = &clients[(*nclients)++];
	c->fd = fd;
	ctl_reader_init(&c->rd);
	c->deadline_ms = 0;
	return true;
}

static void drop_client(struct client *clients, int *nclients, int i)
{
	close(clients[i].fd);
	ctl_reader_dispose(&clients[i].rd);
	clients[i] = clients[--*nclients];
}

/*
 * serve_client - read what arrived; act on a whole request.
 * Return: true to keep the client.  Reads never block, so one slow client
 * holds up nobody.
 */
static bool serve_client(struct clu_daemon *d, struct client *c)
{
	struct json_object *req;
	char err[CTL_ERR_LEN] = "";
	uint16_t type;
	int rc;

	for (;;) {
		rc = ctl_reader_feed(&c->rd, c->fd, false, true, &type, &req, err);
		if (rc == 0) {
			if (c->rd.got && !c->deadline_ms)
				c->deadline_ms = xr_now_ms() + CLU_CLIENT_TIMEOUT_MS;
			return true;
		}
		if (rc == -EPIPE)
			return false;
		if (rc < 0) {
			clu_control_refuse(c->fd, rc, err);
			return false;
		}
		c->deadline_ms = 0;
		rc = clu_control_dispatch(d, c->fd, type, req);
		json_object_put(req);
		if (rc)
			return false;
	}
}

/*
 * Once a second: when the set of domains running here has changed, the
 * disks of those gone are demoted (clu_disks_reconcile).  @last holds the
 * names seen before; a disk still held open is tried again every 10 s.
 * Then the cluster's turn (clu_member_tick): announce, fence, restart.
 */
static void watch_domains(struct clu_daemon *d, char *last, size_t len)
{
	static int64_t next_ms, retry_ms;
	struct hv_dominfo *v = NULL;
	char now[4096] = "", err[HV_ERR_LEN];
	size_t n = 0, used = 0;

	if (xr_now_ms() < next_ms)
		return;
	next_ms = xr_now_ms() + 950;	/* so the loop's 1 s tick never skips one */
	if (d->hv->list(d->be, &v, &n, err))
		return;
	for (size_t i = 0; i < n && used < sizeof(now); i++)
		used += (size_t)snprintf(now + used, sizeof(now) - used, "%s/", v[i].name);
	if (strcmp(now, last) || (retry_ms && xr_now_ms() >= retry_ms)) {
		retry_ms = clu_disks_reconcile(d, v, n) ? xr_now_ms() + 10000 : 0;
		snprintf(last, len, "%s", now);
	}
	clu_member_tick(d, v, n);
	free(v);
	mig_reap(d);
}

/* The node list and this node's certificate, when enrolled. */
static int load_peers(struct clu_daemon *d)
{
	char path[PATH_MAX], err[CTL_ERR_LEN];

	snprintf(path, sizeof(path), "%s/node.json", d->cert_dir);
	if (access(path, F_OK)) {
		log_info("no %s: a cluster of one node, disks unreplicated", path);
		return -1;
	}
	if (clu_cluster_load(d, path, err)) {
		log_err("%s; disks stay unreplicated", err);
		return -1;
	}
	d->tls_client = xr_tls_ctx(d->cert_dir, false, err);
	if (d->tls_client)
		d->tls_server = xr_tls_ctx(d->cert_dir, true, err);
	if (!d->tls_server) {
		log_err("peers: %s; disks stay unreplicated", err);
		d->nnodes = 0;
		return -1;
	}
	return 0;
}

/* Peers: serve them on XR_TLS_PORT, when enrolled. */
static int setup_peers(struct clu_daemon *d)
{
	char path[PATH_MAX];
	int fd;

	if (load_peers(d))
		return -1;
	fd = clu_peer_listen();
	if (fd < 0) {
		log_err("peers: cannot listen on port %d: %s; disks stay unreplicated",
			XR_TLS_PORT, strerror(-fd));
		d->nnodes = 0;
		return -1;
	}
	clu_node_names(d, path, sizeof(path));
	log_info("cluster nodes: %s; serving peers on port %d", path, XR_TLS_PORT);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "node", required_argument, NULL, 'n' },
		{ "hv", required_argument, NULL, 'H' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "cert-dir", required_argument, NULL, 'C' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "serve-peer", required_argument, NULL, 'P' },
		{ "fence-peer", required_argument, NULL, 'F' },
		{ "migrate-out", required_argument, NULL, 'M' },
		{ "migrate-save", required_argument, NULL, 'X' },
		{ "request", required_argument, NULL, 'R' },
		{ "via", required_argument, NULL, 'V' },
		{ "watchdog", required_argument, NULL, 'W' },
		{ "watchdog-device", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock_path = getenv("XENRACK_SOCKET");
	const char *hv_name = "libxl";
	char doms_seen[4096] = "\001";	/* nothing seen yet */
	int pfd, serve_fd = -1, migrate_fd = -1, watchdog = CLU_WATCHDOG_S;
	const char *mig_req = NULL, *mig_via = NULL, *mig_save = NULL;
	const char *watchdog_dev = "/dev/watchdog", *fence_res = NULL;
	struct clu_daemon d = { .cert_dir = XR_TLS_DIR };
	struct client clients[CLU_MAX_CLIENTS];
	int nclients = 0;
	bool accepting = true;
	char err[HV_ERR_LEN] = "";
	bool use_syslog = false;
	sigset_t mask;
	int lfd, sfd, opt, rc;

	if (!sock_path)
		sock_path = CTL_SOCKET;
	gethostname(d.node, sizeof(d.node) - 1);
	while ((opt = getopt_long(argc, argv, "s:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock_path = optarg; break;
		case 'n': snprintf(d.node, sizeof(d.node), "%s", optarg); break;
		case 'H': hv_name = optarg; break;
		case 'S': use_syslog = true; break;
		case 'C': d.cert_dir = optarg; break;
		case 'P': serve_fd = atoi(optarg); break;
		case 'F': fence_res = optarg; break;
		case 'M': migrate_fd = atoi(optarg); break;
		case 'X': mig_save = optarg; break;
		case 'R': mig_req = optarg; break;
		case 'V': mig_via = optarg; break;
		case 'w': watchdog_dev = optarg; break;
		case 'W': {
			char *end;
			long w = strtol(optarg, &end, 10);

			if (*end || end == optarg || w < 0 || w > 300) {
				fprintf(stderr, "clusterd: --watchdog %s: expected seconds, 0 to 300\n",
					optarg);
				return 2;
			}
			watchdog = (int)w;
			break;
		}
		case 'D': {
			static char sdir[PATH_MAX], rdir[PATH_MAX], idir[PATH_MAX];

			snprintf(sdir, sizeof(sdir), "%s/storage", optarg);
			snprintf(rdir, sizeof(rdir), "%s/run", optarg);
			snprintf(idir, sizeof(idir), "%s/images", optarg);
			st_dir = sdir;
			st_run = rdir;
			img_dir = idir;
			d.state_dir = optarg;
			break;
		}
		case 'h': usage(stdout); return 0;
		default:  usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("clusterd", use_syslog);
	d.sock_path = sock_path;
	d.use_syslog = use_syslog;
	if (serve_fd >= 0) {
		/* A peer's connection, handed over by the daemon (peer.c). */
		signal(SIGPIPE, SIG_IGN);
		if (load_peers(&d))
			return 1;
		clu_peer_serve(&d, serve_fd);
		return 0;
	}
	if (mig_save)	/* a migration's save process (migrate/save.c) */
		return mig_save_main(mig_save);
	if (migrate_fd >= 0 && mig_req) {
		/* A migration's worker, handed the client by the daemon (migrate.c). */
		signal(SIGPIPE, SIG_IGN);
		if (load_peers(&d))
			return 1;
		return clu_migrate_worker(&d, migrate_fd, mig_req, mig_via);
	}
	if (fence_res) {
		/* DRBD's fence-peer handler (appliance/drbd-fence-peer). */
		signal(SIGPIPE, SIG_IGN);
		if (load_peers(&d))
			return 1;
		return clu_fence_peer(&d, fence_res);
	}
	d.hv = hv_ops_find(hv_name);
	if (!d.hv) {
		fprintf(stderr, "clusterd: --hv %s: expected libxl or sim\n", hv_name);
		return 2;
	}
	rc = d.hv->open(&d.be, err);
	if (rc)
		fatal("hypervisor backend %s: %s", hv_name, err[0] ? err : strerror(-rc));

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(sock_path);
	pfd = setup_peers(&d);
	if (pfd >= 0 && clu_member_open(&d, watchdog, watchdog_dev) == -ENOMEM)
		fatal("out of memory");
	st_restore();
	log_info("node %s ready: backend %s, socket %s", d.node, hv_name, sock_path);

	for (;;) {
		struct pollfd fds[5 + CLU_MAX_CLIENTS + MAX_BACKEND_FDS];
		/* A second's tick reaps peer children and notices stopped domains. */
		int nfds = 0, nbe = MAX_BACKEND_FDS, timeout = 1000, i, r;
		int64_t now = xr_now_ms();

		fds[nfds++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		fds[nfds++] = (struct pollfd){ .fd = accepting ? lfd : -1, .events = POLLIN };
		fds[nfds++] = (struct pollfd){ .fd = pfd, .events = POLLIN };
		fds[nfds] = fds[nfds + 1] = (struct pollfd){ .fd = -1 };
		clu_member_fds(&d, fds + nfds);
		nfds += 2;
		for (i = 0; i < nclients; i++) {
			fds[nfds++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
			if (clients[i].deadline_ms) {
				int left = (int)(clients[i].deadline_ms - now);

				left = left < 0 ? 0 : left;
				timeout = timeout < 0 || left < timeout ? left : timeout;
			}
		}
		if (d.hv->poll_prepare) {
			int be_timeout = -1;

			if (d.hv->poll_prepare(d.be, fds + nfds, &nbe, &be_timeout))
				fatal("backend needs more than %d descriptors", MAX_BACKEND_FDS);
			if (be_timeout >= 0 && (timeout < 0 || be_timeout < timeout))
				timeout = be_timeout;
		} else {
			nbe = 0;
		}
		r = poll(fds, (nfds_t)(nfds + nbe), timeout);
		if (r < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		if (r < 0)
			continue;
		if (fds[0].revents)
			break;
		/*
		 * libxl first: afterpoll must see the fds of the beforepoll just
		 * before, and a request served below (a create) runs libxl's own
		 * event loop in between.  Served after the clients, as before,
		 * clusterd died of heap corruption right after a create.
		 */
		if (d.hv->poll_dispatch)
			d.hv->poll_dispatch(d.be, fds + nfds, nbe);
		/* Newest first, so dropping one moves an already served client. */
		now = xr_now_ms();
		for (i = nclients - 1; i >= 0; i--) {
			struct client *c = &clients[i];
			bool keep = true;

			if (fds[5 + i].revents)
				keep = serve_client(&d, c);
			if (keep && c->deadline_ms && now >= c->deadline_ms) {
				log_warn("control: a client sent %zu bytes of a request "
					 "and then nothing for %d ms; dropped",
					 c->rd.got, CLU_CLIENT_TIMEOUT_MS);
				keep = false;
			}
			if (!keep) {
				drop_client(clients, &nclients, i);
				accepting = true;
			}
		}
		if (fds[1].revents)
			accepting = accept_client(lfd, clients, &nclients);
		if (fds[2].revents)
			clu_peer_accept(&d, pfd);
		clu_member_dispatch(&d, fds + 3);
		clu_peer_reap(&d);
		watch_domains(&d, doms_seen, sizeof(doms_seen));
	}
	{
		struct hv_dominfo *v = NULL;
		size_t n = 0;

		if (d.hv->list(d.be, &v, &n, err))
			n = 1;	/* not known: as if some ran */
		free(v);
		clu_member_close(&d, n ? n - 1 : 0);	/* Domain-0 is one */
	}
	log_info("stopping; domains keep running");
	while (nclients)
		drop_client(clients, &nclients, nclients - 1);
	close(lfd);
	if (pfd >= 0)
		close(pfd);
	unlink(sock_path);
	d.hv->close(d.be);
	return 0;
}

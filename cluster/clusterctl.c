/*
 * clusterctl.c - the xenrack command line: what `xm` was to xend.
 *
 * `check` works alone; every other command asks clusterd over the control
 * socket (docs/protocol.md).  Exit status: 0 done, 1 failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <limits.h>

#include <json-c/json.h>

#include "clu.h"
#include "ctl.h"
#include "hv.h"
#include "util.h"

#define EXIT_USAGE 2

static const char *sock_path;

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct cmd *current;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "clusterctl %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: clusterctl %s %s\n", current->name, current->args);
	return EXIT_USAGE;
}

/* Read a config file whole, refusing what the parser would refuse anyway. */
static char *read_file(const char *path, size_t *len)
{
	char err[512], *buf;

	if (xr_read_file(path, HV_CFG_MAX_BYTES, &buf, len, "a config", err,
			 sizeof(err))) {
		fprintf(stderr, "clusterctl: %s\n", err);
		return NULL;
	}
	return buf;
}

/* ---- talking to clusterd ---- */

static const struct timeval reply_timeout = { .tv_sec = 300 };

static int connect_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "clusterctl: bad socket path %s\n", sock_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	/* A hung clusterd must not hang every script that asks it something. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &reply_timeout, sizeof(reply_timeout));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "clusterctl: cannot reach clusterd at %s: %s "
			"(is clusterd running on this node?)\n", sock_path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * request - send @body (consumed) as @type and wait for the reply.
 * Return: the reply (caller puts it), or NULL after printing why.
 * A reply with "ok": false is printed and also returned as NULL.
 */
static struct json_object *request(uint16_t type, struct json_object *body,
				   int *got_fd, bool print_diag, const char *file)
{
	struct json_object *reply = NULL, *ok, *v;
	char err[CTL_ERR_LEN];
	uint16_t rtype;
	int fd, rc;

	fd = connect_daemon();
	if (fd < 0) {
		json_object_put(body);
		return NULL;
	}
	rc = ctl_send(fd, type, body, -1);
	json_object_put(body);
	if (rc) {
		fprintf(stderr, "clusterctl: sending %s: %s\n", ctl_type_name(type),
			strerror(-rc));
		close(fd);
		return NULL;
	}
	rc = ctl_recv(fd, &rtype, &reply, got_fd, err);
	close(fd);
	if (rc == -EPIPE) {
		fprintf(stderr, "clusterctl: clusterd closed the connection without a reply\n");
		return NULL;
	}
	if (rc == -EAGAIN) {
		fprintf(stderr, "clusterctl: clusterd did not answer within %ld s\n",
			(long)reply_timeout.tv_sec);
		return NULL;
	}
	if (rc || rtype != CTL_REPLY) {
		fprintf(stderr, "clusterctl: bad reply from clusterd: %s\n",
			rc ? err : "not a reply");
		json_object_put(reply);
		return NULL;
	}
	if (print_diag && json_object_object_get_ex(reply, "diagnostics", &v)) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *m = json_object_array_get_idx(v, i), *f;
			const char *sev = "", *msg = "";
			int line = 0, col = 0;

			if (json_object_object_get_ex(m, "severity", &f))
				sev = json_object_get_string(f);
			if (json_object_object_get_ex(m, "message", &f))
				msg = json_object_get_string(f);
			if (json_object_object_get_ex(m, "line", &f))
				line = json_object_get_int(f);
			if (json_object_object_get_ex(m, "col", &f))
				col = json_object_get_int(f);
			if (line)
				fprintf(stderr, "%s:%d:%d: %s: %s\n", file, line, col, sev, msg);
			else
				fprintf(stderr, "%s: %s: %s\n", file, sev, msg);
		}
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		const char *msg = "failed";

		if (json_object_object_get_ex(reply, "error", &v))
			msg = json_object_get_string(v);
		fprintf(stderr, "clusterctl: %s\n", msg);
		json_object_put(reply);
		if (got_fd && *got_fd >= 0)
			close(*got_fd);
		return NULL;
	}
	return reply;
}

static struct json_object *name_body(const char *name)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

/* ---- commands ---- */

/* JSON for people and for jq: indented, slashes as they are. */
static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The list @key of clusterd's @reply; NULL (the reply put) when it has none. */
static struct json_object *reply_list(struct json_object *reply, const char *key,
				      const char *what)
{
	struct json_object *v;

	if (json_object_object_get_ex(reply, key, &v) && json_object_is_type(v, json_type_array))
		return v;
	fprintf(stderr, "clusterctl: bad reply from clusterd: no %s list\n", what);
	json_object_put(reply);
	return NULL;
}

static int cmd_check(int argc, char **argv)
{
	bool json = false;
	struct hv_domain dom;
	struct hv_diag diag;
	size_t len;
	char *text;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("unknown option %s", argv[i]);
		else if (i != argc - 1)
			return usage_error("one FILE only");
	}
	if (argc < 2 || argv[argc - 1][0] == '-')
		return usage_error("FILE missing");
	text = read_file(argv[argc - 1], &len);
	if (!text)
		return 1;
	hv_domain_init(&dom);
	hv_diag_init(&diag, argv[argc - 1]);
	rc = hv_domain_parse(&dom, text, len, &diag);
	hv_diag_print(&diag, stderr);
	if (!rc) {
		if (json) {
			struct json_object *o = hv_domain_to_json(&dom);

			print_json(o);
			json_object_put(o);
		} else {
			hv_domain_print(&dom, stdout);
		}
	}
	hv_diag_dispose(&diag);
	hv_domain_dispose(&dom);
	free(text);
	return rc ? 1 : 0;
}

static const char *jstr(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : dflt;
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/* One line a disk: vdev, backend, peer and replication state. */
static void print_disks(struct json_object *disks, const char *indent)
{
	for (size_t i = 0; i < json_object_array_length(disks); i++) {
		struct json_object *k = json_object_array_get_idx(disks, i);
		char backend[PATH_MAX + 8];

		snprintf(backend, sizeof(backend), "%s:%s", jstr(k, "kind", "?"),
			 jstr(k, "disk", "?"));
		printf("%s%-6s %-40s %-8s %-10s %s\n", indent, jstr(k, "vdev", "?"), backend,
		       jstr(k, "peer", "-"), jstr(k, "role", "-"), jstr(k, "state", "?"));
	}
}

static int cmd_create(int argc, char **argv)
{
	struct json_object *body, *reply, *v;
	const char *file = NULL, *peer = NULL;
	size_t len;
	char *text;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--peer")) {
			if (++i == argc || !argv[i][0])
				return usage_error("--peer needs a NODE (or none)");
			peer = argv[i];
		} else if (!strncmp(argv[i], "--peer=", 7)) {
			peer = argv[i] + 7;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("unknown option %s", argv[i]);
		} else if (file) {
			return usage_error("one FILE only");
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return usage_error("expected one FILE");
	if (peer && (strlen(peer) >= CLU_NODE_LEN || !*peer))
		return usage_error("--peer %s: not a node name", peer);
	text = read_file(file, &len);
	if (!text)
		return 1;
	if (memchr(text, '\0', len)) {
		fprintf(stderr, "clusterctl: %s: contains a NUL byte\n", file);
		free(text);
		return 1;
	}
	body = json_object_new_object();
	json_object_object_add(body, "file", json_object_new_string(file));
	json_object_object_add(body, "config", json_object_new_string_len(text, (int)len));
	if (peer)
		json_object_object_add(body, "peer", json_object_new_string(peer));
	free(text);
	reply = request(CTL_CREATE, body, NULL, true, file);
	if (!reply)
		return 1;
	printf("Started domain %s (id %d) on %s\n",
	       json_object_object_get_ex(reply, "name", &v) ? json_object_get_string(v) : "?",
	       json_object_object_get_ex(reply, "id", &v) ? json_object_get_int(v) : -1,
	       json_object_object_get_ex(reply, "node", &v) ? json_object_get_string(v) : "?");
	if (json_object_object_get_ex(reply, "disks", &v))
		print_disks(v, "  ");
	json_object_put(reply);
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	struct json_object *reply, *doms, *body, *un;
	bool json = false, lng = false;
	const char *only = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--long"))
			lng = true;
		else if (!strcmp(argv[i], "--node") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--node"))
			return usage_error("--node needs a NODE");
		else
			return usage_error("unexpected argument %s", argv[i]);
	}
	body = json_object_new_object();
	if (lng)
		json_object_object_add(body, "disks", json_object_new_boolean(1));
	reply = request(CTL_LIST, body, NULL, false, NULL);
	if (!reply)
		return 1;
	doms = reply_list(reply, "domains", "domain");
	if (!doms)
		return 1;
	/* Nodes that did not answer are said, not hidden. */
	if (json_object_object_get_ex(reply, "unreachable", &un))
		for (size_t i = 0; i < json_object_array_length(un); i++) {
			struct json_object *u = json_object_array_get_idx(un, i);

			fprintf(stderr, "clusterctl: %s did not answer: %s\n",
				jstr(u, "node", "?"), jstr(u, "error", "?"));
		}
	if (only) {
		struct json_object *kept = json_object_new_array();

		for (size_t i = 0; i < json_object_array_length(doms); i++) {
			struct json_object *dm = json_object_array_get_idx(doms, i);

			if (!strcmp(jstr(dm, "node", ""), only))
				json_object_array_add(kept, json_object_get(dm));
		}
		json_object_object_add(reply, "domains", kept);
		doms = kept;
	}
	if (json) {
		puts(json_object_to_json_string_ext(doms, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED));
		json_object_put(reply);
		return 0;
	}
	printf("%-24s %5s %7s %5s %6s %9s  %s\n", "Name", "ID", "Mem(MB)",
	       "VCPUs", "State", "Time(s)", "Node");
	for (size_t i = 0; i < json_object_array_length(doms); i++) {
		struct json_object *d = json_object_array_get_idx(doms, i), *f;
#define FIELD(k) (json_object_object_get_ex(d, k, &f) ? f : NULL)
		printf("%-24s %5d %7d %5d %6s %9.1f  %s\n",
		       json_object_get_string(FIELD("name")),
		       json_object_get_int(FIELD("id")),
		       json_object_get_int(FIELD("mem_mb")),
		       json_object_get_int(FIELD("vcpus")),
		       json_object_get_string(FIELD("state")),
		       json_object_get_double(FIELD("cpu_time")),
		       json_object_get_string(FIELD("node")));
		if (lng && FIELD("disks"))
			print_disks(f, "    ");
#undef FIELD
	}
	json_object_put(reply);
	return 0;
}

/* Wait until no domain called @name is listed. */
static int wait_gone(const char *name, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;

	for (;;) {
		struct json_object *reply, *doms, *f;
		bool found = false;

		reply = request(CTL_LIST, json_object_new_object(), NULL, false, NULL);
		if (!reply)
			return 1;
		if (json_object_object_get_ex(reply, "domains", &doms))
			for (size_t i = 0; i < json_object_array_length(doms); i++)
				if (json_object_object_get_ex(json_object_array_get_idx(doms, i),
							      "name", &f) &&
				    !strcmp(json_object_get_string(f), name))
					found = true;
		/* A node that did not answer may still have it. */
		if (json_object_object_get_ex(reply, "unreachable", &f) &&
		    json_object_array_length(f))
			found = true;
		json_object_put(reply);
		if (!found)
			return 0;
		if (time(NULL) >= end) {
			fprintf(stderr, "clusterctl: domain %s still exists after %d s\n",
				name, timeout_s);
			return 1;
		}
		usleep(250 * 1000);
	}
}

static int domain_cmd(int argc, char **argv, uint16_t type, const char *done)
{
	struct json_object *reply;

	if (argc != 2 || argv[1][0] == '-')
		return usage_error("expected one domain NAME");
	reply = request(type, name_body(argv[1]), NULL, false, NULL);
	if (!reply)
		return 1;
	json_object_put(reply);
	if (done)
		printf("%s %s\n", done, argv[1]);
	return 0;
}

static int cmd_shutdown(int argc, char **argv)
{
	int timeout = 0, rc;

	if (argc >= 2 && (!strcmp(argv[1], "-w") || !strcmp(argv[1], "--wait"))) {
		timeout = 120;
		argc--;
		argv++;
	}
	rc = domain_cmd(argc, argv, CTL_SHUTDOWN, timeout ? NULL :
			"Asked to shut down:");
	if (rc || !timeout)
		return rc;
	rc = wait_gone(argv[1], timeout);
	if (!rc)
		printf("Domain %s has shut down\n", argv[1]);
	return rc;
}

static int cmd_destroy(int argc, char **argv)
{
	return domain_cmd(argc, argv, CTL_DESTROY, "Destroyed");
}

static int cmd_pause(int argc, char **argv)
{
	return domain_cmd(argc, argv, CTL_PAUSE, "Paused");
}

static int cmd_unpause(int argc, char **argv)
{
	return domain_cmd(argc, argv, CTL_UNPAUSE, "Unpaused");
}

static int cmd_console(int argc, char **argv)
{
	struct json_object *reply;
	int fd = -1, rc;

	if (argc != 2 || argv[1][0] == '-')
		return usage_error("expected one domain NAME");
	reply = request(CTL_CONSOLE, name_body(argv[1]), &fd, false, NULL);
	if (!reply)
		return 1;
	json_object_put(reply);
	if (fd < 0) {
		fprintf(stderr, "clusterctl: clusterd sent no console descriptor\n");
		return 1;
	}
	rc = clu_console_relay(fd);
	if (rc)
		fprintf(stderr, "clusterctl: console: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}

static int cmd_disks(int argc, char **argv)
{
	struct json_object *body = json_object_new_object(), *reply, *disks;
	bool json = false;
	const char *name = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' || name) {
			json_object_put(body);
			return usage_error("unexpected argument %s", argv[i]);
		} else
			name = argv[i];
	}
	if (name)
		json_object_object_add(body, "name", json_object_new_string(name));
	reply = request(CTL_DISKS, body, NULL, false, NULL);
	if (!reply)
		return 1;
	disks = reply_list(reply, "disks", "disk");
	if (!disks)
		return 1;
	if (json) {
		print_json(disks);
	} else {
		printf("%-16s %-6s %-40s %-8s %-10s %s\n", "Domain", "Disk", "Backend",
		       "Peer", "Role", "State");
		for (size_t i = 0; i < json_object_array_length(disks); i++) {
			struct json_object *k = json_object_array_get_idx(disks, i);
			struct json_object *one = json_object_new_array();

			printf("%-16s ", jstr(k, "domain", "?"));
			json_object_array_add(one, json_object_get(k));
			print_disks(one, "");
			json_object_put(one);
		}
	}
	json_object_put(reply);
	return 0;
}

static int cmd_delete(int argc, char **argv)
{
	return domain_cmd(argc, argv, CTL_DELETE, "Deleted the disk resources of");
}

static int cmd_nodes(int argc, char **argv)
{
	struct json_object *reply, *nodes, *lost;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else
			return usage_error("unexpected argument %s", argv[i]);
	}
	reply = request(CTL_NODES, json_object_new_object(), NULL, false, NULL);
	if (!reply)
		return 1;
	if (json) {
		json_object_object_del(reply, "ok");
		print_json(reply);
		json_object_put(reply);
		return 0;
	}
	nodes = reply_list(reply, "nodes", "node");
	if (!nodes)
		return 1;
	if (!jbool(reply, "corosync"))
		printf("corosync: not connected on %s: no membership, no HA restart\n",
		       jstr(reply, "node", "?"));
	printf("Quorum: %s   Watchdog: %s   Fence wait: %lld s   (asked %s)\n",
	       jbool(reply, "quorate") ? "yes" : "NO",
	       jint(reply, "watchdog") ? "armed" : "off",
	       (long long)jint(reply, "fence_wait"), jstr(reply, "node", "?"));
	printf("%-16s %-16s %-8s %s\n", "Node", "Address", "Member", "Domains");
	for (size_t i = 0; i < json_object_array_length(nodes); i++) {
		struct json_object *n = json_object_array_get_idx(nodes, i), *doms;
		char list[512] = "";
		size_t used = 0;

		if (json_object_object_get_ex(n, "domains", &doms))
			for (size_t j = 0; j < json_object_array_length(doms) && used < sizeof(list); j++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 j ? " " : "",
							 json_object_get_string(json_object_array_get_idx(doms, j)));
		printf("%-16s %-16s %-8s %s\n", jstr(n, "name", "?"), jstr(n, "address", "?"),
		       jbool(n, "member") ? "yes" : "no", list[0] ? list : "-");
	}
	if (json_object_object_get_ex(reply, "lost", &lost) && json_object_array_length(lost)) {
		printf("\nLost domains (their node left the cluster):\n");
		for (size_t i = 0; i < json_object_array_length(lost); i++) {
			struct json_object *l = json_object_array_get_idx(lost, i);

			printf("  %-16s was on %-12s %s, %lld s ago\n", jstr(l, "name", "?"),
			       jstr(l, "node", "?"),
			       !jbool(l, "ha") ? "not HA: stays down"
			       : jstr(l, "peer", "")[0] ? "HA: restarts on its disks' peer"
			       : jbool(l, "movable") ? "HA: restarts on a member"
			       : "HA, but its disk was on that node only: stays down",
			       (long long)jint(l, "lost_s"));
		}
	}
	json_object_put(reply);
	return 0;
}

/* ---- migrate ---- */

/* "50M": bytes per second, with K, M or G as powers of 1024. */
static int parse_rate(const char *s, int64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1;

	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case 'K': case 'k': mul = 1024; end++; break;
	case 'M': case 'm': mul = 1024 * 1024; end++; break;
	case 'G': case 'g': mul = 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end || v * mul < 4096 || v * mul > (double)(INT64_C(1) << 40))
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

static int parse_count(const char *s, long lo, long hi, int64_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static double mib(int64_t bytes)
{
	return (double)bytes / (1 << 20);
}

static void print_progress(struct json_object *p)
{
	const char *ev = jstr(p, "event", "");

	if (!strcmp(ev, "message")) {
		printf("  %s\n", jstr(p, "message", ""));
	} else if (!strcmp(ev, "round")) {
		struct json_object *rate;

		printf("  round %2lld: %7lld pages dirty", (long long)jint(p, "round"),
		       (long long)jint(p, "dirty_pages"));
		if (json_object_object_get_ex(p, "rate_mib_s", &rate))
			printf(", %6.1f MiB/s, downtime %5lld ms, ETA %.1f s",
			       json_object_get_double(rate),
			       (long long)jint(p, "projected_downtime_ms"),
			       (double)jint(p, "eta_ms") / 1000);
		printf(", %7.1f MiB sent", mib(jint(p, "sent_bytes")));
		if (jint(p, "cap_pct"))
			printf(", capped at %lld%%", (long long)jint(p, "cap_pct"));
		if (strcmp(jstr(p, "decision", "continue"), "continue"))
			printf(": %s", jstr(p, "decision", ""));
		putchar('\n');
	}
	fflush(stdout);
}

static int cmd_migrate(int argc, char **argv)
{
	static const struct timeval long_wait = { .tv_sec = 1800 };
	struct json_object *body = json_object_new_object(), *msg = NULL;
	const char *name = NULL, *to = NULL, *cancel = NULL;
	bool json = false;
	char err[CTL_ERR_LEN];
	uint16_t type;
	int64_t n;
	int fd, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--compress")) {
			json_object_object_add(body, "compress", json_object_new_boolean(1));
		} else if (!strcmp(a, "--no-throttle")) {
			json_object_object_add(body, "throttle", json_object_new_boolean(0));
		} else if (!strcmp(a, "--cancel") && val) {
			cancel = val;
			i++;
		} else if (!strcmp(a, "--downtime-ms") && val) {
			if (parse_count(val, 1, 60000, &n))
				goto bad_value;
			json_object_object_add(body, "downtime_ms", json_object_new_int64(n));
			i++;
		} else if (!strcmp(a, "--max-rounds") && val) {
			if (parse_count(val, 1, 1000, &n))
				goto bad_value;
			json_object_object_add(body, "max_rounds", json_object_new_int64(n));
			i++;
		} else if (!strcmp(a, "--bandwidth") && val) {
			if (parse_rate(val, &n))
				goto bad_value;
			json_object_object_add(body, "bandwidth", json_object_new_int64(n));
			i++;
		} else if (!strcmp(a, "--fault") && val) {
			json_object_object_add(body, "fault", json_object_new_string(val));
			i++;
		} else if (a[0] == '-') {
			json_object_put(body);
			return usage_error(val || strncmp(a, "--", 2) ? "unknown option %s"
					   : "%s needs a value", a);
		} else if (!name) {
			name = a;
		} else if (!to) {
			to = a;
		} else {
			json_object_put(body);
			return usage_error("unexpected argument %s", a);
		}
		continue;
bad_value:
		json_object_put(body);
		return usage_error("%s %s: expected %s", a, val,
				   !strcmp(a, "--bandwidth") ? "bytes per second, as 50M or 1G"
				   : !strcmp(a, "--downtime-ms") ? "milliseconds, 1 to 60000"
				   : "a number of rounds, 1 to 1000");
	}
	if (cancel) {
		json_object_put(body);
		if (name)
			return usage_error("--cancel takes only the domain's NAME");
		body = name_body(cancel);
		json_object_object_add(body, "cancel", json_object_new_boolean(1));
		msg = request(CTL_MIGRATE, body, NULL, false, NULL);
		if (!msg)
			return 1;
		printf("Asked %s to stop migrating %s; it resumes there\n",
		       jstr(msg, "node", "its node"), cancel);
		json_object_put(msg);
		return 0;
	}
	if (!name || !to) {
		json_object_put(body);
		return usage_error("expected a domain NAME and the NODE to move it to");
	}
	json_object_object_add(body, "name", json_object_new_string(name));
	json_object_object_add(body, "to", json_object_new_string(to));
	fd = connect_daemon();
	if (fd < 0) {
		json_object_put(body);
		return 1;
	}
	/* Progress comes each round; a round of a large guest takes long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &long_wait, sizeof(long_wait));
	rc = ctl_send(fd, CTL_MIGRATE, body, -1);
	json_object_put(body);
	if (!json && !rc)
		printf("Migrating %s to %s\n", name, to);
	while (!rc) {
		rc = ctl_recv(fd, &type, &msg, NULL, err);
		if (rc)
			break;
		if (json)
			puts(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		if (type == CTL_REPLY)
			break;
		if (!json)
			print_progress(msg);
		json_object_put(msg);
		msg = NULL;
	}
	close(fd);
	if (rc) {
		fprintf(stderr, "clusterctl: migrate %s: %s\n", name,
			rc == -EPIPE ? "clusterd closed the connection without a reply"
			: rc == -EAGAIN ? "no word from clusterd for 30 minutes" : err);
		return 1;
	}
	if (!jbool(msg, "ok")) {
		fprintf(stderr, "clusterctl: migrate %s: %s\n", name, jstr(msg, "error", "failed"));
		if (json_object_object_get(msg, "node"))
			fprintf(stderr, "%s keeps running on %s\n", name, jstr(msg, "node", "?"));
		json_object_put(msg);
		return 1;
	}
	if (!json)
		printf("%s runs on %s: %.1f s in all, downtime %lld ms (%lld of it the "
		       "restore there), %.1f MiB sent (%.1f MiB of stream), %lld rounds\n",
		       name, jstr(msg, "node", to), (double)jint(msg, "total_ms") / 1000,
		       (long long)jint(msg, "downtime_ms"), (long long)jint(msg, "restore_ms"),
		       mib(jint(msg, "sent_bytes")), mib(jint(msg, "stream_bytes")),
		       (long long)jint(msg, "rounds"));
	json_object_put(msg);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "check", cmd_check, "[--json] FILE", "validate a domain config and print it normalised" },
	{ "create", cmd_create, "[--peer NODE|none] FILE",
	  "create and start a domain; writable disks are replicated to the peer" },
	{ "list", cmd_list, "[-l] [--json] [--node NODE]",
	  "list the cluster's domains (-l: with their disks)" },
	{ "disks", cmd_disks, "[--json] [NAME]", "disks on this node and their replication state" },
	{ "nodes", cmd_nodes, "[--json]", "the cluster's nodes: membership, quorum, domains" },
	{ "delete", cmd_delete, "NAME", "remove a stopped domain's disk resources (data files stay)" },
	{ "migrate", cmd_migrate, "[--downtime-ms MS] [--bandwidth RATE] [--compress] "
	  "[--no-throttle] [--max-rounds N] [--json] NAME NODE | --cancel NAME",
	  "move a running domain to NODE live" },
	{ "shutdown", cmd_shutdown, "[-w] NAME", "ask a domain to shut down (-w: wait until it has)" },
	{ "destroy", cmd_destroy, "NAME", "stop a domain at once" },
	{ "pause", cmd_pause, "NAME", "pause a domain" },
	{ "unpause", cmd_unpause, "NAME", "unpause a domain" },
	{ "console", cmd_console, "NAME", "attach to a domain's console (Ctrl-] leaves)" },
	{ "help", cmd_help, "", "this text" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: clusterctl [-s SOCKET] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-8s %-14s %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
	fprintf(out, "\noptions:\n  -s, --socket PATH  clusterd's socket (default %s,\n"
		"                     or $XENRACK_SOCKET)\n\nSee clusterctl(1).\n",
		CTL_SOCKET);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	sock_path = getenv("XENRACK_SOCKET");
	if (!sock_path)
		sock_path = CTL_SOCKET;
	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default:  usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmds[i].name, argv[optind])) {
			current = &cmds[i];
			return cmds[i].fn(argc - optind, argv + optind);
		}
	}
	fprintf(stderr, "clusterctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}

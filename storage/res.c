/*
 * res.c - the pure half of storage: resource names, the DRBD resource file,
 * our JSON record, and the reading of `drbdsetup events2`.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "storage.h"
#include "util.h"

void st_errf(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ST_ERR_LEN, fmt, ap);
	va_end(ap);
}

const char *st_peer_of(const struct st_res *r, const char *self)
{
	return strcmp(r->node[0], self) ? r->node[0] : r->node[1];
}

void st_res_name(char *out, size_t len, const char *domain, const char *vdev)
{
	size_t i;

	snprintf(out, len, "xr-%s-%s", domain, vdev);
	for (i = 0; out[i]; i++) {
		unsigned char c = (unsigned char)out[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			out[i] = '_';
	}
}

bool st_res_name_ok(const char *name)
{
	size_t i;

	if (strncmp(name, "xr-", 3) || strlen(name) >= ST_RES_LEN)
		return false;
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

uint64_t st_md_bytes(uint64_t size)
{
	const uint64_t mib = 1 << 20;
	uint64_t bitmap = (size / 4096 + 7) / 8;	/* a bit per 4 KiB block */
	uint64_t md = bitmap + 32 * 1024 + 4 * 1024;	/* + AL + superblock */

	return (md + mib - 1) / mib * mib + mib;
}

void st_device(const struct st_res *r, char *out, size_t len)
{
	if (r->replicated)
		snprintf(out, len, "/dev/drbd%d", r->minor);
	else
		snprintf(out, len, "%s", r->path);
}

/*
 * The same file on both nodes.  Split-brain is never resolved for us:
 * every after-sb policy disconnects, the handler leaves a mark (see
 * appliance/drbd-split-brain), and the operator chooses (docs/storage.md).
 * Fencing keeps one from happening: a Primary that loses its link, or a
 * Secondary promoted without one, freezes the resource's I/O until the
 * fence-peer handler (clusterd --fence-peer, cluster/member.c) has
 * outdated the peer's copy or found it out of the quorate membership.
 * The backing device is a link under st_run, so the file does not change
 * when a loop device gets another number after a reboot.  `size` keeps the
 * device at the guest's size, whatever room the metadata leaves.
 */
void st_res_render(const struct st_res *r, FILE *out)
{
	int i;

	fprintf(out,
		"# %s: disk %s of domain %s, written by clusterd; do not edit.\n"
		"resource %s {\n"
		"\tnet {\n"
		"\t\tprotocol C;\n"
		"\t\tcram-hmac-alg sha256;\n"
		"\t\tshared-secret \"%s\";\n"
		"\t\tafter-sb-0pri disconnect;\n"
		"\t\tafter-sb-1pri disconnect;\n"
		"\t\tafter-sb-2pri disconnect;\n"
		"\t\trr-conflict disconnect;\n"
		"\t}\n"
		"\tdisk {\n"
		"\t\tsize %" PRIu64 "k;\n"
		"\t\tc-plan-ahead 0;\n"
		"\t\tresync-rate 100M;\n"
		"\t\tfencing resource-and-stonith;\n"
		"\t}\n"
		"\thandlers {\n"
		"\t\tsplit-brain \"/usr/libexec/xenrack/drbd-split-brain\";\n"
		"\t\tfence-peer \"/usr/libexec/xenrack/drbd-fence-peer\";\n"
		"\t}\n",
		r->name, r->vdev, r->domain, r->name, r->secret, r->size / 1024);
	for (i = 0; i < 2; i++) {
		fprintf(out,
			"\ton %s {\n"
			"\t\tdevice /dev/drbd%d;\n"
			"\t\tdisk %s/%s.disk;\n"
			"\t\taddress %s:%d;\n",
			r->node[i], r->minor, st_run, r->name, r->addr[i],
			ST_PORT_BASE + r->minor);
		if (r->kind == ST_FILE)
			fprintf(out, "\t\tmeta-disk internal;\n");
		else
			fprintf(out, "\t\tmeta-disk %s/%s.mdloop;\n", st_run, r->name);
		fprintf(out, "\t}\n");
	}
	fprintf(out, "}\n");
}

struct json_object *st_res_to_json(const struct st_res *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "domain", json_object_new_string(r->domain));
	json_object_object_add(o, "vdev", json_object_new_string(r->vdev));
	json_object_object_add(o, "kind", json_object_new_string(
		r->kind == ST_PHY ? "phy" : "file"));
	json_object_object_add(o, "path", json_object_new_string(r->path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->size));
	json_object_object_add(o, "writable", json_object_new_boolean(r->writable));
	json_object_object_add(o, "replicated", json_object_new_boolean(r->replicated));
	json_object_object_add(o, "minor", json_object_new_int64(r->minor));
	json_object_object_add(o, "node", json_object_new_string(r->node[0]));
	json_object_object_add(o, "address", json_object_new_string(r->addr[0]));
	json_object_object_add(o, "peer", json_object_new_string(r->node[1]));
	json_object_object_add(o, "peer_address", json_object_new_string(r->addr[1]));
	json_object_object_add(o, "secret", json_object_new_string(r->secret));
	json_object_object_add(o, "created_file", json_object_new_boolean(r->created_file));
	return o;
}

static int copy_str(struct json_object *o, const char *key, char *dst,
		    size_t len, bool may_be_empty, char *err)
{
	struct json_object *v;
	const char *s;

	if (may_be_empty && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == 0) {
		dst[0] = '\0';
		return 0;
	}
	s = xr_json_str(o, key, len - 1, err, ST_ERR_LEN);
	if (!s)
		return -EINVAL;
	snprintf(dst, len, "%s", s);
	return 0;
}

static int get_int(struct json_object *o, const char *key, int64_t lo,
		   int64_t hi, int64_t *out, char *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		st_errf(err, "field '%s' missing or not an integer", key);
		return -EINVAL;
	}
	*out = json_object_get_int64(v);
	if (*out < lo || *out > hi) {
		st_errf(err, "field '%s' = %" PRId64 " is out of range",
			 key, *out);
		return -ERANGE;
	}
	return 0;
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* Every field a peer sends is checked here before it reaches a shell word
 * or a resource file: names are whole words of safe characters. */
static int safe_word(const char *s, const char *what, char *err)
{
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("-_.:/", *s)) {
			st_errf(err, "field '%s' holds character 0x%02x",
				 what, (unsigned char)*s);
			return -EINVAL;
		}
	}
	return 0;
}

int st_res_from_json(struct st_res *r, struct json_object *o, char *err)
{
	char kind[8], want[ST_RES_LEN];
	int64_t v;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = copy_str(o, "name", r->name, sizeof(r->name), false, err)) ||
	    (rc = copy_str(o, "domain", r->domain, sizeof(r->domain), false, err)) ||
	    (rc = copy_str(o, "vdev", r->vdev, sizeof(r->vdev), false, err)) ||
	    (rc = copy_str(o, "kind", kind, sizeof(kind), false, err)) ||
	    (rc = copy_str(o, "path", r->path, sizeof(r->path), false, err)) ||
	    (rc = copy_str(o, "node", r->node[0], sizeof(r->node[0]), false, err)) ||
	    (rc = copy_str(o, "address", r->addr[0], sizeof(r->addr[0]), true, err)) ||
	    (rc = copy_str(o, "peer", r->node[1], sizeof(r->node[1]), true, err)) ||
	    (rc = copy_str(o, "peer_address", r->addr[1], sizeof(r->addr[1]), true, err)) ||
	    (rc = copy_str(o, "secret", r->secret, sizeof(r->secret), true, err)))
		return rc;
	if (strcmp(kind, "phy") && strcmp(kind, "file")) {
		st_errf(err, "field 'kind' is '%s', not phy or file", kind);
		return -EINVAL;
	}
	r->kind = kind[0] == 'p' ? ST_PHY : ST_FILE;
	if ((rc = get_int(o, "size", 0, INT64_MAX, &v, err)))
		return rc;
	r->size = (uint64_t)v;
	if ((rc = get_int(o, "minor", -1, ST_MINORS - 1, &v, err)))
		return rc;
	r->minor = (int)v;
	r->writable = get_bool(o, "writable");
	r->replicated = get_bool(o, "replicated");
	r->created_file = get_bool(o, "created_file");
	st_res_name(want, sizeof(want), r->domain, r->vdev);
	if (strcmp(want, r->name)) {
		st_errf(err, "field 'name' is '%s', expected '%s'",
			 r->name, want);
		return -EINVAL;
	}
	if (r->path[0] != '/') {
		st_errf(err, "field 'path' is not an absolute path");
		return -EINVAL;
	}
	if ((rc = safe_word(r->domain, "domain", err)) ||
	    (rc = safe_word(r->vdev, "vdev", err)) ||
	    (rc = safe_word(r->path, "path", err)) ||
	    (rc = safe_word(r->node[0], "node", err)) ||
	    (rc = safe_word(r->node[1], "peer", err)) ||
	    (rc = safe_word(r->addr[0], "address", err)) ||
	    (rc = safe_word(r->addr[1], "peer_address", err)) ||
	    (rc = safe_word(r->secret, "secret", err)))
		return rc;
	if (r->replicated && (!r->node[1][0] || !r->addr[0][0] || !r->addr[1][0])) {
		st_errf(err, "a replicated disk needs 'peer' and both addresses");
		return -EINVAL;
	}
	if (r->minor >= 0 && (strlen(r->secret) != 32 ||
			      strspn(r->secret, "0123456789abcdef") != 32)) {
		st_errf(err, "field 'secret' must be 32 hex digits once a minor is chosen");
		return -EINVAL;
	}
	return 0;
}

/* ---- events2 ---- */

static void set_field(char *dst, size_t len, const char *line, const char *key)
{
	char pat[32];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s:", key);
	p = strstr(line, pat);
	if (!p)
		return;
	p += strlen(pat);
	n = strcspn(p, " \n");
	if (n >= len)
		n = len - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

int st_events_line(struct st_state *s, const char *line)
{
	const char *obj;
	char done[16] = "";

	/* "exists", "create", "change" or "destroy", then the object. */
	obj = strchr(line, ' ');
	if (!obj || (strncmp(line, "exists ", 7) && strncmp(line, "create ", 7) &&
		     strncmp(line, "change ", 7) && strncmp(line, "destroy ", 8) &&
		     strncmp(line, "call ", 5) && strncmp(line, "response ", 9)))
		return -EINVAL;
	obj++;
	if (!strcmp(obj, "-") || !strcmp(obj, "-\n"))
		return 0;	/* end of the initial state */
	if (!strncmp(line, "destroy ", 8)) {
		if (!strncmp(obj, "resource ", 9))
			s->up = false;
		return 0;
	}
	if (!strncmp(obj, "resource ", 9)) {
		s->up = true;
		set_field(s->role, sizeof(s->role), obj, "role");
		set_field(s->suspended, sizeof(s->suspended), obj, "suspended");
	} else if (!strncmp(obj, "connection ", 11)) {
		set_field(s->connection, sizeof(s->connection), obj, "connection");
		set_field(s->peer_role, sizeof(s->peer_role), obj, "role");
	} else if (!strncmp(obj, "device ", 7)) {
		set_field(s->disk, sizeof(s->disk), obj, "disk");
	} else if (!strncmp(obj, "peer-device ", 12)) {
		set_field(s->replication, sizeof(s->replication), obj, "replication");
		set_field(s->peer_disk, sizeof(s->peer_disk), obj, "peer-disk");
		set_field(done, sizeof(done), obj, "done");
		if (done[0])
			s->done = strtod(done, NULL);
	} else if (!strncmp(obj, "helper ", 7)) {
		char helper[24] = "";

		set_field(helper, sizeof(helper), obj, "helper");
		if (!strcmp(helper, "split-brain"))
			s->split_brain = true;
	}
	return 0;
}

void st_state_summary(const struct st_state *s, char *out, size_t len)
{
	if (!s->up)
		snprintf(out, len, "Down");
	else if (s->split_brain && strcmp(s->connection, "Connected"))
		snprintf(out, len, "SplitBrain");
	else if (!strncmp(s->replication, "Sync", 4) ||
		 !strncmp(s->replication, "PausedSync", 10))
		snprintf(out, len, "%s %.1f%%", s->replication, s->done);
	else if (s->suspended[0] && strcmp(s->suspended, "no"))
		/* The fence-peer handler has not answered (docs/storage.md). */
		snprintf(out, len, "Frozen (%s)", s->suspended);
	else if (strcmp(s->connection, "Connected") && !strcmp(s->disk, "Outdated"))
		/* Fenced: this copy may not be promoted until it resyncs. */
		snprintf(out, len, "Outdated");
	else if (strcmp(s->connection, "Connected"))
		/* Our copy is the only one being written. */
		snprintf(out, len, "Degraded");
	else if (!strcmp(s->disk, "UpToDate") && !strcmp(s->peer_disk, "UpToDate"))
		snprintf(out, len, "UpToDate");
	else
		snprintf(out, len, "%s/%s", s->disk[0] ? s->disk : "?",
			 s->peer_disk[0] ? s->peer_disk : "?");
}

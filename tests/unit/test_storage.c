/*
 * test_storage.c - the storage layer without root: resource names, the
 * metadata size, the DRBD resource file, the JSON record and its checked
 * reading, the reading of `drbdsetup events2`, and the read-only checks
 * (st_plan, st_check_replica) on real files in a temporary directory.
 * Nothing here runs drbdadm or losetup.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "hv.h"
#include "storage.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)
#define EIB (UINT64_C(1) << 60)

static char dir[] = "/tmp/xr-storage.XXXXXX";
static char sdir[64], rdir[64];

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(sdir, sizeof(sdir), "%s/storage", dir);
	snprintf(rdir, sizeof(rdir), "%s/run", dir);
	st_dir = sdir;
	st_run = rdir;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

/* Each test starts with an empty st_dir and st_run and no other files. */
static int setup(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* && mkdir '%s' '%s'", dir, sdir, rdir);
	return system(cmd) ? -1 : 0;
}

/* A file of @size bytes (sparse) at DIR/@name; its path in @path. */
static void make_file(const char *name, uint64_t size, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static size_t entries(const char *path)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(path);

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static uint64_t size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* A replicated file: disk as clusterd would plan and number it. */
static void sample(struct st_res *r, enum st_kind kind, const char *path)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->domain, sizeof(r->domain), "NetBSD");
	snprintf(r->vdev, sizeof(r->vdev), "xvda");
	st_res_name(r->name, sizeof(r->name), r->domain, r->vdev);
	r->kind = kind;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->size = 64 * MIB;
	r->writable = true;
	r->replicated = true;
	r->minor = 5;
	snprintf(r->node[0], sizeof(r->node[0]), "node1");
	snprintf(r->node[1], sizeof(r->node[1]), "node2");
	snprintf(r->addr[0], sizeof(r->addr[0]), "10.0.0.1");
	snprintf(r->addr[1], sizeof(r->addr[1]), "10.0.0.2");
	snprintf(r->secret, sizeof(r->secret), "0123456789abcdef0123456789abcdef");
}

/* Write @r as the record st_dir/NAME.json, as a node that holds it would. */
static void save_record(const struct st_res *r)
{
	char path[PATH_MAX];
	struct json_object *o = st_res_to_json(r);

	snprintf(path, sizeof(path), "%s/%s.json", sdir, r->name);
	assert_int_equal(json_object_to_file(path, o), 0);
	json_object_put(o);
}

/* ---- names, sizes ---- */

static void test_res_name(void **state)
{
	char out[ST_RES_LEN];

	(void)state;
	st_res_name(out, sizeof(out), "NetBSD", "xvda");
	assert_string_equal(out, "xr-NetBSD-xvda");
	st_res_name(out, sizeof(out), "web.01_a-b", "xvdb2");
	assert_string_equal(out, "xr-web.01_a-b-xvdb2");
	st_res_name(out, sizeof(out), "my vm;x/y", "xv:da");
	assert_string_equal(out, "xr-my_vm_x_y-xv_da");
	st_res_name(out, sizeof(out), "a\nb\"c'd$e", "xvda");
	assert_string_equal(out, "xr-a_b_c_d_e-xvda");
	st_res_name(out, sizeof(out), "caf\xc3\xa9", "xvda");	/* each byte */
	assert_string_equal(out, "xr-caf__-xvda");
	/* Truncated to the buffer, still terminated. */
	st_res_name(out, 8, "NetBSD", "xvda");
	assert_string_equal(out, "xr-NetB");
}

static void test_md_bytes(void **state)
{
	static const uint64_t sizes[] = {
		0, 1, 4096, MIB, 4 * MIB, 64 * MIB, 100 * MIB + 1, GIB,
		10 * GIB + 12345, 100 * GIB, TIB, 4 * TIB, 16 * TIB + 4096,
	};
	uint64_t prev = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t s = sizes[i], md = st_md_bytes(s);
		uint64_t bitmap = (s / 4096 + 7) / 8;

		assert_true(md >= bitmap + 36 * 1024);
		assert_int_equal(md % MIB, 0);
		assert_true(md >= MIB);
		assert_true(md >= prev);
		prev = md;
	}
	/* A bit per 4 KiB block, 32 KiB of activity log, 4 KiB superblock,
	 * rounded up to a MiB, with a MiB to spare. */
	assert_int_equal(st_md_bytes(64 * MIB), 2 * MIB);
	assert_int_equal(st_md_bytes(TIB), 34 * MIB);	/* 32 MiB bitmap */
	assert_int_equal(st_md_bytes(0), 2 * MIB);
}

/* ---- the resource file ---- */

static char *render(const struct st_res *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	st_res_render(r, f);
	fclose(f);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("resource file lacks \"%s\":\n%s", want, text);
}

/* What both kinds share. */
static void common_lines(const char *text)
{
	char want[256];

	has(text, "resource xr-NetBSD-xvda {\n");
	has(text, "\t\tprotocol C;\n");
	has(text, "\t\tcram-hmac-alg sha256;\n");
	has(text, "\t\tshared-secret \"0123456789abcdef0123456789abcdef\";\n");
	has(text, "\t\tafter-sb-0pri disconnect;\n");
	has(text, "\t\tafter-sb-1pri disconnect;\n");
	has(text, "\t\tafter-sb-2pri disconnect;\n");
	has(text, "\t\tsplit-brain \"/usr/libexec/xenrack/drbd-split-brain\";\n");
	/* I/O waits for the fence-peer handler when the link is lost. */
	has(text, "\t\tfencing resource-and-stonith;\n");
	has(text, "\t\tfence-peer \"/usr/libexec/xenrack/drbd-fence-peer\";\n");
	has(text, "\ton node1 {\n");
	has(text, "\ton node2 {\n");
	has(text, "\t\taddress 10.0.0.1:7793;\n");
	has(text, "\t\taddress 10.0.0.2:7793;\n");
	assert_int_equal(count(text, "\t\tdevice /dev/drbd5;\n"), 2);
	snprintf(want, sizeof(want), "\t\tdisk %s/xr-NetBSD-xvda.disk;\n", rdir);
	assert_int_equal(count(text, want), 2);
	/* Balanced braces: drbdadm reads it whole. */
	assert_int_equal(count(text, "{"), count(text, "}"));
	/* The operator's path never reaches the file: only the link does. */
	assert_null(strstr(text, "/data/"));
}

static void test_render_file(void **state)
{
	struct st_res r;
	char *text;

	(void)state;
	sample(&r, ST_FILE, "/data/nbsd.img");
	text = render(&r);
	common_lines(text);
	assert_int_equal(count(text, "\t\tmeta-disk internal;\n"), 2);
	assert_null(strstr(text, "mdloop"));
	free(text);

	/* Minor 0 listens on the base port. */
	r.minor = 0;
	text = render(&r);
	has(text, "\t\taddress 10.0.0.1:7788;\n");
	has(text, "\t\tdevice /dev/drbd0;\n");
	free(text);
}

static void test_render_phy(void **state)
{
	struct st_res r;
	char *text, want[256];

	(void)state;
	sample(&r, ST_PHY, "/data/vg0-nbsd");
	text = render(&r);
	common_lines(text);
	snprintf(want, sizeof(want), "\t\tmeta-disk %s/xr-NetBSD-xvda.mdloop;\n", rdir);
	assert_int_equal(count(text, want), 2);
	assert_null(strstr(text, "internal"));
	free(text);
}

/* ---- the JSON record ---- */

static void test_json_round_trip(void **state)
{
	struct st_res r, back;
	struct json_object *o, *parsed;
	char err[ST_ERR_LEN] = "";

	(void)state;
	sample(&r, ST_PHY, "/dev/mapper/vg0-nbsd");
	r.size = 3 * TIB + 512;
	r.minor = 255;
	r.created_file = true;
	r.fresh = true;		/* not part of the record */
	o = st_res_to_json(&r);
	/* Through text, as it is stored and sent. */
	parsed = json_tokener_parse(json_object_to_json_string(o));
	assert_non_null(parsed);
	assert_int_equal(st_res_from_json(&back, parsed, err), 0);
	assert_string_equal(err, "");
	r.fresh = false;
	assert_memory_equal(&r, &back, sizeof(r));
	json_object_put(parsed);
	json_object_put(o);

	/* Unreplicated, read-only: empty peer fields and minor -1 are fine. */
	memset(&r, 0, sizeof(r));
	snprintf(r.domain, sizeof(r.domain), "NetBSD");
	snprintf(r.vdev, sizeof(r.vdev), "xvdb");
	st_res_name(r.name, sizeof(r.name), r.domain, r.vdev);
	r.kind = ST_FILE;
	snprintf(r.path, sizeof(r.path), "/data/cd.iso");
	r.size = 700 * MIB;
	r.minor = -1;
	snprintf(r.node[0], sizeof(r.node[0]), "node1");
	o = st_res_to_json(&r);
	assert_int_equal(st_res_from_json(&back, o, err), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	assert_false(back.replicated);
	assert_false(back.writable);
	assert_int_equal(back.kind, ST_FILE);
	json_object_put(o);
}

/* A valid record of a replicated disk, with @key set to @val (a JSON
 * text), or removed when @val is NULL; st_res_from_json must refuse it. */
static void refused(const char *key, const char *val, int want_rc, const char *want_err)
{
	struct st_res r, out;
	struct json_object *o;
	char err[ST_ERR_LEN] = "";

	sample(&r, ST_FILE, "/data/nbsd.img");
	o = st_res_to_json(&r);
	if (val) {
		struct json_object *v = json_tokener_parse(val);

		assert_non_null(v);
		json_object_object_add(o, key, v);
	} else {
		json_object_object_del(o, key);
	}
	if (st_res_from_json(&out, o, err) != want_rc || strcmp(err, want_err))
		fail_msg("%s = %s: rc %d \"%s\", expected %d \"%s\"", key, val ? val : "(none)",
			 st_res_from_json(&out, o, err), err, want_rc, want_err);
	json_object_put(o);
}

static void test_json_refused(void **state)
{
	(void)state;
	/* Before a minor is chosen (the peer's check) there is no secret yet. */
	{
		struct st_res r, out;
		struct json_object *o;
		char err[ST_ERR_LEN] = "";

		sample(&r, ST_FILE, "/data/nbsd.img");
		r.minor = -1;
		memset(r.secret, 0, sizeof(r.secret));
		o = st_res_to_json(&r);
		assert_int_equal(st_res_from_json(&out, o, err), 0);
		assert_memory_equal(&r, &out, sizeof(r));
		json_object_put(o);
	}
	refused("path", NULL, -EINVAL, "field 'path' missing");
	refused("minor", NULL, -EINVAL, "field 'minor' missing or not an integer");
	refused("size", "\"64M\"", -EINVAL, "field 'size' missing or not an integer");
	refused("kind", "\"nfs\"", -EINVAL, "field 'kind' is 'nfs', not phy or file");
	refused("minor", "300", -ERANGE, "field 'minor' = 300 is out of range");
	refused("minor", "-2", -ERANGE, "field 'minor' = -2 is out of range");
	refused("size", "-1", -ERANGE, "field 'size' = -1 is out of range");
	refused("name", "\"xr-Other-xvda\"", -EINVAL,
		"field 'name' is 'xr-Other-xvda', expected 'xr-NetBSD-xvda'");
	refused("vdev", "\"xvdb\"", -EINVAL,
		"field 'name' is 'xr-NetBSD-xvda', expected 'xr-NetBSD-xvdb'");
	refused("path", "\"data/nbsd.img\"", -EINVAL, "field 'path' is not an absolute path");
	refused("path", "\"/data/my disk.img\"", -EINVAL, "field 'path' holds character 0x20");
	refused("path", "\"/data/a;reboot\"", -EINVAL, "field 'path' holds character 0x3b");
	refused("path", "\"/data/a\\nb\"", -EINVAL, "field 'path' holds character 0x0a");
	refused("path", "\"/data/$(reboot)\"", -EINVAL, "field 'path' holds character 0x24");
	refused("peer", "\"node2;x\"", -EINVAL, "field 'peer' holds character 0x3b");
	refused("address", "\"10.0.0.1 x\"", -EINVAL, "field 'address' holds character 0x20");
	refused("secret", "\"abc\\\"def\"", -EINVAL, "field 'secret' holds character 0x22");
	refused("node", "\"\"", -EINVAL, "field 'node': 0 bytes, expected 1 to 63 without NUL");
	refused("secret", "\"\"", -EINVAL,
		"field 'secret' must be 32 hex digits once a minor is chosen");
	refused("secret", "\"0123\"", -EINVAL,
		"field 'secret' must be 32 hex digits once a minor is chosen");
	refused("peer", "\"\"", -EINVAL, "a replicated disk needs 'peer' and both addresses");
	refused("peer_address", "\"\"", -EINVAL,
		"a replicated disk needs 'peer' and both addresses");
	refused("address", "\"\"", -EINVAL, "a replicated disk needs 'peer' and both addresses");
}

/*
 * The domain and vdev reach the resource file (its first comment line):
 * a newline there would let a peer write DRBD configuration, handlers
 * included.  st_res_name makes the name safe, so checking that the name
 * matches does not check them.
 */
static void test_json_refuses_unsafe_domain(void **state)
{
	struct st_res r, out;
	struct json_object *o;
	char err[ST_ERR_LEN] = "";

	(void)state;
	sample(&r, ST_FILE, "/data/nbsd.img");
	snprintf(r.domain, sizeof(r.domain), "x\n}\nresource evil {");
	st_res_name(r.name, sizeof(r.name), r.domain, r.vdev);
	o = st_res_to_json(&r);
	assert_int_equal(st_res_from_json(&out, o, err), -EINVAL);
	assert_non_null(strstr(err, "'domain'"));
	json_object_put(o);

	sample(&r, ST_FILE, "/data/nbsd.img");
	snprintf(r.vdev, sizeof(r.vdev), "xvda\nhandlers");
	st_res_name(r.name, sizeof(r.name), r.domain, r.vdev);
	o = st_res_to_json(&r);
	assert_int_equal(st_res_from_json(&out, o, err), -EINVAL);
	assert_non_null(strstr(err, "'vdev'"));
	json_object_put(o);
}

/* ---- events2 ---- */

static void feed(struct st_state *s, const char *const *lines)
{
	for (; *lines; lines++)
		if (st_events_line(s, *lines))
			fail_msg("refused a line of events2: %s", *lines);
}

static const char *summary(const struct st_state *s)
{
	static char out[48];

	st_state_summary(s, out, sizeof(out));
	return out;
}

static void test_events_uptodate(void **state)
{
	/* `drbdsetup events2 --now --statistics xr-a-xvda`, DRBD 8.4 kernel,
	 * drbd-utils 9: one line an object, then "exists -". */
	static const char *const lines[] = {
		"exists resource name:xr-a-xvda role:Primary suspended:no write-ordering:flush",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:Connected role:Secondary congested:no",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate size:65536 "
		"read:1200 written:8800 al-writes:12 bm-writes:0 upper-pending:0 "
		"lower-pending:0 al-suspended:no blocked:no",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Established peer-disk:UpToDate resync-suspended:no received:0 "
		"sent:8800 out-of-sync:0 pending:0 unacked:0",
		"exists -",
		NULL,
	};
	struct st_state s = { 0 };

	(void)state;
	feed(&s, lines);
	assert_true(s.up);
	assert_string_equal(s.role, "Primary");
	assert_string_equal(s.peer_role, "Secondary");
	assert_string_equal(s.connection, "Connected");
	assert_string_equal(s.disk, "UpToDate");
	assert_string_equal(s.peer_disk, "UpToDate");
	assert_string_equal(s.replication, "Established");
	assert_false(s.split_brain);
	assert_string_equal(summary(&s), "UpToDate");
}

static void test_events_syncing(void **state)
{
	static const char *const lines[] = {
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:Connected role:Secondary",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:SyncSource peer-disk:Inconsistent done:42.50 resync-suspended:no",
		"exists -",
		NULL,
	};
	struct st_state s = { 0 };

	(void)state;
	feed(&s, lines);
	assert_string_equal(s.replication, "SyncSource");
	assert_string_equal(s.peer_disk, "Inconsistent");
	assert_true(s.done > 42.49 && s.done < 42.51);
	assert_string_equal(summary(&s), "SyncSource 42.5%");
	/* Progress as it comes. */
	assert_int_equal(st_events_line(&s, "change peer-device name:xr-a-xvda peer-node-id:1 "
					"conn-name:node2 volume:0 done:97.13"), 0);
	assert_string_equal(summary(&s), "SyncSource 97.1%");
	/* Done: both UpToDate. */
	assert_int_equal(st_events_line(&s, "change peer-device name:xr-a-xvda peer-node-id:1 "
					"conn-name:node2 volume:0 replication:Established "
					"peer-disk:UpToDate"), 0);
	assert_string_equal(summary(&s), "UpToDate");

	/* The other side of it. */
	memset(&s, 0, sizeof(s));
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Secondary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:0 conn-name:node1 "
		"connection:Connected role:Primary",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:Inconsistent",
		"exists peer-device name:xr-a-xvda peer-node-id:0 conn-name:node1 volume:0 "
		"replication:SyncTarget peer-disk:UpToDate done:3.00 resync-suspended:no",
		"exists -", NULL });
	assert_string_equal(summary(&s), "SyncTarget 3.0%");
	assert_string_equal(s.role, "Secondary");
	assert_string_equal(s.peer_role, "Primary");
}

static void test_events_degraded(void **state)
{
	struct st_state s = { 0 };

	(void)state;
	/* The peer is away: we wait for it, and our copy is the only one. */
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:Connecting role:Unknown",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Off peer-disk:DUnknown resync-suspended:no",
		"exists -", NULL });
	assert_string_equal(s.connection, "Connecting");
	assert_string_equal(s.peer_disk, "DUnknown");
	assert_string_equal(summary(&s), "Degraded");

	memset(&s, 0, sizeof(s));
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:StandAlone role:Unknown",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Off peer-disk:DUnknown resync-suspended:no",
		"exists -", NULL });
	assert_string_equal(summary(&s), "Degraded");

	/* The link just broke: I/O waits for the fence-peer handler. */
	feed(&s, (const char *const[]){
		"change resource name:xr-a-xvda role:Primary suspended:fencing", NULL });
	assert_string_equal(s.suspended, "fencing");
	assert_string_equal(summary(&s), "Frozen (fencing)");

	/* The peer's side of that: its copy outdated, it may not be promoted. */
	memset(&s, 0, sizeof(s));
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Secondary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:0 conn-name:node1 "
		"connection:Connecting role:Unknown",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:Outdated",
		"exists -", NULL });
	assert_string_equal(summary(&s), "Outdated");

	/* Connected but the peer's disk is not there (yet). */
	memset(&s, 0, sizeof(s));
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:Connected role:Secondary",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Established peer-disk:Diskless resync-suspended:no",
		"exists -", NULL });
	assert_string_equal(summary(&s), "UpToDate/Diskless");
}

static void test_events_split_brain(void **state)
{
	struct st_state s = { 0 };

	(void)state;
	/* The split-brain handler's mark (st_state sets the flag from it). */
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:StandAlone role:Unknown",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Off peer-disk:DUnknown resync-suspended:no",
		"exists -", NULL });
	s.split_brain = true;
	assert_string_equal(summary(&s), "SplitBrain");

	/* Or the helper call itself, as events2 reports it. */
	memset(&s, 0, sizeof(s));
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:StandAlone role:Unknown",
		"call helper name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"helper:split-brain",
		NULL });
	assert_true(s.split_brain);
	assert_string_equal(summary(&s), "SplitBrain");

	/* Another helper is no split brain. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(st_events_line(&s, "call helper name:xr-a-xvda volume:0 "
					"helper:before-resync-target"), 0);
	assert_false(s.split_brain);
}

static void test_events_down(void **state)
{
	struct st_state s = { 0 };

	(void)state;
	/* A resource that is down is not listed at all. */
	assert_string_equal(summary(&s), "Down");
	assert_int_equal(st_events_line(&s, "exists -"), 0);
	assert_false(s.up);
	assert_string_equal(summary(&s), "Down");

	/* Taken down while we watch. */
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Secondary suspended:no",
		"destroy resource name:xr-a-xvda", NULL });
	assert_string_equal(summary(&s), "Down");
}

static void test_events_garbage(void **state)
{
	static const char *const garbage[] = {
		"", "exists", "-", "garbage", "hello world",
		"xr-a-xvda role:Primary Connected(node2) UpToDate",	/* drbdadm status */
		"resource name:xr-a-xvda role:Secondary",		/* no verb */
		" exists resource name:xr-a-xvda role:Secondary",
		"0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----",	/* /proc/drbd */
		NULL,
	};
	struct st_state s = { 0 }, before;

	(void)state;
	feed(&s, (const char *const[]){
		"exists resource name:xr-a-xvda role:Primary suspended:no",
		"exists connection name:xr-a-xvda peer-node-id:1 conn-name:node2 "
		"connection:Connected role:Secondary",
		"exists device name:xr-a-xvda volume:0 minor:0 disk:UpToDate",
		"exists peer-device name:xr-a-xvda peer-node-id:1 conn-name:node2 volume:0 "
		"replication:Established peer-disk:UpToDate resync-suspended:no",
		"exists -", NULL });
	before = s;
	for (const char *const *g = garbage; *g; g++) {
		if (st_events_line(&s, *g) != -EINVAL)
			fail_msg("accepted \"%s\"", *g);
		assert_memory_equal(&s, &before, sizeof(s));
	}
	assert_string_equal(summary(&s), "UpToDate");
	/* Overlong values are cut to the field, never past it. */
	assert_int_equal(st_events_line(&s, "change connection name:xr-a-xvda connection:"
					"AVeryLongConnectionStateNameIndeed role:Secondary"), 0);
	assert_int_equal(strlen(s.connection), sizeof(s.connection) - 1);
}

/* ---- st_plan ---- */

/* A planned resource is saved as it is (st_bring_up) and read back by
 * st_load: its record must pass st_res_from_json. */
static void record_round_trip(const struct st_res *r)
{
	struct json_object *o = st_res_to_json(r);
	char err[ST_ERR_LEN] = "";
	struct st_res back;

	if (st_res_from_json(&back, o, err))
		fail_msg("the record of %s would not load: %s", r->name, err);
	json_object_put(o);
	assert_string_equal(back.name, r->name);
	assert_string_equal(back.path, r->path);
	assert_int_equal(back.replicated, r->replicated);
	assert_int_equal(back.writable, r->writable);
}

static struct hv_domain dom;

/* Parse a domain NetBSD whose disk list is @disks. */
static void parse(const char *disks)
{
	char text[2048];
	struct hv_diag diag;

	snprintf(text, sizeof(text),
		 "name = \"NetBSD\"\nkernel = \"%s/vmlinuz\"\nmemory = 128\n"
		 "disk = [ %s ]\n", dir, disks);
	hv_domain_init(&dom);
	hv_diag_init(&diag, "NetBSD.cfg");
	if (hv_domain_parse(&dom, text, strlen(text), &diag)) {
		hv_diag_print(&diag, stderr);
		fail_msg("config did not parse:\n%s", text);
	}
	hv_diag_dispose(&diag);
}

/* st_plan for the parsed domain; on success its resources in *@v. */
static int plan(const char *peer, struct st_res **v, size_t *n, char *err)
{
	int rc;

	*v = NULL;
	*n = 0;
	err[0] = '\0';
	rc = st_plan(&dom, "node1", "10.0.0.1", peer, peer ? "10.0.0.2" : NULL, v, n, err);
	hv_domain_dispose(&dom);
	/* A plan only looks. */
	assert_int_equal(entries(sdir), 0);
	assert_int_equal(entries(rdir), 0);
	return rc;
}

static void test_plan_missing(void **state)
{
	char err[ST_ERR_LEN], want[1024], spec[300];
	struct st_res *v;
	size_t n;

	(void)state;
	snprintf(spec, sizeof(spec), "'file:%s/nodir/d.img,xvda,w'", dir);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), -ENOENT);
	snprintf(want, sizeof(want), "disk file:%s/nodir/d.img: directory %s/nodir does not exist",
		 dir, dir);
	assert_string_equal(err, want);
	assert_null(v);

	snprintf(spec, sizeof(spec), "'file:%s/none.img,xvda,w'", dir);
	parse(spec);
	assert_int_equal(plan(NULL, &v, &n, err), -ENOENT);
	snprintf(want, sizeof(want), "disk file:%s/none.img: No such file or directory", dir);
	assert_string_equal(err, want);

	/* The second disk is the bad one: the message names it. */
	make_file("a.img", 4 * MIB, spec, sizeof(spec));
	{
		char two[700];

		snprintf(two, sizeof(two), "'file:%s,xvda,w', 'phy:%s/nodev,xvdb,w'", spec, dir);
		parse(two);
	}
	assert_int_equal(plan("node2", &v, &n, err), -ENOENT);
	snprintf(want, sizeof(want), "disk phy:%s/nodev: No such file or directory", dir);
	assert_string_equal(err, want);
	assert_int_equal(size_of(spec), 4 * MIB);
}

static void test_plan_wrong_type(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128], spec[300];
	struct st_res *v;
	size_t n;

	(void)state;
	make_file("regular", 4 * MIB, path, sizeof(path));
	snprintf(spec, sizeof(spec), "'phy:%s,xvda,w'", path);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), -ENOTBLK);
	snprintf(want, sizeof(want), "disk phy:%s: not a block device", path);
	assert_string_equal(err, want);

	snprintf(spec, sizeof(spec), "'file:%s,xvda,w'", sdir);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), -EINVAL);
	snprintf(want, sizeof(want), "disk file:%s: not a regular file", sdir);
	assert_string_equal(err, want);
}

static void test_plan_unreplicated(void **state)
{
	char err[ST_ERR_LEN], path[128], spec[300];
	struct st_res *v;
	size_t n;

	(void)state;
	make_file("cd.iso", 4 * MIB, path, sizeof(path));
	/* Read-only: never replicated, even with a peer. */
	snprintf(spec, sizeof(spec), "'file:%s,xvdb,r'", path);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), 0);
	assert_int_equal(n, 1);
	assert_false(v[0].replicated);
	assert_false(v[0].writable);
	assert_int_equal(v[0].size, 4 * MIB);
	assert_string_equal(v[0].name, "xr-NetBSD-xvdb");
	assert_string_equal(v[0].node[1], "");
	record_round_trip(&v[0]);
	free(v);

	/* Writable, but no peer. */
	snprintf(spec, sizeof(spec), "'file:%s,xvda,w'", path);
	parse(spec);
	assert_int_equal(plan(NULL, &v, &n, err), 0);
	assert_int_equal(n, 1);
	assert_false(v[0].replicated);
	assert_true(v[0].writable);
	assert_int_equal(v[0].minor, -1);
	record_round_trip(&v[0]);
	free(v);

	/* Small is fine when nothing is replicated. */
	make_file("tiny.img", 4096, path, sizeof(path));
	snprintf(spec, sizeof(spec), "'file:%s,xvda,w'", path);
	parse(spec);
	assert_int_equal(plan(NULL, &v, &n, err), 0);
	assert_false(v[0].replicated);
	free(v);

	/* No disks at all. */
	parse("");
	assert_int_equal(plan("node2", &v, &n, err), 0);
	assert_int_equal(n, 0);
	free(v);
}

static void test_plan_replicated(void **state)
{
	char err[ST_ERR_LEN], path[128], spec[300];
	struct st_res *v;
	size_t n;

	(void)state;
	make_file("nbsd.img", 4 * MIB, path, sizeof(path));
	/* NetBSD's wd0d is Xen's xvda. */
	snprintf(spec, sizeof(spec), "'file:%s,wd0d,w'", path);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].replicated);
	assert_true(v[0].writable);
	assert_int_equal(v[0].kind, ST_FILE);
	assert_int_equal(v[0].size, 4 * MIB);
	assert_string_equal(v[0].name, "xr-NetBSD-xvda");
	assert_string_equal(v[0].domain, "NetBSD");
	assert_string_equal(v[0].vdev, "xvda");
	assert_string_equal(v[0].path, path);
	assert_string_equal(v[0].node[0], "node1");
	assert_string_equal(v[0].addr[0], "10.0.0.1");
	assert_string_equal(v[0].node[1], "node2");
	assert_string_equal(v[0].addr[1], "10.0.0.2");
	assert_int_equal(v[0].minor, -1);	/* chosen later, with the peer */
	assert_string_equal(v[0].secret, "");
	assert_false(v[0].created_file);
	record_round_trip(&v[0]);
	free(v);
	/* The data file is not grown by a plan. */
	assert_int_equal(size_of(path), 4 * MIB);
}

static void test_plan_too_small(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128], spec[300];
	struct st_res *v;
	size_t n;

	(void)state;
	make_file("small.img", 512 * 1024, path, sizeof(path));
	snprintf(spec, sizeof(spec), "'file:%s,xvda,w'", path);
	parse(spec);
	assert_int_equal(plan("node2", &v, &n, err), -EINVAL);
	snprintf(want, sizeof(want),
		 "disk file:%s: 524288 bytes; a replicated disk needs at least 1 MiB", path);
	assert_string_equal(err, want);
	assert_non_null(strstr(err, "at least 1 MiB"));
	assert_int_equal(size_of(path), 512 * 1024);
}

/* A disk replicated before keeps its resource; its peer cannot change. */
static void test_plan_recorded(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128], spec[300];
	struct st_res r, *v;
	size_t n;

	(void)state;
	make_file("nbsd.img", 64 * MIB + st_md_bytes(64 * MIB), path, sizeof(path));
	sample(&r, ST_FILE, path);
	save_record(&r);
	snprintf(spec, sizeof(spec), "'file:%s,xvda,w'", path);

	parse(spec);
	err[0] = '\0';
	assert_int_equal(st_plan(&dom, "node1", "10.0.0.1", "node2", "10.0.0.2", &v, &n, err), 0);
	hv_domain_dispose(&dom);
	assert_int_equal(n, 1);
	assert_memory_equal(&v[0], &r, sizeof(r));	/* minor, secret, size kept */
	free(v);

	/* Without --peer: the recorded one. */
	parse(spec);
	assert_int_equal(st_plan(&dom, "node1", "10.0.0.1", NULL, NULL, &v, &n, err), 0);
	hv_domain_dispose(&dom);
	assert_int_equal(v[0].minor, 5);
	assert_string_equal(v[0].node[1], "node2");
	free(v);

	/* On the peer, after a handover: the same resource, seen from node2. */
	parse(spec);
	assert_int_equal(st_plan(&dom, "node2", "10.0.0.2", "node1", "10.0.0.1", &v, &n, err), 0);
	hv_domain_dispose(&dom);
	assert_int_equal(v[0].minor, 5);
	free(v);

	parse(spec);
	assert_int_equal(st_plan(&dom, "node1", "10.0.0.1", "node3", "10.0.0.3", &v, &n, err),
			 -EEXIST);
	hv_domain_dispose(&dom);
	snprintf(want, sizeof(want), "disk file:%s is replicated to node2, not node3; "
		 "`clusterctl delete NetBSD` first to change the peer", path);
	assert_string_equal(err, want);

	/* A record of two other nodes. */
	parse(spec);
	assert_int_equal(st_plan(&dom, "node3", "10.0.0.3", NULL, NULL, &v, &n, err), -EEXIST);
	hv_domain_dispose(&dom);
	snprintf(want, sizeof(want), "disk file:%s: resource xr-NetBSD-xvda here belongs to "
		 "file:%s on node1 and node2; `clusterctl delete NetBSD` removes it", path, path);
	assert_string_equal(err, want);
}

/* ---- st_check_replica (on the peer) ---- */

static void test_check_replica(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128];
	struct st_res r;

	(void)state;
	snprintf(path, sizeof(path), "%s/nodir/r.img", dir);
	sample(&r, ST_FILE, path);
	r.size = 4 * MIB;
	assert_int_equal(st_check_replica(&r, err), -ENOENT);
	snprintf(want, sizeof(want), "disk file:%s: directory %s/nodir does not exist", path, dir);
	assert_string_equal(err, want);

	/* A file is in the way: never overwritten. */
	make_file("r.img", 4 * MIB, path, sizeof(path));
	sample(&r, ST_FILE, path);
	r.size = 4 * MIB;
	assert_int_equal(st_check_replica(&r, err), -EEXIST);
	snprintf(want, sizeof(want), "disk file:%s: a file of 4.0 MiB is already here; "
		 "move it away to let a replica take its place", path);
	assert_string_equal(err, want);
	assert_non_null(strstr(err, "already here"));
	unlink(path);

	/* Room for a sparse replica: yes, and nothing is made yet. */
	assert_int_equal(st_check_replica(&r, err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(entries(sdir), 0);
	assert_int_equal(entries(rdir), 0);

	/* More than this filesystem has free. */
	r.size = EIB;
	assert_int_equal(st_check_replica(&r, err), -ENOSPC);
	assert_non_null(strstr(err, "free here"));
	snprintf(want, sizeof(want), "disk file:%s: the replica needs ", path);
	assert_memory_equal(err, want, strlen(want));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_check_replica_records(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128];
	struct st_res r, other;

	(void)state;
	snprintf(path, sizeof(path), "%s/r.img", dir);
	sample(&r, ST_FILE, path);
	r.size = 4 * MIB;
	/* A record of that resource is left from before: a new replica is
	 * never laid over it, even for the same disk. */
	save_record(&r);
	snprintf(want, sizeof(want), "resource xr-NetBSD-xvda already exists here for "
		 "file:%s; `clusterctl delete NetBSD` removes it", path);
	assert_int_equal(st_check_replica(&r, err), -EEXIST);
	assert_string_equal(err, want);
	other = r;
	snprintf(other.path, sizeof(other.path), "%s/other.img", dir);
	assert_int_equal(st_check_replica(&other, err), -EEXIST);
	assert_string_equal(err, want);

	/* Never among our own files. */
	other = r;
	snprintf(other.domain, sizeof(other.domain), "Sneaky");
	st_res_name(other.name, sizeof(other.name), other.domain, other.vdev);
	snprintf(other.path, sizeof(other.path), "%s/x.res", st_dir);
	assert_int_equal(st_check_replica(&other, err), -EPERM);
	snprintf(want, sizeof(want), "disk file:%s/x.res: not a place for a replica", st_dir);
	assert_string_equal(err, want);

	/* A minor a record here holds already. */
	sample(&other, ST_FILE, path);
	snprintf(other.domain, sizeof(other.domain), "FreeBSD");
	st_res_name(other.name, sizeof(other.name), other.domain, other.vdev);
	other.size = 4 * MIB;
	assert_int_equal(st_check_replica(&other, err), -EBUSY);
	assert_string_equal(err, "DRBD minor 5 is in use here");
}

static void test_check_replica_phy(void **state)
{
	char err[ST_ERR_LEN], want[1024], path[128];
	struct st_res r;

	(void)state;
	snprintf(path, sizeof(path), "%s/nodev", dir);
	sample(&r, ST_PHY, path);
	assert_int_equal(st_check_replica(&r, err), -ENOENT);
	snprintf(want, sizeof(want), "disk phy:%s: No such file or directory", path);
	assert_string_equal(err, want);

	make_file("regular", 64 * MIB, path, sizeof(path));
	sample(&r, ST_PHY, path);
	assert_true(st_check_replica(&r, err) < 0);
	snprintf(want, sizeof(want), "disk phy:%s: not a block device", path);
	assert_string_equal(err, want);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(test_res_name), T(test_md_bytes),
		T(test_render_file), T(test_render_phy),
		T(test_json_round_trip), T(test_json_refused), T(test_json_refuses_unsafe_domain),
		T(test_events_uptodate), T(test_events_syncing), T(test_events_degraded),
		T(test_events_split_brain), T(test_events_down), T(test_events_garbage),
		T(test_plan_missing), T(test_plan_wrong_type), T(test_plan_unreplicated),
		T(test_plan_replicated), T(test_plan_too_small), T(test_plan_recorded),
		T(test_check_replica), T(test_check_replica_records), T(test_check_replica_phy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

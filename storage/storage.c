/*
 * storage.c - checks and actions on a node's domain disks: loop devices,
 * DRBD resources through drbdadm, records on the data disk (storage.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "storage.h"
#include "util.h"

const char *st_dir = ST_DIR_DEFAULT, *st_run = ST_RUN_DEFAULT;

#define OUT_LEN 4096

/* ---- helpers ---- */

static void file_of(char *out, size_t len, const char *res, const char *ext)
{
	snprintf(out, len, "%s/%s.%s", st_dir, res, ext);
}

static void link_of(char *out, size_t len, const char *res, const char *ext)
{
	snprintf(out, len, "%s/%s.%s", st_run, res, ext);
}

static void human(uint64_t b, char *out, size_t len)
{
	static const char unit[] = "KMGTP";
	double v = (double)b;
	int i = -1;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(out, len, "%" PRIu64 " B", b);
	else
		snprintf(out, len, "%.1f %ciB", v, unit[i]);
}

/* Run a tool; on failure say which and what it printed last. */
static int run(char *err, const char *const argv[])
{
	char out[OUT_LEN], last[160];
	int rc = xr_run(argv, out, sizeof(out));

	if (rc == 0)
		return 0;
	xr_last_line(out, last, sizeof(last));
	if (rc < 0)
		st_errf(err, "cannot run %s: %s", argv[0], strerror(-rc));
	else
		st_errf(err, "%s %s %s%s%s: %s", argv[0], argv[1], argv[2] ? argv[2] : "",
			argv[2] && argv[3] ? " " : "", argv[2] && argv[3] ? argv[3] : "",
			last[0] ? last : "failed");
	log_debug("storage", "%s %s: exit %d: %s", argv[0], argv[1], rc, out);
	return -EIO;
}

static int drbdadm(char *err, const char *verb, const char *opt, const char *res)
{
	const char *argv[] = { "drbdadm", verb, (opt ? opt : res),
			 (opt ? res : NULL), NULL };

	return run(err, argv);
}

static int blk_size(const char *path, uint64_t *size, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, size)) {
		st_errf(err, "disk phy:%s: cannot read its size: %s",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* @path is @dir or below it. */
static bool in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* A phy: device to replicate must not be mounted or held by anyone. */
static int device_free(const char *path, char *err)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd < 0) {
		st_errf(err, "disk phy:%s: %s", path, errno == EBUSY ?
			"in use here (mounted, or held by another device)" : strerror(errno));
		return errno == EBUSY ? -EBUSY : -errno;
	}
	close(fd);
	return 0;
}

/* The directory holding @path must exist; say so clearly when not. */
static int check_dir(const char *path, const char *where, char *err)
{
	char copy[PATH_MAX], *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		st_errf(err, "%sdisk file:%s: directory %s does not exist",
			 where, path, dir);
		return -ENOENT;
	}
	return 0;
}

static int free_bytes(const char *path, uint64_t *out, char *err)
{
	char copy[PATH_MAX];
	struct statvfs sv;

	snprintf(copy, sizeof(copy), "%s", path);
	if (statvfs(dirname(copy), &sv)) {
		st_errf(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	*out = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

/* ---- records ---- */

int st_lock(char *err)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(st_dir, 0700) && errno != EEXIST) {
		st_errf(err, "%s: %s", st_dir, strerror(errno));
		return -errno;
	}
	if (mkdir(st_run, 0700) && errno != EEXIST) {
		st_errf(err, "%s: %s", st_run, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/.lock", st_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		st_errf(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd;
}

void st_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}

/* ST_DIR/RES.EXT, whole or not at all */
static int write_record(const char *res, const char *ext, const char *text, char *err)
{
	char name[ST_RES_LEN + 16];
	int rc;

	snprintf(name, sizeof(name), "%s.%s", res, ext);
	rc = xr_write_atomic(st_dir, name, text, strlen(text), 0600);
	if (rc)
		st_errf(err, "%s/%s: %s", st_dir, name, strerror(-rc));
	return rc;
}

static int save(const struct st_res *r, char *err)
{
	struct json_object *o;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	if (r->replicated) {
		mem = open_memstream(&text, &len);
		if (!mem)
			return -ENOMEM;
		st_res_render(r, mem);
		fclose(mem);
		rc = write_record(r->name, "res", text, err);
		free(text);
		if (rc)
			return rc;
	}
	o = st_res_to_json(r);
	rc = write_record(r->name, "json", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY), err);
	json_object_put(o);
	return rc;
}

int st_load(const char *name, struct st_res *r, char *err)
{
	char path[PATH_MAX], *text, why[ST_ERR_LEN];
	struct json_object *o;
	size_t len;
	int rc;

	if (!st_res_name_ok(name)) {	/* a peer's word, never a path */
		st_errf(err, "'%.64s' is not a resource name", name);
		return -EINVAL;
	}
	file_of(path, sizeof(path), name, "json");
	if (access(path, F_OK))
		return -ENOENT;
	rc = xr_read_file(path, 64 * 1024, &text, &len, "a disk record", err, ST_ERR_LEN);
	if (rc)
		return rc;
	o = json_tokener_parse(text);
	free(text);
	if (!o) {
		st_errf(err, "%s: not JSON", path);
		return -EINVAL;
	}
	rc = st_res_from_json(r, o, why);
	json_object_put(o);
	if (rc)
		st_errf(err, "%s: %s", path, why);
	return rc;
}

static int load_where(const char *domain, struct st_res **out, size_t *n, char *err)
{
	struct st_res *v = NULL, r;
	struct dirent *e;
	size_t cap = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(st_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char name[ST_RES_LEN];

		if (l < 6 || l - 5 >= sizeof(name) || strcmp(e->d_name + l - 5, ".json"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), e->d_name);
		int rc = st_load(name, &r, err);

		if (rc == -ENOENT)
			continue;	/* removed since readdir() */
		if (rc) {
			log_warn("storage: skipping %s", err);
			continue;
		}
		if (domain && strcmp(r.domain, domain))
			continue;
		if (*n == cap) {
			struct st_res *nv = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = r;
	}
	closedir(d);
	*out = v;
	return 0;
}

int st_load_domain(const char *domain, struct st_res **out, size_t *n, char *err)
{
	return load_where(domain, out, n, err);
}

int st_load_all(struct st_res **out, size_t *n, char *err)
{
	return load_where(NULL, out, n, err);
}

void st_minors_used(bool used[ST_MINORS])
{
	struct st_res *v;
	char err[ST_ERR_LEN];
	struct dirent *e;
	size_t n, i;
	DIR *d;

	memset(used, 0, ST_MINORS * sizeof(bool));
	d = opendir("/sys/block");
	while (d && (e = readdir(d))) {
		int m;

		if (sscanf(e->d_name, "drbd%d", &m) == 1 && m >= 0 && m < ST_MINORS)
			used[m] = true;
	}
	if (d)
		closedir(d);
	if (st_load_all(&v, &n, err))
		return;
	for (i = 0; i < n; i++)
		if (v[i].replicated && v[i].minor >= 0)
			used[v[i].minor] = true;
	free(v);
}

/* ---- checks ---- */

int st_plan(const struct hv_domain *dom, const char *self, const char *self_addr,
	    const char *peer, const char *peer_addr,
	    struct st_res **out, size_t *n, char *err)
{
	struct st_res *v = calloc(dom->ndisks ? dom->ndisks : 1, sizeof(*v));
	size_t i;
	int rc = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < dom->ndisks && !rc; i++) {
		const struct hv_disk *k = &dom->disks[i];
		const char *type = hv_disk_type_name(k->type);
		struct st_res *r = &v[i], old;
		char why[ST_ERR_LEN];
		struct stat st;

		r->kind = k->type == HV_DISK_PHY ? ST_PHY : ST_FILE;
		r->writable = k->writable;
		r->minor = -1;
		snprintf(r->node[0], sizeof(r->node[0]), "%s", self);
		snprintf(r->addr[0], sizeof(r->addr[0]), "%s", self_addr ? self_addr : "");
		snprintf(r->domain, sizeof(r->domain), "%s", dom->name);
		snprintf(r->path, sizeof(r->path), "%s", k->target);
		if (hv_vdev_xen(k->vdev, r->vdev, sizeof(r->vdev))) {
			st_errf(err, "disk %s: not a disk name Xen knows", k->vdev);
			rc = -EINVAL;
			break;
		}
		st_res_name(r->name, sizeof(r->name), dom->name, r->vdev);
		if (stat(k->target, &st)) {
			rc = -errno;
			if (r->kind == ST_FILE && errno == ENOENT && check_dir(k->target, "", err))
				break;
			st_errf(err, "disk %s:%s: %s", type, k->target, strerror(-rc));
			break;
		}
		if (r->kind == ST_PHY && !S_ISBLK(st.st_mode)) {
			st_errf(err, "disk phy:%s: not a block device", k->target);
			rc = -ENOTBLK;
			break;
		}
		if (r->kind == ST_FILE && !S_ISREG(st.st_mode)) {
			st_errf(err, "disk file:%s: not a regular file", k->target);
			rc = -EINVAL;
			break;
		}
		/* A disk replicated before keeps its resource, peer and size. */
		if (!st_load(r->name, &old, why) && old.replicated) {
			int me = !strcmp(old.node[0], self) ? 0 : !strcmp(old.node[1], self) ? 1 : -1;

			if (!r->writable) {
				st_errf(err, "disk %s:%s is replicated (resource %s); it cannot "
					"become read-only until `clusterctl delete %s` removes the "
					"resource", type, k->target, old.name, dom->name);
				rc = -EEXIST;
				break;
			}
			if (me < 0 || strcmp(old.path, r->path) || old.kind != r->kind) {
				st_errf(err, "disk %s:%s: resource %s here belongs to %s:%s on %s and %s; "
					 "`clusterctl delete %s` removes it",
					 type, k->target, old.name, old.kind == ST_PHY ? "phy" : "file",
					 old.path, old.node[0], old.node[1], dom->name);
				rc = -EEXIST;
				break;
			}
			if (peer && strcmp(peer, old.node[!me])) {
				st_errf(err, "disk %s:%s is replicated to %s, not %s; "
					 "`clusterctl delete %s` first to change the peer",
					 type, k->target, old.node[!me], peer, dom->name);
				rc = -EEXIST;
				break;
			}
			*r = old;
			continue;
		}
		if (r->kind == ST_PHY)
			rc = blk_size(k->target, &r->size, err);
		else
			r->size = (uint64_t)st.st_size;
		if (rc)
			break;
		r->replicated = r->writable && peer;
		if (!r->replicated)
			continue;
		if (r->kind == ST_PHY && (rc = device_free(k->target, err)))
			break;
		if (r->size % 4096) {
			st_errf(err, "disk %s:%s: %" PRIu64 " bytes, not a whole number of "
				"4 KiB blocks, which a replicated disk must be", type, k->target, r->size);
			rc = -EINVAL;
			break;
		}
		if (r->kind == ST_FILE && r->size < 1 << 20) {
			st_errf(err, "disk file:%s: %" PRIu64 " bytes; a replicated disk needs at least 1 MiB",
				 k->target, r->size);
			rc = -EINVAL;
			break;
		}
		if (r->kind == ST_FILE) {
			/* The file grows by the metadata's size. */
			uint64_t avail = 0, md = st_md_bytes(r->size);

			rc = free_bytes(k->target, &avail, err);
			if (!rc && avail < md) {
				char a[32], b[32];

				human(avail, a, sizeof(a));
				human(md, b, sizeof(b));
				st_errf(err, "disk file:%s: DRBD metadata needs %s, %s free",
					 k->target, b, a);
				rc = -ENOSPC;
			}
			if (rc)
				break;
		}
		snprintf(r->node[1], sizeof(r->node[1]), "%s", peer);
		snprintf(r->addr[1], sizeof(r->addr[1]), "%s", peer_addr ? peer_addr : "");
	}
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = dom->ndisks;
	return 0;
}

int st_check_replica(const struct st_res *r, char *err)
{
	char a[32], b[32], why[ST_ERR_LEN];
	bool used[ST_MINORS];
	struct st_res old;
	struct stat st;
	uint64_t want, avail;
	int rc;

	/* Only new replicas are asked for: a record here is left from before. */
	if (!st_load(r->name, &old, why)) {
		st_errf(err, "resource %s already exists here for %s:%s; "
			"`clusterctl delete %s` removes it", r->name,
			old.kind == ST_PHY ? "phy" : "file", old.path, old.domain);
		return -EEXIST;
	}
	/* Never a replica among our own files, or in the kernel's. */
	if (in_dir(r->path, st_dir) || in_dir(r->path, st_run) ||
	    (r->kind == ST_FILE && (in_dir(r->path, "/proc") || in_dir(r->path, "/sys") ||
				    in_dir(r->path, "/dev")))) {
		st_errf(err, "disk %s:%s: not a place for a replica",
			r->kind == ST_PHY ? "phy" : "file", r->path);
		return -EPERM;
	}
	if (r->minor >= 0) {
		st_minors_used(used);
		if (used[r->minor]) {
			st_errf(err, "DRBD minor %d is in use here", r->minor);
			return -EBUSY;
		}
	}
	if (r->kind == ST_PHY) {
		uint64_t size;

		if (stat(r->path, &st)) {
			st_errf(err, "disk phy:%s: %s", r->path, strerror(errno));
			return -ENOENT;
		}
		if (!S_ISBLK(st.st_mode)) {
			st_errf(err, "disk phy:%s: not a block device", r->path);
			return -ENOTBLK;
		}
		rc = device_free(r->path, err);
		if (!rc)
			rc = blk_size(r->path, &size, err);
		if (rc)
			return rc;
		if (size < r->size) {
			human(size, a, sizeof(a));
			human(r->size, b, sizeof(b));
			st_errf(err, "disk phy:%s: %s here, smaller than the %s it must replicate",
				 r->path, a, b);
			return -ENOSPC;
		}
		return 0;
	}
	rc = check_dir(r->path, "", err);
	if (rc)
		return rc;
	want = r->size + st_md_bytes(r->size);
	if (!stat(r->path, &st)) {
		human((uint64_t)st.st_size, a, sizeof(a));
		st_errf(err, "disk file:%s: a file of %s is already here; "
			 "move it away to let a replica take its place", r->path, a);
		return -EEXIST;
	}
	rc = free_bytes(r->path, &avail, err);
	if (rc)
		return rc;
	if (avail < want) {
		human(avail, a, sizeof(a));
		human(want, b, sizeof(b));
		st_errf(err, "disk file:%s: the replica needs %s, %s free here",
			 r->path, b, a);
		return -ENOSPC;
	}
	return 0;
}

/* ---- actions ---- */

static int attach_loop(const char *file, const char *link, char *err)
{
	const char *argv[] = { "losetup", "--find", "--show", "--direct-io=on",
			 file, NULL };
	char out[256], dev[64];
	int rc = xr_run(argv, out, sizeof(out));

	xr_last_line(out, dev, sizeof(dev));
	if (rc || strncmp(dev, "/dev/loop", 9)) {
		st_errf(err, "losetup %s: %s", file, dev[0] ? dev : "failed");
		return -EIO;
	}
	unlink(link);
	if (symlink(dev, link)) {
		const char *det[] = { "losetup", "-d", dev, NULL };

		st_errf(err, "%s: %s", link, strerror(errno));
		xr_run(det, out, sizeof(out));
		return -EIO;
	}
	return 0;
}

/* Detach the loop device @link points at (if any), remove the link. */
static void detach_link(const char *link)
{
	char dev[64], out[256];
	ssize_t n = readlink(link, dev, sizeof(dev) - 1);

	if (n > 0) {
		dev[n] = '\0';
		if (!strncmp(dev, "/dev/loop", 9)) {
			const char *argv[] = { "losetup", "-d", dev, NULL };

			if (xr_run(argv, out, sizeof(out)))
				log_warn("storage: losetup -d %s: %s", dev, out);
		}
	}
	unlink(link);
}

static void remove_files(const struct st_res *r)
{
	char p[PATH_MAX];

	file_of(p, sizeof(p), r->name, "res");
	unlink(p);
	file_of(p, sizeof(p), r->name, "md");
	unlink(p);
	file_of(p, sizeof(p), r->name, "split-brain");
	unlink(p);
	file_of(p, sizeof(p), r->name, "json");
	unlink(p);
}

static bool minor_exists(int minor)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/block/drbd%d", minor);
	return minor >= 0 && !access(p, F_OK);
}

/* This resource is up here (not merely its minor, which another may hold). */
static bool is_up(const struct st_res *r)
{
	struct st_state s;
	char err[ST_ERR_LEN];

	return minor_exists(r->minor) && !st_state(r, &s, err) && s.up;
}

int st_bring_up(struct st_res *r, bool new_md, char *err)
{
	char disk[PATH_MAX], mdf[PATH_MAX], mdl[PATH_MAX];
	uint64_t full = r->size + st_md_bytes(r->size);
	bool grown = false, made = false;
	struct stat st;
	int rc;

	if (!r->replicated)
		return save(r, err);
	link_of(disk, sizeof(disk), r->name, "disk");
	file_of(mdf, sizeof(mdf), r->name, "md");
	link_of(mdl, sizeof(mdl), r->name, "mdloop");
	if (is_up(r))
		return 0;
	if (minor_exists(r->minor)) {
		st_errf(err, "%s: DRBD minor %d is taken by another resource here",
			r->name, r->minor);
		return -EBUSY;
	}
	if (r->kind == ST_FILE) {
		if (stat(r->path, &st)) {
			/* A replica: sparse, the source's size with metadata. */
			int fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

			if (fd < 0 || ftruncate(fd, (off_t)full)) {
				st_errf(err, "disk file:%s: cannot create the replica: %s",
					 r->path, strerror(errno));
				if (fd >= 0) {
					close(fd);
					unlink(r->path);
				}
				return -EIO;
			}
			close(fd);
			r->created_file = made = true;
		} else if ((uint64_t)st.st_size == r->size && new_md) {
			/* The source: make room for the metadata after the data. */
			if (truncate(r->path, (off_t)full)) {
				st_errf(err, "disk file:%s: cannot grow it by %" PRIu64
					 " bytes for DRBD metadata: %s", r->path, full - r->size,
					 strerror(errno));
				return -EIO;
			}
			grown = true;
		} else if ((uint64_t)st.st_size != full) {
			st_errf(err, "disk file:%s: %jd bytes, expected %" PRIu64
				 " (data and DRBD metadata)", r->path, (intmax_t)st.st_size, full);
			return -EINVAL;
		}
		rc = attach_loop(r->path, disk, err);
	} else {
		unlink(disk);
		rc = symlink(r->path, disk) ? -errno : 0;
		if (rc)
			st_errf(err, "%s: %s", disk, strerror(-rc));
		if (!rc && stat(mdf, &st)) {
			int fd = open(mdf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

			if (fd < 0 || ftruncate(fd, (off_t)st_md_bytes(r->size))) {
				st_errf(err, "%s: %s", mdf, strerror(errno));
				rc = -EIO;
			}
			if (fd >= 0)
				close(fd);
		}
		if (!rc)
			rc = attach_loop(mdf, mdl, err);
	}
	if (rc)
		goto undo;
	rc = save(r, err);
	if (!rc && new_md)
		rc = drbdadm(err, "create-md", "--force", r->name);
	if (!rc)
		rc = drbdadm(err, "up", NULL, r->name);
	if (!rc) {
		log_info("storage: %s up: %s:%s on %s and %s, /dev/drbd%d", r->name,
			 r->kind == ST_PHY ? "phy" : "file", r->path,
			 r->node[0], r->node[1], r->minor);
		return 0;
	}
undo:
	{
		char ignore[ST_ERR_LEN];

		drbdadm(ignore, "down", NULL, r->name);
	}
	if (r->kind == ST_FILE)
		detach_link(disk);
	unlink(disk);
	detach_link(mdl);
	if (new_md)	/* a first bring-up leaves nothing; a later one keeps the record */
		remove_files(r);
	if (made)
		unlink(r->path);
	if (grown && truncate(r->path, (off_t)r->size))
		log_err("storage: cannot shrink %s back to %" PRIu64 " bytes: %s",
			r->path, r->size, strerror(errno));
	return rc;
}

int st_primary(const struct st_res *r, bool force, char *err)
{
	if (!r->replicated)
		return 0;
	return drbdadm(err, "primary", force ? "--force" : NULL, r->name);
}

int st_secondary(const struct st_res *r, char *err)
{
	int i, rc = 0;

	if (!r->replicated || !is_up(r))
		return 0;
	/* blkback may hold the device for a moment after the domain died. */
	for (i = 0; i < 8; i++) {
		rc = drbdadm(err, "secondary", NULL, r->name);
		if (!rc)
			return 0;
		usleep(250 * 1000);
	}
	return rc;
}

int st_teardown(const struct st_res *r, bool drop_replica, char *err)
{
	char disk[PATH_MAX], mdl[PATH_MAX];
	int rc = 0;

	if (r->replicated) {
		if (is_up(r))
			rc = drbdadm(err, "down", NULL, r->name);
		if (rc)
			return rc;	/* still in use: leave everything as it is */
		link_of(disk, sizeof(disk), r->name, "disk");
		link_of(mdl, sizeof(mdl), r->name, "mdloop");
		if (r->kind == ST_FILE)
			detach_link(disk);	/* our loop device */
		unlink(disk);			/* a phy: device is the operator's */
		detach_link(mdl);
	}
	remove_files(r);
	if (drop_replica && r->created_file) {
		if (unlink(r->path) && errno != ENOENT)
			log_warn("storage: cannot remove replica %s: %s", r->path, strerror(errno));
	} else if (r->replicated && r->kind == ST_FILE) {
		/* Give the file back as it was: the data, without our metadata. */
		struct stat st;

		if (!stat(r->path, &st) &&
		    (uint64_t)st.st_size == r->size + st_md_bytes(r->size) &&
		    truncate(r->path, (off_t)r->size))
			log_warn("storage: cannot shrink %s back to %" PRIu64 " bytes: %s",
				 r->path, r->size, strerror(errno));
	}
	log_info("storage: %s removed", r->name);
	return 0;
}

int st_outdate(const struct st_res *r, char *err)
{
	return drbdadm(err, "outdate", NULL, r->name);
}

int st_dual_primary(const struct st_res *r, bool allow, char *err)
{
	return drbdadm(err, "net-options", allow ? "--allow-two-primaries=yes"
			: "--allow-two-primaries=no", r->name);
}

int st_state(const struct st_res *r, struct st_state *s, char *err)
{
	const char *argv[] = { "drbdsetup", "events2", "--now", "--statistics",
			 r->name, NULL };
	char out[OUT_LEN], p[PATH_MAX], *line, *save_ptr = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!r->replicated)
		return 0;
	rc = xr_run(argv, out, sizeof(out));
	if (rc < 0) {
		st_errf(err, "cannot run drbdsetup: %s", strerror(-rc));
		return rc;
	}
	/* A resource that is down is simply not listed. */
	for (line = strtok_r(out, "\n", &save_ptr); line; line = strtok_r(NULL, "\n", &save_ptr))
		st_events_line(s, line);
	/* The handler's mark stands until the peers are connected again:
	 * then the operator has chosen, and the mark goes. */
	file_of(p, sizeof(p), r->name, "split-brain");
	if (!strcmp(s->connection, "Connected"))
		unlink(p);
	else if (!access(p, F_OK))
		s->split_brain = true;
	return 0;
}

void st_restore(void)
{
	char err[ST_ERR_LEN];
	struct st_res *v;
	size_t n, i;
	int lock;

	lock = st_lock(err);
	if (lock < 0) {
		log_warn("storage: %s", err);
		return;
	}
	if (!st_load_all(&v, &n, err)) {
		for (i = 0; i < n; i++) {
			if (!v[i].replicated || is_up(&v[i]))
				continue;
			if (st_bring_up(&v[i], false, err))
				log_err("storage: cannot bring %s up again: %s", v[i].name, err);
		}
		free(v);
	}
	st_unlock(lock);
}

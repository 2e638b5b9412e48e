/*
 * storage.h - domain disks: phy: and file: backends, each writable one
 * replicated to one peer node by a DRBD 8.4 resource (protocol C).
 *
 * The records live on the node's data disk (ST_DIR), so a node that boots
 * again finds its resources and brings them up: the peer resyncs what it
 * missed.  Per replicated disk RES there are:
 *   ST_DIR/RES.json   our record (struct st_res)
 *   ST_DIR/RES.res    the DRBD resource file, the same on both nodes
 *   ST_DIR/RES.md     external metadata, for phy: disks only
 *   ST_RUN/RES.disk   a link to the backing block device (loop or phy)
 * drbdadm reads the .res files through /etc/drbd.conf (appliance/build.sh).
 *
 * file: disks keep DRBD's metadata inside the file, which is grown by the
 * metadata's size, so the guest sees at least the size it had.  phy: disks
 * keep it in ST_DIR/RES.md, so no byte of a device the operator named is
 * ever overwritten by metadata.
 *
 * State comes from `drbdsetup events2 --now --statistics`, never from
 * human-readable output.  Every function returns 0 or a negative errno,
 * with a message for the user in @err (ST_ERR_LEN bytes).
 */
#ifndef XR_STORAGE_H
#define XR_STORAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hv.h"

struct json_object;

#define ST_ERR_LEN      256
#define ST_DIR_DEFAULT  "/var/lib/xenrack/storage"
#define ST_RUN_DEFAULT  "/run/xenrack/storage"
#define ST_PORT_BASE    7788		/* resource with minor N listens on BASE+N */
#define ST_MINORS       256		/* minors 0..255 */
#define ST_RES_LEN      96		/* "xr-" + 63-byte domain + "-" + vdev */
#define ST_NODE_LEN     64
#define ST_ADDR_LEN     64

/* Where records and links live; tests point them at a temporary dir. */
extern const char *st_dir, *st_run;

enum st_kind { ST_PHY, ST_FILE };

/* One disk of a domain, as storage manages it. */
struct st_res {
	char name[ST_RES_LEN];		/* DRBD resource: xr-DOMAIN-VDEV */
	char domain[HV_NAME_MAX + 1];
	char vdev[16];			/* as Xen names it: xvda */
	enum st_kind kind;
	char path[PATH_MAX];		/* the config's device or file */
	uint64_t size;			/* bytes of data the guest had */
	bool writable;
	bool replicated;		/* false: no peer, no DRBD */
	int minor;			/* /dev/drbdMINOR, port ST_PORT_BASE+MINOR */
	char node[2][ST_NODE_LEN];	/* [0] where it was created, [1] peer */
	char addr[2][ST_ADDR_LEN];
	char secret[33];		/* DRBD's cram-hmac shared secret, hex */
	bool created_file;		/* this node created the file (a replica) */
	bool fresh;			/* made by the create under way (not saved) */
};

/* A resource's replication state, from events2. */
struct st_state {
	bool up;			/* the resource exists in the kernel */
	char role[16];			/* Primary / Secondary */
	char suspended[24];		/* "no", or why I/O is frozen: "fencing" ... */
	char peer_role[16];
	char connection[24];		/* Connected, Connecting, StandAlone ... */
	char disk[24];			/* UpToDate, Inconsistent, Diskless ... */
	char peer_disk[24];
	char replication[24];		/* Established, SyncSource, SyncTarget ... */
	double done;			/* resync percent, when syncing */
	bool split_brain;		/* the split-brain handler left its mark */
};

/** st_errf - format a message for the user into @err (ST_ERR_LEN bytes) */
void st_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- pure: plans, names, files, parsing (unit tested) ---- */

/** st_peer_of - the node at the other end of @r from @self */
const char *st_peer_of(const struct st_res *r, const char *self);

/** st_res_name - "xr-DOMAIN-VDEV" with anything but [A-Za-z0-9_.-] as '_' */
void st_res_name(char *out, size_t len, const char *domain, const char *vdev);

/** st_res_name_ok - @name could be st_res_name()'s: "xr-" and [A-Za-z0-9_.-] */
bool st_res_name_ok(const char *name);

/**
 * st_md_bytes - room DRBD 8.4 metadata needs beside @size bytes of data:
 * the bitmap (a bit per 4 KiB), activity log and superblock, rounded up to
 * a MiB with a MiB to spare.
 */
uint64_t st_md_bytes(uint64_t size);

/** st_res_render - write the DRBD resource file of @r to @out */
void st_res_render(const struct st_res *r, FILE *out);

/** st_res_to_json / st_res_from_json - the record, and its checked reading */
struct json_object *st_res_to_json(const struct st_res *r);
int st_res_from_json(struct st_res *r, struct json_object *o, char *err);

/**
 * st_events_line - fold one line of `drbdsetup events2` into @s
 * Lines name their object (resource, connection, device, peer-device)
 * followed by key:value words.  Return: 0, or -EINVAL for a line that is
 * not events2 output.
 */
int st_events_line(struct st_state *s, const char *line);

/** st_state_summary - UpToDate, SyncSource 42.0%, Degraded, Frozen, Outdated,
 * SplitBrain, Down ... */
void st_state_summary(const struct st_state *s, char *out, size_t len);

/* ---- checks: read only, nothing is created ---- */

/**
 * st_plan - the domain's disks as resources, checked on this node
 * @peer, @peer_addr: the replica's node, or NULL for none
 * @self, @self_addr: this node
 * Each phy: device must be a block device, each file: a regular file; a
 * read-only disk is never replicated.  Return: 0 with *@out (caller frees)
 * and *@n, or an error naming the disk.
 */
int st_plan(const struct hv_domain *dom, const char *self, const char *self_addr,
	    const char *peer, const char *peer_addr,
	    struct st_res **out, size_t *n, char *err);

/**
 * st_check_replica - can this node hold a new replica of @r?  (on the peer)
 * No record of that resource may be here, and the path must not be among
 * our own files or the kernel's.  file: the directory must exist, no file
 * may be there, and there must be room for the whole replica; phy: a block
 * device nobody holds, at least as large.  The minor must be free here.
 */
int st_check_replica(const struct st_res *r, char *err);

/** st_minors_used - mark the minors in use here (kernel and records) */
void st_minors_used(bool used[ST_MINORS]);

/* ---- actions: each undoes its own half-done work on failure ---- */

/**
 * st_bring_up - attach the backing device and bring resource @r up
 * @new_md: create metadata (a resource seen for the first time)
 * Creates a replica's sparse file when missing (and records that).
 * Writes the record and resource file.  On failure nothing is left.
 */
int st_bring_up(struct st_res *r, bool new_md, char *err);

/** st_primary - promote; @force for a first sync from this node */
int st_primary(const struct st_res *r, bool force, char *err);

/** st_secondary - demote, retrying for 2 s while blkback lets go of the device */
int st_secondary(const struct st_res *r, char *err);

/**
 * st_teardown - take resource @r down, detach its backing device and
 * remove its record and resource file.  @drop_replica also deletes a file
 * this node created as a replica (a failed create: it holds nothing yet).
 * Data files the operator named are never deleted.
 */
int st_teardown(const struct st_res *r, bool drop_replica, char *err);

/**
 * st_outdate - mark this node's copy Outdated (DRBD refuses while it is
 * connected or Primary): it may then not be promoted without --force
 */
int st_outdate(const struct st_res *r, char *err);

/** st_dual_primary - open or close the two-primaries window of a handover */
int st_dual_primary(const struct st_res *r, bool allow, char *err);

/** st_device - what the domain is given: /dev/drbdN, else the config's path */
void st_device(const struct st_res *r, char *out, size_t len);

/* ---- records ---- */

/** st_load - the record named @name; -ENOENT when there is none */
int st_load(const char *name, struct st_res *r, char *err);

/** st_load_domain - every record of @domain (caller frees *@out) */
int st_load_domain(const char *domain, struct st_res **out, size_t *n, char *err);

/** st_load_all - every record on this node (caller frees *@out) */
int st_load_all(struct st_res **out, size_t *n, char *err);

/** st_state - the live state of @r from events2 */
int st_state(const struct st_res *r, struct st_state *s, char *err);

/**
 * st_restore - at daemon start: bring up every recorded resource that is
 * down (as Secondary), so a peer that comes back resyncs.
 */
void st_restore(void);

/** st_lock / st_unlock - serialise storage changes on this node */
int st_lock(char *err);
void st_unlock(int fd);

#endif

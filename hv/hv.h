/*
 * hv.h - the hypervisor layer: domain configs and domain lifecycle.
 *
 * Two layers read a domain config, as in libxlutil:
 *   1. hv_cfg_*: a generic "key = value | [list]" store that records where
 *      every key and value stood (line, column);
 *   2. hv_domain_*: typed getters with bounds build a struct hv_domain.
 * Every complaint goes into a struct hv_diag as FILE:LINE:COL messages.
 *
 * The lifecycle half (struct hv_ops) is implemented over libxl
 * (hv_libxl.c) and, for fast tests without Xen, by a simulator (hv_sim.c).
 */
#ifndef XR_HV_H
#define XR_HV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;
struct pollfd;

/* ---- diagnostics ---- */

enum hv_severity { HV_WARNING, HV_ERROR };

struct hv_diag_msg {
	enum hv_severity sev;
	unsigned line, col;	/* 1-based; 0 when the message is about the file */
	char *msg;
	unsigned seq;		/* order of arrival, to keep sorting stable */
};

struct hv_diag {
	char *file;		/* name shown in messages */
	struct hv_diag_msg *v;
	size_t n;
	unsigned nerrors;
};

void hv_diag_init(struct hv_diag *d, const char *file);
void hv_diag_dispose(struct hv_diag *d);
void hv_diag_add(struct hv_diag *d, enum hv_severity sev, unsigned line,
		 unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void hv_diag_vadd(struct hv_diag *d, enum hv_severity sev, unsigned line,
		  unsigned col, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
/** hv_diag_sort - order messages by line and column (stable) */
void hv_diag_sort(struct hv_diag *d);
/** hv_diag_print - write "FILE:LINE:COL: error: msg" lines to @out */
void hv_diag_print(const struct hv_diag *d, FILE *out);

/* ---- layer 1: the generic store ---- */

#define HV_CFG_MAX_BYTES (1u << 20)	/* a config larger than 1 MiB is refused */
#define HV_CFG_MAX_LIST  256		/* items in one list */
#define HV_CFG_MAX_STR   4096		/* bytes in one string */

enum hv_cfg_kind { HV_CFG_STRING, HV_CFG_INT, HV_CFG_BOOL, HV_CFG_LIST };

struct hv_cfg_value {
	enum hv_cfg_kind kind;
	unsigned line, col;
	union {
		char *s;
		long long i;
		bool b;
		struct {
			struct hv_cfg_value *items;
			size_t n;
		} list;
	} u;
};

struct hv_cfg_entry {
	char *key;
	unsigned line, col;
	struct hv_cfg_value val;
	bool used;		/* set by the typed layer; unused keys are warned of */
};

struct hv_cfg {
	struct hv_cfg_entry *v;
	size_t n;
};

void hv_cfg_init(struct hv_cfg *cfg);
void hv_cfg_dispose(struct hv_cfg *cfg);

/**
 * hv_cfg_parse - parse config text into the generic store
 * @cfg:  initialised store, filled on return
 * @text: the bytes of the file (need not be NUL-terminated)
 * @len:  their number
 * @diag: receives errors and warnings
 * Return: 0, or -EINVAL after a syntax error (reported in @diag).
 */
int hv_cfg_parse(struct hv_cfg *cfg, const char *text, size_t len,
		 struct hv_diag *diag);

/** hv_cfg_find - the entry for @key (the last one set), or NULL */
struct hv_cfg_entry *hv_cfg_find(struct hv_cfg *cfg, const char *key);

/* ---- layer 2: the typed domain ---- */

#define HV_NAME_MAX  63
#define HV_MAX_DISKS 26
#define HV_MAX_VIFS  16
#define HV_MAX_VCPUS 512
#define HV_MAX_CPUS  1024		/* host CPUs a cpus= mask may name */
#define HV_MEM_MIN_MB 16
#define HV_MEM_MAX_MB (1u << 20)	/* 1 TiB */
#define HV_DEFAULT_BRIDGE "bridge0"

enum hv_action {
	HV_ACT_DESTROY,
	HV_ACT_RESTART,
	HV_ACT_PRESERVE,
	HV_ACT_COREDUMP_DESTROY,
	HV_ACT_COREDUMP_RESTART,
};

#define HV_DUMP_DIR "/var/lib/xenrack/dump"	/* where coredump-* write */

enum hv_disk_type { HV_DISK_PHY, HV_DISK_FILE };

struct hv_disk {
	enum hv_disk_type type;
	char *target;		/* device or file path in Dom0 */
	char *vdev;		/* name the guest sees, as written */
	bool writable;
	unsigned line, col;
};

struct hv_vif {
	bool has_mac;		/* false: generated at create time */
	uint8_t mac[6];
	char *bridge;
	char *ip;
	char *script;
	char *vifname;
	unsigned line, col;
};

struct hv_domain {
	char *name;
	bool has_uuid;
	uint8_t uuid[16];
	char *kernel;
	char *ramdisk;
	char *root;
	char *extra;
	char *cmdline;		/* if set, root and extra are not used */
	char *bootloader;
	char *bootloader_args;
	unsigned memory_mb;
	unsigned maxmem_mb;
	unsigned vcpus;
	unsigned maxvcpus;
	bool has_cpus;		/* hard affinity; absent means any CPU */
	uint64_t cpus[HV_MAX_CPUS / 64];
	char *cpus_text;	/* the affinity as written (normalised) */
	struct hv_disk *disks;
	size_t ndisks;
	struct hv_vif *vifs;
	size_t nvifs;
	enum hv_action on_poweroff, on_reboot, on_crash;
	bool autorestart;
};

void hv_domain_init(struct hv_domain *dom);
void hv_domain_dispose(struct hv_domain *dom);

/**
 * hv_domain_from_cfg - build a typed domain from the generic store
 * @dom:  initialised domain, filled on success
 * @cfg:  the parsed store
 * @diag: receives errors and warnings (unknown keys, keys set twice ...)
 * Return: 0, or -EINVAL when @diag holds at least one error.  On error
 * @dom must still be disposed but must not be used.
 */
int hv_domain_from_cfg(struct hv_domain *dom, struct hv_cfg *cfg,
		       struct hv_diag *diag);

/**
 * hv_domain_parse - both layers at once over a buffer
 * Return: 0, or -EINVAL with the reasons in @diag.
 */
int hv_domain_parse(struct hv_domain *dom, const char *text, size_t len,
		    struct hv_diag *diag);

/** hv_domain_is_ha - restarted elsewhere when its node is lost (docs/ha.md) */
static inline bool hv_domain_is_ha(const struct hv_domain *dom)
{
	return dom->autorestart || dom->on_crash == HV_ACT_RESTART;
}

/** hv_domain_cmdline - the kernel command line (cmdline, or root= + extra); caller frees */
char *hv_domain_cmdline(const struct hv_domain *dom);

/** hv_domain_print - write @dom as a canonical config that parses back to the same domain */
void hv_domain_print(const struct hv_domain *dom, FILE *out);

/** hv_domain_to_json - @dom as a JSON object (new reference) */
struct json_object *hv_domain_to_json(const struct hv_domain *dom);

const char *hv_action_name(enum hv_action act);
const char *hv_disk_type_name(enum hv_disk_type type);

/**
 * hv_vdev_xen - the virtual device name Xen's tools accept for @vdev
 * @vdev: the name from the config ("xvda", "hda1", or NetBSD's "wd0d")
 * @out:  buffer of at least 16 bytes
 * NetBSD names (wdN, sdN, ldN, with an optional partition letter) are
 * presented as whole disk N, xvd('a'+N): NetBSD's xbd driver ignores names.
 * Return: 0, or -EINVAL when the name is not a disk name Xen knows.
 */
int hv_vdev_xen(const char *vdev, char *out, size_t outlen);

/* ---- lifecycle ---- */

#define HV_STATE_LEN 6		/* "rbpscd" flags, as xl list prints them */

struct hv_dominfo {
	char name[HV_NAME_MAX + 1];
	uint32_t domid;
	uint64_t mem_kb;
	unsigned vcpus;
	char state[HV_STATE_LEN + 1];
	double cpu_time;	/* seconds */
};

struct hv_backend;

/*
 * One hypervisor backend.  Every call returns 0 or a negative errno and, on
 * failure, a message for the user in @err (size HV_ERR_LEN).
 */
#define HV_ERR_LEN 256

struct hv_ops {
	const char *name;
	int (*open)(struct hv_backend **be, char *err);
	void (*close)(struct hv_backend *be);
	int (*create)(struct hv_backend *be, const struct hv_domain *dom,
		      uint32_t *domid, char *err);
	int (*list)(struct hv_backend *be, struct hv_dominfo **out, size_t *n,
		    char *err);
	int (*shutdown)(struct hv_backend *be, uint32_t domid, char *err);
	int (*destroy)(struct hv_backend *be, uint32_t domid, char *err);
	int (*pause)(struct hv_backend *be, uint32_t domid, char *err);
	int (*unpause)(struct hv_backend *be, uint32_t domid, char *err);
	/** console - open the domain's PV console; returns an fd in *fd */
	int (*console)(struct hv_backend *be, uint32_t domid, int *fd, char *err);
	/* event integration with the caller's poll() loop; may be NULL */
	int (*poll_prepare)(struct hv_backend *be, struct pollfd *fds,
			    int *nfds, int *timeout_ms);
	void (*poll_dispatch)(struct hv_backend *be, struct pollfd *fds, int nfds);
};

extern const struct hv_ops hv_sim_ops;
extern const struct hv_ops hv_libxl_ops;

/** hv_ops_find - the backend called @name ("libxl" or "sim"), or NULL */
const struct hv_ops *hv_ops_find(const char *name);

/** hv_libxl_logger - libxl's and libxc's messages into our log (log.h) */
struct xentoollog_logger *hv_libxl_logger(void);
/** hv_libxl_open_ctx - a libxl context of this process's own, reaping only
 * its own children; 0 or -ENODEV */
struct libxl__ctx;
int hv_libxl_open_ctx(struct libxl__ctx **out);

#endif

/*
 * libxl_map.c - translate a typed domain into libxl's domain config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl_map.h"

/* libxl_bitmap_alloc wants a ctx; the struct is public, so fill it here. */
static int bitmap_alloc(libxl_bitmap *bm, unsigned nbits)
{
	bm->size = (nbits + 7) / 8;
	bm->map = calloc(bm->size, 1);
	return bm->map ? 0 : -ENOMEM;
}

static libxl_action_on_shutdown action(enum hv_action a)
{
	switch (a) {
	case HV_ACT_DESTROY:          return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	case HV_ACT_RESTART:          return LIBXL_ACTION_ON_SHUTDOWN_RESTART;
	case HV_ACT_PRESERVE:         return LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	case HV_ACT_COREDUMP_DESTROY: return LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY;
	case HV_ACT_COREDUMP_RESTART: return LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART;
	}
	return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int split_args(libxl_string_list *out, const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	*out = calloc(strlen(s) / 2 + 2, sizeof(char *));
	if (!*out) {
		free(copy);
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		if (!((*out)[n++] = strdup(tok))) {
			free(copy);
			return -ENOMEM;
		}
	free(copy);
	return 0;
}

int hv_libxl_config(const struct hv_domain *dom, libxl_domain_config *dc,
		    char *err)
{
	libxl_domain_create_info *c = &dc->c_info;
	libxl_domain_build_info *b = &dc->b_info;
	size_t i;
	int rc = -ENOMEM;

	c->type = LIBXL_DOMAIN_TYPE_PV;
	libxl_domain_build_info_init_type(b, LIBXL_DOMAIN_TYPE_PV);
	if (dup_opt(&c->name, dom->name))
		goto nomem;
	if (dom->has_uuid)
		memcpy(libxl_uuid_bytearray(&c->uuid), dom->uuid, 16);
	else
		libxl_uuid_generate(&c->uuid);

	b->max_memkb = (uint64_t)dom->maxmem_mb * 1024;
	b->target_memkb = (uint64_t)dom->memory_mb * 1024;
	b->max_vcpus = (int)dom->maxvcpus;
	if (bitmap_alloc(&b->avail_vcpus, dom->maxvcpus))
		goto nomem;
	for (i = 0; i < dom->vcpus; i++)
		b->avail_vcpus.map[i / 8] |= (uint8_t)(1u << (i % 8));
	if (dom->has_cpus) {
		if (bitmap_alloc(&b->cpumap, HV_MAX_CPUS))
			goto nomem;
		for (i = 0; i < HV_MAX_CPUS; i++)
			if (dom->cpus[i / 64] >> (i % 64) & 1)
				b->cpumap.map[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	if (dup_opt(&b->kernel, dom->kernel) || dup_opt(&b->ramdisk, dom->ramdisk) ||
	    dup_opt(&b->u.pv.bootloader, dom->bootloader))
		goto nomem;
	if (dom->bootloader_args && split_args(&b->u.pv.bootloader_args,
					       dom->bootloader_args))
		goto nomem;
	b->cmdline = hv_domain_cmdline(dom);
	if (!b->cmdline)
		goto nomem;

	dc->disks = calloc(dom->ndisks ? dom->ndisks : 1, sizeof(*dc->disks));
	if (!dc->disks)
		goto nomem;
	for (i = 0; i < dom->ndisks; i++) {
		const struct hv_disk *d = &dom->disks[i];
		libxl_device_disk *x = &dc->disks[i];
		char xen[16];

		libxl_device_disk_init(x);
		dc->num_disks++;
		if (hv_vdev_xen(d->vdev, xen, sizeof(xen))) {
			snprintf(err, HV_ERR_LEN, "disk %s: not a disk name Xen knows", d->vdev);
			return -EINVAL;
		}
		/* phy serves files too: the block hotplug script attaches a loop device. */
		x->backend = LIBXL_DISK_BACKEND_PHY;
		x->format = LIBXL_DISK_FORMAT_RAW;
		x->readwrite = d->writable;
		if (dup_opt(&x->pdev_path, d->target) || dup_opt(&x->vdev, xen))
			goto nomem;
	}

	dc->nics = calloc(dom->nvifs ? dom->nvifs : 1, sizeof(*dc->nics));
	if (!dc->nics)
		goto nomem;
	for (i = 0; i < dom->nvifs; i++) {
		const struct hv_vif *v = &dom->vifs[i];
		libxl_device_nic *x = &dc->nics[i];

		libxl_device_nic_init(x);
		dc->num_nics++;
		x->devid = (libxl_devid)i;
		x->nictype = LIBXL_NIC_TYPE_VIF;
		if (v->has_mac)
			memcpy(x->mac, v->mac, 6);
		if (dup_opt(&x->bridge, v->bridge) || dup_opt(&x->ip, v->ip) ||
		    dup_opt(&x->script, v->script) || dup_opt(&x->ifname, v->vifname))
			goto nomem;
	}

	dc->on_poweroff = action(dom->on_poweroff);
	dc->on_reboot = action(dom->on_reboot);
	dc->on_crash = action(dom->on_crash);
	/* A watchdog firing is a crash; soft reset is an HVM matter. */
	dc->on_watchdog = dc->on_crash;
	dc->on_soft_reset = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	return 0;
nomem:
	snprintf(err, HV_ERR_LEN, "out of memory building the libxl config");
	return rc;
}

libxl_action_on_shutdown hv_libxl_action(const libxl_domain_config *dc,
					 libxl_shutdown_reason reason)
{
	switch (reason) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF:   return dc->on_poweroff;
	case LIBXL_SHUTDOWN_REASON_REBOOT:     return dc->on_reboot;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG:   return dc->on_watchdog;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return dc->on_soft_reset;
	case LIBXL_SHUTDOWN_REASON_CRASH:      return dc->on_crash;
	default:
		/* Unknown reasons (and suspend, which callers handle): as a crash. */
		return dc->on_crash;
	}
}

bool hv_crash_restart_ok(struct hv_crashes *v, size_t len, const char *name,
			 int64_t now_ms, unsigned *count)
{
	struct hv_crashes *e = NULL, *oldest = v;

	for (size_t i = 0; i < len; i++) {
		if (!strcmp(v[i].name, name)) {
			e = &v[i];
			break;
		}
		if (v[i].first_ms < oldest->first_ms)
			oldest = &v[i];
	}
	if (!e) {	/* a new name takes the stalest slot */
		e = oldest;
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->n = 0;
	}
	if (!e->n || now_ms - e->first_ms > (int64_t)HV_CRASH_LOOP_S * 1000) {
		e->first_ms = now_ms;
		e->n = 0;
	}
	*count = ++e->n;
	return e->n <= HV_CRASH_LOOP_MAX;
}

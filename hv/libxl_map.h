/*
 * libxl_map.h - internal to hv/: struct hv_domain to libxl_domain_config.
 * Kept apart from the backend so the unit tests can check the mapping on a
 * machine without Xen.
 */
#ifndef XR_HV_LIBXL_MAP_H
#define XR_HV_LIBXL_MAP_H

#include <libxl.h>

#include "hv.h"

/**
 * hv_libxl_config - fill @dc (initialised by the caller) from @dom
 * @err: receives the reason on failure (HV_ERR_LEN bytes)
 * Return: 0 or a negative errno.  @dc is disposed by the caller either way.
 */
int hv_libxl_config(const struct hv_domain *dom, libxl_domain_config *dc,
		    char *err);

/**
 * hv_libxl_action - what @dc says to do when the domain stops for @reason
 * Return: the action; an unknown reason counts as a crash.
 */
libxl_action_on_shutdown hv_libxl_action(const libxl_domain_config *dc,
					 libxl_shutdown_reason reason);

/*
 * A domain restarted after a crash more than HV_CRASH_LOOP_MAX times within
 * HV_CRASH_LOOP_S seconds is in a crash loop: it is left crashed instead.
 */
#define HV_CRASH_LOOP_MAX 3
#define HV_CRASH_LOOP_S   600

struct hv_crashes {
	char name[HV_NAME_MAX + 1];
	int64_t first_ms;	/* the first crash of this window */
	unsigned n;		/* crashes in it */
};

/**
 * hv_crash_restart_ok - count a crash of @name at @now_ms in @v (@len slots)
 * @count: receives the crashes in the current window
 * Return: true to restart it, false when it is in a crash loop.
 */
bool hv_crash_restart_ok(struct hv_crashes *v, size_t len, const char *name,
			 int64_t now_ms, unsigned *count);

#endif

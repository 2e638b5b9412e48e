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

#endif

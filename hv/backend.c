/*
 * backend.c - the table of hypervisor backends clusterd can run on.
 */
#include <string.h>

#include "hv.h"

static const struct hv_ops *const backends[] = { &hv_libxl_ops, &hv_sim_ops };

const struct hv_ops *hv_ops_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

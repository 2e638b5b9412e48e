/*
 * print.c - a domain written back out: as a canonical config that parses to
 * the same domain (clusterctl check), and as JSON (check --json, protocol).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hv.h"

static void put_quoted(FILE *out, const char *s, char quote)
{
	fputc(quote, out);
	for (; *s; s++) {
		if (*s == '\\' || *s == quote)
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else
			fputc(*s, out);
	}
	fputc(quote, out);
}

static void put_str(FILE *out, const char *key, const char *val)
{
	if (!val)
		return;
	fprintf(out, "%s = ", key);
	put_quoted(out, val, '"');
	fputc('\n', out);
}

static char *disk_spec(const struct hv_disk *d)
{
	const char *mode = d->writable ? "w" : "r";
	char *s = NULL;
	int r;

	/* xm's positional form when it can hold the target, else xl's. */
	if (!strpbrk(d->target, ",="))
		r = asprintf(&s, "%s:%s,%s,%s", hv_disk_type_name(d->type),
			     d->target, d->vdev, mode);
	else
		r = asprintf(&s, "vdev=%s, access=%s, target=%s:%s", d->vdev,
			     mode, hv_disk_type_name(d->type), d->target);
	return r < 0 ? NULL : s;
}

static char *vif_spec(const struct hv_vif *v)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	const char *sep = "";

	if (!f)
		return NULL;
	if (v->has_mac) {
		fprintf(f, "mac=%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0],
			v->mac[1], v->mac[2], v->mac[3], v->mac[4], v->mac[5]);
		sep = ", ";
	}
#define VIF_KEY(k)                                          \
	if (v->k) {                                         \
		fprintf(f, "%s" #k "=%s", sep, v->k);       \
		sep = ", ";                                 \
	}
	VIF_KEY(bridge)
	VIF_KEY(ip)
	VIF_KEY(script)
	VIF_KEY(vifname)
#undef VIF_KEY
	fclose(f);
	return s;
}

static void put_list(FILE *out, const char *key, char **items, size_t n)
{
	size_t i;

	fprintf(out, "%s = [", key);
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n        " : " ", out);
		put_quoted(out, items[i] ? items[i] : "", '\'');
	}
	fputs(n ? " ]\n" : "]\n", out);
}

void hv_domain_print(const struct hv_domain *dom, FILE *out)
{
	char *items[HV_MAX_DISKS > HV_MAX_VIFS ? HV_MAX_DISKS : HV_MAX_VIFS];
	size_t i;

	put_str(out, "name", dom->name);
	if (dom->has_uuid) {
		const uint8_t *u = dom->uuid;

		fprintf(out, "uuid = \"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			"%02x%02x%02x%02x%02x%02x\"\n", u[0], u[1], u[2], u[3],
			u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
			u[13], u[14], u[15]);
	}
	fputs("type = \"pv\"\n", out);
	put_str(out, "kernel", dom->kernel);
	put_str(out, "ramdisk", dom->ramdisk);
	put_str(out, "bootloader", dom->bootloader);
	put_str(out, "bootloader_args", dom->bootloader_args);
	if (dom->cmdline) {
		put_str(out, "cmdline", dom->cmdline);
	} else {
		put_str(out, "root", dom->root);
		put_str(out, "extra", dom->extra);
	}
	fprintf(out, "memory = %u\nmaxmem = %u\nvcpus = %u\n", dom->memory_mb,
		dom->maxmem_mb, dom->vcpus);
	if (dom->maxvcpus != dom->vcpus)
		fprintf(out, "maxvcpus = %u\n", dom->maxvcpus);
	if (dom->has_cpus)
		put_str(out, "cpus", dom->cpus_text);
	for (i = 0; i < dom->ndisks; i++)
		items[i] = disk_spec(&dom->disks[i]);
	put_list(out, "disk", items, dom->ndisks);
	for (i = 0; i < dom->ndisks; i++)
		free(items[i]);
	for (i = 0; i < dom->nvifs; i++)
		items[i] = vif_spec(&dom->vifs[i]);
	put_list(out, "vif", items, dom->nvifs);
	for (i = 0; i < dom->nvifs; i++)
		free(items[i]);
	fprintf(out, "on_poweroff = \"%s\"\non_reboot = \"%s\"\non_crash = \"%s\"\n",
		hv_action_name(dom->on_poweroff), hv_action_name(dom->on_reboot),
		hv_action_name(dom->on_crash));
	fprintf(out, "autorestart = %s\n", dom->autorestart ? "True" : "False");
}

static void add_str(struct json_object *o, const char *key, const char *val)
{
	if (val)
		json_object_object_add(o, key, json_object_new_string(val));
}

struct json_object *hv_domain_to_json(const struct hv_domain *dom)
{
	struct json_object *o = json_object_new_object();
	struct json_object *arr;
	char *cmdline = hv_domain_cmdline(dom);
	char buf[40];
	size_t i;

	add_str(o, "name", dom->name);
	if (dom->has_uuid) {
		const uint8_t *u = dom->uuid;

		snprintf(buf, sizeof(buf), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
			 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
		add_str(o, "uuid", buf);
	}
	add_str(o, "type", "pv");
	add_str(o, "kernel", dom->kernel);
	add_str(o, "ramdisk", dom->ramdisk);
	add_str(o, "bootloader", dom->bootloader);
	add_str(o, "bootloader_args", dom->bootloader_args);
	add_str(o, "root", dom->root);
	add_str(o, "extra", dom->extra);
	add_str(o, "cmdline", cmdline);
	free(cmdline);
	json_object_object_add(o, "memory_mb", json_object_new_int64(dom->memory_mb));
	json_object_object_add(o, "maxmem_mb", json_object_new_int64(dom->maxmem_mb));
	json_object_object_add(o, "vcpus", json_object_new_int64(dom->vcpus));
	json_object_object_add(o, "maxvcpus", json_object_new_int64(dom->maxvcpus));
	add_str(o, "cpus", dom->has_cpus ? dom->cpus_text : "all");

	arr = json_object_new_array();
	for (i = 0; i < dom->ndisks; i++) {
		const struct hv_disk *d = &dom->disks[i];
		struct json_object *jd = json_object_new_object();
		char xen[16];

		add_str(jd, "backend", hv_disk_type_name(d->type));
		add_str(jd, "target", d->target);
		add_str(jd, "vdev", d->vdev);
		if (!hv_vdev_xen(d->vdev, xen, sizeof(xen)))
			add_str(jd, "xen_vdev", xen);
		add_str(jd, "access", d->writable ? "rw" : "ro");
		json_object_array_add(arr, jd);
	}
	json_object_object_add(o, "disks", arr);

	arr = json_object_new_array();
	for (i = 0; i < dom->nvifs; i++) {
		const struct hv_vif *v = &dom->vifs[i];
		struct json_object *jv = json_object_new_object();

		if (v->has_mac) {
			snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
				 v->mac[0], v->mac[1], v->mac[2], v->mac[3],
				 v->mac[4], v->mac[5]);
			add_str(jv, "mac", buf);
		}
		add_str(jv, "bridge", v->bridge);
		add_str(jv, "ip", v->ip);
		add_str(jv, "script", v->script);
		add_str(jv, "vifname", v->vifname);
		json_object_array_add(arr, jv);
	}
	json_object_object_add(o, "vifs", arr);
	add_str(o, "on_poweroff", hv_action_name(dom->on_poweroff));
	add_str(o, "on_reboot", hv_action_name(dom->on_reboot));
	add_str(o, "on_crash", hv_action_name(dom->on_crash));
	json_object_object_add(o, "autorestart", json_object_new_boolean(dom->autorestart));
	return o;
}

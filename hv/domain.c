/*
 * domain.c - the typed layer of the domain config parser.
 *
 * Walks the generic store (cfg.c) key by key with typed getters that check
 * bounds, parses the disk and vif mini-languages, and fills struct
 * hv_domain.  Every complaint names the line and column of the value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

struct tctx {
	struct hv_cfg *cfg;
	struct hv_diag *diag;
};

static const char *kind_name(enum hv_cfg_kind k)
{
	switch (k) {
	case HV_CFG_STRING: return "a string";
	case HV_CFG_INT:    return "an integer";
	case HV_CFG_BOOL:   return "True or False";
	case HV_CFG_LIST:   return "a list";
	}
	return "?";
}

static void err_at(struct tctx *t, const struct hv_cfg_value *v,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void err_at(struct tctx *t, const struct hv_cfg_value *v,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hv_diag_vadd(t->diag, HV_ERROR, v ? v->line : 0, v ? v->col : 0, fmt, ap);
	va_end(ap);
}

/*
 * get - look up @key, mark it used and check its kind.
 * Return: the value, or NULL when absent or of the wrong kind (reported).
 */
static struct hv_cfg_value *get(struct tctx *t, const char *key,
				enum hv_cfg_kind kind, const char *example)
{
	struct hv_cfg_entry *e = hv_cfg_find(t->cfg, key);
	size_t i;

	if (!e)
		return NULL;
	for (i = 0; i < t->cfg->n; i++)
		if (!strcmp(t->cfg->v[i].key, key))
			t->cfg->v[i].used = true;
	if (e->val.kind == kind)
		return &e->val;
	/* xl writes booleans as 1 and 0. */
	if (kind == HV_CFG_BOOL && e->val.kind == HV_CFG_INT &&
	    (e->val.u.i == 0 || e->val.u.i == 1)) {
		e->val.kind = HV_CFG_BOOL;
		e->val.u.b = e->val.u.i;
		return &e->val;
	}
	err_at(t, &e->val, "%s: expected %s%s%s, got %s", key, kind_name(kind),
	       example ? " such as " : "", example ? example : "",
	       kind_name(e->val.kind));
	return NULL;
}

static int get_str(struct tctx *t, const char *key, char **out,
		   const char *example)
{
	struct hv_cfg_value *v = get(t, key, HV_CFG_STRING, example);

	if (!v)
		return 0;
	free(*out);
	*out = strdup(v->u.s);
	return *out ? 1 : -ENOMEM;
}

static bool get_int(struct tctx *t, const char *key, long long min,
		    long long max, long long *out, const char *unit)
{
	struct hv_cfg_value *v = get(t, key, HV_CFG_INT, NULL);

	if (!v)
		return false;
	if (v->u.i < min || v->u.i > max) {
		err_at(t, v, "%s = %lld is out of range: expected %lld to %lld%s%s",
		       key, v->u.i, min, max, unit ? " " : "", unit ? unit : "");
		return false;
	}
	*out = v->u.i;
	return true;
}

/* ---- checks of single values ---- */

static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);
	bool digits = true;

	if (n == 0 || n > HV_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
		if (!isdigit((unsigned char)s[i]))
			digits = false;
	}
	return !digits;
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, j = 0, k = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		if (k < 4 && (int)i == dash[k]) {
			if (s[i] != '-')
				return -EINVAL;
			k++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
	}
	for (i = 0; i < 36 && j < 16; i++) {
		char hex[3];

		if (s[i] == '-')
			continue;
		hex[0] = s[i];
		hex[1] = s[i + 1];
		hex[2] = '\0';
		out[j++] = (uint8_t)strtoul(hex, NULL, 16);
		i++;
	}
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		mac[i] = (uint8_t)((isdigit((unsigned char)s[0]) ? s[0] - '0' :
				    (tolower((unsigned char)s[0]) - 'a' + 10)) << 4 |
				   (isdigit((unsigned char)s[1]) ? s[1] - '0' :
				    (tolower((unsigned char)s[1]) - 'a' + 10)));
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

static void set_cpu(uint64_t *map, unsigned cpu)
{
	map[cpu / 64] |= 1ull << (cpu % 64);
}

static bool test_cpu(const uint64_t *map, unsigned cpu)
{
	return map[cpu / 64] >> (cpu % 64) & 1;
}

/*
 * parse_cpus - "0-3,^2,5" into a bitmap.  "all" leaves no affinity.
 * Return: 1 when a mask was set, 0 for "all", or -EINVAL with @why set.
 */
static int parse_cpus(const char *s, uint64_t *map, const char **why)
{
	const char *p = s;
	bool any = false;

	memset(map, 0, HV_MAX_CPUS / 8);
	if (!strcmp(s, "all"))
		return 0;
	if (!strncmp(s, "node", 4)) {
		*why = "NUMA node affinity is not supported; name CPUs";
		return -EINVAL;
	}
	while (*p) {
		bool neg = false;
		unsigned long a, b, c;
		char *e;

		if (*p == '^') {
			neg = true;
			p++;
		}
		if (!isdigit((unsigned char)*p))
			goto bad;
		a = strtoul(p, &e, 10);
		b = a;
		p = e;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			b = strtoul(p, &e, 10);
			p = e;
		}
		if (a > b || b >= HV_MAX_CPUS) {
			*why = "CPU range is reversed or beyond CPU 1023";
			return -EINVAL;
		}
		for (c = a; c <= b; c++) {
			if (neg)
				map[c / 64] &= ~(1ull << (c % 64));
			else
				set_cpu(map, (unsigned)c);
		}
		any = any || !neg;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	if (!any) {
		*why = "no CPU is left in the mask";
		return -EINVAL;
	}
	for (unsigned i = 0; i < HV_MAX_CPUS / 64; i++)
		if (map[i])
			return 1;
	*why = "no CPU is left in the mask";
	return -EINVAL;
bad:
	*why = "expected \"all\" or CPU numbers and ranges such as \"0-3,^2\"";
	return -EINVAL;
}

static char *cpus_to_text(const uint64_t *map)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned c = 0;
	bool first = true;

	if (!f)
		return NULL;
	while (c < HV_MAX_CPUS) {
		unsigned start;

		if (!test_cpu(map, c)) {
			c++;
			continue;
		}
		start = c;
		while (c + 1 < HV_MAX_CPUS && test_cpu(map, c + 1))
			c++;
		fprintf(f, "%s%u", first ? "" : ",", start);
		if (c > start)
			fprintf(f, "-%u", c);
		first = false;
		c++;
	}
	fclose(f);
	return buf;
}

int hv_vdev_xen(const char *vdev, char *out, size_t outlen)
{
	const char *p;
	unsigned long n;
	char *e;

	if (!vdev[0] || strlen(vdev) >= outlen || outlen < 16)
		return -EINVAL;
	/* Linux names: xvda, hda1, sdb2, and the generic d0p1. */
	if (!strncmp(vdev, "xvd", 3) || (!strncmp(vdev, "hd", 2) ||
	     (!strncmp(vdev, "sd", 2) && islower((unsigned char)vdev[2])))) {
		p = vdev + (vdev[0] == 'x' ? 3 : 2);
		if (!islower((unsigned char)*p))
			return -EINVAL;
		while (islower((unsigned char)*p))
			p++;
		if (p - vdev > 6)
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p)
			return -EINVAL;
		strcpy(out, vdev);
		return 0;
	}
	if (vdev[0] == 'd' && isdigit((unsigned char)vdev[1])) {
		n = strtoul(vdev + 1, &e, 10);
		if (n > 255 || (*e && (*e != 'p' || !isdigit((unsigned char)e[1]))))
			return -EINVAL;
		if (*e) {
			strtoul(e + 1, &e, 10);
			if (*e)
				return -EINVAL;
		}
		strcpy(out, vdev);
		return 0;
	}
	/* NetBSD names: wd0d, sd1, ld0a, xbd0. */
	if (!strncmp(vdev, "wd", 2) || !strncmp(vdev, "sd", 2) ||
	    !strncmp(vdev, "ld", 2) || !strncmp(vdev, "xbd", 3)) {
		p = vdev + (vdev[0] == 'x' ? 3 : 2);
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		n = strtoul(p, &e, 10);
		if (n >= 26)
			return -EINVAL;
		if (*e >= 'a' && *e <= 'p')
			e++;
		if (*e)
			return -EINVAL;
		snprintf(out, outlen, "xvd%c", (char)('a' + n));
		return 0;
	}
	return -EINVAL;
}

/* ---- disk entries ---- */

/* Where byte @off of the string value @v stands (just inside its quote). */
#define AT(v, off) \
	(&(const struct hv_cfg_value){ .line = (v)->line, \
				       .col = (v)->col + 1 + (unsigned)(off) })

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int disk_target(struct tctx *t, const struct hv_cfg_value *v,
		       const char *spec, char *target, struct hv_disk *d)
{
	const struct hv_cfg_value *pos = AT(v, (size_t)(target - spec));
	char *colon = strchr(target, ':');
	char *path = target;

	if (colon && target[0] != '/') {
		*colon = '\0';
		if (!strcmp(target, "phy")) {
			d->type = HV_DISK_PHY;
		} else if (!strcmp(target, "file")) {
			d->type = HV_DISK_FILE;
		} else if (!strcmp(target, "drbd")) {
			err_at(t, pos, "disk '%s': drbd: disks are not written by hand; "
			       "write phy: or file: and xenrack replicates the disk itself",
			       v->u.s);
			return -EINVAL;
		} else {
			err_at(t, pos, "disk '%s': disk type '%s' is not supported; "
			       "expected phy: or file:", v->u.s, target);
			return -EINVAL;
		}
		path = colon + 1;
	} else {
		d->type = strncmp(target, "/dev/", 5) ? HV_DISK_FILE : HV_DISK_PHY;
	}
	if (!path[0]) {
		err_at(t, pos, "disk '%s': target missing, expected a device or file path",
		       v->u.s);
		return -EINVAL;
	}
	if (path[0] != '/') {
		err_at(t, pos, "disk '%s': '%s' is not an absolute path", v->u.s, path);
		return -EINVAL;
	}
	d->target = strdup(path);
	return d->target ? 0 : -ENOMEM;
}

static int disk_vdev(struct tctx *t, const struct hv_cfg_value *v,
		     const char *spec, char *vdev, struct hv_disk *d)
{
	const struct hv_cfg_value *pos = AT(v, (size_t)(vdev - spec));
	char xen[16];

	if (!vdev[0]) {
		err_at(t, pos, "disk '%s': vdev missing, expected a name such as xvda or wd0d",
		       v->u.s);
		return -EINVAL;
	}
	if (strstr(vdev, ":cdrom")) {
		err_at(t, pos, "disk '%s': CD-ROM devices are not supported for PV domains",
		       v->u.s);
		return -EINVAL;
	}
	if (hv_vdev_xen(vdev, xen, sizeof(xen))) {
		err_at(t, pos, "disk '%s': vdev '%s' is not a disk name Xen knows; "
		       "expected xvda, hda, sda, d0p1 or a NetBSD name such as wd0d",
		       v->u.s, vdev);
		return -EINVAL;
	}
	d->vdev = strdup(vdev);
	return d->vdev ? 0 : -ENOMEM;
}

static int disk_mode(struct tctx *t, const struct hv_cfg_value *v,
		     const char *spec, char *mode, struct hv_disk *d)
{
	const struct hv_cfg_value *pos = AT(v, (size_t)(mode - spec));

	if (!mode[0]) {
		err_at(t, pos, "disk '%s': mode missing, expected r or w", v->u.s);
		return -EINVAL;
	}
	if (!strcmp(mode, "r") || !strcmp(mode, "ro")) {
		d->writable = false;
	} else if (!strcmp(mode, "w") || !strcmp(mode, "rw")) {
		d->writable = true;
	} else if (!strcmp(mode, "w!")) {
		d->writable = true;
		hv_diag_add(t->diag, HV_WARNING, pos->line, pos->col,
			    "disk '%s': mode w! is read as w; Xen's block hotplug "
			    "script still refuses a device another domain has "
			    "writable", v->u.s);
	} else {
		err_at(t, pos, "disk '%s': mode '%s' is not valid, expected r or w",
		       v->u.s, mode);
		return -EINVAL;
	}
	return 0;
}

static int disk_format(struct tctx *t, const struct hv_cfg_value *v,
		       const char *spec, char *fmt)
{
	const struct hv_cfg_value *pos = AT(v, (size_t)(fmt - spec));

	if (!fmt[0] || !strcmp(fmt, "raw"))
		return 0;
	err_at(t, pos, "disk '%s': format '%s' is not supported; PV domains "
	       "without a device model use raw disks", v->u.s, fmt);
	return -EINVAL;
}

/* xl's keyword form: "vdev=xvda, access=rw, target=/dev/sdb1". */
static int parse_disk_keywords(struct tctx *t, const struct hv_cfg_value *v,
			       char *spec, struct hv_disk *d)
{
	char *p = spec;
	bool have_target = false, have_vdev = false, have_access = false;
	int rc;

	while (*p) {
		char *item = p, *eq, *key, *val;
		size_t n = strcspn(p, ",");

		/* "target=" takes the rest, commas included. */
		while (isspace((unsigned char)*item))
			item++;
		if (!strncmp(item, "target=", 7)) {
			n = strlen(p);
		}
		p += n;
		if (*p)
			*p++ = '\0';
		eq = strchr(item, '=');
		if (!eq) {
			if (!trim(item)[0])
				continue;
			err_at(t, AT(v, (size_t)(item - spec)),
			       "disk '%s': '%s' is not key=value; once one field is "
			       "key=value, all must be", v->u.s, trim(item));
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(item);
		val = trim(eq + 1);
		if ((!strcmp(key, "target") && have_target) ||
		    (!strcmp(key, "vdev") && have_vdev) ||
		    (!strcmp(key, "access") && have_access)) {
			err_at(t, AT(v, (size_t)(key - spec)),
			       "disk '%s': %s= given twice", v->u.s, key);
			return -EINVAL;
		}
		if (!strcmp(key, "target")) {
			rc = disk_target(t, v, spec, val, d);
			have_target = true;
		} else if (!strcmp(key, "vdev")) {
			rc = disk_vdev(t, v, spec, val, d);
			have_vdev = true;
		} else if (!strcmp(key, "access")) {
			rc = disk_mode(t, v, spec, val, d);
			have_access = true;
		} else if (!strcmp(key, "format")) {
			rc = disk_format(t, v, spec, val);
		} else if (!strcmp(key, "backendtype")) {
			rc = 0;
			if (strcmp(val, "phy")) {
				err_at(t, AT(v, (size_t)(val - spec)),
				       "disk '%s': backendtype '%s' is not supported; "
				       "PV disks use the phy backend", v->u.s, val);
				rc = -EINVAL;
			}
		} else if (!strcmp(key, "devtype")) {
			rc = 0;
			if (strcmp(val, "disk")) {
				err_at(t, AT(v, (size_t)(val - spec)),
				       "disk '%s': devtype '%s' is not supported; expected disk",
				       v->u.s, val);
				rc = -EINVAL;
			}
		} else {
			err_at(t, AT(v, (size_t)(key - spec)),
			       "disk '%s': unknown key '%s'; expected target, vdev, "
			       "access, format, backendtype or devtype", v->u.s, key);
			rc = -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (!have_target) {
		err_at(t, v, "disk '%s': target= missing", v->u.s);
		return -EINVAL;
	}
	if (!have_vdev) {
		err_at(t, v, "disk '%s': vdev= missing", v->u.s);
		return -EINVAL;
	}
	if (!have_access)
		d->writable = true;	/* xl's default */
	return 0;
}

/* xm's "phy:DEV,VDEV,MODE" and xl's "TARGET,FORMAT,VDEV,ACCESS". */
static int parse_disk_positional(struct tctx *t, const struct hv_cfg_value *v,
				 char *spec, struct hv_disk *d)
{
	char *field[5];
	size_t n = 0;
	char *p = spec;
	int rc;

	for (;;) {
		char *comma = strchr(p, ',');

		if (n == 5)
			break;
		field[n++] = p;
		if (!comma)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	for (size_t i = 0; i < n; i++) {
		char *f = field[i];

		while (isspace((unsigned char)*f))
			f++;
		field[i] = trim(f);
	}
	switch (n) {
	case 1:
		err_at(t, AT(v, strlen(v->u.s)),
		       "disk '%s': vdev and mode missing, expected 'phy:DEV,VDEV,MODE'",
		       v->u.s);
		return -EINVAL;
	case 2:
		err_at(t, AT(v, strlen(v->u.s)),
		       "disk '%s': mode missing, expected r or w", v->u.s);
		return -EINVAL;
	case 3:
		rc = disk_target(t, v, spec, field[0], d);
		if (!rc)
			rc = disk_vdev(t, v, spec, field[1], d);
		if (!rc)
			rc = disk_mode(t, v, spec, field[2], d);
		return rc;
	case 4:
		rc = disk_target(t, v, spec, field[0], d);
		if (!rc)
			rc = disk_format(t, v, spec, field[1]);
		if (!rc)
			rc = disk_vdev(t, v, spec, field[2], d);
		if (!rc)
			rc = field[3][0] ? disk_mode(t, v, spec, field[3], d) :
			     (d->writable = true, 0);
		return rc;
	default:
		err_at(t, v, "disk '%s': too many fields; expected 'phy:DEV,VDEV,MODE'",
		       v->u.s);
		return -EINVAL;
	}
}

static int parse_disk(struct tctx *t, const struct hv_cfg_value *v,
		      struct hv_disk *d)
{
	char *spec = strdup(v->u.s);
	size_t first = strcspn(v->u.s, ",");
	int rc;

	if (!spec)
		return -ENOMEM;
	d->line = v->line;
	d->col = v->col;
	if (memchr(v->u.s, '=', first))
		rc = parse_disk_keywords(t, v, spec, d);
	else
		rc = parse_disk_positional(t, v, spec, d);
	free(spec);
	return rc;
}

/* ---- vif entries ---- */

static int parse_vif(struct tctx *t, const struct hv_cfg_value *v,
		     struct hv_vif *vif)
{
	char *spec = strdup(v->u.s);
	char *p = spec;
	int rc = 0;

	if (!spec)
		return -ENOMEM;
	vif->line = v->line;
	vif->col = v->col;
	while (p && *p) {
		char *item = p, *eq, *key, *val, **slot = NULL;
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		p = comma ? comma + 1 : NULL;
		if (!trim(item)[0])
			continue;
		eq = strchr(item, '=');
		if (!eq) {
			err_at(t, AT(v, (size_t)(item - spec)),
			       "vif '%s': '%s' is not key=value", v->u.s, trim(item));
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(item);
		val = trim(eq + 1);
		if (!strcmp(key, "mac")) {
			if (!val[0])
				continue;	/* empty: generated */
			if (parse_mac(val, vif->mac)) {
				err_at(t, AT(v, (size_t)(val - spec)),
				       "vif '%s': mac '%s' is not six hex octets such as aa:00:00:50:02:f0",
				       v->u.s, val);
				rc = -EINVAL;
				break;
			}
			if (vif->mac[0] & 1) {
				err_at(t, AT(v, (size_t)(val - spec)),
				       "vif '%s': mac '%s' is a multicast address "
				       "(lowest bit of the first octet set)", v->u.s, val);
				rc = -EINVAL;
				break;
			}
			vif->has_mac = true;
			continue;
		}
		if (!strcmp(key, "bridge"))
			slot = &vif->bridge;
		else if (!strcmp(key, "ip"))
			slot = &vif->ip;
		else if (!strcmp(key, "script"))
			slot = &vif->script;
		else if (!strcmp(key, "vifname"))
			slot = &vif->vifname;
		if (!slot) {
			hv_diag_add(t->diag, HV_WARNING, v->line,
				    v->col + 1 + (unsigned)(key - spec),
				    "vif '%s': unknown key '%s' ignored", v->u.s, key);
			continue;
		}
		if (!val[0] && slot != &vif->bridge)
			continue;
		if (!val[0]) {
			err_at(t, AT(v, (size_t)(val - spec)),
			       "vif '%s': bridge is empty", v->u.s);
			rc = -EINVAL;
			break;
		}
		free(*slot);
		*slot = strdup(val);
		if (!*slot) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!rc && !vif->bridge) {
		vif->bridge = strdup(HV_DEFAULT_BRIDGE);
		if (!vif->bridge)
			rc = -ENOMEM;
	}
	free(spec);
	return rc;
}

/* ---- the domain ---- */

static const struct {
	const char *name;
	enum hv_action act;
} actions[] = {
	{ "destroy", HV_ACT_DESTROY },
	{ "restart", HV_ACT_RESTART },
	{ "preserve", HV_ACT_PRESERVE },
	{ "coredump-destroy", HV_ACT_COREDUMP_DESTROY },
	{ "coredump-restart", HV_ACT_COREDUMP_RESTART },
};

const char *hv_action_name(enum hv_action act)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].act == act)
			return actions[i].name;
	return "?";
}

const char *hv_disk_type_name(enum hv_disk_type type)
{
	return type == HV_DISK_PHY ? "phy" : "file";
}

static bool get_action(struct tctx *t, const char *key, enum hv_action *out)
{
	struct hv_cfg_value *v = get(t, key, HV_CFG_STRING, "\"destroy\"");

	if (!v)
		return false;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!strcmp(v->u.s, actions[i].name)) {
			*out = actions[i].act;
			return true;
		}
	}
	if (!strcmp(v->u.s, "rename-restart"))
		err_at(t, v, "%s = \"rename-restart\" is not supported; use "
		       "\"preserve\" to keep a dead domain for inspection", key);
	else if (!strcmp(v->u.s, "soft-reset"))
		err_at(t, v, "%s = \"soft-reset\" is for HVM guests; xenrack "
		       "runs PV domains", key);
	else
		err_at(t, v, "%s = \"%s\": expected destroy, restart, preserve, "
		       "coredump-destroy or coredump-restart", key, v->u.s);
	return false;
}

void hv_domain_init(struct hv_domain *dom)
{
	memset(dom, 0, sizeof(*dom));
	dom->memory_mb = 128;		/* xend's default */
	dom->vcpus = 1;
	dom->on_poweroff = HV_ACT_DESTROY;
	dom->on_reboot = HV_ACT_RESTART;
	dom->on_crash = HV_ACT_DESTROY;
}

void hv_domain_dispose(struct hv_domain *dom)
{
	size_t i;

	free(dom->name);
	free(dom->kernel);
	free(dom->ramdisk);
	free(dom->root);
	free(dom->extra);
	free(dom->cmdline);
	free(dom->bootloader);
	free(dom->bootloader_args);
	free(dom->cpus_text);
	for (i = 0; i < dom->ndisks; i++) {
		free(dom->disks[i].target);
		free(dom->disks[i].vdev);
	}
	free(dom->disks);
	for (i = 0; i < dom->nvifs; i++) {
		free(dom->vifs[i].bridge);
		free(dom->vifs[i].ip);
		free(dom->vifs[i].script);
		free(dom->vifs[i].vifname);
	}
	free(dom->vifs);
	memset(dom, 0, sizeof(*dom));
}

static void check_path(struct tctx *t, const char *key, const char *path)
{
	struct hv_cfg_entry *e = hv_cfg_find(t->cfg, key);

	if (path && path[0] != '/')
		err_at(t, &e->val, "%s = \"%s\": expected an absolute path", key, path);
}

static int read_builder(struct tctx *t)
{
	struct hv_cfg_value *v;

	v = get(t, "builder", HV_CFG_STRING, "\"linux\"");
	if (v && strcmp(v->u.s, "linux") && strcmp(v->u.s, "generic")) {
		err_at(t, v, "builder = \"%s\": xenrack runs paravirtual domains "
		       "only; expected \"linux\" or \"generic\"", v->u.s);
		return -EINVAL;
	}
	v = get(t, "type", HV_CFG_STRING, "\"pv\"");
	if (v && strcmp(v->u.s, "pv")) {
		err_at(t, v, "type = \"%s\": xenrack runs paravirtual domains "
		       "only; expected \"pv\"", v->u.s);
		return -EINVAL;
	}
	return 0;
}

static int read_strings(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_entry *e;
	int rc = 0;

	if (get_str(t, "name", &dom->name, "\"NetBSD\"") < 0 ||
	    get_str(t, "kernel", &dom->kernel, "\"/boot/vmlinuz\"") < 0 ||
	    get_str(t, "ramdisk", &dom->ramdisk, "\"/boot/initrd.img\"") < 0 ||
	    get_str(t, "root", &dom->root, "\"/dev/xvda1\"") < 0 ||
	    get_str(t, "extra", &dom->extra, "\"console=hvc0\"") < 0 ||
	    get_str(t, "cmdline", &dom->cmdline, "\"root=/dev/xvda1 ro\"") < 0 ||
	    get_str(t, "bootloader", &dom->bootloader, "\"pygrub\"") < 0 ||
	    get_str(t, "bootloader_args", &dom->bootloader_args, NULL) < 0)
		return -ENOMEM;
	if (!dom->name) {
		if (!hv_cfg_find(t->cfg, "name"))
			err_at(t, NULL, "name missing: every domain needs name = \"...\"");
		rc = -EINVAL;
	} else if (!valid_name(dom->name)) {
		err_at(t, &hv_cfg_find(t->cfg, "name")->val,
		       "name \"%s\" is not valid: use 1 to %d letters, digits, '.', '_' "
		       "or '-', starting with a letter or digit, not only digits",
		       dom->name, HV_NAME_MAX);
		rc = -EINVAL;
	} else if (!strncmp(dom->name, "Domain-", 7)) {
		err_at(t, &hv_cfg_find(t->cfg, "name")->val,
		       "name \"%s\" is reserved for Xen's own domains", dom->name);
		rc = -EINVAL;
	}
	check_path(t, "kernel", dom->kernel);
	check_path(t, "ramdisk", dom->ramdisk);
	if (!dom->kernel && !dom->bootloader && !hv_cfg_find(t->cfg, "kernel"))
		err_at(t, NULL, "kernel missing: a PV domain needs kernel = \"/path\" "
		       "or a bootloader");
	if (dom->cmdline && (dom->root || dom->extra)) {
		e = hv_cfg_find(t->cfg, "cmdline");
		hv_diag_add(t->diag, HV_WARNING, e->line, e->col,
			    "cmdline is set, so root and extra are not used");
	}
	return rc;
}

static void read_numbers(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_entry *e;
	long long n;

	if (get_int(t, "memory", HV_MEM_MIN_MB, HV_MEM_MAX_MB, &n, "MiB"))
		dom->memory_mb = (unsigned)n;
	dom->maxmem_mb = dom->memory_mb;
	if (get_int(t, "maxmem", HV_MEM_MIN_MB, HV_MEM_MAX_MB, &n, "MiB")) {
		if ((unsigned)n < dom->memory_mb)
			err_at(t, &hv_cfg_find(t->cfg, "maxmem")->val,
			       "maxmem = %lld is less than memory = %u", n,
			       dom->memory_mb);
		else
			dom->maxmem_mb = (unsigned)n;
	}
	if (get_int(t, "vcpus", 1, HV_MAX_VCPUS, &n, NULL))
		dom->vcpus = (unsigned)n;
	dom->maxvcpus = dom->vcpus;
	if (get_int(t, "maxvcpus", 1, HV_MAX_VCPUS, &n, NULL)) {
		if ((unsigned)n < dom->vcpus)
			err_at(t, &hv_cfg_find(t->cfg, "maxvcpus")->val,
			       "maxvcpus = %lld is less than vcpus = %u", n, dom->vcpus);
		else
			dom->maxvcpus = (unsigned)n;
	}
	if (get_int(t, "cpu", -1, HV_MAX_CPUS - 1, &n, NULL) && n >= 0) {
		e = hv_cfg_find(t->cfg, "cpus");
		if (e) {
			hv_diag_add(t->diag, HV_WARNING, e->line, e->col,
				    "both cpu and cpus are set; cpus wins");
		} else {
			dom->has_cpus = true;
			set_cpu(dom->cpus, (unsigned)n);
		}
	}
}

static void read_cpus(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_entry *e = hv_cfg_find(t->cfg, "cpus");
	struct hv_cfg_value *v;
	const char *why = NULL;
	int rc;

	/* get() marks every 'cpus' used, so none is also warned as unknown. */
	if (e && e->val.kind == HV_CFG_LIST) {
		v = get(t, "cpus", HV_CFG_LIST, NULL);
		err_at(t, v, "cpus: per-vCPU lists are not supported; use one mask "
		       "such as \"0-3\"");
		return;
	}
	v = get(t, "cpus", HV_CFG_STRING, "\"0-3\"");
	if (!v)
		return;
	rc = parse_cpus(v->u.s, dom->cpus, &why);
	if (rc < 0) {
		err_at(t, v, "cpus = \"%s\": %s", v->u.s, why);
		return;
	}
	dom->has_cpus = rc == 1;
}

static int read_disks(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_value *v = get(t, "disk", HV_CFG_LIST,
				     "[ 'phy:/dev/wd0e,wd0d,w' ]");
	size_t i, j;
	int rc;

	if (!v)
		return 0;
	if (v->u.list.n > HV_MAX_DISKS) {
		err_at(t, v, "disk: %zu disks; at most %d are supported",
		       v->u.list.n, HV_MAX_DISKS);
		return 0;
	}
	dom->disks = calloc(v->u.list.n ? v->u.list.n : 1, sizeof(*dom->disks));
	if (!dom->disks)
		return -ENOMEM;
	for (i = 0; i < v->u.list.n; i++) {
		struct hv_cfg_value *item = &v->u.list.items[i];
		struct hv_disk *d = &dom->disks[dom->ndisks];
		char xa[16], xb[16];

		if (item->kind != HV_CFG_STRING) {
			err_at(t, item, "disk: each entry must be a string such as "
			       "'phy:/dev/wd0e,wd0d,w', got %s", kind_name(item->kind));
			continue;
		}
		dom->ndisks++;
		rc = parse_disk(t, item, d);
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			continue;
		hv_vdev_xen(d->vdev, xa, sizeof(xa));
		for (j = 0; j + 1 < dom->ndisks; j++) {
			if (!dom->disks[j].vdev)
				continue;
			hv_vdev_xen(dom->disks[j].vdev, xb, sizeof(xb));
			if (!strcmp(xa, xb)) {
				err_at(t, item, "disk '%s': vdev %s is Xen disk %s, "
				       "which the disk on line %u (vdev %s) already is",
				       item->u.s, d->vdev, xa, dom->disks[j].line,
				       dom->disks[j].vdev);
				break;
			}
		}
	}
	return 0;
}

static int read_vifs(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_value *v = get(t, "vif", HV_CFG_LIST,
				     "[ 'mac=aa:00:00:50:02:f0, bridge=bridge0' ]");
	size_t i, nlist = v ? v->u.list.n : 0;
	long long nics = -1;
	int rc;

	if (nlist > HV_MAX_VIFS) {
		err_at(t, v, "vif: %zu interfaces; at most %d are supported",
		       nlist, HV_MAX_VIFS);
		return 0;
	}
	if (get_int(t, "nics", 0, HV_MAX_VIFS, &nics, NULL) &&
	    (size_t)nics < nlist) {
		err_at(t, &hv_cfg_find(t->cfg, "nics")->val,
		       "nics = %lld but vif lists %zu interfaces (line %u)",
		       nics, nlist, hv_cfg_find(t->cfg, "vif")->line);
		return 0;
	}
	/* xm: nics pads the list with default interfaces. */
	if (nics > (long long)nlist)
		nlist = (size_t)nics;
	dom->vifs = calloc(nlist ? nlist : 1, sizeof(*dom->vifs));
	if (!dom->vifs)
		return -ENOMEM;
	for (i = 0; i < nlist; i++) {
		struct hv_vif *vif = &dom->vifs[i];
		struct hv_cfg_value *item = v && i < v->u.list.n ?
					    &v->u.list.items[i] : NULL;

		dom->nvifs++;
		if (!item) {
			vif->bridge = strdup(HV_DEFAULT_BRIDGE);
			if (!vif->bridge)
				return -ENOMEM;
			continue;
		}
		if (item->kind != HV_CFG_STRING) {
			err_at(t, item, "vif: each entry must be a string such as "
			       "'mac=aa:00:00:50:02:f0, bridge=bridge0', got %s",
			       kind_name(item->kind));
			continue;
		}
		rc = parse_vif(t, item, vif);
		if (rc == -ENOMEM)
			return rc;
	}
	for (i = 0; i < dom->nvifs; i++)
		for (size_t j = 0; j < i; j++)
			if (dom->vifs[i].has_mac && dom->vifs[j].has_mac &&
			    !memcmp(dom->vifs[i].mac, dom->vifs[j].mac, 6))
				hv_diag_add(t->diag, HV_ERROR, dom->vifs[i].line,
					    dom->vifs[i].col,
					    "vif %zu: mac %02x:%02x:%02x:%02x:%02x:%02x is also vif %zu's",
					    i, dom->vifs[i].mac[0], dom->vifs[i].mac[1],
					    dom->vifs[i].mac[2], dom->vifs[i].mac[3],
					    dom->vifs[i].mac[4], dom->vifs[i].mac[5], j);
	return 0;
}

static void read_actions(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_value *v;
	bool autorestart = false;
	bool set_crash;

	v = get(t, "restart", HV_CFG_STRING, "\"onreboot\"");
	if (v) {
		/* xend's legacy key, read before the on_* keys override it. */
		if (!strcmp(v->u.s, "onreboot")) {
			dom->on_poweroff = dom->on_crash = HV_ACT_DESTROY;
			dom->on_reboot = HV_ACT_RESTART;
		} else if (!strcmp(v->u.s, "always")) {
			dom->on_poweroff = dom->on_reboot = HV_ACT_RESTART;
			dom->on_crash = HV_ACT_RESTART;
		} else if (!strcmp(v->u.s, "never")) {
			dom->on_poweroff = dom->on_reboot = HV_ACT_DESTROY;
			dom->on_crash = HV_ACT_DESTROY;
		} else {
			err_at(t, v, "restart = \"%s\": expected onreboot, always or never",
			       v->u.s);
		}
	}
	get_action(t, "on_poweroff", &dom->on_poweroff);
	get_action(t, "on_reboot", &dom->on_reboot);
	set_crash = get_action(t, "on_crash", &dom->on_crash);
	v = get(t, "autorestart", HV_CFG_BOOL, "True");
	if (v)
		autorestart = v->u.b;
	dom->autorestart = autorestart;
	if (autorestart && !set_crash)
		dom->on_crash = HV_ACT_RESTART;
}

static void read_uuid(struct tctx *t, struct hv_domain *dom)
{
	struct hv_cfg_value *v = get(t, "uuid", HV_CFG_STRING, NULL);

	if (!v)
		return;
	if (parse_uuid(v->u.s, dom->uuid))
		err_at(t, v, "uuid \"%s\" is not of the form "
		       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", v->u.s);
	else
		dom->has_uuid = true;
}

int hv_domain_from_cfg(struct hv_domain *dom, struct hv_cfg *cfg,
		       struct hv_diag *diag)
{
	struct tctx t = { cfg, diag };
	unsigned before = diag->nerrors;
	size_t i;
	int rc;

	rc = read_builder(&t);
	if (!rc || rc == -EINVAL)
		rc = read_strings(&t, dom);
	if (rc == -ENOMEM)
		goto nomem;
	read_uuid(&t, dom);
	read_numbers(&t, dom);
	read_cpus(&t, dom);
	if (dom->has_cpus) {
		dom->cpus_text = cpus_to_text(dom->cpus);
		if (!dom->cpus_text)
			goto nomem;
	}
	if (read_disks(&t, dom) || read_vifs(&t, dom))
		goto nomem;
	read_actions(&t, dom);
	for (i = 0; i < cfg->n; i++)
		if (!cfg->v[i].used)
			hv_diag_add(diag, HV_WARNING, cfg->v[i].line, cfg->v[i].col,
				    "unknown key '%s' ignored", cfg->v[i].key);
	hv_diag_sort(diag);
	return diag->nerrors > before ? -EINVAL : 0;
nomem:
	hv_diag_add(diag, HV_ERROR, 0, 0, "out of memory");
	return -ENOMEM;
}

int hv_domain_parse(struct hv_domain *dom, const char *text, size_t len,
		    struct hv_diag *diag)
{
	struct hv_cfg cfg;
	int rc;

	hv_cfg_init(&cfg);
	rc = hv_cfg_parse(&cfg, text, len, diag);
	if (!rc)
		rc = hv_domain_from_cfg(dom, &cfg, diag);
	hv_cfg_dispose(&cfg);
	return rc;
}

char *hv_domain_cmdline(const struct hv_domain *dom)
{
	char *s = NULL;

	if (dom->cmdline)
		return strdup(dom->cmdline);
	if (asprintf(&s, "%s%s%s%s", dom->root ? "root=" : "",
		     dom->root ? dom->root : "",
		     dom->root && dom->extra ? " " : "",
		     dom->extra ? dom->extra : "") < 0)
		return NULL;
	return s;
}

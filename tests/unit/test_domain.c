/* test_domain.c - the typed layer: the seed's domain, disks, vifs, policy. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "hv.h"

struct dom {
	struct hv_domain d;
	struct hv_diag diag;
	int rc;
};

#define HDR "name = 'x'\nkernel = '/k'\n"

static void parse(struct dom *p, const char *text)
{
	hv_domain_init(&p->d);
	hv_diag_init(&p->diag, "t.cfg");
	p->rc = hv_domain_parse(&p->d, text, strlen(text), &p->diag);
}

static void done(struct dom *p)
{
	hv_domain_dispose(&p->d);
	hv_diag_dispose(&p->diag);
}

static bool has_msg(const struct hv_diag *d, enum hv_severity sev, const char *words)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && strstr(d->v[i].msg, words))
			return true;
	return false;
}

/* The seed's xmexample1 with its comments stripped: the values that matter. */
static void test_seed(void **state)
{
	static const uint8_t mac[6] = { 0xaa, 0, 0, 0x50, 0x02, 0xf0 };
	struct dom p;
	char *cmdline;

	(void)state;
	parse(&p, "kernel = \"/netbsd-XEN2_DOMU\"\nmemory = 128\nname = \"NetBSD\"\n"
		  "cpu = -1 # leave to Xen to pick\nnics = 1\n"
		  "vif = [ 'mac=aa:00:00:50:02:f0, bridge=bridge0' ]\n"
		  "disk = [ 'phy:/dev/wd0e,wd0d,w' ]\nroot = \"/dev/wd0d\"\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.diag.n, 0);
	assert_string_equal(p.d.name, "NetBSD");
	assert_string_equal(p.d.kernel, "/netbsd-XEN2_DOMU");
	assert_int_equal(p.d.memory_mb, 128);
	assert_int_equal(p.d.maxmem_mb, 128);
	assert_int_equal(p.d.vcpus, 1);
	assert_false(p.d.has_cpus);
	assert_int_equal(p.d.ndisks, 1);
	assert_int_equal(p.d.disks[0].type, HV_DISK_PHY);
	assert_string_equal(p.d.disks[0].target, "/dev/wd0e");
	assert_string_equal(p.d.disks[0].vdev, "wd0d");
	assert_true(p.d.disks[0].writable);
	assert_int_equal(p.d.nvifs, 1);
	assert_true(p.d.vifs[0].has_mac);
	assert_memory_equal(p.d.vifs[0].mac, mac, 6);
	assert_string_equal(p.d.vifs[0].bridge, "bridge0");
	assert_string_equal(p.d.root, "/dev/wd0d");
	cmdline = hv_domain_cmdline(&p.d);
	assert_string_equal(cmdline, "root=/dev/wd0d");
	free(cmdline);
	assert_int_equal(p.d.on_crash, HV_ACT_DESTROY);
	assert_false(p.d.autorestart);
	done(&p);
}

static void test_vdev_names(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "xvda", "xvda" }, { "xvdb3", "xvdb3" }, { "hda", "hda" },
		{ "sdc1", "sdc1" }, { "d0p1", "d0p1" }, { "d12", "d12" },
		{ "wd0d", "xvda" }, { "wd1", "xvdb" }, { "sd0a", "xvda" },
		{ "ld2e", "xvdc" }, { "xbd3", "xvdd" },
	};
	static const char *const bad[] = {
		"", "floppy", "xvd", "xvd1", "wd", "wd26", "wd0z", "d", "d0p",
		"sd", "xvdaaaaa", "hda1x", "d0px",
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(hv_vdev_xen(ok[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hv_vdev_xen(bad[i], out, sizeof(out)) != -EINVAL)
			fail_msg("vdev '%s' accepted", bad[i]);
}

static void test_disk_forms(void **state)
{
	struct dom p;

	(void)state;
	parse(&p, HDR "disk = [ 'file:/var/xen/nbsd-disk,wd0d,w',\n"
		  " '/dev/sdb,raw,xvdb,ro',\n"
		  " '/srv/x.img,,xvdc,',\n"
		  " 'vdev=xvdd, access=w!, target=/srv/a,b.img',\n"
		  " 'format=raw,vdev=xvde,target=/dev/mapper/vg-lv' ]\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.d.ndisks, 5);
	assert_int_equal(p.d.disks[0].type, HV_DISK_FILE);
	assert_string_equal(p.d.disks[0].target, "/var/xen/nbsd-disk");
	assert_int_equal(p.d.disks[1].type, HV_DISK_PHY);
	assert_false(p.d.disks[1].writable);
	assert_int_equal(p.d.disks[2].type, HV_DISK_FILE);
	assert_true(p.d.disks[2].writable);	/* xl: empty access is rw */
	assert_string_equal(p.d.disks[3].target, "/srv/a,b.img");
	assert_true(p.d.disks[3].writable);
	assert_true(p.diag.n == 1 && strstr(p.diag.v[0].msg, "w! is read as w"));
	assert_int_equal(p.d.disks[4].type, HV_DISK_PHY);
	assert_true(p.d.disks[4].writable);
	assert_int_equal(p.d.disks[1].line, 4);
	done(&p);
}

static void test_vifs(void **state)
{
	struct dom p;

	(void)state;
	parse(&p, HDR "vif = [ '', 'mac=, bridge=br1', 'script=vif-route, ip=10.0.0.2' ]\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.d.nvifs, 3);
	assert_false(p.d.vifs[0].has_mac);
	assert_string_equal(p.d.vifs[0].bridge, HV_DEFAULT_BRIDGE);
	assert_string_equal(p.d.vifs[1].bridge, "br1");
	assert_string_equal(p.d.vifs[2].script, "vif-route");
	assert_string_equal(p.d.vifs[2].ip, "10.0.0.2");
	done(&p);

	/* nics pads with default interfaces; fewer than listed is an error. */
	parse(&p, HDR "nics = 3\nvif = [ 'bridge=br1' ]\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.d.nvifs, 3);
	assert_string_equal(p.d.vifs[2].bridge, HV_DEFAULT_BRIDGE);
	done(&p);
	parse(&p, HDR "nics = 0\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.d.nvifs, 0);
	done(&p);
	parse(&p, HDR "nics = 0\nvif = ['']\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
}

static void test_restart_policy(void **state)
{
	struct dom p;

	(void)state;
	parse(&p, HDR "autorestart = True\n");
	assert_int_equal(p.rc, 0);
	assert_true(p.d.autorestart);
	assert_int_equal(p.d.on_crash, HV_ACT_RESTART);
	done(&p);
	/* An explicit on_crash wins over autorestart's implied restart. */
	parse(&p, HDR "autorestart = True\non_crash = 'preserve'\n");
	assert_int_equal(p.d.on_crash, HV_ACT_PRESERVE);
	done(&p);
	parse(&p, HDR "restart = 'never'\n");
	assert_int_equal(p.d.on_reboot, HV_ACT_DESTROY);
	assert_int_equal(p.d.on_crash, HV_ACT_DESTROY);
	done(&p);
	parse(&p, HDR "restart = 'always'\non_reboot = 'destroy'\n");
	assert_int_equal(p.d.on_poweroff, HV_ACT_RESTART);
	assert_int_equal(p.d.on_reboot, HV_ACT_DESTROY);
	assert_int_equal(p.d.on_crash, HV_ACT_RESTART);
	done(&p);
	parse(&p, HDR "autorestart = 0\n");
	assert_int_equal(p.rc, 0);
	assert_false(p.d.autorestart);
	done(&p);
	parse(&p, HDR "autorestart = 2\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
}

static void test_cpus(void **state)
{
	struct dom p;

	(void)state;
	parse(&p, HDR "cpus = '0-3,^1,10-11'\n");
	assert_int_equal(p.rc, 0);
	assert_true(p.d.has_cpus);
	assert_string_equal(p.d.cpus_text, "0,2-3,10-11");
	done(&p);
	parse(&p, HDR "cpus = 'all'\n");
	assert_false(p.d.has_cpus);
	done(&p);
	parse(&p, HDR "cpus = '^1'\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
	parse(&p, HDR "cpus = '3-1'\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
	parse(&p, HDR "cpus = '1024'\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
	parse(&p, HDR "cpu = 5\n");
	assert_string_equal(p.d.cpus_text, "5");
	done(&p);
}

static void test_bounds(void **state)
{
	struct dom p;

	(void)state;
	parse(&p, HDR "memory = 16\nmaxmem = 1048576\nvcpus = 512\n");
	assert_int_equal(p.rc, 0);
	done(&p);
	parse(&p, HDR "memory = 15\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
	parse(&p, HDR "vcpus = 513\n");
	assert_int_equal(p.rc, -EINVAL);
	done(&p);
	parse(&p, HDR "vcpus = 4\nmaxvcpus = 2\n");
	assert_true(has_msg(&p.diag, HV_ERROR, "maxvcpus = 2 is less than vcpus = 4"));
	done(&p);
}

static void test_names(void **state)
{
	static const char *const ok[] = { "NetBSD", "a", "web-1.example_2", "9lives" };
	static const char *const bad[] = { "", "-x", "a b", "1234", "x/y",
		"0123456789012345678901234567890123456789012345678901234567890123" };
	char text[256];
	struct dom p;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "name = '%s'\nkernel = '/k'\n", ok[i]);
		parse(&p, text);
		assert_int_equal(p.rc, 0);
		done(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "name = '%s'\nkernel = '/k'\n", bad[i]);
		parse(&p, text);
		if (p.rc != -EINVAL)
			fail_msg("name '%s' accepted", bad[i]);
		done(&p);
	}
}

static void test_no_partial_domain(void **state)
{
	struct dom p;

	(void)state;
	/* One bad disk among good keys still fails the whole config. */
	parse(&p, HDR "memory = 64\ndisk = [ 'phy:/dev/sda,xvda,w', 'phy:/dev/sdb,xvdb' ]\n");
	assert_int_equal(p.rc, -EINVAL);
	assert_int_equal(p.diag.nerrors, 1);
	done(&p);
}

static void test_json(void **state)
{
	struct json_object *o, *v;
	struct dom p;

	(void)state;
	parse(&p, HDR "root = '/dev/xvda1'\nextra = 'quiet'\n"
		  "disk = [ 'phy:/dev/wd0e,wd0d,w' ]\nvif = [ '' ]\n");
	assert_int_equal(p.rc, 0);
	o = hv_domain_to_json(&p.d);
	assert_true(json_object_object_get_ex(o, "cmdline", &v));
	assert_string_equal(json_object_get_string(v), "root=/dev/xvda1 quiet");
	assert_true(json_object_object_get_ex(o, "disks", &v));
	v = json_object_array_get_idx(v, 0);
	assert_true(json_object_object_get_ex(v, "xen_vdev", &v));
	assert_string_equal(json_object_get_string(v), "xvda");
	assert_true(json_object_object_get_ex(o, "vifs", &v));
	v = json_object_array_get_idx(v, 0);
	assert_false(json_object_object_get_ex(v, "mac", NULL));
	json_object_put(o);
	done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_vdev_names),
		cmocka_unit_test(test_disk_forms),
		cmocka_unit_test(test_vifs),
		cmocka_unit_test(test_restart_policy),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_no_partial_domain),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

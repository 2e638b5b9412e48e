/*
 * test_libxl_map.c - the domain as libxl will see it.  libxl's own
 * init/dispose functions run here, so this needs libxenlight but no Xen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libxl_map.h"

static void map(const char *text, libxl_domain_config *dc)
{
	struct hv_domain dom;
	struct hv_diag diag;
	char err[HV_ERR_LEN];

	hv_domain_init(&dom);
	hv_diag_init(&diag, "t.cfg");
	assert_int_equal(hv_domain_parse(&dom, text, strlen(text), &diag), 0);
	libxl_domain_config_init(dc);
	assert_int_equal(hv_libxl_config(&dom, dc, err), 0);
	hv_diag_dispose(&diag);
	hv_domain_dispose(&dom);
}

static bool bit(const libxl_bitmap *b, unsigned i)
{
	return i / 8 < b->size && (b->map[i / 8] >> (i % 8) & 1);
}

static void test_seed_domain(void **state)
{
	static const uint8_t mac[6] = { 0xaa, 0, 0, 0x50, 0x02, 0xf0 };
	libxl_domain_config dc;

	(void)state;
	map("kernel = \"/netbsd-XEN2_DOMU\"\nmemory = 128\nname = \"NetBSD\"\n"
	    "cpu = -1\nnics = 1\nvif = [ 'mac=aa:00:00:50:02:f0, bridge=bridge0' ]\n"
	    "disk = [ 'phy:/dev/wd0e,wd0d,w' ]\nroot = \"/dev/wd0d\"\n", &dc);
	assert_int_equal(dc.c_info.type, LIBXL_DOMAIN_TYPE_PV);
	assert_string_equal(dc.c_info.name, "NetBSD");
	assert_false(libxl_uuid_is_nil(&dc.c_info.uuid));
	assert_int_equal(dc.b_info.max_memkb, 128 * 1024);
	assert_int_equal(dc.b_info.target_memkb, 128 * 1024);
	assert_int_equal(dc.b_info.max_vcpus, 1);
	assert_true(bit(&dc.b_info.avail_vcpus, 0));
	assert_int_equal(dc.b_info.cpumap.size, 0);	/* any CPU */
	assert_string_equal(dc.b_info.kernel, "/netbsd-XEN2_DOMU");
	assert_string_equal(dc.b_info.cmdline, "root=/dev/wd0d");
	assert_null(dc.b_info.ramdisk);
	assert_int_equal(dc.num_disks, 1);
	assert_string_equal(dc.disks[0].pdev_path, "/dev/wd0e");
	assert_string_equal(dc.disks[0].vdev, "xvda");	/* NetBSD's wd0d */
	assert_int_equal(dc.disks[0].backend, LIBXL_DISK_BACKEND_PHY);
	assert_int_equal(dc.disks[0].format, LIBXL_DISK_FORMAT_RAW);
	assert_true(dc.disks[0].readwrite);
	assert_int_equal(dc.num_nics, 1);
	assert_memory_equal(dc.nics[0].mac, mac, 6);
	assert_string_equal(dc.nics[0].bridge, "bridge0");
	assert_int_equal(dc.nics[0].nictype, LIBXL_NIC_TYPE_VIF);
	assert_int_equal(dc.on_poweroff, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	assert_int_equal(dc.on_reboot, LIBXL_ACTION_ON_SHUTDOWN_RESTART);
	assert_int_equal(dc.on_crash, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	libxl_domain_config_dispose(&dc);
}

static void test_full_domain(void **state)
{
	libxl_domain_config dc;
	const uint8_t *u;

	(void)state;
	map("name = 'web1'\nuuid = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'\n"
	    "kernel = '/k'\nramdisk = '/r'\ncmdline = 'console=hvc0'\n"
	    "memory = 256\nmaxmem = 512\nvcpus = 2\nmaxvcpus = 4\ncpus = '1,3-4'\n"
	    "disk = [ 'file:/srv/a.img,xvda,r', 'phy:/dev/sdb,hdb,w!' ]\n"
	    "vif = [ '', 'bridge=br1, script=vif-route, vifname=w1, ip=10.0.0.2' ]\n"
	    "on_crash = 'preserve'\nautorestart = True\n", &dc);
	u = libxl_uuid_bytearray(&dc.c_info.uuid);
	assert_int_equal(u[0], 0x3f);
	assert_int_equal(u[15], 0x01);
	assert_string_equal(dc.b_info.ramdisk, "/r");
	assert_string_equal(dc.b_info.cmdline, "console=hvc0");
	assert_int_equal(dc.b_info.max_memkb, 512 * 1024);
	assert_int_equal(dc.b_info.target_memkb, 256 * 1024);
	assert_int_equal(dc.b_info.max_vcpus, 4);
	assert_true(bit(&dc.b_info.avail_vcpus, 1));
	assert_false(bit(&dc.b_info.avail_vcpus, 2));
	assert_false(bit(&dc.b_info.cpumap, 0));
	assert_true(bit(&dc.b_info.cpumap, 1));
	assert_true(bit(&dc.b_info.cpumap, 4));
	assert_false(bit(&dc.b_info.cpumap, 5));
	assert_false(dc.disks[0].readwrite);
	assert_int_equal(dc.disks[0].backend, LIBXL_DISK_BACKEND_PHY);
	assert_string_equal(dc.disks[1].vdev, "hdb");
	for (int i = 0; i < 6; i++)
		assert_int_equal(dc.nics[0].mac[i], 0);	/* libxl picks one */
	assert_string_equal(dc.nics[1].script, "vif-route");
	assert_string_equal(dc.nics[1].ifname, "w1");
	assert_string_equal(dc.nics[1].ip, "10.0.0.2");
	assert_int_equal(dc.nics[1].devid, 1);
	assert_int_equal(dc.on_crash, LIBXL_ACTION_ON_SHUTDOWN_PRESERVE);
	libxl_domain_config_dispose(&dc);
}

static void test_bootloader_args(void **state)
{
	libxl_domain_config dc;

	(void)state;
	map("name = 'x'\nbootloader = 'pygrub'\nbootloader_args = '-q  --entry=1'\n", &dc);
	assert_string_equal(dc.b_info.u.pv.bootloader, "pygrub");
	assert_string_equal(dc.b_info.u.pv.bootloader_args[0], "-q");
	assert_string_equal(dc.b_info.u.pv.bootloader_args[1], "--entry=1");
	assert_null(dc.b_info.u.pv.bootloader_args[2]);
	assert_null(dc.b_info.kernel);
	libxl_domain_config_dispose(&dc);
}

/* What the node does when a guest stops: the pure half of on_shutdown. */
static void test_shutdown_actions(void **state)
{
	libxl_domain_config dc;

	(void)state;
	map("name = 'x'\nkernel = '/k'\non_poweroff = 'preserve'\n"
	    "on_reboot = 'destroy'\non_crash = 'coredump-restart'\n", &dc);
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_POWEROFF),
			 LIBXL_ACTION_ON_SHUTDOWN_PRESERVE);
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_REBOOT),
			 LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_CRASH),
			 LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART);
	/* A watchdog firing is a crash; an unknown reason too. */
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_WATCHDOG),
			 LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART);
	assert_int_equal(hv_libxl_action(&dc, (libxl_shutdown_reason)77),
			 LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART);
	/* Soft reset is HVM's: a PV domain asking for it is destroyed. */
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_SOFT_RESET),
			 LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	libxl_domain_config_dispose(&dc);

	map("name = 'x'\nkernel = '/k'\nautorestart = True\n", &dc);
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_CRASH),
			 LIBXL_ACTION_ON_SHUTDOWN_RESTART);
	assert_int_equal(hv_libxl_action(&dc, LIBXL_SHUTDOWN_REASON_POWEROFF),
			 LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
	libxl_domain_config_dispose(&dc);
}

/* The fourth crash within HV_CRASH_LOOP_S is a loop; a later one is not. */
static void test_crash_loop(void **state)
{
	struct hv_crashes v[2] = { 0 };
	unsigned n;
	int64_t t = 1000000;

	(void)state;
	for (unsigned i = 1; i <= HV_CRASH_LOOP_MAX; i++) {
		assert_true(hv_crash_restart_ok(v, 2, "web", t + i * 1000, &n));
		assert_int_equal(n, i);
	}
	assert_false(hv_crash_restart_ok(v, 2, "web", t + 10000, &n));
	assert_int_equal(n, HV_CRASH_LOOP_MAX + 1);
	/* Another domain has its own count. */
	assert_true(hv_crash_restart_ok(v, 2, "db", t + 10000, &n));
	assert_int_equal(n, 1);
	/* After the window, it starts again. */
	assert_true(hv_crash_restart_ok(v, 2, "web", t + 1000 + HV_CRASH_LOOP_S * 1000LL + 1, &n));
	assert_int_equal(n, 1);
	/* A third name takes the stalest slot. */
	assert_true(hv_crash_restart_ok(v, 2, "mail", t + 20000, &n));
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_domain),
		cmocka_unit_test(test_full_domain),
		cmocka_unit_test(test_bootloader_args),
		cmocka_unit_test(test_shutdown_actions),
		cmocka_unit_test(test_crash_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

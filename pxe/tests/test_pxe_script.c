/*
 * test_pxe_script.c - the iPXE scripts (content, the 512-byte multiboot
 * limit) and the dnsmasq configuration bootd writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "pxe.h"

static const char tok[] = "0123456789abcdef0123456789abcdef";

static void load(struct pxe_inventory *inv, const char *text)
{
	pxe_inv_init(inv);
	assert_int_equal(pxe_inv_parse(inv, "rack.inv", text, strlen(text), stderr), 0);
}

static struct pxe_boot boot(void)
{
	struct pxe_boot b = { .xen_args = PXE_DEFAULT_XEN_ARGS,
			      .dom0_args = PXE_DEFAULT_DOM0_ARGS };

	pxe_boot_urls(&b, "10.99.0.1", 8080);
	return b;
}

static void test_node_script(void **state)
{
	struct pxe_inventory inv;
	struct pxe_boot b = boot();
	char *s = NULL;

	(void)state;
	load(&inv, "node1 52:54:00:00:00:01 10.99.0.11\n");
	assert_int_equal(pxe_script_node(&b, &inv.nodes[0], tok, &s), 0);
	assert_memory_equal(s, "#!ipxe\n", 7);
	assert_non_null(strstr(s, "\nkernel http://10.99.0.1:8080/images/xen "
			       PXE_DEFAULT_XEN_ARGS " || goto failed\n"));
	assert_non_null(strstr(s, "\nmodule http://10.99.0.1:8080/images/vmlinuz "
			       "console=hvc0 xenrack.node=node1 "
			       "xenrack.bootd=http://10.99.0.1:8080 "
			       "xenrack.token=0123456789abcdef0123456789abcdef || goto failed\n"));
	assert_non_null(strstr(s, "\nmodule http://10.99.0.1:8080/images/initrd.img || goto failed\n"));
	assert_non_null(strstr(s, "\nboot || goto failed\n"));
	assert_null(strstr(s, "\"")); /* nothing iPXE would unquote */
	free(s);
	pxe_inv_dispose(&inv);
}

static void test_mb_len(void **state)
{
	struct pxe_inventory inv;
	struct pxe_boot b = boot();
	size_t url = strlen(b.url), want;

	(void)state;
	load(&inv, "node1 52:54:00:00:00:01 10.99.0.11\n");
	want = url + strlen("/images/xen") + 1 + strlen(PXE_DEFAULT_XEN_ARGS) + 1 +
	       url + strlen("/images/vmlinuz") + 1 +
	       strlen("console=hvc0 xenrack.node=node1 xenrack.bootd=") + url +
	       strlen(" xenrack.token=") + PXE_TOKEN_LEN + 1 +
	       url + strlen("/images/initrd.img") + 1;
	assert_int_equal(pxe_script_mb_len(&b, &inv.nodes[0]), want);
	assert_true(want <= PXE_MB_CMDLINE_MAX);
	pxe_inv_dispose(&inv);
}

static void test_too_long(void **state)
{
	static char args[PXE_ARGS_MAX + 1];
	struct pxe_inventory inv;
	struct pxe_boot b = boot();
	char *msgs = NULL, *s = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(args, 'x', 250);
	b.dom0_args = args;
	load(&inv, "node1 52:54:00:00:00:01 10.99.0.11\n"
		   "a-much-longer-node-name 52:54:00:00:00:02 10.99.0.12\n");
	assert_int_equal(pxe_script_node(&b, &inv.nodes[1], tok, &s), -E2BIG);
	assert_null(s);
	f = open_memstream(&msgs, &len);
	assert_int_equal(pxe_script_check(&b, &inv, f), -E2BIG);
	fclose(f);
	assert_non_null(strstr(msgs, "rack.inv:2: node a-much-longer-node-name: the "
			       "multiboot command lines need "));
	assert_non_null(strstr(msgs, "iPXE holds 512"));
	free(msgs);
	pxe_inv_dispose(&inv);
}

static void test_unknown_and_chain(void **state)
{
	struct pxe_boot b = boot();
	const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };
	char *s = NULL;

	(void)state;
	assert_int_equal(pxe_script_unknown(&b, mac, &s), 0);
	assert_non_null(strstr(s, "echo xenrack: this machine (MAC 52:54:00:00:00:99) "
			       "is not in the inventory\n"));
	assert_non_null(strstr(s, "http://10.99.0.1:8080"));
	assert_null(strstr(s, "kernel"));
	assert_null(strstr(s, "\nboot"));
	free(s);
	assert_int_equal(pxe_script_chain(&b, &s), 0);
	assert_string_equal(s, "#!ipxe\nchain http://10.99.0.1:8080/boot/"
			    "${netX/mac:hexhyp}.ipxe\n");
	free(s);
}

static char *conf(const struct pxe_dhcp *d, const struct pxe_inventory *inv)
{
	struct pxe_boot b = boot();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_int_equal(pxe_dhcp_write_conf(f, d, inv, &b), 0);
	fclose(f);
	return out;
}

static void test_dnsmasq(void **state)
{
	struct pxe_inventory inv;
	struct pxe_dhcp d = { .iface = "br0", .tftp_root = "/usr/lib/ipxe",
			      .state_dir = "/var/lib/xenrack/bootd" };
	char *c;

	(void)state;
	inet_pton(AF_INET, "10.99.0.0", &d.net);
	inet_pton(AF_INET, "255.255.255.0", &d.mask);
	load(&inv, "node1 52:54:00:00:00:01 10.99.0.11\nnode2 52:54:00:00:00:02 10.99.0.12\n");
	c = conf(&d, &inv);
	assert_non_null(strstr(c, "\nport=0\n"));
	assert_non_null(strstr(c, "\ninterface=br0\n"));
	assert_non_null(strstr(c, "\ndhcp-range=10.99.0.0,static,255.255.255.0,12h\n"));
	assert_non_null(strstr(c, "\ndhcp-host=52:54:00:00:00:01,10.99.0.11,node1\n"));
	assert_non_null(strstr(c, "\ndhcp-host=52:54:00:00:00:02,10.99.0.12,node2\n"));
	assert_non_null(strstr(c, "\ntftp-root=/usr/lib/ipxe\n"));
	assert_non_null(strstr(c, "\ndhcp-boot=tag:!ipxe,tag:!efi,undionly.kpxe\n"));
	assert_non_null(strstr(c, "\ndhcp-boot=tag:ipxe,http://10.99.0.1:8080/boot.ipxe\n"));
	assert_null(strstr(c, "proxy"));
	free(c);

	d.range = "10.99.0.200,10.99.0.250";
	c = conf(&d, &inv);
	assert_non_null(strstr(c, "\ndhcp-range=10.99.0.200,10.99.0.250,255.255.255.0,1h\n"));
	free(c);

	d.range = NULL;
	d.proxy = true;
	c = conf(&d, &inv);
	assert_non_null(strstr(c, "\ndhcp-range=10.99.0.0,proxy,255.255.255.0\n"));
	assert_non_null(strstr(c, "\npxe-service=tag:!ipxe,x86PC,\"xenrack via iPXE\",undionly.kpxe\n"));
	assert_null(strstr(c, "dhcp-host="));
	assert_null(strstr(c, "dhcp-authoritative"));
	free(c);
	pxe_inv_dispose(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_script),
		cmocka_unit_test(test_mb_len),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_unknown_and_chain),
		cmocka_unit_test(test_dnsmasq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pxe_inventory.c - the inventory parser: good files, and one bad line
 * at a time with the exact message it must give.
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

/* Parse @text; return the messages (caller frees) and the result in @rc. */
static char *parse(struct pxe_inventory *inv, const char *text, int *rc)
{
	char *msgs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msgs, &len);

	assert_non_null(f);
	pxe_inv_init(inv);
	*rc = pxe_inv_parse(inv, "rack.inv", text, strlen(text), f);
	fclose(f);
	return msgs;
}

static void test_good(void **state)
{
	static const char text[] =
		"# the rack\r\n"
		"cluster rack1\n"
		"xen-args  console=com1 dom0_mem=512M,max:512M \n"
		"\n"
		"   \t\n"
		"node1 52:54:00:00:00:01 10.99.0.11\n"
		"node2\t52-54-00-AB-CD-02\t10.99.0.12   # slot 2\n"
		"n-3 52:54:00:00:00:03 192.168.1.3";
	struct pxe_inventory inv;
	char mac[18], *msgs;
	int rc;

	(void)state;
	msgs = parse(&inv, text, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(msgs, "");
	assert_string_equal(inv.cluster, "rack1");
	assert_string_equal(inv.xen_args, "console=com1 dom0_mem=512M,max:512M");
	assert_null(inv.dom0_args);
	assert_int_equal(inv.n, 3);
	assert_string_equal(inv.nodes[1].name, "node2");
	assert_int_equal(inv.nodes[1].line, 7);
	pxe_mac_format(inv.nodes[1].mac, mac);
	assert_string_equal(mac, "52:54:00:ab:cd:02");
	assert_string_equal(inet_ntoa(inv.nodes[2].addr), "192.168.1.3");
	assert_ptr_equal(pxe_inv_by_mac(&inv, inv.nodes[2].mac), &inv.nodes[2]);
	assert_ptr_equal(pxe_inv_by_name(&inv, "node1"), &inv.nodes[0]);
	assert_null(pxe_inv_by_name(&inv, "node9"));
	free(msgs);
	pxe_inv_dispose(&inv);
}

static void test_many(void **state)
{
	struct pxe_inventory inv;
	char *text = NULL, *msgs;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i, rc;

	(void)state;
	for (i = 0; i < 1000; i++)
		fprintf(f, "n%d 52:54:00:00:%02x:%02x 10.1.%d.%d\n", i, i >> 8, i & 255,
			i / 200, i % 200 + 1);
	fclose(f);
	msgs = parse(&inv, text, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(inv.n, 1000);
	assert_string_equal(inv.nodes[999].name, "n999");
	free(msgs);
	free(text);
	pxe_inv_dispose(&inv);
}

struct bad_case {
	const char *text;
	const char *msg;
};

static void test_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "node1 52:54:zz:00:00:01 10.0.0.1\n",
		  "rack.inv:1:7: bad MAC address '52:54:zz:00:00:01' (expected six hex "
		  "octets like 52:54:00:00:00:01)\n" },
		{ "# x\nnode1 52:54:00:00:00:1 10.0.0.1\n",
		  "rack.inv:2:7: bad MAC address '52:54:00:00:00:1' (expected six hex "
		  "octets like 52:54:00:00:00:01)\n" },
		{ "node1 52:54:00-00:00:01 10.0.0.1\n",
		  "rack.inv:1:7: bad MAC address '52:54:00-00:00:01' (expected six hex "
		  "octets like 52:54:00:00:00:01)\n" },
		{ "node1 01:00:5e:00:00:01 10.0.0.1\n",
		  "rack.inv:1:7: MAC address 01:00:5e:00:00:01 is a multicast address, "
		  "not a NIC's\n" },
		{ "Node1 52:54:00:00:00:01 10.0.0.1\n",
		  "rack.inv:1:1: bad node name 'Node1': uppercase letter (names are "
		  "lowercase)\n" },
		{ "  no_de 52:54:00:00:00:01 10.0.0.1\n",
		  "rack.inv:1:5: bad node name 'no_de': only a-z, 0-9 and '-' are allowed\n" },
		{ "node- 52:54:00:00:00:01 10.0.0.1\n",
		  "rack.inv:1:5: bad node name 'node-': ends with '-'\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.256\n",
		  "rack.inv:1:25: bad IPv4 address '10.0.0.256'\n" },
		{ "node1 52:54:00:00:00:01 127.0.0.2\n",
		  "rack.inv:1:25: address 127.0.0.2 is loopback, not a node's\n" },
		{ "node1 52:54:00:00:00:01\n",
		  "rack.inv:1:24: node node1: IPv4 address missing (expected NAME MAC "
		  "ADDRESS)\n" },
		{ "node1\n",
		  "rack.inv:1:6: node node1: MAC address missing (expected NAME MAC "
		  "ADDRESS)\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.1 rack2\n",
		  "rack.inv:1:34: unexpected 'rack2' after the address\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.1\nnode1 52:54:00:00:00:02 10.0.0.2\n",
		  "rack.inv:2:1: node node1 already defined on line 1\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.1\nnode2 52:54:00:00:00:01 10.0.0.2\n",
		  "rack.inv:2:7: MAC address 52:54:00:00:00:01 already belongs to node1 "
		  "(line 1)\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.1\nnode2 52:54:00:00:00:02 10.0.0.1\n",
		  "rack.inv:2:25: address 10.0.0.1 already belongs to node1 (line 1)\n" },
		{ "cluster\n", "rack.inv:1:8: 'cluster' needs a name\n" },
		{ "cluster a b\n", "rack.inv:1:11: unexpected 'b' after the cluster name\n" },
		{ "cluster a\ncluster b\n",
		  "rack.inv:2:1: cluster name set twice (first on line 1)\n" },
		{ "xen-args dom0_mem=${x}\n",
		  "rack.inv:1:19: xen-args: character '$' not allowed (allowed: letters, "
		  "digits, space and , . : = _ / + @ % -)\n" },
		{ "dom0-args\n", "rack.inv:1:10: 'dom0-args' needs a command line\n" },
		{ "node1 52:54:00:00:00:01 10.0.0.1\x01\n",
		  "rack.inv:1:33: control character 0x01\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pxe_inventory inv;
		char *msgs;
		int rc;

		msgs = parse(&inv, cases[i].text, &rc);
		if (strcmp(msgs, cases[i].msg))
			fail_msg("case %zu: got\n%sexpected\n%s", i, msgs, cases[i].msg);
		assert_int_equal(rc, -EINVAL);
		free(msgs);
		pxe_inv_dispose(&inv);
	}
}

static void test_all_errors_reported(void **state)
{
	struct pxe_inventory inv;
	char *msgs;
	int rc, lines = 0;
	const char *p;

	(void)state;
	msgs = parse(&inv, "a 1 10.0.0.1\nb 52:54:00:00:00:02 x\nc 52:54:00:00:00:03 10.0.0.3\n",
		     &rc);
	assert_int_equal(rc, -EINVAL);
	for (p = msgs; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2);
	free(msgs);
	pxe_inv_dispose(&inv);
}

static void test_mac_and_args(void **state)
{
	uint8_t mac[6];
	char buf[18];

	(void)state;
	assert_int_equal(pxe_mac_parse("52-54-00-00-00-0A", mac), 0);
	pxe_mac_format(mac, buf);
	assert_string_equal(buf, "52:54:00:00:00:0a");
	assert_int_equal(pxe_mac_parse("52:54:00:00:00:0a:", mac), -EINVAL);
	assert_int_equal(pxe_mac_parse("525400000001", mac), -EINVAL);
	assert_int_equal(pxe_mac_parse("", mac), -EINVAL);
	assert_int_equal(pxe_args_check("console=com1 com1=115200,8n1"), -1);
	assert_int_equal(pxe_args_check("a \"b\""), 2);
	assert_int_equal(pxe_args_check("a\\b"), 1);
	assert_null(pxe_name_check("node-1", NULL));
	assert_non_null(pxe_name_check("", NULL));
	assert_non_null(pxe_name_check("-a", NULL));
	assert_non_null(pxe_name_check(
		"a234567890123456789012345678901234567890123456789012345678901234", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_mac_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pxe_enrol.c - the enrolment exchange without HTTP: the CA in a
 * temporary state directory, pxe_enrol() on good and bad requests, the
 * node-side checks, and the kernel command-line reader.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pxe.h"

struct fixture {
	char dir[64];
	struct pxe_inventory inv;
	struct pxe_server s;
	struct in_addr node1_addr;
};

static int setup(void **state)
{
	static const char text[] = "cluster rack1\n"
				   "node1 52:54:00:00:00:01 10.99.0.11\n"
				   "node2 52:54:00:00:00:02 10.99.0.12\n";
	struct fixture *f = calloc(1, sizeof(*f));
	char err[PXE_ERR_LEN];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_pxe_enrol.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	pxe_inv_init(&f->inv);
	assert_int_equal(pxe_inv_parse(&f->inv, "rack.inv", text, strlen(text), stderr), 0);
	f->s.inv = &f->inv;
	f->s.cluster = "rack1";
	f->s.state_dir = f->dir;
	f->s.cert_days = 3650;
	f->s.images_fd = -1;
	pxe_boot_urls(&f->s.boot, "10.99.0.1", 8080);
	f->s.boot.xen_args = PXE_DEFAULT_XEN_ARGS;
	f->s.boot.dom0_args = PXE_DEFAULT_DOM0_ARGS;
	pxe_ca_init(&f->s.ca);
	if (pxe_ca_open(&f->s.ca, f->dir, "rack1", err))
		fail_msg("pxe_ca_open: %s", err);
	assert_int_equal(pxe_tok_init(&f->s.tokens, f->inv.n, 600), 0);
	f->node1_addr = f->inv.nodes[0].addr;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	pxe_tok_dispose(&f->s.tokens);
	pxe_ca_dispose(&f->s.ca);
	pxe_inv_dispose(&f->inv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static char *request(const char *node, const char *token, const char *csr)
{
	struct json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "node", json_object_new_string(node));
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "csr", json_object_new_string(csr));
	s = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return s;
}

/* Run pxe_enrol; return the parsed reply. */
static struct json_object *enrol(struct fixture *f, const char *body,
				 const struct in_addr *peer, unsigned want)
{
	struct json_object *o;
	unsigned status = 0;
	char *reply = NULL;

	assert_int_equal(pxe_enrol(&f->s, body, strlen(body), peer, 1000, &status,
				   &reply), 0);
	if (status != want)
		fail_msg("status %u, expected %u: %s", status, want, reply);
	o = json_tokener_parse(reply);
	assert_non_null(o);
	free(reply);
	return o;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void test_ca_files(void **state)
{
	struct fixture *f = *state;
	struct pxe_ca again;
	char path[128], err[PXE_ERR_LEN];
	struct stat st;

	snprintf(path, sizeof(path), "%s/ca.key", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the second start loads the same CA */
	pxe_ca_init(&again);
	assert_int_equal(pxe_ca_open(&again, f->dir, "rack1", err), 0);
	assert_string_equal(again.cert_pem, f->s.ca.cert_pem);
	pxe_ca_dispose(&again);
	/* a CA key others can read is refused */
	chmod(path, 0644);
	pxe_ca_init(&again);
	assert_int_equal(pxe_ca_open(&again, f->dir, "rack1", err), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	pxe_ca_dispose(&again);
	chmod(path, 0600);
	/* half a CA is never replaced */
	snprintf(path, sizeof(path), "%s/ca.crt", f->dir);
	unlink(path);
	pxe_ca_init(&again);
	assert_int_equal(pxe_ca_open(&again, f->dir, "rack1", err), -ENOENT);
	assert_non_null(strstr(err, "ca.key exists but"));
	pxe_ca_dispose(&again);
}

static void test_enrol(void **state)
{
	struct fixture *f = *state;
	struct json_object *rep, *again, *data, *nodes;
	char tok[PXE_TOKEN_LEN + 1], err[PXE_ERR_LEN];
	EVP_PKEY *key = NULL, *other = NULL;
	char *csr = NULL, *csr2 = NULL, *body, *script = NULL;
	unsigned status;

	f->s.any_source = false;
	assert_int_equal(pxe_node_keygen(&key), 0);
	assert_int_equal(pxe_node_keygen(&other), 0);
	assert_int_equal(pxe_node_csr(key, "node1", &csr), 0);
	assert_int_equal(pxe_node_csr(other, "node1", &csr2), 0);

	/* no token yet */
	body = request("node1", "0123456789abcdef0123456789abcdef", csr);
	rep = enrol(f, body, &f->node1_addr, 403);
	assert_non_null(strstr(str(rep, "error"), "no enrolment token"));
	json_object_put(rep);
	free(body);

	/* the script fetch issues the token that goes on the Dom0 line */
	assert_int_equal(pxe_issue_script(&f->s, "52-54-00-00-00-01", &f->node1_addr,
					  1000, &status, &script), 0);
	assert_int_equal(status, 200);
	assert_int_equal(pxe_cmdline_get(strstr(script, "\nmodule "), "xenrack.token",
					 tok, sizeof(tok)), 0);
	free(script);

	/* from another address: refused */
	body = request("node1", tok, csr);
	rep = enrol(f, body, &f->inv.nodes[1].addr, 403);
	assert_non_null(strstr(str(rep, "error"), "must come from 10.99.0.11"));
	json_object_put(rep);

	/* good */
	rep = enrol(f, body, &f->node1_addr, 200);
	assert_int_equal(pxe_node_verify(key, "node1", str(rep, "certificate"),
					 str(rep, "ca"), err), 0);
	assert_string_equal(str(rep, "ca"), f->s.ca.cert_pem);
	assert_true(json_object_object_get_ex(rep, "enrolment", &data));
	assert_string_equal(str(data, "node"), "node1");
	assert_string_equal(str(data, "address"), "10.99.0.11");
	assert_string_equal(str(data, "cluster"), "rack1");
	assert_true(json_object_object_get_ex(data, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), 2);
	/* the certificate is not for another key or name */
	assert_int_equal(pxe_node_verify(other, "node1", str(rep, "certificate"),
					 str(rep, "ca"), err), -EBADMSG);
	assert_int_equal(pxe_node_verify(key, "node2", str(rep, "certificate"),
					 str(rep, "ca"), err), -EBADMSG);

	/* the same request again: the same certificate */
	again = enrol(f, body, &f->node1_addr, 200);
	assert_string_equal(str(again, "certificate"), str(rep, "certificate"));
	json_object_put(again);
	json_object_put(rep);
	free(body);

	/* the used token for another key: refused */
	body = request("node1", tok, csr2);
	rep = enrol(f, body, &f->node1_addr, 403);
	assert_non_null(strstr(str(rep, "error"), "already used"));
	json_object_put(rep);
	free(body);

	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	free(csr);
	free(csr2);
}

static void test_bad_requests(void **state)
{
	static const struct {
		const char *body;
		unsigned status;
		const char *msg;
	} cases[] = {
		{ "", 400, "not one JSON object" },
		{ "[1]", 400, "not one JSON object" },
		{ "{\"node\":\"node1\"} x", 400, "not one JSON object" },
		{ "{\"node\":\"node1\",\"token\":\"t\"}", 400, "field 'csr' missing" },
		{ "{\"node\":1,\"token\":\"t\",\"csr\":\"c\"}", 400, "field 'node' is not a string" },
		{ "{\"node\":\"node1\",\"token\":\"t\",\"csr\":\"c\",\"key\":\"k\"}", 400,
		  "unknown field 'key'" },
		{ "{\"node\":\"node9\",\"token\":\"t\",\"csr\":\"c\"}", 403,
		  "no node 'node9' in the inventory" },
		{ "{\"node\":\"node1\",\"token\":\"t\",\"csr\":\"c\"}", 400,
		  "field 'csr': not a PEM certificate request" },
	};
	struct fixture *f = *state;
	size_t i;

	f->s.any_source = true;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *rep = enrol(f, cases[i].body, &f->node1_addr,
						cases[i].status);

		if (!strstr(str(rep, "error"), cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, str(rep, "error"), cases[i].msg);
		json_object_put(rep);
	}
}

static void test_script_for_unknown(void **state)
{
	struct fixture *f = *state;
	unsigned status;
	char *out = NULL;

	assert_int_equal(pxe_issue_script(&f->s, "52:54:00:00:00:99", &f->node1_addr,
					  1000, &status, &out), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(out, "not in the inventory"));
	free(out);
	assert_int_equal(pxe_issue_script(&f->s, "../../etc", &f->node1_addr, 1000,
					  &status, &out), 0);
	assert_int_equal(status, 400);
	free(out);
}

static void test_cmdline(void **state)
{
	static const char cl[] = "BOOT_IMAGE=/vmlinuz console=hvc0 xenrack.node=node1 "
				 "xenrack.nodex=no \"xenrack.bootd=http://10.0.0.1:80\" "
				 "xenrack.node=node2\n";
	char buf[64];

	(void)state;
	assert_int_equal(pxe_cmdline_get(cl, "xenrack.node", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "node2");	/* the last one wins */
	assert_int_equal(pxe_cmdline_get(cl, "xenrack.bootd", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://10.0.0.1:80");
	assert_int_equal(pxe_cmdline_get(cl, "xenrack.token", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(pxe_cmdline_get(cl, "xenrack.bootd", buf, 8), -ENAMETOOLONG);
	assert_int_equal(pxe_cmdline_get("", "a", buf, sizeof(buf)), -ENOENT);
}

static char *conf_of(const char *json, char *err)
{
	struct json_object *o = json_tokener_parse(json);
	char *text = NULL;
	int rc;

	assert_non_null(o);
	rc = pxe_corosync_conf(o, &text, err);
	json_object_put(o);
	assert_true(rc == 0 || text == NULL);
	return text;
}

/* corosync.conf: every node, nodeid by position, qdevice for an even count */
static void test_corosync_conf(void **state)
{
	char err[PXE_ERR_LEN] = "", *t;

	(void)state;
	t = conf_of("{\"cluster\":\"xenrack\",\"qnetd\":\"10.99.0.1\",\"nodes\":["
		    "{\"name\":\"node1\",\"address\":\"10.99.0.11\"},"
		    "{\"name\":\"node2\",\"address\":\"10.99.0.12\"}]}", err);
	assert_non_null(t);
	assert_non_null(strstr(t, "cluster_name: xenrack\n"));
	assert_non_null(strstr(t, "\t\tname: node1\n\t\tnodeid: 1\n\t\tring0_addr: 10.99.0.11\n"));
	assert_non_null(strstr(t, "\t\tname: node2\n\t\tnodeid: 2\n\t\tring0_addr: 10.99.0.12\n"));
	assert_non_null(strstr(t, "host: 10.99.0.1\n"));
	assert_non_null(strstr(t, "algorithm: ffsplit\n"));
	free(t);
	/* Three nodes break their own ties: no qdevice. */
	t = conf_of("{\"cluster\":\"c\",\"qnetd\":\"10.99.0.1\",\"nodes\":["
		    "{\"name\":\"a\",\"address\":\"10.0.0.1\"},{\"name\":\"b\",\"address\":\"10.0.0.2\"},"
		    "{\"name\":\"c\",\"address\":\"10.0.0.3\"}]}", err);
	assert_non_null(t);
	assert_null(strstr(t, "device"));
	assert_non_null(strstr(t, "nodeid: 3\n"));
	free(t);
	/* Nothing can add a line: each bad field is named. */
	assert_null(conf_of("{\"cluster\":\"c\",\"nodes\":[{\"name\":\"a\",\"address\":\"10.0.0.1\\n}\"}]}", err));
	assert_string_equal(err, "enrolment data, node 1: field 'address': not an address");
	assert_null(conf_of("{\"cluster\":\"c\",\"nodes\":[{\"name\":\"a b\",\"address\":\"10.0.0.1\"}]}", err));
	assert_non_null(strstr(err, "enrolment data, node 1: field 'name'"));
	assert_null(conf_of("{\"cluster\":\"c\",\"qnetd\":\"x;y\",\"nodes\":[{\"name\":\"a\",\"address\":\"10.0.0.1\"}]}", err));
	assert_string_equal(err, "enrolment data: field 'qnetd': not an address");
	assert_null(conf_of("{\"cluster\":\"c\",\"nodes\":[]}", err));
	assert_string_equal(err, "enrolment data: field 'nodes': expected a non-empty list");
	assert_null(conf_of("{\"cluster\":\"c\",\"token\":\"5000\",\"nodes\":[{\"name\":\"a\",\"address\":\"10.0.0.1\"}]}", err));
	assert_string_equal(err, "enrolment data: field 'token': expected milliseconds, 500 to 60000");
	t = conf_of("{\"cluster\":\"c\",\"token\":5000,\"nodes\":[{\"name\":\"a\",\"address\":\"10.0.0.1\"}]}", err);
	assert_non_null(t);
	assert_non_null(strstr(t, "token: 5000\n\tconsensus: 6000\n"));
	free(t);
	assert_null(conf_of("{\"nodes\":[]}", err));
	assert_non_null(strstr(err, "'cluster'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ca_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enrol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_for_unknown, setup, teardown),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_corosync_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_control.c - clusterd's request handlers over a socketpair, with the
 * simulated hypervisor: every answer, and that refused requests leave
 * nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "clu.h"
#include "ctl.h"
#include "image.h"
#include "storage.h"

static struct clu_daemon d;
static int sp[2];
static char dir[32];
static char kernel[64], cfgtext[1024], sdir[64], rdir[64], idir[64];

static int setup(void **state)
{
	char err[HV_ERR_LEN];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xr-control-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	f = fopen(kernel, "w");
	if (!f)
		return -1;
	fclose(f);
	snprintf(cfgtext, sizeof(cfgtext),
		 "name = \"NetBSD\"\nkernel = \"%s\"\nmemory = 128\n"
		 "vif = [ 'mac=aa:00:00:50:02:f0, bridge=bridge0' ]\n", kernel);
	/* Disk records go to the test's directory; no node.json: one node. */
	snprintf(sdir, sizeof(sdir), "%s/storage", dir);
	snprintf(rdir, sizeof(rdir), "%s/run", dir);
	snprintf(idir, sizeof(idir), "%s/images", dir);
	st_dir = sdir;
	st_run = rdir;
	img_dir = idir;
	d.state_dir = dir;
	d.hv = &hv_sim_ops;
	snprintf(d.node, sizeof(d.node), "node1");
	if (d.hv->open(&d.be, err))
		return -1;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
}

static int teardown(void **state)
{
	(void)state;
	d.hv->close(d.be);
	close(sp[0]);
	close(sp[1]);
	unlink(kernel);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			return -1;
	}
	return 0;
}

/* Send @body (consumed) as @type, let clusterd serve it, return the reply. */
static struct json_object *ask(uint16_t type, struct json_object *body,
			       int *serve_rc, int *fd)
{
	struct json_object *reply = NULL;
	char err[CTL_ERR_LEN];
	uint16_t rtype;

	assert_int_equal(ctl_send(sp[0], type, body, -1), 0);
	json_object_put(body);
	*serve_rc = clu_control_serve(&d, sp[1]);
	assert_int_equal(ctl_recv(sp[0], &rtype, &reply, fd, err), 0);
	assert_int_equal(rtype, CTL_REPLY);
	return reply;
}

static bool ok(struct json_object *reply)
{
	struct json_object *v;

	return json_object_object_get_ex(reply, "ok", &v) && json_object_get_boolean(v);
}

static const char *field(struct json_object *reply, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(reply, key, &v) ? json_object_get_string(v) : "";
}

static struct json_object *named(const char *name)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

static struct json_object *create_body(const char *text)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "file", json_object_new_string("NetBSD.cfg"));
	json_object_object_add(o, "config", json_object_new_string(text));
	return o;
}

/* The state flags of @name in a list, or NULL when it isn't listed. */
static char *state_of(const char *name)
{
	static char state[8];
	struct json_object *reply, *doms;
	char *found = NULL;
	int rc;

	reply = ask(CTL_LIST, json_object_new_object(), &rc, NULL);
	assert_true(ok(reply));
	assert_true(json_object_object_get_ex(reply, "domains", &doms));
	for (size_t i = 0; i < json_object_array_length(doms); i++) {
		struct json_object *dom = json_object_array_get_idx(doms, i);

		if (!strcmp(field(dom, "name"), name)) {
			snprintf(state, sizeof(state), "%s", field(dom, "state"));
			assert_string_equal(field(dom, "node"), "node1");
			found = state;
		}
	}
	json_object_put(reply);
	return found;
}

static void test_list_has_dom0(void **state)
{
	(void)state;
	assert_non_null(state_of("Domain-0"));
	assert_null(state_of("NetBSD"));
}

static void test_lifecycle(void **state)
{
	struct json_object *r;
	int rc;

	(void)state;
	r = ask(CTL_CREATE, create_body(cfgtext), &rc, NULL);
	assert_int_equal(rc, 0);
	assert_true(ok(r));
	assert_string_equal(field(r, "name"), "NetBSD");
	json_object_put(r);
	assert_string_equal(state_of("NetBSD"), "-b----");

	r = ask(CTL_CREATE, create_body(cfgtext), &rc, NULL);
	assert_false(ok(r));
	assert_string_equal(field(r, "errno"), "EEXIST");
	json_object_put(r);

	r = ask(CTL_PAUSE, named("NetBSD"), &rc, NULL);
	assert_true(ok(r));
	json_object_put(r);
	assert_string_equal(state_of("NetBSD"), "--p---");
	r = ask(CTL_PAUSE, named("NetBSD"), &rc, NULL);
	assert_false(ok(r));
	assert_non_null(strstr(field(r, "error"), "already paused"));
	json_object_put(r);
	r = ask(CTL_UNPAUSE, named("NetBSD"), &rc, NULL);
	assert_true(ok(r));
	json_object_put(r);
	r = ask(CTL_UNPAUSE, named("NetBSD"), &rc, NULL);
	assert_false(ok(r));
	assert_non_null(strstr(field(r, "error"), "not paused"));
	json_object_put(r);

	r = ask(CTL_SHUTDOWN, named("NetBSD"), &rc, NULL);
	assert_true(ok(r));
	json_object_put(r);
	assert_null(state_of("NetBSD"));
	r = ask(CTL_DESTROY, named("NetBSD"), &rc, NULL);
	assert_false(ok(r));
	assert_string_equal(field(r, "errno"), "ENOENT");
	assert_non_null(strstr(field(r, "error"), "no domain named 'NetBSD' on node1"));
	json_object_put(r);
}

static void test_console(void **state)
{
	struct json_object *r;
	char buf[128] = "";
	int rc, fd = -1;
	ssize_t n;

	(void)state;
	r = ask(CTL_CREATE, create_body(cfgtext), &rc, NULL);
	json_object_put(r);
	r = ask(CTL_CONSOLE, named("NetBSD"), &rc, &fd);
	assert_true(ok(r));
	json_object_put(r);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "domain NetBSD (id 1) booting"));
	close(fd);
	r = ask(CTL_CONSOLE, named("Domain-0"), &rc, &fd);
	assert_false(ok(r));
	assert_int_equal(fd, -1);
	json_object_put(r);
}

static void test_bad_config_creates_nothing(void **state)
{
	struct json_object *r, *diag;
	int rc;

	(void)state;
	r = ask(CTL_CREATE, create_body("name = \"NetBSD\"\nkernel = \"/k\"\n"
					"disk = [ 'phy:/dev/wd0e,wd0d' ]\n"), &rc, NULL);
	assert_false(ok(r));
	assert_non_null(strstr(field(r, "error"), "NetBSD.cfg: 1 error"));
	assert_true(json_object_object_get_ex(r, "diagnostics", &diag));
	assert_int_equal(json_object_array_length(diag), 1);
	assert_non_null(strstr(field(json_object_array_get_idx(diag, 0), "message"),
			       "mode missing"));
	json_object_put(r);
	assert_null(state_of("NetBSD"));
}

static void test_missing_files_create_nothing(void **state)
{
	char text[2048];
	struct json_object *r;
	int rc;

	(void)state;
	r = ask(CTL_CREATE, create_body("name = 'NetBSD'\nkernel = '/nonexistent/vmlinuz'\n"),
		&rc, NULL);
	assert_false(ok(r));
	assert_string_equal(field(r, "error"),
			    "kernel /nonexistent/vmlinuz: No such file or directory");
	json_object_put(r);
	snprintf(text, sizeof(text), "%sdisk = [ 'phy:/dev/null,xvda,w' ]\n", cfgtext);
	r = ask(CTL_CREATE, create_body(text), &rc, NULL);
	assert_false(ok(r));
	assert_string_equal(field(r, "error"), "disk phy:/dev/null: not a block device");
	json_object_put(r);
	snprintf(text, sizeof(text), "%sdisk = [ 'file:%s/none.img,xvda,w' ]\n", cfgtext, dir);
	r = ask(CTL_CREATE, create_body(text), &rc, NULL);
	assert_false(ok(r));
	assert_non_null(strstr(field(r, "error"), "none.img: No such file"));
	json_object_put(r);
	assert_null(state_of("NetBSD"));
}

static void test_refusals(void **state)
{
	struct json_object *r, *o;
	int rc;

	(void)state;
	r = ask(CTL_DESTROY, named("Domain-0"), &rc, NULL);
	assert_false(ok(r));
	assert_string_equal(field(r, "errno"), "EPERM");
	json_object_put(r);
	r = ask(CTL_DESTROY, named("0"), &rc, NULL);
	assert_string_equal(field(r, "errno"), "EPERM");
	json_object_put(r);
	/* Fields are checked: missing, wrong type, too long. */
	r = ask(CTL_PAUSE, json_object_new_object(), &rc, NULL);
	assert_string_equal(field(r, "error"), "field 'name' missing");
	json_object_put(r);
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_int(3));
	r = ask(CTL_PAUSE, o, &rc, NULL);
	assert_string_equal(field(r, "error"), "field 'name' is not a string");
	json_object_put(r);
	r = ask(CTL_PAUSE, named("0123456789012345678901234567890123456789"
				 "012345678901234567890123456789"), &rc, NULL);
	assert_non_null(strstr(field(r, "error"), "bytes, expected 1 to 63 without NUL"));
	json_object_put(r);
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string("x.cfg"));
	r = ask(CTL_CREATE, o, &rc, NULL);
	assert_string_equal(field(r, "error"), "field 'config' missing");
	json_object_put(r);
}

static void test_reply_as_request_hangs_up(void **state)
{
	struct json_object *r;
	int rc;

	(void)state;
	r = ask(CTL_REPLY, json_object_new_object(), &rc, NULL);
	assert_int_equal(rc, -EPROTO);
	assert_false(ok(r));
	assert_string_equal(field(r, "errno"), "EPROTO");
	json_object_put(r);
}

static void test_garbage_hangs_up(void **state)
{
	struct json_object *r = NULL;
	char err[CTL_ERR_LEN];
	uint16_t type;

	(void)state;
	assert_int_equal(write(sp[0], "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_int_equal(clu_control_serve(&d, sp[1]), -EPROTO);
	assert_int_equal(ctl_recv(sp[0], &type, &r, NULL, err), 0);
	assert_non_null(strstr(field(r, "error"), "bad magic"));
	json_object_put(r);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_list_has_dom0), T(test_lifecycle), T(test_console),
		T(test_bad_config_creates_nothing), T(test_missing_files_create_nothing),
		T(test_refusals), T(test_reply_as_request_hangs_up),
		T(test_garbage_hangs_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

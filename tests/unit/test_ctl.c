/* test_ctl.c - control protocol framing: round trips and bad messages. */
#include <arpa/inet.h>
#include <errno.h>
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

#include "ctl.h"
#include "util.h"

static int sp[2];

static int setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
}

static int teardown(void **state)
{
	(void)state;
	close(sp[0]);
	close(sp[1]);
	return 0;
}

static void send_raw(uint32_t magic, uint16_t version, uint16_t type,
		     uint32_t len, uint32_t reserved, const char *body, size_t blen)
{
	struct ctl_hdr h = { htonl(magic), htons(version), htons(type),
			     htonl(len), htonl(reserved) };

	assert_int_equal(write(sp[0], &h, sizeof(h)), sizeof(h));
	if (blen)
		assert_int_equal(write(sp[0], body, blen), (ssize_t)blen);
}

static int recv_one(char *err)
{
	struct json_object *body = NULL;
	uint16_t type;
	int rc = ctl_recv(sp[1], &type, &body, NULL, err);

	json_object_put(body);
	return rc;
}

static void test_round_trip(void **state)
{
	struct json_object *o = json_object_new_object(), *got = NULL, *v;
	char err[CTL_ERR_LEN];
	uint16_t type = 0;

	(void)state;
	json_object_object_add(o, "name", json_object_new_string("NetBSD"));
	assert_int_equal(ctl_send(sp[0], CTL_PAUSE, o, -1), 0);
	assert_int_equal(ctl_recv(sp[1], &type, &got, NULL, err), 0);
	assert_int_equal(type, CTL_PAUSE);
	assert_string_equal(xr_json_str(got, "name", 63, err, sizeof(err)), "NetBSD");
	assert_null(xr_json_str(got, "name", 3, err, sizeof(err)));
	assert_string_equal(err, "field 'name': 6 bytes, expected 1 to 3 without NUL");
	assert_null(xr_json_str(got, "other", 63, err, sizeof(err)));
	assert_non_null(strstr(err, "missing"));
	json_object_object_add(got, "n", json_object_new_int(1));
	assert_null(xr_json_str(got, "n", 63, err, sizeof(err)));
	assert_non_null(strstr(err, "not a string"));
	assert_true(json_object_object_get_ex(got, "name", &v));
	json_object_put(o);
	json_object_put(got);
}

static void test_fd_passing(void **state)
{
	struct json_object *o = json_object_new_object(), *got = NULL;
	char err[CTL_ERR_LEN], buf[8] = "";
	int pipefd[2], fd = -1;
	uint16_t type;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(ctl_send(sp[0], CTL_REPLY, o, pipefd[0]), 0);
	close(pipefd[0]);
	assert_int_equal(ctl_recv(sp[1], &type, &got, &fd, err), 0);
	assert_true(fd >= 0);
	assert_int_equal(write(pipefd[1], "hi", 2), 2);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	close(fd);
	close(pipefd[1]);
	json_object_put(o);
	json_object_put(got);
}

static void test_clean_eof(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	shutdown(sp[0], SHUT_WR);
	assert_int_equal(recv_one(err), -EPIPE);
}

static void test_bad_magic(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(0x47455420, CTL_VERSION, CTL_LIST, 2, 0, "{}", 2);	/* "GET " */
	assert_int_equal(recv_one(err), -EPROTO);
	assert_non_null(strstr(err, "bad magic"));
}

static void test_bad_version(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, 2, CTL_LIST, 2, 0, "{}", 2);
	assert_int_equal(recv_one(err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "version 2"));
}

static void test_reserved_nonzero(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_LIST, 2, 7, "{}", 2);
	assert_int_equal(recv_one(err), -EPROTO);
	assert_non_null(strstr(err, "reserved"));
}

static void test_unknown_type(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, CTL_VERSION, 999, 2, 0, "{}", 2);
	assert_int_equal(recv_one(err), -EPROTO);
	assert_non_null(strstr(err, "unknown message type 999"));
}

static void test_oversize(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_CREATE, CTL_MAX_BODY + 1, 0, NULL, 0);
	assert_int_equal(recv_one(err), -EMSGSIZE);
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_CREATE, 0, 0, NULL, 0);
	assert_int_equal(recv_one(err), -EMSGSIZE);
}

static void test_truncated(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_LIST, 10, 0, "{}", 2);
	shutdown(sp[0], SHUT_WR);
	assert_int_equal(recv_one(err), -EBADMSG);
	assert_string_equal(err, "connection closed after 2 of 10 body bytes");
}

static void test_truncated_header(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	assert_int_equal(write(sp[0], "XRC", 3), 3);
	shutdown(sp[0], SHUT_WR);
	assert_int_equal(recv_one(err), -EBADMSG);
	assert_string_equal(err, "connection closed after 3 of 16 header bytes");
}

static void test_bad_json(void **state)
{
	char err[CTL_ERR_LEN];

	(void)state;
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_LIST, 5, 0, "{\"a\":", 5);
	assert_int_equal(recv_one(err), -EBADMSG);
	assert_non_null(strstr(err, "not valid JSON"));
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_LIST, 2, 0, "[]", 2);
	assert_int_equal(recv_one(err), -EBADMSG);
	assert_non_null(strstr(err, "not a JSON object"));
	send_raw(CTL_MAGIC, CTL_VERSION, CTL_LIST, 4, 0, "{}{}", 4);
	assert_int_equal(recv_one(err), -EBADMSG);
}

/* A message that arrives a byte at a time is assembled without blocking. */
static void test_incremental(void **state)
{
	struct json_object *o = json_object_new_object(), *got = NULL;
	char wire[128], err[CTL_ERR_LEN];
	struct ctl_reader r;
	uint16_t type = 0;
	ssize_t len;
	int rc = 0;

	(void)state;
	json_object_object_add(o, "name", json_object_new_string("x"));
	assert_int_equal(ctl_send(sp[0], CTL_DESTROY, o, -1), 0);
	json_object_put(o);
	len = read(sp[1], wire, sizeof(wire));
	assert_true(len > 16);
	ctl_reader_init(&r);
	assert_int_equal(ctl_reader_feed(&r, sp[1], false, true, &type, &got, err), 0);
	for (ssize_t i = 0; i < len; i++) {
		assert_int_equal(write(sp[0], wire + i, 1), 1);
		rc = ctl_reader_feed(&r, sp[1], false, true, &type, &got, err);
		assert_int_equal(rc, i == len - 1 ? 1 : 0);
	}
	assert_int_equal(type, CTL_DESTROY);
	assert_string_equal(xr_json_str(got, "name", 63, err, sizeof(err)), "x");
	json_object_put(got);
	/* The reader is ready for the next message. */
	assert_int_equal(ctl_reader_feed(&r, sp[1], false, true, &type, &got, err), 0);
	ctl_reader_dispose(&r);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip), T(test_fd_passing), T(test_clean_eof),
		T(test_bad_magic), T(test_bad_version), T(test_reserved_nonzero),
		T(test_unknown_type), T(test_oversize), T(test_truncated),
		T(test_truncated_header), T(test_bad_json), T(test_incremental),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

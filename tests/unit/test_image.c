/*
 * test_image.c - the cluster image store (storage/image.c): files kept by
 * their sha256, pieces from a peer checked before they count, and nothing
 * half-written left in the store after a bad piece.
 */
#include <dirent.h>
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

#include <cmocka.h>

#include "image.h"
#include "storage.h"

/* sha256("hello world\n") */
#define HELLO_SHA "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"

static char dir[64], store[80];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xr-image-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store, sizeof(store), "%s/images", dir);
	img_dir = store;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* How many entries the store holds (hidden part and temporary files too). */
static int entries(void)
{
	DIR *d = opendir(store);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_store_file(void **state)
{
	char src[128], sha[IMG_SHA_LEN + 1], path[256], err[ST_ERR_LEN], got[IMG_SHA_LEN + 1];
	uint64_t size = 0;
	struct stat st;

	(void)state;
	snprintf(src, sizeof(src), "%s/vmlinuz", dir);
	write_file(src, "hello world\n");
	assert_int_equal(img_store_file(src, sha, &size, err), 1);
	assert_string_equal(sha, HELLO_SHA);
	assert_int_equal(size, 12);
	img_path(path, sizeof(path), sha);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(st.st_size, 12);
	assert_true(img_sha_of_path(path, got));
	assert_string_equal(got, HELLO_SHA);
	assert_int_equal(img_check(sha, err), 0);
	/* Again: the same image, nothing more in the store. */
	assert_int_equal(img_store_file(src, sha, &size, err), 0);
	assert_int_equal(entries(), 1);
	/* What is not a file, or not there, is refused by name. */
	assert_int_equal(img_store_file(dir, sha, &size, err), -EINVAL);
	assert_non_null(strstr(err, dir));
	snprintf(src, sizeof(src), "%s/nothing", dir);
	assert_int_equal(img_store_file(src, sha, &size, err), -ENOENT);
	assert_non_null(strstr(err, "nothing"));
	assert_int_equal(entries(), 1);
}

static void test_paths(void **state)
{
	char sha[IMG_SHA_LEN + 1], path[256];

	(void)state;
	assert_true(img_sha_ok(HELLO_SHA));
	assert_false(img_sha_ok("A948904F2F0F479B8F8197694B30184B0D2ED1C1CD2A1EC0FB85D299A192A447"));
	assert_false(img_sha_ok(HELLO_SHA "0"));
	assert_false(img_sha_ok("../../etc/passwd"));
	assert_false(img_sha_ok(""));
	snprintf(path, sizeof(path), "%s/sha256-%s", store, HELLO_SHA);
	assert_true(img_sha_of_path(path, sha));
	assert_false(img_sha_of_path("/boot/vmlinuz", sha));
	snprintf(path, sizeof(path), "%s/sha256-%.63s", store, HELLO_SHA);
	assert_false(img_sha_of_path(path, sha));
	snprintf(path, sizeof(path), "%sx/sha256-%s", store, HELLO_SHA);
	assert_false(img_sha_of_path(path, sha));
}

static void test_receive(void **state)
{
	char err[ST_ERR_LEN], path[256];

	(void)state;
	/* In two pieces, in order: in the store once whole and right. */
	assert_int_equal(img_receive(HELLO_SHA, 12, 0, "hello ", 6, err), 0);
	img_path(path, sizeof(path), HELLO_SHA);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(img_receive(HELLO_SHA, 12, 6, "world\n", 6, err), 0);
	assert_int_equal(img_check(HELLO_SHA, err), 0);
	assert_int_equal(entries(), 1);
}

static void test_receive_bad(void **state)
{
	static const char other[] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	char err[ST_ERR_LEN];

	(void)state;
	/* Bytes that are not what the name says: refused, nothing kept. */
	assert_int_equal(img_receive(other, 12, 0, "hello world\n", 12, err), -EBADMSG);
	assert_non_null(strstr(err, HELLO_SHA));
	assert_int_equal(entries(), 0);
	/* A piece out of order. */
	assert_int_equal(img_receive(HELLO_SHA, 12, 6, "world\n", 6, err), -EPROTO);
	assert_int_equal(entries(), 0);
	assert_int_equal(img_receive(HELLO_SHA, 12, 0, "hello ", 6, err), 0);
	assert_int_equal(img_receive(HELLO_SHA, 12, 3, "lo wor", 6, err), -EPROTO);
	assert_int_equal(entries(), 0);
	/* A piece past the end, no size, too large, a name that is a path. */
	assert_int_equal(img_receive(HELLO_SHA, 12, 10, "world\n", 6, err), -EINVAL);
	assert_int_equal(img_receive(HELLO_SHA, 0, 0, "", 0, err), -EFBIG);
	assert_int_equal(img_receive(HELLO_SHA, IMG_MAX_BYTES + 1, 0, "h", 1, err), -EFBIG);
	assert_int_equal(img_receive("../../etc/passwd", 12, 0, "hello world\n", 12, err),
			 -EINVAL);
	assert_int_equal(entries(), 0);
}

static void test_damaged(void **state)
{
	char src[128], sha[IMG_SHA_LEN + 1], path[256], err[ST_ERR_LEN];
	uint64_t size;

	(void)state;
	snprintf(src, sizeof(src), "%s/vmlinuz", dir);
	write_file(src, "hello world\n");
	assert_int_equal(img_store_file(src, sha, &size, err), 1);
	img_path(path, sizeof(path), sha);
	assert_int_equal(chmod(path, 0644), 0);
	write_file(path, "hello worle\n");
	assert_int_equal(img_check(sha, err), -EBADMSG);
	assert_non_null(strstr(err, "damaged"));
	/* Storing the file again repairs it. */
	assert_int_equal(img_store_file(src, sha, &size, err), 1);
	assert_int_equal(img_check(sha, err), 0);
	assert_int_equal(img_check(
		"1111111111111111111111111111111111111111111111111111111111111111", err), -ENOENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_store_file), T(test_paths), T(test_receive), T(test_receive_bad),
		T(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

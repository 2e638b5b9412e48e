/*
 * test_mig.c - the migration protocol's pure parts: frame headers, the
 * save-stream check, the precopy policy and the request's options.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <endian.h>
#include <json-c/json.h>

#include "ctl.h"
#include "mig.h"

/* ---- frame headers ---- */

static void test_hdr_roundtrip(void **state)
{
	uint8_t h[MIG_HDR_LEN];
	char err[CTL_ERR_LEN];
	unsigned type;
	uint32_t len;

	(void)state;
	mig_hdr_make(h, MIG_CHUNK, 4096);
	assert_int_equal(mig_hdr_parse(h, 1u << MIG_CHUNK, &type, &len, err), 0);
	assert_int_equal(type, MIG_CHUNK);
	assert_int_equal(len, 4096);
}

static void test_hdr_bad(void **state)
{
	uint8_t h[MIG_HDR_LEN];
	char err[CTL_ERR_LEN];
	unsigned type;
	uint32_t len;

	(void)state;
	mig_hdr_make(h, MIG_CHUNK, 16);
	h[0] = 'Y';
	assert_int_equal(mig_hdr_parse(h, ~0u, &type, &len, err), -EPROTO);
	assert_non_null(strstr(err, "magic"));

	mig_hdr_make(h, MIG_CHUNK, 16);
	h[7] = 1;
	assert_int_equal(mig_hdr_parse(h, ~0u, &type, &len, err), -EPROTO);
	assert_non_null(strstr(err, "flags"));

	mig_hdr_make(h, MIG_COMMIT, 0);	/* not now */
	assert_int_equal(mig_hdr_parse(h, 1u << MIG_CHUNK | 1u << MIG_END, &type, &len, err),
			 -EPROTO);
	assert_non_null(strstr(err, "commit"));

	mig_hdr_make(h, 99, 0);
	assert_int_equal(mig_hdr_parse(h, ~0u, &type, &len, err), -EPROTO);

	mig_hdr_make(h, MIG_CHUNK, MIG_CHUNK_MAX + 1);
	assert_int_equal(mig_hdr_parse(h, ~0u, &type, &len, err), -EMSGSIZE);
	mig_hdr_make(h, MIG_END, MIG_JSON_MAX + 1);
	assert_int_equal(mig_hdr_parse(h, ~0u, &type, &len, err), -EMSGSIZE);
	assert_non_null(strstr(err, "end frame"));
}

/* ---- the stream check ---- */

struct buf {
	uint8_t b[16384];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put32le(struct buf *b, uint32_t v)
{
	v = htole32(v);
	put(b, &v, 4);
}

static void put32be(struct buf *b, uint32_t v)
{
	v = htobe32(v);
	put(b, &v, 4);
}

static void put64le(struct buf *b, uint64_t v)
{
	v = htole64(v);
	put(b, &v, 8);
}

/* A PV domain's stream: libxl head, libxc headers, PV_INFO, PAGE_DATA of
 * two pages, SHARED_INFO, libxc END, libxl END. */
static void stream(struct buf *b)
{
	uint8_t head[24], tail[8], page[MIG_PAGE];

	b->n = 0;
	mig_stream_head(head);
	put(b, head, sizeof(head));
	put64le(b, UINT64_MAX);			/* marker */
	put32be(b, 0x58454e46);			/* "XENF" */
	put32be(b, 3);				/* version */
	put32le(b, 0);				/* options, reserved */
	put32le(b, 0);
	put32le(b, 1);				/* x86 PV */
	put32le(b, 12);				/* page shift, reserved */
	put32le(b, 4);				/* xen 4.17 */
	put32le(b, 17);
	put32le(b, 2);				/* X86_PV_INFO, 8 bytes */
	put32le(b, 8);
	put64le(b, 0x0408);
	put32le(b, 1);				/* PAGE_DATA, 2 pages */
	put32le(b, 8 + 16 + 2 * MIG_PAGE);
	put32le(b, 2);
	put32le(b, 0);
	put64le(b, 0x10);
	put64le(b, 0x11);
	memset(page, 0xa5, sizeof(page));
	put(b, page, sizeof(page));
	put(b, page, sizeof(page));
	put32le(b, 7);				/* SHARED_INFO, 5 bytes + 3 padding */
	put32le(b, 5);
	put(b, "abcde\0\0\0", 8);
	put32le(b, 0);				/* libxc END */
	put32le(b, 0);
	mig_stream_tail(tail);
	put(b, tail, sizeof(tail));
}

static int check(const struct buf *b, size_t step, char *err)
{
	struct mig_sv sv;
	int rc = 0;

	mig_sv_init(&sv);
	for (size_t off = 0; off < b->n && !rc; off += step)
		rc = mig_sv_feed(&sv, b->b + off, off + step > b->n ? b->n - off : step, err);
	if (!rc && !mig_sv_done(&sv)) {
		snprintf(err, CTL_ERR_LEN, "not done");
		return 1;
	}
	return rc;
}

static void test_stream_good(void **state)
{
	char err[CTL_ERR_LEN] = "";
	struct buf b;
	struct mig_sv sv;

	(void)state;
	stream(&b);
	if (check(&b, b.n, err))
		fail_msg("%s", err);
	assert_int_equal(check(&b, 1, err), 0);		/* any split */
	assert_int_equal(check(&b, 7, err), 0);
	mig_sv_init(&sv);
	assert_int_equal(mig_sv_feed(&sv, b.b, b.n, err), 0);
	assert_int_equal(sv.pages, 2);
}

/* Change the 4 bytes at @off to @v (little-endian) and expect @what. */
static void expect_bad(size_t off, uint32_t v, const char *what)
{
	char err[CTL_ERR_LEN] = "";
	struct buf b;

	stream(&b);
	v = htole32(v);
	memcpy(b.b + off, &v, 4);
	assert_int_equal(check(&b, 3, err), -EBADMSG);
	if (!strstr(err, what))
		fail_msg("expected '%s' in: %s", what, err);
	assert_non_null(strstr(err, "save stream, byte "));
}

static void test_stream_bad(void **state)
{
	char err[CTL_ERR_LEN] = "";
	struct buf b;

	(void)state;
	expect_bad(0, 0x41414141, "ident");
	expect_bad(8, htobe32(1), "libxl header: version 1");
	expect_bad(12, htobe32(2), "options");
	expect_bad(16, 0, "LIBXC_CONTEXT");
	expect_bad(20, 8, "bytes of body");
	expect_bad(24, 0, "marker");
	expect_bad(32, 0x46454e58, "XENF");
	expect_bad(40, 0x0100, "little-endian");
	expect_bad(48, 2, "not an x86 PV domain");
	expect_bad(52, 16, "page shift");
	expect_bad(64, 9, "type 0x9");			/* HVM_CONTEXT */
	expect_bad(84, 8, "PAGE_DATA record of 8 bytes");	/* shorter than its pfns */
	expect_bad(88, 0, "PAGE_DATA record of 0 pages");
	expect_bad(88, 5000, "5000 pages");
	expect_bad(84, 200u << 20, "at most");

	/* truncated: all but the last 8 bytes */
	stream(&b);
	b.n -= 8;
	assert_int_equal(check(&b, b.n, err), 1);
	/* something after the end */
	stream(&b);
	put(&b, "x", 1);
	assert_int_equal(check(&b, b.n, err), -EBADMSG);
	assert_non_null(strstr(err, "after the stream's END"));
	/* a libxl record after libxc's END other than END */
	stream(&b);
	b.b[b.n - 8] = 2;
	assert_int_equal(check(&b, b.n, err), -EBADMSG);
	assert_non_null(strstr(err, "only END"));
}

/* ---- the precopy policy ---- */

static void test_policy_converges(void **state)
{
	struct mig_policy p = { .downtime_ms = 300, .max_rounds = 30, .throttle = true };
	struct mig_state s;

	(void)state;
	mig_policy_init(&s, &p);
	assert_int_equal(mig_policy_decide(&s, &(struct mig_round){ .round = 1, .dirty = 32768 }),
			 MIG_GO_ON);
	/* 32768 pages in 4 s: 8.2 pages/ms; 5000 dirty is 610 ms: go on */
	assert_int_equal(mig_policy_decide(&s, &(struct mig_round){ .round = 2, .dirty = 5000,
		.last_dirty = 32768, .send_ms = 4000 }), MIG_GO_ON);
	assert_int_equal(s.projected_ms, 610);
	/* 5000 in 610 ms; 800 dirty is about 98 ms: stop */
	assert_int_equal(mig_policy_decide(&s, &(struct mig_round){ .round = 3, .dirty = 800,
		.last_dirty = 5000, .send_ms = 610 }), MIG_STOP_AND_COPY);
	assert_true(s.projected_ms <= 300);
	assert_non_null(strstr(s.why, "within the 300 ms target"));
}

static void test_policy_throttles_then_gives_up(void **state)
{
	struct mig_policy p = { .downtime_ms = 100, .max_rounds = 100, .throttle = true };
	static const int caps[] = MIG_CAPS;
	struct mig_state s;
	unsigned r = 2;
	int steps = 0;
	enum mig_verdict v;

	(void)state;
	mig_policy_init(&s, &p);
	mig_policy_decide(&s, &(struct mig_round){ .round = 1, .dirty = 32768 });
	/* 10000 dirty pages every round at 10 pages/ms: never within 100 ms */
	for (;; r++) {
		v = mig_policy_decide(&s, &(struct mig_round){ .round = r, .dirty = 10000,
			.last_dirty = 10000, .send_ms = 1000 });
		if (v == MIG_THROTTLE) {
			assert_int_equal(s.cap, caps[steps]);
			steps++;
		}
		if (v == MIG_GIVE_UP || v == MIG_STOP_AND_COPY)
			break;
	}
	assert_int_equal(v, MIG_GIVE_UP);
	assert_int_equal(steps, 4);
	assert_non_null(strstr(s.why, "even throttled"));
	assert_non_null(strstr(s.why, "capped at 6%"));
	assert_true(r < 20);
}

static void test_policy_no_throttle(void **state)
{
	struct mig_policy p = { .downtime_ms = 100, .max_rounds = 100, .throttle = false };
	struct mig_state s;
	enum mig_verdict v = MIG_GO_ON;
	unsigned r;

	(void)state;
	mig_policy_init(&s, &p);
	for (r = 2; r < 50 && v == MIG_GO_ON; r++)
		v = mig_policy_decide(&s, &(struct mig_round){ .round = r, .dirty = 10000,
			.last_dirty = 10000, .send_ms = 1000 });
	assert_int_equal(v, MIG_GIVE_UP);
	assert_non_null(strstr(s.why, "throttling is off"));
	assert_int_equal(s.cap, 0);
}

static void test_policy_max_rounds(void **state)
{
	struct mig_policy p = { .downtime_ms = 100, .max_rounds = 5, .throttle = true };
	struct mig_state s;
	enum mig_verdict v = MIG_GO_ON;
	unsigned r;

	(void)state;
	mig_policy_init(&s, &p);
	/* shrinking by 20 % a round: progress, but slowly */
	uint64_t d = 100000;

	for (r = 2; r <= 5 && v != MIG_GIVE_UP; r++, d = d * 8 / 10)
		v = mig_policy_decide(&s, &(struct mig_round){ .round = r, .dirty = d * 8 / 10,
			.last_dirty = d, .send_ms = 1000 });
	assert_int_equal(v, MIG_GIVE_UP);
	assert_non_null(strstr(s.why, "rounds allowed"));
}

/* ---- options ---- */

static int opts(const char *js, struct mig_opts *o, char *err)
{
	struct json_object *req = json_tokener_parse(js);
	int rc;

	assert_non_null(req);
	rc = mig_opts_from_json(o, req, err);
	json_object_put(req);
	return rc;
}

static void test_opts(void **state)
{
	char err[CTL_ERR_LEN];
	struct mig_opts o;
	struct json_object *back;

	(void)state;
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\"}", &o, err), 0);
	assert_int_equal(o.policy.downtime_ms, MIG_DOWNTIME_MS);
	assert_true(o.policy.throttle);
	assert_false(o.compress);
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\",\"downtime_ms\":50,"
			      "\"compress\":true,\"throttle\":false,\"bandwidth\":1048576,"
			      "\"fault\":\"precopy\"}", &o, err), 0);
	assert_int_equal(o.policy.downtime_ms, 50);
	assert_true(o.compress);
	assert_false(o.policy.throttle);
	assert_int_equal(o.bandwidth, 1048576);
	back = mig_opts_to_json(&o);
	assert_string_equal(json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN),
		"{\"name\":\"NetBSD\",\"to\":\"node2\",\"downtime_ms\":50,\"max_rounds\":30,"
		"\"bandwidth\":1048576,\"throttle\":false,\"compress\":true,\"fault\":\"precopy\"}");
	json_object_put(back);

	assert_int_equal(opts("{\"name\":\"NetBSD\"}", &o, err), -EINVAL);
	assert_non_null(strstr(err, "to"));
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\",\"downtime_ms\":0}", &o, err),
			 -EINVAL);
	assert_non_null(strstr(err, "'downtime_ms'"));
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\",\"downtime_ms\":\"5\"}", &o,
			      err), -EINVAL);
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\",\"compress\":1}", &o, err),
			 -EINVAL);
	assert_non_null(strstr(err, "'compress'"));
	assert_int_equal(opts("{\"name\":\"NetBSD\",\"to\":\"node2\",\"fault\":\"rm -rf\"}", &o,
			      err), -EINVAL);
	assert_non_null(strstr(err, "'fault'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_roundtrip),
		cmocka_unit_test(test_hdr_bad),
		cmocka_unit_test(test_stream_good),
		cmocka_unit_test(test_stream_bad),
		cmocka_unit_test(test_policy_converges),
		cmocka_unit_test(test_policy_throttles_then_gives_up),
		cmocka_unit_test(test_policy_no_throttle),
		cmocka_unit_test(test_policy_max_rounds),
		cmocka_unit_test(test_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

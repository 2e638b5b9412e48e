/*
 * test_pxe_token.c - the one-time token rules: once, for one key, until
 * the TTL runs out, and only the latest one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pxe.h"

static const uint8_t key_a[32] = { 1 }, key_b[32] = { 2 };

static void test_issue(void **state)
{
	struct pxe_tokens t;
	char a[PXE_TOKEN_LEN + 1], b[PXE_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(pxe_tok_init(&t, 2, 600), 0);
	assert_int_equal(pxe_tok_check(&t, 0, "x", 1000, key_a), -ENOENT);
	assert_int_equal(pxe_tok_issue(&t, 0, 1000, a), 0);
	assert_int_equal(strlen(a), PXE_TOKEN_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), PXE_TOKEN_LEN);
	assert_int_equal(pxe_tok_issue(&t, 1, 1000, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(pxe_tok_check(&t, 0, a, 1000, key_a), 0);
	assert_int_equal(pxe_tok_check(&t, 1, a, 1000, key_a), -EACCES); /* node1's */
	assert_int_equal(pxe_tok_check(&t, 2, a, 1000, key_a), -ENOENT); /* no node */
	assert_int_equal(pxe_tok_issue(&t, 2, 1000, b), -EINVAL);
	pxe_tok_dispose(&t);
}

static void test_once(void **state)
{
	struct pxe_tokens t;
	char a[PXE_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(pxe_tok_init(&t, 1, 600), 0);
	assert_int_equal(pxe_tok_issue(&t, 0, 1000, a), 0);
	assert_int_equal(pxe_tok_redeem(&t, 0, key_a, "CERT"), 0);
	/* a retry with the same key gets the same certificate back */
	assert_int_equal(pxe_tok_check(&t, 0, a, 1001, key_a), 1);
	assert_string_equal(t.v[0].cert_pem, "CERT");
	/* anybody else is refused */
	assert_int_equal(pxe_tok_check(&t, 0, a, 1001, key_b), -EALREADY);
	/* and after the TTL nobody */
	assert_int_equal(pxe_tok_check(&t, 0, a, 1600, key_a), -ETIMEDOUT);
	pxe_tok_dispose(&t);
}

static void test_expiry_and_replace(void **state)
{
	struct pxe_tokens t;
	char a[PXE_TOKEN_LEN + 1], b[PXE_TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(pxe_tok_init(&t, 1, 60), 0);
	assert_int_equal(pxe_tok_issue(&t, 0, 1000, a), 0);
	assert_int_equal(pxe_tok_check(&t, 0, a, 1059, key_a), 0);
	assert_int_equal(pxe_tok_check(&t, 0, a, 1060, key_a), -ETIMEDOUT);
	/* a new script fetch voids the old token */
	assert_int_equal(pxe_tok_issue(&t, 0, 1070, b), 0);
	assert_int_equal(pxe_tok_check(&t, 0, a, 1070, key_a), -EACCES);
	assert_int_equal(pxe_tok_check(&t, 0, b, 1070, key_a), 0);
	/* truncated or padded tokens do not match */
	{
		char padded[PXE_TOKEN_LEN + 2];

		memcpy(padded, b, PXE_TOKEN_LEN);
		padded[PXE_TOKEN_LEN] = 'x';
		padded[PXE_TOKEN_LEN + 1] = '\0';
		assert_int_equal(pxe_tok_check(&t, 0, padded, 1070, key_a), -EACCES);
	}
	b[PXE_TOKEN_LEN - 1] = '\0';
	assert_int_equal(pxe_tok_check(&t, 0, b, 1070, key_a), -EACCES);
	assert_non_null(strstr(pxe_tok_strerror(-EALREADY), "already used"));
	pxe_tok_dispose(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_expiry_and_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

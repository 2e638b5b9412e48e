/* test_cfg.c - the generic config store: values, positions, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv.h"

struct parsed {
	struct hv_cfg cfg;
	struct hv_diag diag;
	int rc;
};

static void parse(struct parsed *p, const char *text)
{
	hv_cfg_init(&p->cfg);
	hv_diag_init(&p->diag, "t.cfg");
	p->rc = hv_cfg_parse(&p->cfg, text, strlen(text), &p->diag);
}

static void done(struct parsed *p)
{
	hv_cfg_dispose(&p->cfg);
	hv_diag_dispose(&p->diag);
}

/* Parse text that must fail; check the one error's position and words. */
static void expect_error(const char *text, unsigned line, unsigned col,
			 const char *words)
{
	struct parsed p;

	parse(&p, text);
	assert_int_equal(p.rc, -EINVAL);
	assert_int_equal(p.diag.nerrors, 1);
	assert_int_equal(p.diag.v[p.diag.n - 1].line, line);
	assert_int_equal(p.diag.v[p.diag.n - 1].col, col);
	if (!strstr(p.diag.v[p.diag.n - 1].msg, words))
		fail_msg("message '%s' lacks '%s'", p.diag.v[p.diag.n - 1].msg, words);
	done(&p);
}

static void test_scalars(void **state)
{
	struct parsed p;
	struct hv_cfg_entry *e;

	(void)state;
	parse(&p, "a = 'x'\nb = \"y z\"  # comment\nc = -1\nd = 0x10\n"
		  "e = True\nf = False\ng = 0\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cfg.n, 7);
	e = hv_cfg_find(&p.cfg, "a");
	assert_int_equal(e->val.kind, HV_CFG_STRING);
	assert_string_equal(e->val.u.s, "x");
	assert_int_equal(e->line, 1);
	assert_int_equal(e->val.col, 5);
	assert_string_equal(hv_cfg_find(&p.cfg, "b")->val.u.s, "y z");
	assert_int_equal(hv_cfg_find(&p.cfg, "c")->val.u.i, -1);
	assert_int_equal(hv_cfg_find(&p.cfg, "d")->val.u.i, 16);
	assert_int_equal(hv_cfg_find(&p.cfg, "e")->val.kind, HV_CFG_BOOL);
	assert_true(hv_cfg_find(&p.cfg, "e")->val.u.b);
	assert_false(hv_cfg_find(&p.cfg, "f")->val.u.b);
	assert_int_equal(hv_cfg_find(&p.cfg, "g")->val.u.i, 0);
	assert_null(hv_cfg_find(&p.cfg, "h"));
	assert_int_equal(p.diag.n, 0);
	done(&p);
}

static void test_escapes(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "a = 'it\\'s'\nb = \"q\\\"\\\\\\n\\t\"\n");
	assert_int_equal(p.rc, 0);
	assert_string_equal(hv_cfg_find(&p.cfg, "a")->val.u.s, "it's");
	assert_string_equal(hv_cfg_find(&p.cfg, "b")->val.u.s, "q\"\\\n\t");
	done(&p);
}

static void test_multiline_list(void **state)
{
	struct parsed p;
	struct hv_cfg_value *v;

	(void)state;
	parse(&p, "disk = [ 'a',   # first\n\n    'b' ,\n# between\n 3, ]\nx = 1\n");
	assert_int_equal(p.rc, 0);
	v = &hv_cfg_find(&p.cfg, "disk")->val;
	assert_int_equal(v->kind, HV_CFG_LIST);
	assert_int_equal(v->u.list.n, 3);
	assert_string_equal(v->u.list.items[0].u.s, "a");
	assert_string_equal(v->u.list.items[1].u.s, "b");
	assert_int_equal(v->u.list.items[1].line, 3);
	assert_int_equal(v->u.list.items[1].col, 5);
	assert_int_equal(v->u.list.items[2].u.i, 3);
	assert_int_equal(hv_cfg_find(&p.cfg, "x")->line, 6);
	done(&p);

	parse(&p, "l = []\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(hv_cfg_find(&p.cfg, "l")->val.u.list.n, 0);
	done(&p);
}

static void test_separators(void **state)
{
	struct parsed p;

	(void)state;
	/* Semicolons, CRLF, tabs, a BOM and no final newline. */
	parse(&p, "\xef\xbb\xbf" "a = 1; b = 2\r\n\tc='3'");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cfg.n, 3);
	assert_string_equal(hv_cfg_find(&p.cfg, "c")->val.u.s, "3");
	done(&p);
	parse(&p, "");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.cfg.n, 0);
	done(&p);
}

static void test_duplicate_warns(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "memory = 64\nname = 'x'\nmemory = 128\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(hv_cfg_find(&p.cfg, "memory")->val.u.i, 128);
	assert_int_equal(p.diag.n, 1);
	assert_int_equal(p.diag.v[0].sev, HV_WARNING);
	assert_int_equal(p.diag.v[0].line, 3);
	assert_non_null(strstr(p.diag.v[0].msg, "first set on line 1"));
	done(&p);
}

static void test_python_refused(void **state)
{
	(void)state;
	expect_error("def f():\n  pass\n", 1, 1, "Python code is not supported");
	expect_error("a = 1\nif a:\n  b = 2\n", 2, 1, "Python");
	expect_error("import os\n", 1, 1, "Python");
	expect_error("from os import path\n", 1, 1, "Python");
	expect_error("xm_vars.var('vmid')\n", 1, 1, "xm_vars");
	expect_error("print('hi')\n", 1, 1, "Python");
	expect_error("name = 'vm%d' % vmid\n", 1, 15, "%-formatting");
	expect_error("memory = 64 * 2\n", 1, 13, "expression");
	expect_error("memory += 2\n", 1, 8, "augmented");
	expect_error("a = (1, 2)\n", 1, 5, "tuple");
	expect_error("a = 1, 2\n", 1, 6, "tuple");
	expect_error("a = {'k': 1}\n", 1, 5, "dictionary");
	expect_error("a = '''doc'''\n", 1, 5, "triple-quoted");
	expect_error("a = b\n", 1, 5, "variables are not supported");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("a = 'open\nb = 1\n", 1, 5, "unterminated string");
	expect_error("a = 1.5\n", 1, 5, "floating-point");
	expect_error("a = 010\n", 1, 5, "not a valid integer");
	expect_error("a = 99999999999999999999\n", 1, 5, "not a valid integer");
	expect_error("a = [ 'x'\n", 1, 5, "never closed");
	expect_error("a = [ [ 1 ] ]\n", 1, 7, "nested lists");
	expect_error("a = \n", 1, 5, "expected a value");
	expect_error("a\n", 1, 1, "has no '= value'");
	expect_error("a = 1 b\n", 1, 7, "unexpected 'b'");
	expect_error("= 1\n", 1, 1, "expected a key");
	expect_error("a = 'x\\q'\n", 1, 7, "unsupported escape");
	expect_error("a = true\n", 1, 5, "True or False");
	expect_error("a = None\n", 1, 5, "None");
	expect_error("a = 1 \\\n", 1, 7, "unexpected");
	expect_error("  \\\n", 1, 3, "line continuation");
	expect_error("a = '\xff'\n\x01", 2, 1, "byte 0x01");
}

static void test_limits(void **state)
{
	struct parsed p;
	char *big;
	size_t i, n;

	(void)state;
	/* Larger than HV_CFG_MAX_BYTES: refused before parsing. */
	n = HV_CFG_MAX_BYTES + 1;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, '#', n);
	big[n] = '\0';
	parse(&p, big);
	assert_int_equal(p.rc, -EINVAL);
	assert_int_equal(p.diag.v[0].line, 0);
	done(&p);
	free(big);

	/* A list of HV_CFG_MAX_LIST + 1 items. */
	big = malloc(16 + 3 * (HV_CFG_MAX_LIST + 1));
	assert_non_null(big);
	strcpy(big, "l = [");
	for (i = 0; i <= HV_CFG_MAX_LIST; i++)
		strcat(big, "1, ");
	strcat(big, "]");
	parse(&p, big);
	assert_int_equal(p.rc, -EINVAL);
	assert_non_null(strstr(p.diag.v[0].msg, "more than"));
	done(&p);
	free(big);

	/* A string of HV_CFG_MAX_STR + 1 bytes. */
	big = malloc(HV_CFG_MAX_STR + 16);
	assert_non_null(big);
	strcpy(big, "s = '");
	memset(big + 5, 'x', HV_CFG_MAX_STR + 1);
	strcpy(big + 5 + HV_CFG_MAX_STR + 1, "'");
	parse(&p, big);
	assert_int_equal(p.rc, -EINVAL);
	assert_non_null(strstr(p.diag.v[0].msg, "longer than"));
	done(&p);
	free(big);
}

static void test_nul_in_text(void **state)
{
	struct hv_cfg cfg;
	struct hv_diag diag;
	static const char text[] = "a = 1\n\0b = 2\n";

	(void)state;
	hv_cfg_init(&cfg);
	hv_diag_init(&diag, "t.cfg");
	assert_int_equal(hv_cfg_parse(&cfg, text, sizeof(text) - 1, &diag), -EINVAL);
	assert_int_equal(diag.v[0].line, 2);
	assert_non_null(strstr(diag.v[0].msg, "NUL"));
	hv_cfg_dispose(&cfg);
	hv_diag_dispose(&diag);
}

static void test_diag_print(void **state)
{
	struct hv_diag d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	hv_diag_init(&d, "NetBSD.cfg");
	hv_diag_add(&d, HV_WARNING, 9, 1, "later");
	hv_diag_add(&d, HV_ERROR, 3, 4, "first %d", 1);
	hv_diag_add(&d, HV_ERROR, 0, 0, "whole file");
	hv_diag_sort(&d);
	hv_diag_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "NetBSD.cfg: error: whole file\n"
				 "NetBSD.cfg:3:4: error: first 1\n"
				 "NetBSD.cfg:9:1: warning: later\n");
	assert_int_equal(d.nerrors, 2);
	free(buf);
	hv_diag_dispose(&d);
	hv_diag_dispose(&d);	/* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_multiline_list),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_duplicate_warns),
		cmocka_unit_test(test_python_refused),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nul_in_text),
		cmocka_unit_test(test_diag_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

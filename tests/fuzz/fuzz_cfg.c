/*
 * fuzz_cfg.c - libFuzzer target for the domain config parser.
 *
 * Besides crashes and sanitizer reports, it checks two properties:
 * a config that parses prints a canonical form that parses again without
 * a complaint, and printing that again gives the same text (fixed point).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct hv_domain *dom, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	hv_domain_print(dom, f);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_domain a, b;
	struct hv_diag da, db;
	char *pa = NULL, *pb = NULL;
	size_t la, lb;

	hv_domain_init(&a);
	hv_domain_init(&b);
	hv_diag_init(&da, "fuzz.cfg");
	hv_diag_init(&db, "normalised.cfg");
	if (hv_domain_parse(&a, (const char *)data, size, &da) == 0) {
		json_object_put(hv_domain_to_json(&a));
		pa = print(&a, &la);
		if (hv_domain_parse(&b, pa, la, &db) != 0 || db.n != 0) {
			hv_diag_print(&db, stderr);
			fprintf(stderr, "normalised form does not parse cleanly:\n%s", pa);
			abort();
		}
		pb = print(&b, &lb);
		if (la != lb || memcmp(pa, pb, la)) {
			fprintf(stderr, "not a fixed point:\n%s---\n%s", pa, pb);
			abort();
		}
	}
	free(pa);
	free(pb);
	hv_diag_dispose(&da);
	hv_diag_dispose(&db);
	hv_domain_dispose(&a);
	hv_domain_dispose(&b);
	return 0;
}

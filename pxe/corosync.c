/*
 * corosync.c - the node's corosync.conf, made from its enrolment data.
 *
 * Every node gets the same file: knet on the node network, one nodelist
 * entry per inventory node (nodeid = position + 1, which clusterd relies
 * on), votequorum, and for an even number of nodes the qdevice of the boot
 * host (corosync-qnetd) as the vote that breaks a tie.  The timing values
 * are those of docs/ha.md's budget.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pxe.h"
#include "util.h"

/* docs/ha.md: a lost node is out of the membership in token + consensus.
 * The enrolment data may ask for a longer token (bootd --token): the
 * virtual rack's emulated nodes stall for longer than 1 s. */
#define TOKEN_MS     1000
/* A cut-off node hears from qnetd that it lost within 1-2 heartbeats
 * (0.8 x this): 3-5 s, where the default 10 s took up to 15 s. */
#define QDEVICE_MS   3000

/*
 * A string field that goes into corosync.conf: a name must be a DNS label
 * (pxe_name_check), an address letters, digits, '.', ':' and '-' only, so
 * that nothing can add a line or a section to the file.
 */
static const char *field(struct json_object *o, const char *key, bool is_name,
			 const char *where, char *err)
{
	char why[PXE_ERR_LEN - 64];
	const char *s = xr_json_str(o, key, is_name ? PXE_NAME_MAX : 63, why, sizeof(why));
	const char *bad;

	if (!s) {
		snprintf(err, PXE_ERR_LEN, "enrolment data%s: %s", where, why);
		return NULL;
	}
	bad = is_name ? pxe_name_check(s, NULL)
		      : s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789.:-")] ? "not an address" : NULL;
	if (bad) {
		snprintf(err, PXE_ERR_LEN, "enrolment data%s: field '%s': %s", where, key, bad);
		return NULL;
	}
	return s;
}

int pxe_corosync_conf(struct json_object *data, char **out, char *err)
{
	struct json_object *nodes, *tok;
	const char *cluster, *qnetd = NULL;
	int64_t token = TOKEN_MS;
	char *text = NULL;
	size_t len = 0, n, i;
	FILE *f;

	*out = NULL;
	cluster = field(data, "cluster", true, "", err);
	if (!cluster)
		return -EINVAL;
	if (!json_object_object_get_ex(data, "nodes", &nodes) ||
	    !json_object_is_type(nodes, json_type_array) ||
	    !(n = json_object_array_length(nodes))) {
		snprintf(err, PXE_ERR_LEN, "enrolment data: field 'nodes': expected a non-empty list");
		return -EINVAL;
	}
	if (json_object_object_get_ex(data, "qnetd", NULL)) {
		qnetd = field(data, "qnetd", false, "", err);
		if (!qnetd)
			return -EINVAL;
	}
	if (json_object_object_get_ex(data, "token", &tok)) {
		token = json_object_is_type(tok, json_type_int) ? json_object_get_int64(tok) : -1;
		if (token < 500 || token > 60000) {
			snprintf(err, PXE_ERR_LEN, "enrolment data: field 'token': expected "
				 "milliseconds, 500 to 60000");
			return -EINVAL;
		}
	}
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# Written by xenrack-enrol from the enrolment data of bootd.\n"
		"totem {\n"
		"\tversion: 2\n"
		"\tcluster_name: %s\n"
		"\ttransport: knet\n"
		"\tcrypto_cipher: none\n"
		"\tcrypto_hash: none\n"
		"\ttoken: %lld\n"
		"\tconsensus: %lld\n"
		"}\n\nnodelist {\n", cluster, (long long)token, (long long)(token * 6 / 5));
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(nodes, i);
		char where[32];
		const char *name, *addr;

		snprintf(where, sizeof(where), ", node %zu", i + 1);
		name = field(e, "name", true, where, err);
		addr = name ? field(e, "address", false, where, err) : NULL;
		if (!addr) {
			fclose(f);
			free(text);
			return -EINVAL;
		}
		fprintf(f, "\tnode {\n\t\tname: %s\n\t\tnodeid: %zu\n\t\tring0_addr: %s\n\t}\n",
			name, i + 1, addr);
	}
	fprintf(f, "}\n\nquorum {\n\tprovider: corosync_votequorum\n");
	/* An even count can split in halves: the boot host's vote decides. */
	if (qnetd && n % 2 == 0)
		fprintf(f, "\tdevice {\n"
			"\t\tmodel: net\n"
			"\t\tvotes: 1\n"
			"\t\ttimeout: %d\n"
			"\t\tnet {\n"
			"\t\t\thost: %s\n"
			"\t\t\talgorithm: ffsplit\n"
			"\t\t\ttls: off\n"
			"\t\t}\n"
			"\t}\n", QDEVICE_MS, qnetd);
	fprintf(f, "}\n\nlogging {\n"
		"\tto_stderr: no\n"
		"\tto_syslog: no\n"
		"\tto_logfile: yes\n"
		"\tlogfile: /var/log/corosync/corosync.log\n"
		"\ttimestamp: on\n"
		"}\n");
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*out = text;
	return 0;
}

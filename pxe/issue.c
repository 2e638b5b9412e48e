/*
 * issue.c - what bootd hands out: boot scripts with a fresh token, and
 * certificates in exchange for a token and a CSR (POST /enrol).
 *
 * The request body is untrusted: it is parsed here once, every field is
 * checked for type and length, unknown fields are refused, and only then
 * does the CA see the CSR.  Protocol: docs/pxe.md, trust model: docs/trust.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "pxe.h"
#include "util.h"

#define CSR_MAX   16384
#define TOKEN_MAX 128

/* {"error": "..."} with @status. */
static int fail(unsigned *status, char **reply, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(unsigned *status, char **reply, unsigned code, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[PXE_ERR_LEN * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*status = code;
	*reply = NULL;
	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "error", json_object_new_string(msg));
	*reply = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *reply ? 0 : -ENOMEM;
}

static const char *ip_str(const struct in_addr *a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

int pxe_issue_script(struct pxe_server *s, const char *mac_text,
		     const struct in_addr *peer, time_t now, unsigned *status,
		     char **out)
{
	const struct pxe_node *n;
	char tok[PXE_TOKEN_LEN + 1], pa[INET_ADDRSTRLEN], na[INET_ADDRSTRLEN];
	uint8_t mac[6];
	int rc;

	*out = NULL;
	*status = 200;
	if (strlen(mac_text) > 17 || pxe_mac_parse(mac_text, mac)) {
		*status = 400;
		return asprintf(out, "not a MAC address: '%.40s' (expected "
				"/boot/52-54-00-00-00-01.ipxe)\n", mac_text) < 0
		       ? -ENOMEM : 0;
	}
	n = pxe_inv_by_mac(s->inv, mac);
	ip_str(peer, pa);
	if (!n) {
		char m[18];

		pxe_mac_format(mac, m);
		log_warn("MAC %s (from %s) is not in the inventory %s; it gets a "
			 "script that says so", m, pa, s->inv->file);
		return pxe_script_unknown(&s->boot, mac, out);
	}
	ip_str(&n->addr, na);
	if (!s->any_source && peer->s_addr != n->addr.s_addr) {
		log_warn("%s: boot script asked from %s, but the node's address is %s; "
			 "refused (check the DHCP reservation)", n->name, pa, na);
		return asprintf(out, "#!ipxe\n"
				"echo xenrack: this machine is %s and should have address %s,\n"
				"echo xenrack: but it asked bootd from %s - check DHCP. Not booting.\n"
				"exit 1\n", n->name, na, pa) < 0 ? -ENOMEM : 0;
	}
	rc = pxe_tok_issue(&s->tokens, (size_t)(n - s->inv->nodes), now, tok);
	if (rc) {
		*status = 500;
		return asprintf(out, "cannot make a token: %s\n", strerror(-rc)) < 0
		       ? -ENOMEM : 0;
	}
	rc = pxe_script_node(&s->boot, n, tok, out);
	if (rc == -E2BIG) {
		*status = 500;
		log_err("%s: the multiboot command lines exceed %u bytes",
			n->name, PXE_MB_CMDLINE_MAX);
		return asprintf(out, "command lines too long\n") < 0 ? -ENOMEM : 0;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (!rc)
		log_info("%s: boot script sent to %s; its token is valid %u s",
			 n->name, pa, s->tokens.ttl);
	return rc;
}

/* String field @key of @o, 1 to @max bytes; NULL with a reason in @why. */
/* The enrolment data: what node.json holds on the node. */
static struct json_object *enrolment_data(struct pxe_server *s,
					  const struct pxe_node *n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *list = json_object_new_array();
	char a[INET_ADDRSTRLEN];
	size_t i;

	if (!o || !list) {
		json_object_put(o);
		json_object_put(list);
		return NULL;
	}
	json_object_object_add(o, "node", json_object_new_string(n->name));
	json_object_object_add(o, "address", json_object_new_string(ip_str(&n->addr, a)));
	json_object_object_add(o, "cluster", json_object_new_string(s->cluster));
	json_object_object_add(o, "bootd", json_object_new_string(s->boot.url));
	if (s->qnetd)
		json_object_object_add(o, "qnetd", json_object_new_string(s->qnetd));
	if (s->token)
		json_object_object_add(o, "token", json_object_new_int64(s->token));
	for (i = 0; i < s->inv->n; i++) {
		struct json_object *e = json_object_new_object();

		if (!e)
			break;
		json_object_object_add(e, "name", json_object_new_string(s->inv->nodes[i].name));
		json_object_object_add(e, "address",
				       json_object_new_string(ip_str(&s->inv->nodes[i].addr, a)));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "nodes", list);
	return o;
}

static int ok_reply(struct pxe_server *s, const struct pxe_node *n,
		    const char *cert_pem, unsigned *status, char **reply)
{
	struct json_object *o = json_object_new_object();
	struct json_object *data = enrolment_data(s, n);

	*reply = NULL;
	if (o && data) {
		json_object_object_add(o, "certificate", json_object_new_string(cert_pem));
		json_object_object_add(o, "ca", json_object_new_string(s->ca.cert_pem));
		json_object_object_add(o, "enrolment", data);
		data = NULL;
		*reply = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(o);
	json_object_put(data);
	*status = 200;
	return *reply ? 0 : -ENOMEM;
}

/* Keep a copy of every certificate issued: STATE/issued/NAME-SERIAL.crt */
static void keep_issued(struct pxe_server *s, const struct pxe_node *n, X509 *x,
			const char *pem)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *dir = NULL, *name = NULL;
	int rc = -ENOMEM;

	if (hex && asprintf(&dir, "%s/issued", s->state_dir) >= 0 &&
	    asprintf(&name, "%s-%s.crt", n->name, hex) >= 0) {
		mkdir(dir, 0700);
		rc = xr_write_atomic(dir, name, pem, strlen(pem), 0644);
	}
	if (rc)
		log_warn("%s: cannot keep a copy of its certificate in %s/issued: %s",
			 n->name, s->state_dir, strerror(-rc));
	else
		log_info("%s: certificate serial %s issued (%s/%s)", n->name, hex, dir, name);
	OPENSSL_free(hex);
	BN_free(bn);
	free(dir);
	free(name);
}

int pxe_enrol(struct pxe_server *s, const char *body, size_t len,
	      const struct in_addr *peer, time_t now, unsigned *status,
	      char **reply)
{
	struct json_object *req = NULL;
	struct json_tokener *tk = NULL;
	const struct pxe_node *n;
	const char *name, *token, *csr;
	char why[PXE_ERR_LEN], pa[INET_ADDRSTRLEN], na[INET_ADDRSTRLEN];
	uint8_t hash[32];
	X509_REQ *x509_req = NULL;
	X509 *cert = NULL;
	char *pem = NULL;
	BIO *bio = NULL;
	size_t idx;
	int rc;

	ip_str(peer, pa);
	if (len > PXE_ENROL_MAX_BODY) {
		rc = fail(status, reply, 413, "request of %zu bytes; at most %u",
			  len, PXE_ENROL_MAX_BODY);
		goto out;
	}
	tk = json_tokener_new();
	if (!tk) {
		rc = -ENOMEM;
		goto out;
	}
	req = json_tokener_parse_ex(tk, body, (int)len);
	if (!req || json_tokener_get_error(tk) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tk) != len ||
	    !json_object_is_type(req, json_type_object)) {
		rc = fail(status, reply, 400, "request body is not one JSON object");
		goto out;
	}
	{
		json_object_object_foreach(req, key, val) {
			(void)val;
			if (strcmp(key, "node") && strcmp(key, "token") && strcmp(key, "csr")) {
				rc = fail(status, reply, 400, "unknown field '%.40s'", key);
				goto out;
			}
		}
	}
	if (!(name = xr_json_str(req, "node", PXE_NAME_MAX, why, PXE_ERR_LEN)) ||
	    !(token = xr_json_str(req, "token", TOKEN_MAX, why, PXE_ERR_LEN)) ||
	    !(csr = xr_json_str(req, "csr", CSR_MAX, why, PXE_ERR_LEN))) {
		rc = fail(status, reply, 400, "%s", why);
		goto out;
	}
	n = pxe_inv_by_name(s->inv, name);
	if (!n) {
		log_warn("enrolment from %s for '%.63s', which is not in the inventory",
			 pa, name);
		rc = fail(status, reply, 403, "no node '%s' in the inventory of %s",
			  name, s->boot.url);
		goto out;
	}
	idx = (size_t)(n - s->inv->nodes);
	ip_str(&n->addr, na);
	if (!s->any_source && peer->s_addr != n->addr.s_addr) {
		log_warn("%s: enrolment from %s refused: the node's address is %s",
			 n->name, pa, na);
		rc = fail(status, reply, 403, "enrolment for %s must come from %s, not %s",
			  n->name, na, pa);
		goto out;
	}
	bio = BIO_new_mem_buf(csr, -1);
	x509_req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	ERR_clear_error();
	if (!x509_req || !X509_REQ_get0_pubkey(x509_req) ||
	    pxe_key_hash(X509_REQ_get0_pubkey(x509_req), hash)) {
		rc = fail(status, reply, 400, "field 'csr': not a PEM certificate request");
		goto out;
	}
	rc = pxe_tok_check(&s->tokens, idx, token, now, hash);
	if (rc < 0) {
		log_warn("%s: enrolment from %s refused: %s", n->name, pa,
			 pxe_tok_strerror(rc));
		rc = fail(status, reply, 403, "%s: %s", n->name, pxe_tok_strerror(rc));
		goto out;
	}
	if (rc == 1) {
		log_info("%s: enrolment asked again from %s for the same key; "
			 "sending the same certificate", n->name, pa);
		rc = ok_reply(s, n, s->tokens.v[idx].cert_pem, status, reply);
		goto out;
	}
	rc = pxe_ca_sign(&s->ca, x509_req, n, s->cert_days, now, &cert, why);
	if (rc) {
		log_warn("%s: CSR from %s refused: %s", n->name, pa, why);
		rc = fail(status, reply, rc == -EBADMSG ? 400 : 500, "%s", why);
		goto out;
	}
	pem = pxe_pem_x509(cert);
	if (!pem || pxe_tok_redeem(&s->tokens, idx, hash, pem)) {
		rc = fail(status, reply, 500, "out of memory");
		goto out;
	}
	if (s->state_dir)
		keep_issued(s, n, cert, pem);
	rc = ok_reply(s, n, pem, status, reply);
out:
	free(pem);
	X509_free(cert);
	X509_REQ_free(x509_req);
	BIO_free(bio);
	json_object_put(req);
	if (tk)
		json_tokener_free(tk);
	return rc;
}

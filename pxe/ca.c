/*
 * ca.c - the cluster CA: an EC P-256 key and a self-signed certificate in
 * bootd's state directory, made on first start, and the signing of node
 * certificates.  The CA key never leaves ca.key (mode 0600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pxe.h"
#include "util.h"

#define CA_DAYS      7300		/* 20 years */
#define BACKDATE_S   3600		/* tolerate a node clock an hour behind */
#define SERIAL_BITS  159

void pxe_ca_init(struct pxe_ca *ca)
{
	memset(ca, 0, sizeof(*ca));
}

void pxe_ca_dispose(struct pxe_ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->cert_pem);
	free(ca->dir);
	pxe_ca_init(ca);
}

/* The first OpenSSL error, for messages. */
static const char *ssl_err(void)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	return e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e)
					      : "unknown OpenSSL error"
		 : "OpenSSL failed";
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EINVAL;
	ok = X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return ok == 1 ? 0 : -ENOMEM;
}

static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int rc = -ENOMEM;

	if (bn && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		rc = 0;
	BN_free(bn);
	return rc;
}

static int set_validity(X509 *x, time_t now, unsigned days)
{
	if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -BACKDATE_S, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now))
		return -EINVAL;
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static int mem_pem(BIO *bio, char **out)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	*out = len > 0 ? strndup(data, (size_t)len) : NULL;
	return *out ? 0 : -ENOMEM;
}

static int ca_create(struct pxe_ca *ca, const char *cluster, char *err)
{
	char cn[PXE_NAME_MAX + 16], *key_pem = NULL;
	X509_NAME *name;
	BIO *bio = NULL;
	int rc = -ENOMEM;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = X509_new();
	if (!ca->key || !ca->cert) {
		snprintf(err, PXE_ERR_LEN, "cannot make the CA key: %s", ssl_err());
		goto out;
	}
	snprintf(cn, sizeof(cn), "xenrack %s CA", cluster);
	name = X509_get_subject_name(ca->cert);
	if (X509_set_version(ca->cert, X509_VERSION_3) != 1 || set_serial(ca->cert) ||
	    set_validity(ca->cert, time(NULL), CA_DAYS) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"xenrack", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    X509_set_issuer_name(ca->cert, name) != 1 ||
	    X509_set_pubkey(ca->cert, ca->key) != 1 ||
	    add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    add_ext(ca->cert, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256())) {
		snprintf(err, PXE_ERR_LEN, "cannot make the CA certificate: %s", ssl_err());
		rc = -EINVAL;
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PrivateKey(bio, ca->key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    mem_pem(bio, &key_pem))
		goto out;
	ca->cert_pem = pxe_pem_x509(ca->cert);
	if (!ca->cert_pem)
		goto out;
	/* the key first: a certificate without its key would be useless */
	rc = xr_write_atomic(ca->dir, "ca.key", key_pem, strlen(key_pem), 0600);
	if (!rc) {
		rc = xr_write_atomic(ca->dir, "ca.crt", ca->cert_pem,
				      strlen(ca->cert_pem), 0644);
		/* No half-made CA: a key alone would block every later start. */
		if (rc)
			pxe_unlink_at(ca->dir, "ca.key");
	}
	if (rc)
		snprintf(err, PXE_ERR_LEN, "%s: cannot write the CA: %s", ca->dir,
			 strerror(-rc));
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
	BIO_free(bio);
	return rc;
}

static int ca_load(struct pxe_ca *ca, const char *key_path, const char *crt_path,
		   char *err)
{
	struct stat st;
	FILE *f = NULL;
	int rc = -EINVAL;

	/* Check the mode of the file we read, not of whatever the path was. */
	f = fopen(key_path, "re");
	if (!f || fstat(fileno(f), &st)) {
		rc = -errno;
		snprintf(err, PXE_ERR_LEN, "%s: %s", key_path, strerror(errno));
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, PXE_ERR_LEN, "%s: mode %04o lets others read the CA key; "
			 "chmod 600 it", key_path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	if (!(ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		snprintf(err, PXE_ERR_LEN, "%s: not a PEM private key", key_path);
		goto out;
	}
	fclose(f);
	f = fopen(crt_path, "re");
	if (!f || !(ca->cert = PEM_read_X509(f, NULL, NULL, NULL))) {
		snprintf(err, PXE_ERR_LEN, "%s: not a PEM certificate", crt_path);
		goto out;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		snprintf(err, PXE_ERR_LEN, "%s does not belong to %s", crt_path, key_path);
		goto out;
	}
	if (X509_check_ca(ca->cert) < 1) {
		snprintf(err, PXE_ERR_LEN, "%s: not a CA certificate", crt_path);
		goto out;
	}
	ca->cert_pem = pxe_pem_x509(ca->cert);
	rc = ca->cert_pem ? 0 : -ENOMEM;
out:
	ERR_clear_error();
	if (f)
		fclose(f);
	return rc;
}

int pxe_ca_open(struct pxe_ca *ca, const char *state_dir, const char *cluster,
		char *err)
{
	char *key_path = NULL, *crt_path = NULL;
	bool has_key, has_crt;
	int rc = -ENOMEM;

	ca->dir = strdup(state_dir);
	key_path = path_in(state_dir, "ca.key");
	crt_path = path_in(state_dir, "ca.crt");
	if (!ca->dir || !key_path || !crt_path) {
		snprintf(err, PXE_ERR_LEN, "out of memory");
		goto out;
	}
	has_key = !access(key_path, F_OK);
	has_crt = !access(crt_path, F_OK);
	if (has_key && has_crt) {
		rc = ca_load(ca, key_path, crt_path, err);
	} else if (!has_key && !has_crt) {
		rc = ca_create(ca, cluster, err);
		if (!rc)
			log_info("created the cluster CA: %s and %s", crt_path, key_path);
	} else {
		snprintf(err, PXE_ERR_LEN, "%s exists but %s does not; restore it, or "
			 "remove both to make a new CA (every node must then enrol again)",
			 has_key ? key_path : crt_path, has_key ? crt_path : key_path);
		rc = -ENOENT;
	}
out:
	free(key_path);
	free(crt_path);
	return rc;
}

/* Which public keys a node may have. */
static const char *key_refused(EVP_PKEY *pub)
{
	char group[32];

	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL) != 1)
			return "EC key without a named curve";
		if (strcmp(group, "prime256v1") && strcmp(group, "secp384r1"))
			return "EC curve not P-256 or P-384";
		return NULL;
	case EVP_PKEY_ED25519:
		return NULL;
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(pub) < 2048 ? "RSA key shorter than 2048 bits" : NULL;
	default:
		return "key type not EC, Ed25519 or RSA";
	}
}

int pxe_ca_sign(struct pxe_ca *ca, X509_REQ *req, const struct pxe_node *n,
		unsigned days, time_t now, X509 **out, char *err)
{
	char san[PXE_NAME_MAX + 32], ip[INET_ADDRSTRLEN];
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	X509 *x = NULL;
	X509_NAME *name;
	const char *why;
	int rc = -EBADMSG;

	*out = NULL;
	if (!pub) {
		snprintf(err, PXE_ERR_LEN, "csr: no readable public key");
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		snprintf(err, PXE_ERR_LEN, "csr: its signature does not verify "
			 "(it was not made with the key it carries)");
		goto out;
	}
	why = key_refused(pub);
	if (why) {
		snprintf(err, PXE_ERR_LEN, "csr: %s", why);
		goto out;
	}
	if (EVP_PKEY_eq(pub, ca->key) == 1) {
		snprintf(err, PXE_ERR_LEN, "csr: carries the CA's own key");
		goto out;
	}
	rc = -ENOMEM;
	x = X509_new();
	if (!x)
		goto out;
	inet_ntop(AF_INET, &n->addr, ip, sizeof(ip));
	snprintf(san, sizeof(san), "DNS:%s,IP:%s", n->name, ip);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) ||
	    set_validity(x, now, days) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)n->name, -1, -1, 0) ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_set_pubkey(x, pub) != 1 ||
	    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, ca->cert, NID_key_usage,
		    EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA
		    ? "critical,digitalSignature,keyEncipherment"
		    : "critical,digitalSignature") ||
	    add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    add_ext(x, ca->cert, NID_subject_alt_name, san) ||
	    add_ext(x, ca->cert, NID_subject_key_identifier, "hash") ||
	    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always")) {
		snprintf(err, PXE_ERR_LEN, "cannot build the certificate: %s", ssl_err());
		rc = -EINVAL;
		goto out;
	}
	/* a node certificate never outlives its CA */
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) != 1)
		goto out;
	if (!X509_sign(x, ca->key, EVP_sha256())) {
		snprintf(err, PXE_ERR_LEN, "cannot sign: %s", ssl_err());
		rc = -EINVAL;
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	return rc;
}

/*
 * node.c - the node side of enrolment: the kernel command line, the node's
 * own key and CSR, and the checks on what bootd answers.
 *
 * The key is made here and only its CSR is sent: the private key never
 * leaves the node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pxe.h"

int pxe_cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	int rc = -ENOENT;

	while (*p) {
		char word[4096];
		size_t n = 0;
		bool quoted = false, truncated = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (n + 1 < sizeof(word))
				word[n++] = *p;
			else
				truncated = true;
		}
		word[n] = '\0';
		if (n <= klen || memcmp(word, key, klen) || word[klen] != '=')
			continue;
		if (truncated || n - klen - 1 >= len) {
			rc = -ENAMETOOLONG;
			continue;
		}
		memcpy(buf, word + klen + 1, n - klen);
		rc = 0;
	}
	return rc;
}

int pxe_node_keygen(EVP_PKEY **key)
{
	*key = EVP_EC_gen("P-256");
	ERR_clear_error();
	return *key ? 0 : -ENOMEM;
}

int pxe_node_csr(EVP_PKEY *key, const char *name, char **pem)
{
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -ENOMEM;

	*pem = NULL;
	if (!req || !bio ||
	    X509_REQ_set_version(req, 0) != 1 ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
					MBSTRING_ASC, (const unsigned char *)name,
					-1, -1, 0) ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len > 0 && (*pem = strndup(data, (size_t)len)))
		rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_REQ_free(req);
	return rc;
}

static X509 *read_pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

int pxe_node_verify(EVP_PKEY *key, const char *name, const char *cert_pem,
		    const char *ca_pem, char *err)
{
	X509 *cert = read_pem_cert(cert_pem), *ca = read_pem_cert(ca_pem);
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	int rc = -EBADMSG;

	if (!cert) {
		snprintf(err, PXE_ERR_LEN, "certificate: not a PEM certificate");
		goto out;
	}
	if (!ca) {
		snprintf(err, PXE_ERR_LEN, "ca: not a PEM certificate");
		goto out;
	}
	if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, PXE_ERR_LEN, "certificate: not for this node's key");
		goto out;
	}
	if (X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
		snprintf(err, PXE_ERR_LEN, "certificate: not for the name %s", name);
		goto out;
	}
	if (X509_check_ca(ca) < 1 || !X509_self_signed(ca, 1)) {
		snprintf(err, PXE_ERR_LEN, "ca: not a self-signed CA certificate");
		goto out;
	}
	if (X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1) {
		snprintf(err, PXE_ERR_LEN, "certificate: not usable by a TLS server");
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx || X509_STORE_add_cert(store, ca) != 1 ||
	    X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) {
		snprintf(err, PXE_ERR_LEN, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, PXE_ERR_LEN, "certificate does not chain to the CA: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
	X509_free(ca);
	return rc;
}

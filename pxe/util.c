/*
 * util.c - helpers shared by bootd and xenrack-enrol: atomic file writes,
 * PEM text, public-key fingerprints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pxe.h"


void pxe_unlink_at(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return;
	unlink(path);
	free(path);
}

char *pxe_pem_x509(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long len;

	if (!bio)
		return NULL;
	if (PEM_write_bio_X509(bio, x) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0)
			out = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return out;
}

int pxe_key_hash(EVP_PKEY *key, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 32;
	int len, rc = 0;

	len = i2d_PUBKEY(key, &der);
	if (len <= 0)
		return -EINVAL;
	if (EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) != 1)
		rc = -EINVAL;
	OPENSSL_free(der);
	return rc;
}

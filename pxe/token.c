/*
 * token.c - one-time enrolment tokens, one slot per inventory node.
 *
 * Each script fetch puts a fresh token in the node's slot (the previous one
 * stops working).  A token enrols one key once and expires after the TTL.
 * Presenting it again for the same key returns the same certificate, so a
 * node whose first answer was lost can ask again; any other key is refused.
 * Tokens live in memory only: a restart of bootd voids them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "pxe.h"

int pxe_tok_init(struct pxe_tokens *t, size_t n, unsigned ttl)
{
	t->v = calloc(n ? n : 1, sizeof(*t->v));
	t->n = n;
	t->ttl = ttl;
	return t->v ? 0 : -ENOMEM;
}

void pxe_tok_dispose(struct pxe_tokens *t)
{
	size_t i;

	for (i = 0; t->v && i < t->n; i++) {
		free(t->v[i].cert_pem);
		OPENSSL_cleanse(t->v[i].tok, sizeof(t->v[i].tok));
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

int pxe_tok_issue(struct pxe_tokens *t, size_t idx, time_t now,
		  char out[PXE_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	struct pxe_token *k;
	uint8_t rnd[PXE_TOKEN_LEN / 2];
	size_t i;

	if (idx >= t->n)
		return -EINVAL;
	k = &t->v[idx];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	free(k->cert_pem);
	memset(k, 0, sizeof(*k));
	for (i = 0; i < sizeof(rnd); i++) {
		k->tok[2 * i] = hex[rnd[i] >> 4];
		k->tok[2 * i + 1] = hex[rnd[i] & 15];
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	k->state = PXE_TOK_ISSUED;
	k->expires = now + (time_t)t->ttl;
	memcpy(out, k->tok, sizeof(k->tok));
	return 0;
}

int pxe_tok_check(const struct pxe_tokens *t, size_t idx, const char *token,
		  time_t now, const uint8_t key_hash[32])
{
	const struct pxe_token *k;

	if (idx >= t->n)
		return -ENOENT;
	k = &t->v[idx];
	if (k->state == PXE_TOK_NONE)
		return -ENOENT;
	if (strlen(token) != PXE_TOKEN_LEN ||
	    CRYPTO_memcmp(token, k->tok, PXE_TOKEN_LEN))
		return -EACCES;
	if (now >= k->expires)
		return -ETIMEDOUT;
	if (k->state == PXE_TOK_USED)
		return CRYPTO_memcmp(key_hash, k->key_hash, 32) ? -EALREADY : 1;
	return 0;
}

int pxe_tok_redeem(struct pxe_tokens *t, size_t idx, const uint8_t key_hash[32],
		   const char *cert_pem)
{
	struct pxe_token *k;
	char *pem;

	if (idx >= t->n)
		return -EINVAL;
	k = &t->v[idx];
	pem = strdup(cert_pem);
	if (!pem)
		return -ENOMEM;
	free(k->cert_pem);
	k->cert_pem = pem;
	memcpy(k->key_hash, key_hash, 32);
	k->state = PXE_TOK_USED;
	return 0;
}

const char *pxe_tok_strerror(int rc)
{
	switch (rc) {
	case 0:		return "token valid";
	case 1:		return "token already redeemed for this key";
	case -ENOENT:	return "no enrolment token was issued for this node "
			       "(boot it through bootd to get one)";
	case -EACCES:	return "wrong token: not the one bootd last issued for this "
			       "node (was the node's boot script fetched again?)";
	case -ETIMEDOUT: return "token expired; reboot the node to get a new one";
	case -EALREADY:	return "token already used; reboot the node to get a new one";
	default:	return "token refused";
	}
}

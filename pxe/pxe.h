/*
 * pxe.h - the boot module: bootd (the boot service of the rack) and the
 * node-side enrolment client xenrack-enrol.
 *
 * bootd reads an inventory (pxe_inv_*), drives dnsmasq for DHCP and TFTP
 * (pxe_dhcp_*), serves per-MAC iPXE scripts (pxe_script_*) and images over
 * HTTP (pxe_http_*), hands every script a one-time enrolment token
 * (pxe_tok_*) and signs the node's CSR with the cluster CA (pxe_ca_*,
 * pxe_enrol_*).  The node side (pxe_cmdline_*, pxe_node_*) makes its own
 * key, which never leaves the node.  See docs/pxe.md and docs/trust.md.
 */
#ifndef XR_PXE_H
#define XR_PXE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/types.h>
#include <openssl/x509.h>

struct json_object;

#define PXE_NAME_MAX       63		/* a node or cluster name: one DNS label */
#define PXE_MAX_NODES      4096
#define PXE_INV_MAX_BYTES  (1u << 20)	/* an inventory larger than 1 MiB is refused */
#define PXE_LINE_MAX       1024
#define PXE_ARGS_MAX       300		/* bytes of a Xen or Dom0 command line */
#define PXE_URL_MAX        64		/* "http://255.255.255.255:65535" fits */
#define PXE_MB_CMDLINE_MAX 512		/* iPXE's multiboot command-line buffer */
#define PXE_TOKEN_LEN      32		/* hex digits: 128 random bits */
#define PXE_ENROL_MAX_BODY (64u << 10)	/* an enrolment request is at most 64 KiB */
#define PXE_ERR_LEN        256

#define PXE_DEFAULT_CLUSTER   "xenrack"
#define PXE_DEFAULT_XEN_ARGS  "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M"
#define PXE_DEFAULT_DOM0_ARGS "console=hvc0"
#define PXE_DEFAULT_TOKEN_TTL 600	/* seconds */
#define PXE_DEFAULT_CERT_DAYS 3650

/* ---- names, MAC addresses, command-line words ---- */

/**
 * pxe_name_check - why @s is not a valid node or cluster name
 * A name is one DNS label: 1 to 63 of a-z, 0-9 and '-', not starting or
 * ending with '-'.  Return: NULL when valid, else a reason ("uppercase
 * letter"); @bad (may be NULL) receives the offending byte's offset.
 */
const char *pxe_name_check(const char *s, size_t *bad);

/**
 * pxe_mac_parse - read "52:54:00:ab:cd:ef" (or with '-' between octets)
 * Return: 0, or -EINVAL when @s is not exactly six hex octets.
 */
int pxe_mac_parse(const char *s, uint8_t mac[6]);

/** pxe_mac_format - write @mac as lowercase "52:54:00:ab:cd:ef" into @buf (18 bytes) */
void pxe_mac_format(const uint8_t mac[6], char buf[18]);

/**
 * pxe_args_check - whether @s may go on a command line in an iPXE script
 * Allowed: letters, digits, space and , . : = _ / + @ % -
 * (no '$', quotes or backslash, which iPXE would expand).
 * Return: -1 when fine, else the offset of the first refused byte.
 */
long pxe_args_check(const char *s);

/* ---- inventory ---- */

struct pxe_node {
	char name[PXE_NAME_MAX + 1];
	uint8_t mac[6];
	struct in_addr addr;
	unsigned line;		/* where it was defined */
};

struct pxe_inventory {
	char *file;			/* name shown in messages */
	char cluster[PXE_NAME_MAX + 1];	/* "" when the file does not say */
	char *xen_args;			/* NULL when the file does not say */
	char *dom0_args;
	struct pxe_node *nodes;
	size_t n;
};

void pxe_inv_init(struct pxe_inventory *inv);
void pxe_inv_dispose(struct pxe_inventory *inv);

/**
 * pxe_inv_parse - parse inventory text
 * @inv:  initialised inventory, filled on return
 * @file: name used in messages ("rack.inv")
 * @text: the bytes (need not be NUL-terminated)
 * @len:  their number
 * @err:  receives one "FILE:LINE:COL: message" line per error
 * Return: 0, or -EINVAL when at least one error was written to @err.
 * On error @inv must still be disposed but must not be used.
 */
int pxe_inv_parse(struct pxe_inventory *inv, const char *file,
		  const char *text, size_t len, FILE *err);

/**
 * pxe_inv_load - read and parse the inventory file @path
 * Return: 0; -EINVAL after errors written to @err; other negative errno
 * when the file cannot be read (also reported on @err).
 */
int pxe_inv_load(struct pxe_inventory *inv, const char *path, FILE *err);

/** pxe_inv_by_mac - the node with @mac, or NULL */
const struct pxe_node *pxe_inv_by_mac(const struct pxe_inventory *inv,
				      const uint8_t mac[6]);

/** pxe_inv_by_name - the node called @name, or NULL */
const struct pxe_node *pxe_inv_by_name(const struct pxe_inventory *inv,
				       const char *name);

/* ---- iPXE scripts ---- */

struct pxe_boot {
	char url[PXE_URL_MAX];	/* bootd as nodes reach it: "http://10.99.0.1:8080" */
	char images[PXE_URL_MAX]; /* where the images are: URL "/images", or
				   * "tftp://ADDR/images" with --images-over tftp */
	bool tftp;		/* images over TFTP (for comparison; HTTP is faster) */
	const char *xen_args;
	const char *dom0_args;
};

/**
 * pxe_boot_urls - set @b's URLs for bootd at @addr:@port (HTTP) and, by
 * @b->tftp, the images' base over HTTP or TFTP
 */
void pxe_boot_urls(struct pxe_boot *b, const char *addr, unsigned port);

/**
 * pxe_script_mb_len - bytes the multiboot command lines of one boot need
 * iPXE stores, for the kernel and each module, the image URI, a space, its
 * command line and a NUL in one PXE_MB_CMDLINE_MAX-byte buffer; the Dom0
 * line carries a PXE_TOKEN_LEN-digit token.
 * Return: the number of bytes.
 */
size_t pxe_script_mb_len(const struct pxe_boot *b, const struct pxe_node *n);

/**
 * pxe_script_check - whether every node of @inv gets a script that fits
 * Return: 0, or -E2BIG with the longest one reported on @err.
 */
int pxe_script_check(const struct pxe_boot *b, const struct pxe_inventory *inv,
		     FILE *err);

/**
 * pxe_script_node - the iPXE script that boots node @n
 * @token: its enrolment token (PXE_TOKEN_LEN hex digits)
 * @out:   receives the script (caller frees)
 * Return: 0, -E2BIG when the multiboot command lines would not fit, or
 * -ENOMEM.
 */
int pxe_script_node(const struct pxe_boot *b, const struct pxe_node *n,
		    const char *token, char **out);

/**
 * pxe_script_unknown - the script for a MAC not in the inventory: it says
 * so on the node's console and does not boot
 * Return: 0 or -ENOMEM.
 */
int pxe_script_unknown(const struct pxe_boot *b, const uint8_t mac[6], char **out);

/**
 * pxe_script_chain - the script dnsmasq hands to iPXE clients: it chains
 * to /boot/MAC.ipxe for the interface that booted
 * Return: 0 or -ENOMEM.
 */
int pxe_script_chain(const struct pxe_boot *b, char **out);

/* ---- one-time enrolment tokens ---- */

enum pxe_tok_state { PXE_TOK_NONE, PXE_TOK_ISSUED, PXE_TOK_USED };

struct pxe_token {
	enum pxe_tok_state state;
	char tok[PXE_TOKEN_LEN + 1];
	time_t expires;
	uint8_t key_hash[32];	/* SHA-256 of the public key it enrolled */
	char *cert_pem;		/* the certificate it was redeemed for */
};

/* One slot per inventory node (same index). */
struct pxe_tokens {
	struct pxe_token *v;
	size_t n;
	unsigned ttl;		/* seconds a token stays valid */
};

/**
 * pxe_tok_init - @n empty slots, tokens valid @ttl seconds
 * Return: 0 or -ENOMEM.
 */
int pxe_tok_init(struct pxe_tokens *t, size_t n, unsigned ttl);
void pxe_tok_dispose(struct pxe_tokens *t);

/**
 * pxe_tok_issue - a fresh random token for node @idx, replacing any other
 * @out: receives PXE_TOKEN_LEN hex digits and a NUL
 * Return: 0, or a negative errno when no randomness is available.
 */
int pxe_tok_issue(struct pxe_tokens *t, size_t idx, time_t now,
		  char out[PXE_TOKEN_LEN + 1]);

/**
 * pxe_tok_check - may @token enrol node @idx's key @key_hash now?
 * Return: 0 when it is valid and unused; 1 when it was already redeemed
 * for this very key (a retry: answer with the stored certificate);
 * -ENOENT no token was issued; -EACCES not the node's current token;
 * -ETIMEDOUT expired; -EALREADY already used for another key.
 */
int pxe_tok_check(const struct pxe_tokens *t, size_t idx, const char *token,
		  time_t now, const uint8_t key_hash[32]);

/**
 * pxe_tok_redeem - mark node @idx's token used by @key_hash
 * @cert_pem: the certificate issued (copied)
 * Return: 0 or -ENOMEM.
 */
int pxe_tok_redeem(struct pxe_tokens *t, size_t idx, const uint8_t key_hash[32],
		   const char *cert_pem);

/** pxe_tok_strerror - what a pxe_tok_check() result means, for the client */
const char *pxe_tok_strerror(int rc);

/* ---- the cluster CA ---- */

struct pxe_ca {
	EVP_PKEY *key;
	X509 *cert;
	char *cert_pem;
	char *dir;		/* the state directory */
};

void pxe_ca_init(struct pxe_ca *ca);
void pxe_ca_dispose(struct pxe_ca *ca);

/**
 * pxe_ca_open - load STATE/ca.key and ca.crt, creating them on first use
 * @cluster: goes in the CA's name when it is created
 * @err:     receives the reason on failure (PXE_ERR_LEN bytes)
 * Return: 0, or a negative errno.  A half-present CA is an error, never
 * overwritten.
 */
int pxe_ca_open(struct pxe_ca *ca, const char *state_dir, const char *cluster,
		char *err);

/**
 * pxe_ca_sign - certificate for node @n over the public key of @req
 * The CSR's signature is checked (proof that the requester holds the key);
 * its subject and extensions are ignored: CN and SAN (DNS name, IP address)
 * come from the inventory; EKU serverAuth + clientAuth; random serial.
 * @out: receives the certificate
 * Return: 0, -EBADMSG (bad CSR, reason in @err) or another negative errno.
 */
int pxe_ca_sign(struct pxe_ca *ca, X509_REQ *req, const struct pxe_node *n,
		unsigned days, time_t now, X509 **out, char *err);

/** pxe_pem_x509 - @x as PEM text (caller frees), or NULL */
char *pxe_pem_x509(X509 *x);

/**
 * pxe_key_hash - SHA-256 of the DER SubjectPublicKeyInfo of @key
 * Return: 0 or -EINVAL.
 */
int pxe_key_hash(EVP_PKEY *key, uint8_t out[32]);

/* ---- the enrolment exchange (server side) ---- */

struct pxe_server {
	const struct pxe_inventory *inv;
	const char *cluster;
	const char *qnetd;	/* corosync-qnetd's address, or NULL */
	unsigned token;		/* corosync's token timeout (ms), 0: the default */
	struct pxe_boot boot;
	struct pxe_tokens tokens;
	struct pxe_ca ca;
	const char *state_dir;
	int images_fd;		/* the images directory */
	unsigned cert_days;
	bool any_source;	/* skip the source-address checks (tests on loopback) */
};

/**
 * pxe_enrol - handle one POST /enrol
 * @body:   the request body: {"node", "token", "csr"}
 * @peer:   the requester's address (checked against the inventory)
 * @status: receives the HTTP status (200, 400, 403, 500)
 * @reply:  receives a JSON object as text (caller frees): on success the
 *          certificate, the CA and the enrolment data, else {"error": ...}
 * Return: 0 when @reply was produced, -ENOMEM otherwise.
 */
int pxe_enrol(struct pxe_server *s, const char *body, size_t len,
	      const struct in_addr *peer, time_t now, unsigned *status,
	      char **reply);

/**
 * pxe_issue_script - GET /boot/MAC.ipxe: the script for @mac_text,
 * issuing a token when the node is known and @peer may ask for it
 * @status: receives the HTTP status
 * Return: 0 when @out holds a script or a message, -ENOMEM otherwise.
 */
int pxe_issue_script(struct pxe_server *s, const char *mac_text,
		     const struct in_addr *peer, time_t now, unsigned *status,
		     char **out);

/* ---- the HTTP server ---- */

struct MHD_Daemon;

/**
 * pxe_http_start - serve @s on @addr:@port (0: any free port)
 * @bound: receives the port actually bound; @s->boot.url is set to
 *         http://ADDR:PORT before the first request is handled
 * Return: 0, or a negative errno with the reason in @err.
 */
int pxe_http_start(struct pxe_server *s, struct in_addr addr, unsigned port,
		   struct MHD_Daemon **d, unsigned *bound, char *err);

/** pxe_http_stop - stop serving; @d may be NULL */
void pxe_http_stop(struct MHD_Daemon *d);

/* ---- dnsmasq ---- */

struct pxe_dhcp {
	const char *iface;
	struct in_addr net, mask;	/* the subnet served (from the interface) */
	bool proxy;			/* proxyDHCP: another server hands out addresses */
	const char *range;		/* "START,END" dynamic pool, or NULL */
	const char *tftp_root;		/* where the iPXE binaries are */
	const char *state_dir;
};

/**
 * pxe_dhcp_write_conf - write dnsmasq's configuration for @inv to @f
 * Return: 0, or -EIO when @f failed.
 */
int pxe_dhcp_write_conf(FILE *f, const struct pxe_dhcp *d,
			const struct pxe_inventory *inv, const struct pxe_boot *b);

/**
 * pxe_dhcp_iface - the IPv4 address and subnet of interface @iface
 * Return: 0, -ENODEV or -EADDRNOTAVAIL (reason in @err).
 */
int pxe_dhcp_iface(const char *iface, struct in_addr *addr,
		   struct in_addr *mask, char *err);

/**
 * pxe_dhcp_start - write STATE/dnsmasq.conf and start dnsmasq on it
 * @pid: receives the child's pid
 * Return: 0, or a negative errno with the reason in @err.
 */
int pxe_dhcp_start(const struct pxe_dhcp *d, const struct pxe_inventory *inv,
		   const struct pxe_boot *b, const char *dnsmasq, pid_t *pid,
		   char *err);

/**
 * pxe_dhcp_stop - SIGTERM dnsmasq, SIGKILL after 5 s, and reap it
 * Return: 0, or a negative errno.
 */
int pxe_dhcp_stop(pid_t pid);

/* ---- the node side ---- */

/**
 * pxe_cmdline_get - value of "KEY=VALUE" on a kernel command line
 * Double quotes around a word are removed, as the kernel does; the last
 * occurrence wins.
 * @buf: receives the value, NUL-terminated
 * Return: 0, -ENOENT when absent, -ENAMETOOLONG when it does not fit.
 */
int pxe_cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);

/**
 * pxe_node_keygen - a new P-256 key for this node
 * Return: 0, or -ENOMEM.
 */
int pxe_node_keygen(EVP_PKEY **key);

/**
 * pxe_node_csr - a PEM certificate request for @name over @key
 * Return: 0 with @pem set (caller frees), or -ENOMEM.
 */
int pxe_node_csr(EVP_PKEY *key, const char *name, char **pem);

/**
 * pxe_node_verify - check what bootd answered before trusting it
 * The certificate must be for @key and @name, and chain to @ca_pem, a
 * self-signed CA certificate.  The clock is not checked: a node's clock
 * may be wrong at boot.
 * Return: 0, or -EBADMSG with the reason in @err.
 */
int pxe_node_verify(EVP_PKEY *key, const char *name, const char *cert_pem,
		    const char *ca_pem, char *err);

/**
 * pxe_corosync_conf - corosync.conf for a node, from its enrolment data
 * (cluster, nodes[] {name, address}, optional qnetd); every string checked
 * Return: 0 and the text in *@out (caller frees), or -EINVAL with the
 * field in @err.
 */
int pxe_corosync_conf(struct json_object *data, char **out, char *err);

/** pxe_unlink_at - remove @dir/@name, ignoring a missing file */
void pxe_unlink_at(const char *dir, const char *name);

#endif

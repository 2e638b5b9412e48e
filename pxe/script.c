/*
 * script.c - the iPXE scripts bootd serves.
 *
 * A node's script loads Xen as a multiboot kernel and the Dom0 kernel and
 * initramfs as modules.  iPXE keeps every image's URI and command line in
 * one 512-byte buffer and cuts silently at the end, so the lengths are
 * counted here and a script that would not fit is refused.  No script text
 * comes from the network: names, addresses and arguments were checked when
 * the inventory and options were read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pxe.h"

#define IMG_XEN    "/xen"
#define IMG_KERNEL "/vmlinuz"
#define IMG_INITRD "/initrd.img"
#define RETRY_S    30

void pxe_boot_urls(struct pxe_boot *b, const char *addr, unsigned port)
{
	snprintf(b->url, sizeof(b->url), "http://%s:%u", addr, port);
	snprintf(b->images, sizeof(b->images), "%s://%s:%u/images",
		 b->tftp ? "tftp" : "http", addr, b->tftp ? 69 : port);
}

/* "ARGS xenrack.node=N xenrack.bootd=URL xenrack.token=T"; caller frees */
static char *dom0_line(const struct pxe_boot *b, const struct pxe_node *n,
		       const char *token)
{
	char *s = NULL;

	if (asprintf(&s, "%s%sxenrack.node=%s xenrack.bootd=%s xenrack.token=%s",
		     b->dom0_args, b->dom0_args[0] ? " " : "", n->name, b->url,
		     token) < 0)
		return NULL;
	return s;
}

size_t pxe_script_mb_len(const struct pxe_boot *b, const struct pxe_node *n)
{
	static const char fake[PXE_TOKEN_LEN + 1] =
		"00000000000000000000000000000000";
	size_t url = strlen(b->images), len = 0;
	char *dom0 = dom0_line(b, n, fake);

	_Static_assert(sizeof(fake) == PXE_TOKEN_LEN + 1, "token length");
	/* URI, space, command line, NUL for each image */
	len += url + strlen(IMG_XEN) + 1 + strlen(b->xen_args) + 1;
	len += url + strlen(IMG_KERNEL) + 1 + (dom0 ? strlen(dom0) : 4096) + 1;
	len += url + strlen(IMG_INITRD) + 1;
	free(dom0);
	return len;
}

int pxe_script_check(const struct pxe_boot *b, const struct pxe_inventory *inv,
		     FILE *err)
{
	const struct pxe_node *worst = NULL;
	size_t i, max = 0;

	for (i = 0; i < inv->n; i++) {
		size_t len = pxe_script_mb_len(b, &inv->nodes[i]);

		if (len > max) {
			max = len;
			worst = &inv->nodes[i];
		}
	}
	if (max <= PXE_MB_CMDLINE_MAX)
		return 0;
	fprintf(err, "%s:%u: node %s: the multiboot command lines need %zu bytes, "
		"iPXE holds %u; shorten the Xen or Dom0 arguments by %zu\n",
		inv->file, worst->line, worst->name, max, PXE_MB_CMDLINE_MAX,
		max - PXE_MB_CMDLINE_MAX);
	return -E2BIG;
}

int pxe_script_node(const struct pxe_boot *b, const struct pxe_node *n,
		    const char *token, char **out)
{
	char mac[18], addr[INET_ADDRSTRLEN], *dom0;
	int r;

	*out = NULL;
	if (pxe_script_mb_len(b, n) > PXE_MB_CMDLINE_MAX)
		return -E2BIG;
	dom0 = dom0_line(b, n, token);
	if (!dom0)
		return -ENOMEM;
	pxe_mac_format(n->mac, mac);
	inet_ntop(AF_INET, &n->addr, addr, sizeof(addr));
	r = asprintf(out,
		     "#!ipxe\n"
		     "# xenrack node %s, MAC %s, address %s\n"
		     "echo xenrack: booting %s at %s from %s\n"
		     "kernel %s" IMG_XEN " %s || goto failed\n"
		     "module %s" IMG_KERNEL " %s || goto failed\n"
		     "module %s" IMG_INITRD " || goto failed\n"
		     "boot || goto failed\n"
		     ":failed\n"
		     "echo xenrack: booting %s failed - trying again in %d seconds\n"
		     "sleep %d || exit 1\n"
		     "chain %s/boot/${netX/mac:hexhyp}.ipxe\n",
		     n->name, mac, addr,
		     n->name, addr, b->url,
		     b->images, b->xen_args,
		     b->images, dom0,
		     b->images,
		     n->name, RETRY_S, RETRY_S, b->url);
	free(dom0);
	if (r < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int pxe_script_unknown(const struct pxe_boot *b, const uint8_t mac[6], char **out)
{
	char m[18];

	pxe_mac_format(mac, m);
	if (asprintf(out,
		     "#!ipxe\n"
		     "echo\n"
		     "echo xenrack: this machine (MAC %s) is not in the inventory\n"
		     "echo xenrack: of bootd at %s - add it and reboot.\n"
		     "echo xenrack: not booting.\n"
		     "echo\n"
		     ":wait\n"
		     "sleep 3600 || exit 1\n"
		     "goto wait\n", m, b->url) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int pxe_script_chain(const struct pxe_boot *b, char **out)
{
	if (asprintf(out, "#!ipxe\nchain %s/boot/${netX/mac:hexhyp}.ipxe\n",
		     b->url) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

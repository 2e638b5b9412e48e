/*
 * inventory.c - the rack inventory: which MAC is which node at which address.
 *
 *   # comment
 *   cluster   rack1
 *   xen-args  console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M
 *   dom0-args console=hvc0
 *   node1     52:54:00:00:00:01  10.99.0.11
 *
 * Every complaint is one "FILE:LINE:COL: message" line.  Format: docs/pxe.md.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pxe.h"
#include "util.h"

#define MAX_WORDS 4		/* keyword lines keep the rest of the line whole */

struct word {
	const char *s;		/* not NUL-terminated */
	size_t len;
	unsigned col;		/* 1-based */
};

struct parser {
	struct pxe_inventory *inv;
	FILE *err;
	unsigned line;
	unsigned nerrors;
	unsigned cluster_line, xen_line, dom0_line;
};

static void perr(struct parser *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, unsigned col, const char *fmt, ...)
{
	va_list ap;

	p->nerrors++;
	if (!p->err)
		return;
	if (col)
		fprintf(p->err, "%s:%u:%u: ", p->inv->file, p->line, col);
	else
		fprintf(p->err, "%s:%u: ", p->inv->file, p->line);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
}

const char *pxe_name_check(const char *s, size_t *bad)
{
	size_t i, len = strlen(s);
	size_t dummy;

	if (!bad)
		bad = &dummy;
	*bad = 0;
	if (!len)
		return "empty name";
	if (len > PXE_NAME_MAX) {
		*bad = PXE_NAME_MAX;
		return "longer than 63 characters";
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		*bad = i;
		if (c >= 'A' && c <= 'Z')
			return "uppercase letter (names are lowercase)";
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-')
			return "only a-z, 0-9 and '-' are allowed";
	}
	*bad = 0;
	if (s[0] == '-')
		return "starts with '-'";
	*bad = len - 1;
	if (s[len - 1] == '-')
		return "ends with '-'";
	*bad = 0;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int pxe_mac_parse(const char *s, uint8_t mac[6])
{
	char sep = 0;
	int i;

	for (i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)s[0]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i == 5)
			break;
		if (!sep && (*s == ':' || *s == '-'))
			sep = *s;
		if (*s != sep)
			return -EINVAL;
		s++;
	}
	return *s ? -EINVAL : 0;
}

void pxe_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

long pxe_args_check(const char *s)
{
	static const char ok[] = " ,.:=_/+@%-";
	const char *p;

	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (!isalnum(c) && !strchr(ok, c))
			return p - s;
	}
	return -1;
}

void pxe_inv_init(struct pxe_inventory *inv)
{
	memset(inv, 0, sizeof(*inv));
}

void pxe_inv_dispose(struct pxe_inventory *inv)
{
	free(inv->file);
	free(inv->xen_args);
	free(inv->dom0_args);
	free(inv->nodes);
	pxe_inv_init(inv);
}

/* Split @line into at most MAX_WORDS words; the last takes the rest. */
static size_t split(const char *line, size_t len, struct word *w)
{
	size_t i = 0, n = 0;

	while (n < MAX_WORDS) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		w[n].s = line + i;
		w[n].col = (unsigned)i + 1;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		w[n].len = (size_t)(line + i - w[n].s);
		n++;
	}
	return n;
}

/* The rest of the line from word @w on, trailing blanks cut. */
static size_t rest_len(const char *line, size_t len, const struct word *w)
{
	size_t n = len - (size_t)(w->s - line);

	while (n && (w->s[n - 1] == ' ' || w->s[n - 1] == '\t'))
		n--;
	return n;
}

static bool word_is(const struct word *w, const char *s)
{
	return w->len == strlen(s) && !memcmp(w->s, s, w->len);
}

/* "xen-args ..." and "dom0-args ...": the rest of the line, checked. */
static void parse_args(struct parser *p, const char *line, size_t len,
		       struct word *w, size_t n, char **dst, unsigned *seen)
{
	char kw[16];
	size_t rl;
	long bad;
	char *v;

	snprintf(kw, sizeof(kw), "%.*s", (int)w[0].len, w[0].s);
	if (n < 2) {
		perr(p, (unsigned)len + 1, "'%s' needs a command line", kw);
		return;
	}
	if (*seen) {
		perr(p, 1, "%s set twice (first on line %u)", kw, *seen);
		return;
	}
	rl = rest_len(line, len, &w[1]);
	if (rl > PXE_ARGS_MAX) {
		perr(p, w[1].col, "%s: %zu bytes, at most %u", kw, rl, PXE_ARGS_MAX);
		return;
	}
	v = strndup(w[1].s, rl);
	if (!v) {
		perr(p, 0, "out of memory");
		return;
	}
	bad = pxe_args_check(v);
	if (bad >= 0) {
		perr(p, w[1].col + (unsigned)bad,
		     "%s: character '%c' not allowed (allowed: letters, digits, "
		     "space and , . : = _ / + @ %% -)", kw, v[bad]);
		free(v);
		return;
	}
	*seen = p->line;
	*dst = v;
}

static void parse_cluster(struct parser *p, const char *line, size_t len,
			  struct word *w, size_t n)
{
	char name[PXE_NAME_MAX + 2];
	const char *why;
	size_t bad;

	if (n < 2) {
		perr(p, (unsigned)len + 1, "'cluster' needs a name");
		return;
	}
	if (n > 2) {
		perr(p, w[2].col, "unexpected '%.*s' after the cluster name",
		     (int)rest_len(line, len, &w[2]), w[2].s);
		return;
	}
	if (p->cluster_line) {
		perr(p, 1, "cluster name set twice (first on line %u)", p->cluster_line);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)w[1].len, w[1].s);
	why = pxe_name_check(name, &bad);
	if (why) {
		perr(p, w[1].col + (unsigned)bad, "bad cluster name '%.*s': %s",
		     (int)w[1].len, w[1].s, why);
		return;
	}
	memcpy(p->inv->cluster, name, strlen(name) + 1);	/* checked: at most 63 */
	p->cluster_line = p->line;
}

/* Addresses a node cannot have: this network, loopback, multicast, broadcast. */
static const char *addr_check(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	if ((h >> 24) == 0)
		return "'this network' (0.0.0.0/8)";
	if ((h >> 24) == 127)
		return "loopback";
	if ((h >> 28) == 14)
		return "multicast";
	if ((h >> 28) == 15)
		return "reserved or broadcast";
	return NULL;
}

static void parse_node(struct parser *p, const char *line, size_t len,
		       struct word *w, size_t n)
{
	struct pxe_inventory *inv = p->inv;
	struct pxe_node node = { .line = p->line };
	char tmp[64];
	const char *why;
	size_t bad, i;

	if (w[0].len > PXE_NAME_MAX) {
		perr(p, w[0].col, "bad node name '%.*s...': longer than 63 characters",
		     20, w[0].s);
		return;
	}
	memcpy(node.name, w[0].s, w[0].len);
	why = pxe_name_check(node.name, &bad);
	if (why) {
		perr(p, w[0].col + (unsigned)bad, "bad node name '%s': %s", node.name, why);
		return;
	}
	if (n < 2) {
		perr(p, (unsigned)len + 1, "node %s: MAC address missing "
		     "(expected NAME MAC ADDRESS)", node.name);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)w[1].len, w[1].s);
	if (w[1].len >= sizeof(tmp) || pxe_mac_parse(tmp, node.mac)) {
		perr(p, w[1].col, "bad MAC address '%.*s' (expected six hex octets "
		     "like 52:54:00:00:00:01)", (int)(w[1].len > 40 ? 40 : w[1].len),
		     w[1].s);
		return;
	}
	if (node.mac[0] & 1) {
		perr(p, w[1].col, "MAC address %s is a multicast address, not a NIC's", tmp);
		return;
	}
	if (n < 3) {
		perr(p, (unsigned)len + 1, "node %s: IPv4 address missing "
		     "(expected NAME MAC ADDRESS)", node.name);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.*s", (int)w[2].len, w[2].s);
	if (w[2].len >= sizeof(tmp) || inet_pton(AF_INET, tmp, &node.addr) != 1) {
		perr(p, w[2].col, "bad IPv4 address '%.*s'",
		     (int)(w[2].len > 40 ? 40 : w[2].len), w[2].s);
		return;
	}
	why = addr_check(node.addr);
	if (why) {
		perr(p, w[2].col, "address %s is %s, not a node's", tmp, why);
		return;
	}
	if (n > 3) {
		perr(p, w[3].col, "unexpected '%.*s' after the address",
		     (int)(rest_len(line, len, &w[3]) > 40 ? 40 : rest_len(line, len, &w[3])),
		     w[3].s);
		return;
	}
	for (i = 0; i < inv->n; i++) {
		const struct pxe_node *o = &inv->nodes[i];

		if (!strcmp(o->name, node.name)) {
			perr(p, w[0].col, "node %s already defined on line %u",
			     node.name, o->line);
			return;
		}
		if (!memcmp(o->mac, node.mac, 6)) {
			pxe_mac_format(node.mac, tmp);
			perr(p, w[1].col, "MAC address %s already belongs to %s (line %u)",
			     tmp, o->name, o->line);
			return;
		}
		if (o->addr.s_addr == node.addr.s_addr) {
			perr(p, w[2].col, "address %s already belongs to %s (line %u)",
			     inet_ntoa(node.addr), o->name, o->line);
			return;
		}
	}
	if (inv->n >= PXE_MAX_NODES) {
		perr(p, 1, "more than %u nodes", PXE_MAX_NODES);
		return;
	}
	if (!inv->n || (inv->n >= 8 && !(inv->n & (inv->n - 1)))) {
		size_t cap = inv->n ? inv->n * 2 : 8;
		struct pxe_node *v = realloc(inv->nodes, cap * sizeof(*v));

		if (!v) {
			perr(p, 0, "out of memory");
			return;
		}
		inv->nodes = v;
	}
	inv->nodes[inv->n++] = node;
}

static void parse_line(struct parser *p, const char *line, size_t len)
{
	struct word w[MAX_WORDS];
	size_t n, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			perr(p, (unsigned)i + 1, "control character 0x%02x", c);
			return;
		}
	}
	/* a comment runs from a '#' at the start of a word to the end */
	for (i = 0; i < len; i++)
		if (line[i] == '#' && (!i || line[i - 1] == ' ' || line[i - 1] == '\t'))
			len = i;
	n = split(line, len, w);
	if (!n)
		return;
	if (word_is(&w[0], "cluster"))
		parse_cluster(p, line, len, w, n);
	else if (word_is(&w[0], "xen-args"))
		parse_args(p, line, len, w, n, &p->inv->xen_args, &p->xen_line);
	else if (word_is(&w[0], "dom0-args"))
		parse_args(p, line, len, w, n, &p->inv->dom0_args, &p->dom0_line);
	else
		parse_node(p, line, len, w, n);
}

int pxe_inv_parse(struct pxe_inventory *inv, const char *file,
		  const char *text, size_t len, FILE *err)
{
	struct parser p = { .inv = inv, .err = err };
	size_t pos = 0;

	inv->file = strdup(file);
	if (!inv->file)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (ll && text[pos + ll - 1] == '\r')
			ll--;
		if (ll > PXE_LINE_MAX)
			perr(&p, 0, "line longer than %u bytes", PXE_LINE_MAX);
		else
			parse_line(&p, text + pos, ll);
		pos += ll + 1;
		if (nl && text[pos - 1] == '\r')
			pos++;
	}
	return p.nerrors ? -EINVAL : 0;
}

int pxe_inv_load(struct pxe_inventory *inv, const char *path, FILE *err)
{
	char msg[512], *buf;
	size_t len;
	int rc;

	rc = xr_read_file(path, PXE_INV_MAX_BYTES, &buf, &len, "an inventory",
			  msg, sizeof(msg));
	if (rc) {
		fprintf(err, "%s\n", msg);
		return rc;
	}
	rc = pxe_inv_parse(inv, path, buf, len, err);
	free(buf);
	return rc;
}

const struct pxe_node *pxe_inv_by_mac(const struct pxe_inventory *inv,
				      const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < inv->n; i++)
		if (!memcmp(inv->nodes[i].mac, mac, 6))
			return &inv->nodes[i];
	return NULL;
}

const struct pxe_node *pxe_inv_by_name(const struct pxe_inventory *inv,
				       const char *name)
{
	size_t i;

	for (i = 0; i < inv->n; i++)
		if (!strcmp(inv->nodes[i].name, name))
			return &inv->nodes[i];
	return NULL;
}

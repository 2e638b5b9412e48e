/*
 * bootd.c - the boot service of the rack.
 *
 * Reads the inventory, opens (or creates) the cluster CA in the state
 * directory, serves HTTP (http.c) and runs dnsmasq (dnsmasq.c) until
 * SIGTERM or SIGINT.  `bootd --check` only checks the inventory, like
 * `vmd -n`.  Exit status: 0 done, 1 failed, 2 usage.  See man/bootd.8.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "log.h"
#include "pxe.h"

#define EXIT_USAGE 2
#define DEFAULT_STATE "/var/lib/xenrack/bootd"
#define DEFAULT_PORT  8080
#define DEFAULT_IPXE  "/usr/lib/ipxe"

struct opts {
	const char *inventory, *images, *state, *listen, *iface, *range;
	unsigned token;
	const char *cluster, *qnetd, *xen_args, *dom0_args, *ipxe_dir, *dnsmasq;
	unsigned port, ttl, cert_days;
	bool proxy, no_dnsmasq, check, print_conf, any_source, use_syslog, tftp;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bootd --inventory FILE [options]\n"
		"  -i, --inventory FILE    the rack inventory (NAME MAC ADDRESS lines)\n"
		"  -n, --check             check the inventory and exit (0 good, 1 bad)\n"
		"      --images DIR        where xen, vmlinuz and initrd.img are\n"
		"      --state DIR         CA, issued certificates, dnsmasq files\n"
		"                          (default " DEFAULT_STATE ")\n"
		"      --interface IFACE   the rack's boot network (DHCP, TFTP)\n"
		"      --listen ADDR       HTTP address nodes reach bootd at\n"
		"                          (default: the address of --interface)\n"
		"      --port N            HTTP port (default %d; 0 picks a free one)\n"
		"      --dhcp-range S,E    a pool for machines not in the inventory\n"
		"      --proxy-dhcp        another DHCP server hands out the addresses\n"
		"      --no-dnsmasq        HTTP only; DHCP and TFTP are done elsewhere\n"
		"      --images-over P     http (default) or tftp, to compare boot times\n"
		"      --print-dnsmasq-conf  write the dnsmasq configuration and exit\n"
		"      --cluster NAME      cluster name (default: the inventory's, or %s)\n"
		"      --qnetd ADDR        corosync-qnetd's address, the tie-breaking vote\n"
		"                          of a cluster with an even number of nodes\n"
		"      --token MS          corosync's token timeout for the nodes (default 1000)\n"
		"      --xen-args ARGS     Xen command line (default: inventory, or\n"
		"                          \"%s\")\n"
		"      --dom0-args ARGS    Dom0 kernel command line (default \"%s\")\n"
		"      --token-ttl S       seconds an enrolment token is valid (default %d)\n"
		"      --cert-days N       node certificate validity (default %d)\n"
		"      --ipxe-dir DIR      TFTP root with the iPXE binaries (default %s)\n"
		"      --dnsmasq PATH      the dnsmasq program (default dnsmasq)\n"
		"      --any-source        do not check that a node asks from its own address\n"
		"      --syslog            log to syslog instead of stderr\n"
		"  -h, --help              this text\n",
		DEFAULT_PORT, PXE_DEFAULT_CLUSTER, PXE_DEFAULT_XEN_ARGS,
		PXE_DEFAULT_DOM0_ARGS, PXE_DEFAULT_TOKEN_TTL, PXE_DEFAULT_CERT_DAYS,
		DEFAULT_IPXE);
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bootd: --%s %s: expected a number from %u to %u\n",
			opt, s, min, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_IMAGES = 256, O_STATE, O_LISTEN, O_PORT, O_IFACE, O_RANGE, O_PROXY,
	       O_NODNS, O_OVER, O_CLUSTER, O_QNETD, O_TOKEN, O_XEN, O_DOM0, O_TTL, O_DAYS, O_IPXE, O_DNSMASQ,
	       O_ANY, O_SYSLOG, O_PRINT };
	static const struct option lopts[] = {
		{ "inventory", required_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'n' },
		{ "images", required_argument, NULL, O_IMAGES },
		{ "state", required_argument, NULL, O_STATE },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "port", required_argument, NULL, O_PORT },
		{ "interface", required_argument, NULL, O_IFACE },
		{ "dhcp-range", required_argument, NULL, O_RANGE },
		{ "proxy-dhcp", no_argument, NULL, O_PROXY },
		{ "no-dnsmasq", no_argument, NULL, O_NODNS },
		{ "images-over", required_argument, NULL, O_OVER },
		{ "print-dnsmasq-conf", no_argument, NULL, O_PRINT },
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "qnetd", required_argument, NULL, O_QNETD },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "xen-args", required_argument, NULL, O_XEN },
		{ "dom0-args", required_argument, NULL, O_DOM0 },
		{ "token-ttl", required_argument, NULL, O_TTL },
		{ "cert-days", required_argument, NULL, O_DAYS },
		{ "ipxe-dir", required_argument, NULL, O_IPXE },
		{ "dnsmasq", required_argument, NULL, O_DNSMASQ },
		{ "any-source", no_argument, NULL, O_ANY },
		{ "syslog", no_argument, NULL, O_SYSLOG },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:nh", lopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->inventory = optarg; break;
		case 'n': o->check = true; break;
		case O_IMAGES: o->images = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_LISTEN: o->listen = optarg; break;
		case O_PORT:
			if (parse_uint("port", optarg, 0, 65535, &o->port))
				return EXIT_USAGE;
			break;
		case O_IFACE: o->iface = optarg; break;
		case O_RANGE: o->range = optarg; break;
		case O_PROXY: o->proxy = true; break;
		case O_NODNS: o->no_dnsmasq = true; break;
		case O_OVER:
			if (strcmp(optarg, "http") && strcmp(optarg, "tftp")) {
				fprintf(stderr, "bootd: --images-over %s: expected http or tftp\n",
					optarg);
				return EXIT_USAGE;
			}
			o->tftp = !strcmp(optarg, "tftp");
			break;
		case O_PRINT: o->print_conf = true; break;
		case O_CLUSTER: o->cluster = optarg; break;
		case O_QNETD: o->qnetd = optarg; break;
		case O_TOKEN:
			if (parse_uint("token", optarg, 500, 60000, &o->token))
				return EXIT_USAGE;
			break;
		case O_XEN: o->xen_args = optarg; break;
		case O_DOM0: o->dom0_args = optarg; break;
		case O_TTL:
			if (parse_uint("token-ttl", optarg, 10, 86400, &o->ttl))
				return EXIT_USAGE;
			break;
		case O_DAYS:
			if (parse_uint("cert-days", optarg, 1, 36500, &o->cert_days))
				return EXIT_USAGE;
			break;
		case O_IPXE: o->ipxe_dir = optarg; break;
		case O_DNSMASQ: o->dnsmasq = optarg; break;
		case O_ANY: o->any_source = true; break;
		case O_SYSLOG: o->use_syslog = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bootd: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->inventory) {
		fprintf(stderr, "bootd: --inventory FILE is required\n");
		return EXIT_USAGE;
	}
	if (o->proxy && o->range) {
		fprintf(stderr, "bootd: --dhcp-range and --proxy-dhcp exclude each other: "
			"in proxyDHCP mode the rack's DHCP server hands out addresses\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* "A,B" with two IPv4 addresses inside @net/@mask. */
static int check_range(const char *range, struct in_addr net, struct in_addr mask)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct in_addr x, y;
	const char *comma = strchr(range, ',');

	if (!comma || (size_t)(comma - range) >= sizeof(a) || strlen(comma + 1) >= sizeof(b))
		goto bad;
	snprintf(a, sizeof(a), "%.*s", (int)(comma - range), range);
	snprintf(b, sizeof(b), "%s", comma + 1);
	if (inet_pton(AF_INET, a, &x) != 1 || inet_pton(AF_INET, b, &y) != 1 ||
	    ntohl(x.s_addr) > ntohl(y.s_addr))
		goto bad;
	if ((x.s_addr & mask.s_addr) != net.s_addr || (y.s_addr & mask.s_addr) != net.s_addr) {
		fprintf(stderr, "bootd: --dhcp-range %s: not inside the interface's subnet %s\n",
			range, inet_ntoa(net));
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "bootd: --dhcp-range %s: expected START,END (two IPv4 "
		"addresses, START not after END)\n", range);
	return -EINVAL;
}

/* Warn of what would make a boot fail later, while the admin is watching. */
static void warn_setup(const struct pxe_inventory *inv, int images_fd,
		       const char *images, const struct pxe_dhcp *d, bool dhcp)
{
	static const char *const need[] = { "xen", "vmlinuz", "initrd.img" };
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (fstatat(images_fd, need[i], &st, 0) || !S_ISREG(st.st_mode))
			log_warn("%s/%s is missing: nodes cannot boot until it is there",
				 images, need[i]);
	if (!dhcp || d->proxy)
		return;
	for (i = 0; i < inv->n; i++)
		if ((inv->nodes[i].addr.s_addr & d->mask.s_addr) != d->net.s_addr)
			log_warn("%s:%u: %s's address %s is outside %s's subnet; dnsmasq "
				 "will not answer it", inv->file, inv->nodes[i].line,
				 inv->nodes[i].name, inet_ntoa(inv->nodes[i].addr), d->iface);
	if (!d->range)
		log_info("no --dhcp-range: machines not in the inventory get no DHCP "
			 "answer (and so no 'not in inventory' message)");
}

static void log_ca(const struct pxe_ca *ca)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	char hex[3 * EVP_MAX_MD_SIZE + 1] = "";

	if (X509_digest(ca->cert, EVP_sha256(), md, &len) != 1)
		return;
	for (i = 0; i < len; i++)
		snprintf(hex + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	log_info("cluster CA %s/ca.crt, SHA256 fingerprint %s", ca->dir, hex);
}

static int make_state_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "bootd: --state %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "bootd: --state %s: not a directory\n", dir);
		return -1;
	}
	if (st.st_mode & 077)
		fprintf(stderr, "bootd: warning: --state %s is open to others (mode %04o); "
			"it holds the CA key\n", dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Wait for SIGTERM/SIGINT, or dnsmasq's death.  Return: the exit status. */
static int serve(pid_t *dns_pid)
{
	sigset_t set;
	siginfo_t si;
	int status;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: stopping", strsignal(sig));
			return 0;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: restart bootd to read a changed inventory");
			continue;
		}
		if (*dns_pid > 0 && waitpid(*dns_pid, &status, WNOHANG) == *dns_pid) {
			if (WIFEXITED(status))
				log_err("dnsmasq (pid %d) exited with status %d; see its "
					"messages above; stopping", (int)*dns_pid,
					WEXITSTATUS(status));
			else
				log_err("dnsmasq (pid %d) was killed by signal %d (%s); "
					"stopping", (int)*dns_pid, WTERMSIG(status),
					strsignal(WTERMSIG(status)));
			/* Reaped: its pid may be anyone's now; never signal it. */
			*dns_pid = -1;
			return 1;
		}
	}
}

/*
 * With --images-over tftp, dnsmasq's TFTP root must hold both the iPXE
 * binaries and the images: STATE.tftp with a link to each.
 */
static int make_tftp_root(const struct opts *o, char *root, size_t len)
{
	char link[2 * PATH_MAX], target[2 * PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (!o->images || !realpath(o->images, target)) {
		fprintf(stderr, "bootd: --images-over tftp needs --images\n");
		return -EINVAL;
	}
	/* Beside the state dir, not in it: that one is 0700, and dnsmasq
	 * serves TFTP as an unprivileged user. */
	snprintf(root, len, "%s.tftp", o->state);
	if (mkdir(root, 0755) && errno != EEXIST)
		return -errno;
	snprintf(link, sizeof(link), "%s/images", root);
	unlink(link);
	if (symlink(target, link)) {
		fprintf(stderr, "bootd: %s: %s\n", link, strerror(errno));
		return -errno;
	}
	dir = opendir(o->ipxe_dir);
	if (!dir) {
		fprintf(stderr, "bootd: %s: %s\n", o->ipxe_dir, strerror(errno));
		return -errno;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", root, e->d_name);
		snprintf(target, sizeof(target), "%s/%s", o->ipxe_dir, e->d_name);
		unlink(link);
		if (symlink(target, link))
			log_warn("%s: %s", link, strerror(errno));
	}
	closedir(dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .port = DEFAULT_PORT, .ttl = PXE_DEFAULT_TOKEN_TTL,
			  .cert_days = PXE_DEFAULT_CERT_DAYS, .state = DEFAULT_STATE,
			  .ipxe_dir = DEFAULT_IPXE, .dnsmasq = "dnsmasq" };
	struct pxe_inventory inv;
	struct pxe_server s = { .images_fd = -1 };
	struct pxe_dhcp d = { 0 };
	struct MHD_Daemon *httpd = NULL;
	struct in_addr listen_addr = { 0 }, if_addr = { 0 };
	char err[PXE_ERR_LEN] = "";
	unsigned bound = 0;
	pid_t dns_pid = -1;
	char tftp_root[PATH_MAX];
	bool dhcp;
	sigset_t mask;
	long bad;
	int rc, ret = 1;

	pxe_inv_init(&inv);
	pxe_ca_init(&s.ca);
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	log_init("bootd", o.use_syslog);
	dhcp = !o.no_dnsmasq && !o.check;

	if (pxe_inv_load(&inv, o.inventory, stderr))
		goto out;
	s.inv = &inv;
	s.cluster = o.cluster ? o.cluster : inv.cluster[0] ? inv.cluster : PXE_DEFAULT_CLUSTER;
	s.qnetd = o.qnetd;
	s.token = o.token;
	if (o.cluster && pxe_name_check(o.cluster, NULL)) {
		fprintf(stderr, "bootd: --cluster %s: %s\n", o.cluster,
			pxe_name_check(o.cluster, NULL));
		goto out;
	}
	s.boot.xen_args = o.xen_args ? o.xen_args : inv.xen_args ? inv.xen_args
							 : PXE_DEFAULT_XEN_ARGS;
	s.boot.dom0_args = o.dom0_args ? o.dom0_args : inv.dom0_args ? inv.dom0_args
							   : PXE_DEFAULT_DOM0_ARGS;
	if ((bad = pxe_args_check(s.boot.xen_args)) >= 0 && o.xen_args) {
		fprintf(stderr, "bootd: --xen-args: character '%c' at %ld not allowed\n",
			s.boot.xen_args[bad], bad + 1);
		goto out;
	}
	if ((bad = pxe_args_check(s.boot.dom0_args)) >= 0 && o.dom0_args) {
		fprintf(stderr, "bootd: --dom0-args: character '%c' at %ld not allowed\n",
			s.boot.dom0_args[bad], bad + 1);
		goto out;
	}

	/* the address nodes reach us at, which every script and URL names */
	if (o.iface && (rc = pxe_dhcp_iface(o.iface, &if_addr, &d.mask, err))) {
		fprintf(stderr, "bootd: --interface %s\n", err);
		goto out;
	}
	if (o.listen) {
		if (inet_pton(AF_INET, o.listen, &listen_addr) != 1 ||
		    listen_addr.s_addr == htonl(INADDR_ANY)) {
			fprintf(stderr, "bootd: --listen %s: expected the IPv4 address nodes "
				"reach bootd at (not 0.0.0.0)\n", o.listen);
			goto out;
		}
	} else if (o.iface) {
		listen_addr = if_addr;
	} else if (!o.check) {
		fprintf(stderr, "bootd: give --listen ADDR or --interface IFACE\n");
		ret = EXIT_USAGE;
		goto out;
	} else {
		listen_addr.s_addr = htonl(0x0a000001);	/* for the length check only */
	}
	if ((dhcp || o.print_conf) && !o.iface) {
		fprintf(stderr, "bootd: dnsmasq needs --interface IFACE (or give "
			"--no-dnsmasq)\n");
		ret = EXIT_USAGE;
		goto out;
	}
	s.boot.tftp = o.tftp;
	if (o.tftp && !dhcp && !o.check) {
		fprintf(stderr, "bootd: --images-over tftp needs bootd's dnsmasq\n");
		ret = EXIT_USAGE;
		goto out;
	}
	pxe_boot_urls(&s.boot, inet_ntoa(listen_addr), o.port ? o.port : 65535u);
	if (pxe_script_check(&s.boot, &inv, stderr))
		goto out;
	if (o.check) {
		printf("%s: %zu node%s, cluster %s\n", inv.file, inv.n,
		       inv.n == 1 ? "" : "s", s.cluster);
		ret = 0;
		goto out;
	}

	d.iface = o.iface;
	d.net.s_addr = if_addr.s_addr & d.mask.s_addr;
	d.proxy = o.proxy;
	d.range = o.range;
	d.tftp_root = o.ipxe_dir;
	if (o.tftp && make_tftp_root(&o, tftp_root, sizeof(tftp_root)))
		goto out;
	if (o.tftp)
		d.tftp_root = tftp_root;
	d.state_dir = o.state;
	if (d.range && check_range(d.range, d.net, d.mask))
		goto out;
	if (o.print_conf) {
		ret = pxe_dhcp_write_conf(stdout, &d, &inv, &s.boot) ? 1 : 0;
		goto out;
	}
	if (!o.images) {
		fprintf(stderr, "bootd: --images DIR is required\n");
		ret = EXIT_USAGE;
		goto out;
	}
	s.images_fd = open(o.images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.images_fd < 0) {
		fprintf(stderr, "bootd: --images %s: %s\n", o.images, strerror(errno));
		goto out;
	}
	if (make_state_dir(o.state))
		goto out;
	if (pxe_ca_open(&s.ca, o.state, s.cluster, err)) {
		fprintf(stderr, "bootd: CA: %s\n", err);
		goto out;
	}
	log_ca(&s.ca);
	if (pxe_tok_init(&s.tokens, inv.n, o.ttl))
		goto out;
	s.state_dir = o.state;
	s.cert_days = o.cert_days;
	s.any_source = o.any_source;

	/* handlers and dnsmasq inherit this; serve() takes the signals */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (pxe_http_start(&s, listen_addr, o.port, &httpd, &bound, err)) {
		fprintf(stderr, "bootd: %s\n", err);
		goto out;
	}
	warn_setup(&inv, s.images_fd, o.images, &d, dhcp);
	if (dhcp && pxe_dhcp_start(&d, &inv, &s.boot, o.dnsmasq, &dns_pid, err)) {
		fprintf(stderr, "bootd: dnsmasq: %s\n", err);
		goto out;
	}
	log_info("serving %zu node%s of cluster %s at %s (images %s, state %s)%s",
		 inv.n, inv.n == 1 ? "" : "s", s.cluster, s.boot.url, o.images, o.state,
		 dhcp ? "" : "; DHCP and TFTP are not run by bootd");
	ret = serve(&dns_pid);
out:
	pxe_http_stop(httpd);
	if (dns_pid > 0)
		pxe_dhcp_stop(dns_pid);
	pxe_tok_dispose(&s.tokens);
	pxe_ca_dispose(&s.ca);
	pxe_inv_dispose(&inv);
	if (s.images_fd >= 0)
		close(s.images_fd);
	return ret;
}

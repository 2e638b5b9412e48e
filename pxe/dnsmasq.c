/*
 * dnsmasq.c - the DHCP and TFTP half of bootd, done by a dnsmasq child.
 *
 * bootd writes STATE/dnsmasq.conf from the inventory: one dhcp-host line per
 * node, no DNS, TFTP from the iPXE directory.  A PXE ROM gets iPXE over TFTP
 * (undionly.kpxe for BIOS, ipxe.efi for UEFI); an iPXE client (option 175
 * or user class "iPXE") gets http://BOOTD/boot.ipxe instead.  With
 * --proxy-dhcp another server hands out the addresses and dnsmasq only adds
 * the boot information.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pxe.h"
#include "util.h"

#define STOP_WAIT_MS 5000

int pxe_dhcp_iface(const char *iface, struct in_addr *addr,
		   struct in_addr *mask, char *err)
{
	struct ifaddrs *ifa = NULL, *i;
	int rc = -EADDRNOTAVAIL;

	if (!if_nametoindex(iface)) {
		snprintf(err, PXE_ERR_LEN, "interface %s: %s", iface, strerror(errno));
		return -ENODEV;
	}
	if (getifaddrs(&ifa)) {
		rc = -errno;
		snprintf(err, PXE_ERR_LEN, "getifaddrs: %s", strerror(errno));
		return rc;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, iface) || !i->ifa_netmask)
			continue;
		*addr = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		*mask = ((struct sockaddr_in *)(void *)i->ifa_netmask)->sin_addr;
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	if (rc)
		snprintf(err, PXE_ERR_LEN, "interface %s has no IPv4 address", iface);
	return rc;
}

int pxe_dhcp_write_conf(FILE *f, const struct pxe_dhcp *d,
			const struct pxe_inventory *inv, const struct pxe_boot *b)
{
	char net[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], ip[INET_ADDRSTRLEN], mac[18];
	size_t i;

	inet_ntop(AF_INET, &d->net, net, sizeof(net));
	inet_ntop(AF_INET, &d->mask, mask, sizeof(mask));
	fprintf(f, "# Written by bootd from %s at each start; edits are lost.\n"
		"port=0\n"			/* no DNS */
		"no-resolv\n"
		"no-hosts\n"
		"interface=%s\n"
		"bind-interfaces\n"
		"log-dhcp\n"
		"dhcp-leasefile=%s/dnsmasq.leases\n"
		"pid-file=%s/dnsmasq.pid\n"
		"enable-tftp\n"
		"tftp-root=%s\n",
		inv->file, d->iface, d->state_dir, d->state_dir, d->tftp_root);
	if (d->proxy) {
		fprintf(f, "# proxyDHCP: the rack's DHCP server hands out addresses\n"
			"dhcp-range=%s,proxy,%s\n", net, mask);
	} else {
		fprintf(f, "dhcp-authoritative\n"
			"dhcp-range=%s,static,%s,12h\n", net, mask);
		if (d->range)
			fprintf(f, "# a pool for machines not in the inventory: they are "
				"told so on their console\n"
				"dhcp-range=%s,%s,1h\n", d->range, mask);
	}
	fprintf(f, "dhcp-match=set:ipxe,175\n"
		"dhcp-userclass=set:ipxe,iPXE\n"
		"dhcp-match=set:efi,option:client-arch,7\n"
		"dhcp-match=set:efi,option:client-arch,9\n");
	if (d->proxy) {
		/* the layer suffix is not added when the name has an extension */
		fprintf(f, "pxe-prompt=\"xenrack\",0\n"
			"pxe-service=tag:!ipxe,x86PC,\"xenrack via iPXE\",undionly.kpxe\n"
			"pxe-service=tag:!ipxe,x86-64_EFI,\"xenrack via iPXE\",ipxe.efi\n"
			"pxe-service=tag:ipxe,x86PC,\"xenrack\",%s/boot.ipxe\n"
			"pxe-service=tag:ipxe,x86-64_EFI,\"xenrack\",%s/boot.ipxe\n",
			b->url, b->url);
	}
	fprintf(f, "dhcp-boot=tag:!ipxe,tag:!efi,undionly.kpxe\n"
		"dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi\n"
		"dhcp-boot=tag:ipxe,%s/boot.ipxe\n", b->url);
	if (!d->proxy) {
		fprintf(f, "# the inventory\n");
		for (i = 0; i < inv->n; i++) {
			pxe_mac_format(inv->nodes[i].mac, mac);
			inet_ntop(AF_INET, &inv->nodes[i].addr, ip, sizeof(ip));
			fprintf(f, "dhcp-host=%s,%s,%s\n", mac, ip, inv->nodes[i].name);
		}
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

int pxe_dhcp_start(const struct pxe_dhcp *d, const struct pxe_inventory *inv,
		   const struct pxe_boot *b, const char *dnsmasq, pid_t *pid,
		   char *err)
{
	char *conf = NULL, *path = NULL, *arg = NULL;
	size_t len = 0;
	FILE *f;
	pid_t parent = getpid();
	int rc;

	*pid = -1;
	f = open_memstream(&conf, &len);
	if (!f)
		return -ENOMEM;
	rc = pxe_dhcp_write_conf(f, d, inv, b);
	if (fclose(f) && !rc)
		rc = -ENOMEM;
	if (!rc)
		rc = xr_write_atomic(d->state_dir, "dnsmasq.conf", conf, len, 0644);
	if (rc) {
		snprintf(err, PXE_ERR_LEN, "%s/dnsmasq.conf: %s", d->state_dir, strerror(-rc));
		goto out;
	}
	if (asprintf(&path, "%s/dnsmasq.conf", d->state_dir) < 0 ||
	    asprintf(&arg, "--conf-file=%s", path) < 0) {
		path = arg = NULL;
		rc = -ENOMEM;
		goto out;
	}
	*pid = fork();
	if (*pid < 0) {
		rc = -errno;
		snprintf(err, PXE_ERR_LEN, "fork: %s", strerror(errno));
		goto out;
	}
	if (*pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* never outlive bootd */
		if (getppid() != parent)
			_exit(127);
		execlp(dnsmasq, dnsmasq, "--keep-in-foreground", "--log-facility=-",
		       arg, (char *)NULL);
		{
			/* Only async-signal-safe calls after fork in a threaded process. */
			static const char msg[] = "bootd: cannot run dnsmasq\n";

			if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
				_exit(127);
		}
		_exit(127);
	}
	log_info("started DHCP and TFTP: dnsmasq pid %d on %s with %s%s", (int)*pid, d->iface, path,
		 d->proxy ? " in proxyDHCP mode" : "");
out:
	free(conf);
	free(path);
	free(arg);
	return rc;
}

int pxe_dhcp_stop(pid_t pid)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int waited, status;
	pid_t r;

	if (pid <= 0)
		return 0;
	if (kill(pid, SIGTERM) && errno != ESRCH)
		return -errno;
	for (waited = 0; waited < STOP_WAIT_MS; waited += 50) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		nanosleep(&ts, NULL);
	}
	log_warn("dnsmasq (pid %d) ignored SIGTERM for %d s; killing it",
		 (int)pid, STOP_WAIT_MS / 1000);
	kill(pid, SIGKILL);
	return waitpid(pid, &status, 0) == pid ? 0 : -errno;
}

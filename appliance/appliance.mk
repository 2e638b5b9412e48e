# appliance/appliance.mk - the node image; included by the top Makefile.
# `make appliance` (as root) writes $(B)/appliance/{xen,vmlinuz,initrd.img,
# guest-initrd.img,manifest.txt}; appliance/build.sh rebuilds only what
# changed and caches downloads and the Xen build in /var/cache/xenrack.
# `make appliance-bootcheck` boots it in QEMU (TCG) up to the ready marker;
# APPLIANCE_BOOTCHECK=-g also creates and pings the test guest there.

.PHONY: appliance appliance-bootcheck

appliance: $(B)/clusterd $(B)/clusterctl $(B)/xenrack-diskbench
	appliance/build.sh -o $(B)/appliance -b $(B)

appliance-bootcheck: appliance
	appliance/bootcheck.sh -o $(B)/appliance -l $(B)/appliance-boot.log $(APPLIANCE_BOOTCHECK)

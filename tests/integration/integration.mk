# tests/integration/integration.mk - the virtual rack (`make lab`) and its
# scenarios (`make integration`).  As root.

RACK := tests/integration/rack.sh
LAB_NODES ?= 2

rack-deps:
	scripts/deps.sh build rack

## integration: boot a virtual rack, run the rack scenarios, tear it down
integration: rack-deps all appliance
	@$(RACK) down >/dev/null 2>&1 || true
	@set -e; trap '$(RACK) down >/dev/null 2>&1' EXIT; \
	  $(RACK) up $(LAB_NODES); \
	  failed=; \
	  for t in scenarios storage crash migrate ha; do \
	    if [ $$t = ha ] && [ "$${RACK_COROSYNC:-1}" != 1 ]; then \
	      echo "ha.sh skipped: RACK_COROSYNC=0 boots the rack without corosync"; continue; fi; \
	    tests/integration/$$t.sh || failed="$$failed $$t.sh"; \
	  done; \
	  if [ -n "$$failed" ]; then echo "integration: failed:$$failed"; exit 1; fi

## lab: boot the virtual rack and create the NetBSD domain on node1
lab: rack-deps all appliance
	$(RACK) up $(LAB_NODES)
	tests/integration/lab-netbsd.sh node1
	@$(RACK) ctl node1 clusterctl list
	@echo
	@echo "The rack is up: $(LAB_NODES) nodes in network namespace xrlab, logs in $(B)/lab/."
	@echo "  make lab-ctl CMD='clusterctl list' [NODE=node2]   run a command on a node"
	@echo "  make lab-ctl CMD='timeout 10 clusterctl console NetBSD'"
	@echo "  tests/integration/rack.sh console node1               node1's serial console (Ctrl-] leaves)"
	@echo "  make lab-down                                    tear it all down"

NODE ?= node1
## lab-ctl: run CMD in NODE's Dom0 (default node1), e.g. CMD='clusterctl list'
lab-ctl:
	@$(RACK) ctl $(NODE) '$(subst ','\'',$(CMD))'

## lab-down: stop the virtual rack and remove its namespace
lab-down:
	$(RACK) down

## bench: every benchmark: bench-boot, bench-storage, bench-failover, bench-ha,
## bench-migrate-transport, bench-migrate
bench: bench-boot bench-storage bench-failover bench-ha bench-migrate-transport bench-migrate

## bench-ha: the HA decision at 32 nodes and 2000 domains (bench/ha.sh, no rack)
bench-ha:
	bench/ha.sh

## bench-boot: boot time by phase (bench/boot.sh), HTTP vs TFTP
bench-boot: rack-deps all appliance
	bench/boot.sh

## bench-storage: replicated vs unreplicated disk writes (bench/storage.sh)
bench-storage: rack-deps all appliance
	bench/storage.sh

## bench-failover: a node killed: detection, fence wait, promote, start (bench/failover.sh)
bench-failover: rack-deps all appliance
	bench/failover.sh

## bench-migrate-transport: the migration transport on loopback vs openssl speed and ssh
bench-migrate-transport: rack-deps all
	bench/migrate-transport.sh

## bench-migrate: clusterctl migrate vs xl migrate in the rack, idle and dirtying
bench-migrate: rack-deps all appliance
	bench/migrate.sh

.PHONY: rack-deps integration lab lab-ctl lab-down bench bench-boot bench-storage bench-failover bench-ha \
	bench-migrate-transport bench-migrate

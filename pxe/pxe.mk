# pxe/pxe.mk - bootd (the boot service of the rack) and xenrack-enrol (the
# node's enrolment client), their unit tests and their no-root test.

PXE_LIB_SRC   := lib/log.c
PXE_CORE_SRC  := pxe/inventory.c pxe/script.c pxe/token.c pxe/util.c lib/util.c
PXE_BOOTD_SRC := pxe/bootd.c pxe/http.c pxe/dnsmasq.c pxe/issue.c pxe/ca.c \
                 $(PXE_CORE_SRC)
PXE_ENROL_SRC := pxe/enrol.c pxe/node.c pxe/corosync.c pxe/inventory.c pxe/util.c lib/util.c

LIBS_PXE_SSL  := -lssl -lcrypto
LIBS_MHD      := -lmicrohttpd
LIBS_CURL     := -lcurl

PXE_BINS      := $(B)/bootd $(B)/xenrack-enrol
PXE_UNIT      := $(B)/tests/test_pxe_inventory $(B)/tests/test_pxe_script \
                 $(B)/tests/test_pxe_token $(B)/tests/test_pxe_enrol
BINS          += $(PXE_BINS)
UNIT_TESTS    += $(PXE_UNIT)
CHECK_SCRIPTS += pxe/tests/check.sh pxe/tests/bootd.sh
ROOT_TESTS    += pxe/tests/dhcp.sh

$(B)/bootd: $(call obj,$(PXE_BOOTD_SRC) $(PXE_LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_JSON) $(LIBS_PXE_SSL)

$(B)/xenrack-enrol: $(call obj,$(PXE_ENROL_SRC) $(PXE_LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_JSON) $(LIBS_PXE_SSL)

# the unit tests include "pxe.h" from pxe/tests/
$(call obj,$(wildcard pxe/tests/*.c)): override CFLAGS += -Ipxe

$(B)/tests/test_pxe_inventory: $(call obj,pxe/tests/test_pxe_inventory.c $(PXE_CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -lcrypto $(LIBS_JSON)

$(B)/tests/test_pxe_script: $(call obj,pxe/tests/test_pxe_script.c pxe/dnsmasq.c $(PXE_CORE_SRC) $(PXE_LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -lcrypto $(LIBS_JSON)

$(B)/tests/test_pxe_token: $(call obj,pxe/tests/test_pxe_token.c $(PXE_CORE_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka -lcrypto $(LIBS_JSON)

$(B)/tests/test_pxe_enrol: $(call obj,pxe/tests/test_pxe_enrol.c pxe/issue.c pxe/ca.c pxe/node.c pxe/corosync.c $(PXE_CORE_SRC) $(PXE_LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS_JSON) $(LIBS_PXE_SSL)

## pxe-test: bootd + dnsmasq answering a DHCP client in network namespaces (root)
pxe-test: all
	pxe/tests/dhcp.sh

.PHONY: pxe-test

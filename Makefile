# xenrack - see README.md.  `make help` lists the targets.

CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
           -Wvla -Wpointer-arith -Wcast-qual -Wwrite-strings
# `make WERROR=` builds with warnings not fatal.
WERROR  ?= -Werror
override CFLAGS += $(WARN) $(WERROR) -MMD -MP -Ilib -Ihv -Icluster -Istorage -Imigrate

B := build
obj = $(patsubst %.c,$(B)/%.o,$(1))

LIB_SRC     := lib/log.c lib/ctl.c lib/util.c
HVCFG_SRC   := hv/cfg.c hv/domain.c hv/print.c
HVLC_SRC    := hv/backend.c hv/sim.c hv/libxl.c hv/libxl_map.c
CTL_SRC     := cluster/clusterctl.c cluster/console.c
ST_SRC      := storage/res.c storage/storage.c
MIG_SRC     := migrate/proto.c migrate/stream.c migrate/policy.c migrate/transport.c \
               migrate/mark.c migrate/save.c migrate/send.c migrate/recv.c
D_SRC       := cluster/clusterd.c cluster/control.c cluster/peer.c cluster/disks.c \
               cluster/member.c cluster/ha.c cluster/images.c cluster/migrate.c \
               storage/image.c lib/tls.c $(ST_SRC) $(MIG_SRC)

LIBS_JSON  := -ljson-c
LIBS_XL    := -lxenlight -lxentoollog -lxenctrl -lxenguest
LIBS_ZSTD  := -lzstd
LIBS_TLS   := -lssl -lcrypto
LIBS_COROSYNC := -lcpg -lquorum

# Module fragments add to these.
BINS        := $(B)/clusterd $(B)/clusterctl $(B)/xenrack-diskbench $(B)/xenrack-migbench
UNIT_TESTS  :=	# cmocka binaries run by `make check`
CHECK_SCRIPTS :=	# shell tests run by `make check` (no root)
ROOT_TESTS  :=	# host-level tests that need root, run by `make test`

# The default goal; module fragments add to BINS before its prerequisites
# are read (below).
all:

# xenguest.h (libxc's save, in migrate/save.c) needs GNU C's anonymous unions.
$(B)/migrate/save.o: CFLAGS += -std=gnu11

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/clusterctl: $(call obj,$(CTL_SRC) $(HVCFG_SRC) $(LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON)

$(B)/clusterd: $(call obj,$(D_SRC) $(HVCFG_SRC) $(HVLC_SRC) $(LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) $(LIBS_XL) $(LIBS_TLS) $(LIBS_COROSYNC) $(LIBS_ZSTD) -lutil

# A tool of bench/storage.sh, carried in the node image.
$(B)/xenrack-diskbench: $(call obj,bench/diskbench.c)
	$(CC) $(LDFLAGS) -o $@ $^

# bench/migrate-transport.sh's tool: the migration transport on loopback.
$(B)/xenrack-migbench: $(call obj,bench/migbench.c migrate/transport.c migrate/proto.c \
                       migrate/stream.c lib/tls.c $(LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) $(LIBS_TLS) $(LIBS_ZSTD) -pthread

## deps: install the Debian packages the build and tests need (root)
deps:
	scripts/deps.sh build test

## test: every test there is (root): check, the fuzzer, host-level tests,
## and the virtual rack (`make integration`)
test: deps
	$(MAKE) all
	$(MAKE) check
	$(MAKE) fuzz
	@$(if $(strip $(ROOT_TESTS)),tests/run-suite.sh root $(ROOT_TESTS))
	$(MAKE) integration

## clean: remove build outputs (caches outside the tree stay)
clean:
	rm -rf $(B)

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

.PHONY: deps test clean help

-include pxe/pxe.mk
-include appliance/appliance.mk

all: $(BINS)

include tests/tests.mk
include tests/integration/integration.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)

.PHONY: all

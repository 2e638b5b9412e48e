# xenrack - see README.md.  `make help` lists the targets.

CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
           -Wvla -Wpointer-arith -Wcast-qual -Wwrite-strings
# `make WERROR=` builds with warnings not fatal.
WERROR  ?= -Werror
override CFLAGS += $(WARN) $(WERROR) -MMD -MP -Ilib -Ihv -Icluster

B := build

LIB_SRC     := lib/log.c lib/ctl.c
HVCFG_SRC   := hv/cfg.c hv/domain.c hv/print.c
HVLC_SRC    := hv/sim.c hv/libxl.c hv/libxl_map.c
CTL_SRC     := cluster/clusterctl.c cluster/console.c
D_SRC       := cluster/clusterd.c cluster/control.c

obj = $(patsubst %.c,$(B)/%.o,$(1))

LIBS_JSON  := -ljson-c
LIBS_XL    := -lxenlight -lxentoollog -lxenctrl

BINS := $(B)/clusterd $(B)/clusterctl

all: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/clusterctl: $(call obj,$(CTL_SRC) $(HVCFG_SRC) $(LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON)

$(B)/clusterd: $(call obj,$(D_SRC) $(HVCFG_SRC) $(HVLC_SRC) $(LIB_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) $(LIBS_XL)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

.PHONY: all

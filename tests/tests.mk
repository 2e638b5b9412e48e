# tests/tests.mk - unit, golden and CLI tests (`make check`), fuzzing.

TEST_LIBS := -lcmocka

UNIT_TESTS += $(B)/tests/test_cfg $(B)/tests/test_domain $(B)/tests/test_ctl \
              $(B)/tests/test_control $(B)/tests/test_libxl_map $(B)/tests/test_ha \
              $(B)/tests/test_mig
CHECK_SCRIPTS += tests/golden/run.sh tests/cli/daemon.sh tests/sim/ha.sh
ROOT_TESTS    += tests/cluster/ha.sh

# The HA decision's simulator (tests/sim/ha.sh, bench/ha.sh).
$(B)/tests/ha_sim: $(call obj,tests/sim/ha_sim.c cluster/ha.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(B)/tests/test_ha: $(call obj,tests/unit/test_ha.c cluster/ha.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS)

# The migration protocol's pure parts (migrate/mig.h).
$(B)/tests/test_mig: $(call obj,tests/unit/test_mig.c migrate/proto.c migrate/stream.c \
                     migrate/policy.c lib/tls.c $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON) $(LIBS_TLS)

include tests/unit/tls.mk
include tests/unit/storage.mk

$(B)/tests/test_cfg: $(call obj,tests/unit/test_cfg.c $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON)

$(B)/tests/test_domain: $(call obj,tests/unit/test_domain.c $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON)

$(B)/tests/test_ctl: $(call obj,tests/unit/test_ctl.c $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON)

$(B)/tests/test_control: $(call obj,tests/unit/test_control.c $(filter-out cluster/clusterd.c,$(D_SRC)) $(HVCFG_SRC) $(HVLC_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON) $(LIBS_XL) $(LIBS_TLS) $(LIBS_COROSYNC) $(LIBS_ZSTD) -lutil

$(B)/tests/test_libxl_map: $(call obj,tests/unit/test_libxl_map.c hv/libxl_map.c $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON) $(LIBS_XL)

## check: unit, golden and CLI tests; no root, no Xen, under 2 minutes
check: all $(UNIT_TESTS) $(B)/tests/ha_sim
	@tests/run-suite.sh check $(UNIT_TESTS) $(CHECK_SCRIPTS)

# The fuzzer: clang's libFuzzer with ASan and UBSan over the config parser.
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -Ihv \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
$(B)/fuzz/fuzz_cfg: tests/fuzz/fuzz_cfg.c $(HVCFG_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LIBS_JSON)

## fuzz: run the config-parser fuzzer for FUZZ_TIME seconds (default 60)
fuzz: $(B)/fuzz/fuzz_cfg
	tests/fuzz/run.sh $< $(FUZZ_TIME)

.PHONY: check fuzz

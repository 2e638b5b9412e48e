# tests/unit/tls.mk - the unit test of node-to-node mutual TLS (lib/tls.c).

LIBS_TLS ?= -lssl -lcrypto

UNIT_TESTS += $(B)/tests/test_tls

$(B)/tests/test_tls: $(call obj,tests/unit/test_tls.c lib/tls.c $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON) $(LIBS_TLS) -pthread

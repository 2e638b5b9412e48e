# tests/unit/storage.mk - the unit test of storage (storage/res.c and the
# read-only checks of storage/storage.c): no root, no drbdadm, no losetup.

UNIT_TESTS += $(B)/tests/test_storage

$(B)/tests/test_storage: $(call obj,tests/unit/test_storage.c $(ST_SRC) $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON)

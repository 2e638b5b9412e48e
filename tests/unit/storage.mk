# tests/unit/storage.mk - the unit test of storage (storage/res.c and the
# read-only checks of storage/storage.c): no root, no drbdadm, no losetup.

UNIT_TESTS += $(B)/tests/test_storage

$(B)/tests/test_storage: $(call obj,tests/unit/test_storage.c $(ST_SRC) $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON)

# The cluster image store (storage/image.c), in a temporary directory.
UNIT_TESTS += $(B)/tests/test_image

$(B)/tests/test_image: $(call obj,tests/unit/test_image.c storage/image.c $(ST_SRC) $(HVCFG_SRC) $(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS_JSON) -lcrypto

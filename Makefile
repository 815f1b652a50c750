# The README's two commands: `make run` and `make test`. Both install the
# Debian packages they need (scripts/deps.sh, only what is missing).
# Everything else is Meson + ninja; this file only strings them together.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CRASH_BUILD ?= build-crash-rel
CRASH_N    ?= 1000000
FUZZ_SECONDS ?= 10
DEV_DIR    ?= dev-vault
PORT       ?= 8443
PERSONS    ?= 10000

.PHONY: all deps run test test-unit test-fuzz test-crash bench format clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@# The command where the README says it is: build/coffre.
	ln -sf src/coffre $(BUILD)/coffre

$(BUILD)/build.ninja:
	@scripts/deps.sh build
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false

deps:
	@scripts/deps.sh all

run: deps all
	scripts/run.sh $(BUILD) $(DEV_DIR) $(PORT) $(PERSONS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debugoptimized \
	    -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized \
	    -Dfuzz=true -Dtests=false -Db_lundef=false

test: deps $(ASAN_BUILD)/build.ninja $(FUZZ_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ninja -C $(FUZZ_BUILD)
	scripts/test.sh $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS)
	@# A separate step: the full-size crash test (issue 6) on release.
	$(MAKE) --no-print-directory test-crash

$(CRASH_BUILD)/build.ninja:
	meson setup $(CRASH_BUILD) --buildtype=release -Dtests=false

# Import CRASH_N persons, kill -9 the import 20 times mid-import, resume:
# exactly CRASH_N persons, the file's manifest root. Too slow under ASan at
# this size (the ASan suite runs it at 100,000); 3.5 to 4 minutes on 2
# cores, build included. The re-import of the complete file is checked by
# the ASan run.
test-crash: deps $(CRASH_BUILD)/build.ninja
	ninja -C $(CRASH_BUILD) src/coffre
	MIGRATE_CRASH_N=$(CRASH_N) MIGRATE_CRASH_AGAIN=0 \
	    COFFRE=$(CRASH_BUILD)/src/coffre \
	    bash tests/migrate/test_migrate_crash.sh

# The Debian package of the release build (docs/service.md): prints the
# path of build/coffre_VERSION_ARCH.deb.
.PHONY: package
package: all
	scripts/package.sh $(BUILD) $(BUILD)

bench: deps all
	bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(CRASH_BUILD)

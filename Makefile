# The README's two commands: `make run` and `make test`. Both install the
# Debian packages they need (scripts/deps.sh, only what is missing).
# Everything else is Meson + ninja; this file only strings them together.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
DEV_DIR    ?= dev-vault
PORT       ?= 8443
PERSONS    ?= 10000

.PHONY: all deps run test test-unit test-fuzz bench format clean

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

bench: deps all
	bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

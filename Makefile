# make run: set up (apt-get what is missing), build, run the demo guest with XPTI on.
# make check: same set-up, then every test; ends with "N passed, M failed[, K skipped]".
BUILD ?= build

.PHONY: all setup build run check clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: setup $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/pvvmm run --xpti=on

check: build
	@scripts/setup.sh --nested
	@scripts/run-tests.sh $(BUILD)

clean:
	rm -rf $(BUILD)

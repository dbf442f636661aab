# make run: set up (apt-get what is missing), build, run the demo guest with XPTI on.
# make check: same set-up, then every test; prints the backend first and ends with
# "N passed, M failed[, K skipped]".
BUILD ?= build

.PHONY: all setup build run check clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: setup $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Without a usable /dev/kvm the demo runs in an emulated machine with nested KVM (scripts/backend.sh).
run: build
	@scripts/on-backend -b $(BUILD) -a "the demo" -- ./$(BUILD)/pvvmm run --xpti=on

# First line: the backend; last line: the summary (scripts/check.sh).
check:
	@scripts/check.sh $(BUILD)

clean:
	rm -rf $(BUILD)

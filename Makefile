# Crucible: `make demo` and `make test` work on a fresh Debian 12 machine.
# Both install the Debian packages the build needs when they are missing.

BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
SANITIZE   ?= OFF

PACKAGES := g++ cmake make pkg-config \
            libabsl-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc \
            libz3-dev libeigen3-dev libdnnl-dev ocl-icd-opencl-dev libonnx-dev zlib1g-dev libsqlite3-dev libssl-dev \
            libgtest-dev libgmock-dev libbenchmark-dev \
            python3-grpcio python3-protobuf python3-numpy python3-pytest python3-pip
# The dashboard (cpp-httplib) and its browser test (headless Chromium, driven by playwright-core from npm).
PACKAGES += libcpp-httplib-dev chromium nodejs
# The nap engine's LP relaxations (GLPK).
PACKAGES += libglpk-dev

.PHONY: all deps build test demo sanitize bench clean

all: build

deps:
	@missing=$$(for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:" $$missing; \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# npm comes with some nodejs builds (NodeSource) and separately with Debian's.
	@command -v npm >/dev/null || { sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends npm >/dev/null; }

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCRUCIBLE_SANITIZE=$(SANITIZE) >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

demo: build
	clients/cli/demo.sh $(BUILD_DIR)

# AddressSanitizer + UndefinedBehaviorSanitizer build and test run.
sanitize:
	$(MAKE) test BUILD_DIR=build-sanitize BUILD_TYPE=RelWithDebInfo SANITIZE=ON

bench: build
	$(BUILD_DIR)/bench/executor_bench

clean:
	rm -rf build build-sanitize

# pagezip — the two commands a fresh machine needs:
#   make demo   set up, build, and run the example workloads under pagezip
#   make test   set up, build, and run every test (what CI runs)

SWIFT ?= swift
BUILD := .build/release
DEPS := liblz4-dev libunwind-dev libstdc++-12-dev pkg-config
# Programs the integration tests run under pagezip (Debian) and their clients (PyPI).
TEST_DEPS := memcached redis-server python3-pymemcache python3-redis
PY_DEPS := pymemcache redis

.PHONY: all setup test-setup build demo test bench clean

all: build

# System packages the build links against (Debian/Ubuntu).  Needs root; prints
# the command otherwise.
setup:
	@if pkg-config --exists liblz4 libunwind 2>/dev/null && [ -f "$$(gcc -print-file-name=libstdc++.a)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y $(DEPS) >/dev/null 2>&1 || \
	   (apt-get update >/dev/null && apt-get install -y $(DEPS) >/dev/null)) && echo "setup: installed $(DEPS)"; \
	else echo "setup: run: sudo apt-get install -y $(DEPS)"; exit 1; fi

test-setup: setup
	@if command -v memcached >/dev/null && command -v redis-server >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y $(TEST_DEPS) >/dev/null 2>&1 || \
	   (apt-get update >/dev/null && apt-get install -y $(TEST_DEPS) >/dev/null)) && echo "setup: installed $(TEST_DEPS)"; \
	else echo "setup: run: sudo apt-get install -y $(TEST_DEPS)"; exit 1; fi
	@python3 -c "import pymemcache, redis" 2>/dev/null || python3 -m pip install -q $(PY_DEPS) || \
	  python3 -m pip install -q --break-system-packages $(PY_DEPS)

build: setup
	$(SWIFT) build -c release
	ln -sf pagezip-cli $(BUILD)/pagezip
	$(MAKE) -s -C examples

demo: build
	@echo "== the C cache example: 256 MiB, 5% hot, cold part paged out"
	$(BUILD)/pagezip run -- examples/bin/cache 256 5
	@echo "== the Python example"
	$(BUILD)/pagezip run -- python3 examples/pageout.py 64

test: test-setup build
	$(SWIFT) test -c release

bench: build
	$(BUILD)/pagezip bench

clean:
	rm -rf .build examples/bin

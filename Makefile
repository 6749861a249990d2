# pagezip — the two commands a fresh machine needs:
#   make demo   set up, build, and run the example workloads under pagezip
#   make test   set up, build, and run every test (what CI runs)

SWIFT ?= swift
BUILD := .build/release
DEPS := liblz4-dev libunwind-dev pkg-config

.PHONY: all setup build demo test bench clean

all: build

# System packages the build links against (Debian/Ubuntu).  Needs root; prints
# the command otherwise.
setup:
	@if pkg-config --exists liblz4 libunwind 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y $(DEPS) >/dev/null 2>&1 || \
	   (apt-get update >/dev/null && apt-get install -y $(DEPS) >/dev/null)) && echo "setup: installed $(DEPS)"; \
	else echo "setup: run: sudo apt-get install -y $(DEPS)"; exit 1; fi

build: setup
	$(SWIFT) build -c release
	ln -sf pagezip-cli $(BUILD)/pagezip
	$(MAKE) -s -C examples

demo: build
	@echo "== the C cache example: 256 MiB, 5% hot, cold part paged out"
	$(BUILD)/pagezip run -- examples/bin/cache 256 5
	@echo "== the Python example"
	$(BUILD)/pagezip run -- python3 examples/pageout.py 64

test: build
	$(SWIFT) test -c release

bench: build
	$(BUILD)/pagezip bench

clean:
	rm -rf .build examples/bin

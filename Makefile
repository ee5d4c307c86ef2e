# The two commands a user needs: `make demo` and `make test`. Both install what is
# missing (Debian packages through apt-get, npm packages), then build.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
SYS_PKGS := fuse libfuse2 bubblewrap rsync
BENCH_PKGS := restic rclone
export PFS_NO_PROGRESS_IN_TESTS := 1

.PHONY: all deps sys-deps bench-deps build lint test demo bench clean

all: build

sys-deps:
	@missing=""; for p in $(SYS_PKGS) $(EXTRA_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq -o DPkg::Lock::Timeout=300 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=300 $$missing >/dev/null; \
	fi

bench-deps:
	@$(MAKE) --no-print-directory sys-deps EXTRA_PKGS="$(BENCH_PKGS)"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# fuse-native 2.2.6 with fs/patch-fuse-native.mjs applied (correct mtimes in utimens,
# touch -m/-a, no JS round trip for security.* xattrs), rebuilt offline against the local
# Node headers. If it cannot be built, the prebuilt binary is used and says so.
FUSE_NODE := node_modules/fuse-native/build/Release/fuse.node
$(FUSE_NODE): node_modules/.installed fs/patch-fuse-native.mjs
	@node fs/patch-fuse-native.mjs && \
	(cd node_modules/fuse-native && ../.bin/node-gyp rebuild --loglevel=error --nodedir="$$(dirname "$$(dirname "$$(command -v node)")")" >/dev/null) || \
	{ echo "warning: could not rebuild fuse-native; file times set through the mount will be wrong" >&2; rm -rf node_modules/fuse-native/build; }

deps: sys-deps node_modules/.installed $(FUSE_NODE)

build: deps
	npx tsc -p tsconfig.json
	@chmod +x dist/bin/pfs.js

# Types (tests included), ESLint (layers, cycles, unused code, line length: eslint.config.js)
# and knip (unused exports, files and dependencies: knip.json).
lint: deps
	npx tsc -p tsconfig.check.json
	npx eslint --max-warnings 0 .
	npx knip

# Lint first; its result counts as one more check in the closing `N passed, N failed`.
test: build
	@rm -f .tap-output.txt
	@lint=0; $(MAKE) --no-print-directory lint || lint=1; \
	npx tap --reporter=tap 2>&1 | tee .tap-output.txt; status=$$?; \
	node test/summary.mjs .tap-output.txt $$lint; s2=$$?; \
	[ $$status -eq 0 ] && [ $$s2 -eq 0 ]

demo: build
	bash docs/demo.sh

bench: build bench-deps
	node dist/bench/run.js

clean:
	rm -rf dist .tap .tap-output.txt

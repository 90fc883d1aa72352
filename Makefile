# Build, test and lint entry points. CI (.ci/run) uses the same targets.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GIT_COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS     := -s -w -X github.com/openserf/serf/command.GitCommit=$(GIT_COMMIT)

.PHONY: build deb test lint tidy-check fuzz interop integration bench sim microbench clean

# A static binary: no cgo, no local paths, the commit in "serf version".
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/serf ./cmd/serf

# The Debian package, $(DIST)/serf_$(VERSION)_amd64.deb
# (docs/operations.md#debian-package): $(DEB_BIN) built as make build
# does, with the package's version in "serf version", then packed by nfpm
# (a tool of internal/tools) from packaging/deb/nfpm.yaml. VERSION is
# command/version.go's, as Debian orders versions (0.1.0~dev comes before
# 0.1.0); make deb VERSION=0.1.0~dev2 builds another.
SERF_VERSION    := $(shell sed -n 's/^[[:space:]]*Version = "\(.*\)"$$/\1/p' command/version.go)
SERF_PRERELEASE := $(shell sed -n 's/^[[:space:]]*VersionPrerelease = "\(.*\)"$$/\1/p' command/version.go)
VERSION := $(SERF_VERSION)$(if $(SERF_PRERELEASE),~$(SERF_PRERELEASE))
DIST    := dist
DEB_BIN := bin/serf
DEB_MAINTAINER := The openserf authors <authors@openserf.invalid>
# The version's parts as "serf version" prints them: 0.1.0~dev2 is
# Version 0.1.0 with VersionPrerelease dev2.
deb_upstream   = $(word 1,$(subst ~, ,$(VERSION)))
deb_prerelease = $(word 2,$(subst ~, ,$(VERSION)))
deb_build      = $(DIST)/.deb-build
# File dates and the changelog's date are the commit's, so the same
# commit and version make the same package, byte for byte (a
# SOURCE_DATE_EPOCH in the environment wins, as reproducible builds expect).
SOURCE_DATE_EPOCH ?= $(or $(shell git log -1 --format=%ct 2>/dev/null),0)

deb:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS) \
		-X github.com/openserf/serf/command.Version=$(deb_upstream) \
		-X github.com/openserf/serf/command.VersionPrerelease=$(deb_prerelease)" \
		-o $(DEB_BIN) ./cmd/serf
	rm -rf $(deb_build) && mkdir -p $(deb_build)
	gzip -9n <packaging/deb/serf.1 >$(deb_build)/serf.1.gz
	{ printf 'serf (%s) unstable; urgency=medium\n\n' '$(VERSION)'; \
	  printf '  * Built from commit %s.\n\n' '$(or $(GIT_COMMIT),unknown)'; \
	  printf ' -- %s  %s\n' '$(DEB_MAINTAINER)' \
	    "$$(LC_ALL=C TZ=UTC date -R -d @$(SOURCE_DATE_EPOCH))"; \
	} | gzip -9n >$(deb_build)/changelog.gz
	cd $(TOOLS) && $(GO) build -o $(CURDIR)/bin/nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) SERF_DEB_VERSION='$(VERSION)' SERF_DEB_BIN='$(abspath $(DEB_BIN))' SERF_DEB_BUILD='$(abspath $(deb_build))' \
		./bin/nfpm package --config packaging/deb/nfpm.yaml --packager deb --target $(DIST)/
	rm -rf $(deb_build)

test:
	$(GO) test -race -count=1 ./...
	cd $(TOOLS) && $(GO) test -race -count=1 ./...

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...
	cd $(TOOLS) && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd $(TOOLS) && $(GO) run $(STATICCHECK) ./...

# The module files must be what "go mod tidy" makes of them, in both
# modules.
tidy-check:
	$(GO) mod tidy -diff
	cd $(TOOLS) && $(GO) mod tidy -diff

# A short run of every fuzz target; FUZZTIME=1m make fuzz for longer.
fuzz:
	./scripts/fuzz.sh

# Tests against released Serf binaries; they fail instead of skipping
# when an oracle cannot be installed.
interop:
	SERF_INTEROP=1 $(GO) test -race -count=1 -run Interop ./...

# The multi-host suite: hosts in network namespaces (root, nft, iptables),
# and the agent under a real systemd in a container (root,
# systemd-nspawn, debootstrap), and the Docker image under a real engine
# (docker.io, busybox-static), and the web UI in a real headless Chromium
# (chromium). One package at a time: these tests measure real timings.
integration:
	SERF_INTEGRATION=1 SERF_SYSTEMD=1 SERF_DOCKER=1 $(GO) test -p 1 -count=1 -timeout 25m -v ./internal/lab/netns/ ./internal/suites/multihost/ ./scripts/ ./scripts/systemd/ ./scripts/docker/
	cd $(TOOLS) && SERF_BROWSER=1 $(GO) test -count=1 -v ./uitest/

# The benchmark and simulation tools live in their own module,
# internal/tools, so that their plotting libraries stay out of the module
# graph of programs that import our library. They run from the root.
TOOLS := internal/tools

# Ours side by side with real Serf v0.11.0 (installed on demand); prints
# the table and rewrites docs/benchmarks/ and docs/benchmarks.md.
bench:
	cd $(TOOLS) && $(GO) build -o ../../bin/serf-bench ./bench/cmd/serf-bench
	./bin/serf-bench $(BENCHFLAGS)

# The in-process dissemination simulation (1,000 nodes by default).
sim:
	cd $(TOOLS) && $(GO) build -o ../../bin/serf-sim ./sim/cmd/serf-sim
	./bin/serf-sim $(SIMFLAGS)

# Go micro-benchmarks of the packages.
microbench:
	$(GO) test -run '^$$' -bench . ./...
	cd $(TOOLS) && $(GO) test -run '^$$' -bench . ./...

clean:
	rm -rf bin dist

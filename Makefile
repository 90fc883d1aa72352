# Build, test and lint entry points. CI (.ci/run) uses the same targets.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GIT_COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS     := -s -w -X github.com/openserf/serf/command.GitCommit=$(GIT_COMMIT)

.PHONY: build test lint fuzz interop bench clean

# A static binary: no cgo, no local paths, the commit in "serf version".
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/serf ./cmd/serf

test:
	$(GO) test -race -count=1 ./...

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# A short run of every fuzz target; FUZZTIME=1m make fuzz for longer.
fuzz:
	./scripts/fuzz.sh

# Tests against released Serf binaries; they fail instead of skipping
# when an oracle cannot be installed.
interop:
	SERF_INTEROP=1 $(GO) test -race -count=1 -run Interop ./...

bench:
	$(GO) test -run '^$$' -bench . ./...

clean:
	rm -rf bin

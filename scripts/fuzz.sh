#!/usr/bin/env bash
# Runs every fuzz target in the module for a short while, one at a time
# (go test -fuzz accepts one target per run). FUZZTIME sets the time per
# target, 10s by default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${FUZZTIME:-10s}"

# "go test -list" prints a package's matching names, then an "ok <pkg>"
# line; pair each name with the package that follows it.
targets="$(go test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok/   { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
')"

if [ -z "$targets" ]; then
	echo "no fuzz targets"
	exit 0
fi

while read -r pkg name; do
	echo "==> $pkg $name ($fuzztime)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done <<<"$targets"

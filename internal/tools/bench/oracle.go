package bench

import (
	"fmt"
	"testing"

	"github.com/openserf/serf/internal/testutil/oracle"
)

// OracleVersion is the real Serf release we compare against.
const OracleVersion = "v0.11.0"

// OracleBinary returns the path of the real serf binary of version,
// installing it with "go install" into the cache of
// internal/testutil/oracle first if needed. That package reports through a
// testing.TB; installTB collects the report as an error.
func OracleBinary(version string) (string, error) {
	tb := &installTB{}
	bin := oracle.Binary(tb, version)
	if tb.err != "" {
		return "", fmt.Errorf("install serf %s: %s", version, tb.err)
	}
	if bin == "" {
		return "", fmt.Errorf("install serf %s: no binary", version)
	}
	return bin, nil
}

// installTB is the part of testing.TB that oracle.Binary uses. The
// embedded interface is nil: any other method would panic, which the
// oracle package does not call.
type installTB struct {
	testing.TB
	err string
}

func (t *installTB) Helper() {}

func (t *installTB) Fatalf(format string, args ...any) {
	if t.err == "" {
		t.err = fmt.Sprintf(format, args...)
	}
}

func (t *installTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }

package bench

import (
	"os"
	"testing"

	"github.com/openserf/serf/internal/testutil/serfbin"
)

func TestMain(m *testing.M) {
	os.Exit(serfbin.Main(m))
}

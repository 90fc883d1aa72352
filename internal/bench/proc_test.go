package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseStatus(t *testing.T) {
	// A real Serf 0.11 agent, alone, just started.
	got, err := ParseStatus(readTestdata(t, "status_serf.txt"))
	if err != nil {
		t.Fatalf("ParseStatus: %v", err)
	}
	want := Memory{VmRSS: 13472 * 1024, RssAnon: 2488 * 1024}
	if got != want {
		t.Errorf("ParseStatus = %+v, want %+v", got, want)
	}
}

func TestParseStatusErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"Name:\tserf\nVmRSS:\t 100 kB\n",       // no RssAnon
		"VmRSS:\t 100 kB\nRssAnon:\t 12 MB\n",  // unit
		"VmRSS:\t 100 kB\nRssAnon:\t x kB\n",   // number
		"VmRSS:\t 100 kB\nRssAnon:\t 1 2 kB\n", // fields
	} {
		if m, err := ParseStatus([]byte(in)); err == nil {
			t.Errorf("ParseStatus(%q) = %+v, want an error", in, m)
		}
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		file string
		want time.Duration
	}{
		// utime 0, stime 1 tick.
		{"stat_serf.txt", 10 * time.Millisecond},
		// A command name with spaces and parentheses; 1234+567 ticks.
		{"stat_odd_name.txt", 18010 * time.Millisecond},
	} {
		got, err := ParseStat(readTestdata(t, tc.file))
		if err != nil {
			t.Errorf("ParseStat(%s): %v", tc.file, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseStat(%s) = %v, want %v", tc.file, got, tc.want)
		}
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"1 serf S 1 2 3",
		"1 (serf) S 1 2 3",
		"1 (serf) S 1 1 1 0 -1 4194304 936 0 0 0 x 1 0",
	} {
		if d, err := ParseStat([]byte(in)); err == nil {
			t.Errorf("ParseStat(%q) = %v, want an error", in, d)
		}
	}
}

func TestReadSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Errorf("ReadCPU(self): %v", err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatalf("ReadMemory(self): %v", err)
	}
	if m.RssAnon == 0 || m.VmRSS < m.RssAnon {
		t.Errorf("ReadMemory(self) = %+v, want 0 < RssAnon <= VmRSS", m)
	}
}

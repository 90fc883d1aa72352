package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
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

func TestParseSchedstat(t *testing.T) {
	got, err := ParseSchedstat(readTestdata(t, "schedstat_serf.txt"))
	if err != nil {
		t.Fatalf("ParseSchedstat: %v", err)
	}
	if want := 5826417 * time.Nanosecond; got != want {
		t.Errorf("ParseSchedstat = %v, want %v", got, want)
	}
	for _, in := range []string{"", "1 2", "x 2 3", "-1 2 3", "1 2 3 4"} {
		if d, err := ParseSchedstat([]byte(in)); err == nil {
			t.Errorf("ParseSchedstat(%q) = %v, want an error", in, d)
		}
	}
}

func TestReadCPUOwnProcess(t *testing.T) {
	first, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatalf("ReadCPU: %v", err)
	}
	// Burn a little CPU; the reading must move forward.
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	second, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatalf("ReadCPU: %v", err)
	}
	if second <= first {
		t.Errorf("ReadCPU went from %v to %v after %d spins", first, second, x)
	}
}

// FuzzProcParsers feeds arbitrary bytes to the /proc parsers: they return
// an error or a value, never panic.
func FuzzProcParsers(f *testing.F) {
	for _, name := range []string{"status_serf.txt", "stat_serf.txt", "stat_odd_name.txt", "schedstat_serf.txt"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseStatus(data)
		_, _ = ParseStat(data)
		if d, err := ParseSchedstat(data); err == nil && d < 0 {
			t.Errorf("ParseSchedstat(%q) = %v, negative", data, d)
		}
	})
}

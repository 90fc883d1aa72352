package agent

import (
	"fmt"
	"testing"

	gsyslog "github.com/hashicorp/go-syslog"
)

type fakeSyslog struct{ got []string }

func (f *fakeSyslog) WriteLevel(p gsyslog.Priority, b []byte) error {
	f.got = append(f.got, fmt.Sprintf("%d|%s", p, b))
	return nil
}
func (f *fakeSyslog) Write(b []byte) (int, error) { return len(b), nil }
func (f *fakeSyslog) Close() error                { return nil }

func TestSyslogWriterPriorities(t *testing.T) {
	out := &fakeSyslog{}
	w := &SyslogWriter{filter: NewLevelFilter("DEBUG", nil), out: out}
	for _, line := range []string{
		"2026/11/24 10:00:00 [TRACE] serf: hidden\n",
		"2026/11/24 10:00:00 [DEBUG] serf: d\n",
		"2026/11/24 10:00:00 [INFO] agent: i\n",
		"2026/11/24 10:00:00 [WARN] agent: w\n",
		"2026/11/24 10:00:00 [ERR] agent: e\n",
		"no level at all\n",
	} {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		fmt.Sprintf("%d|serf: d\n", gsyslog.LOG_INFO),
		fmt.Sprintf("%d|agent: i\n", gsyslog.LOG_NOTICE),
		fmt.Sprintf("%d|agent: w\n", gsyslog.LOG_WARNING),
		fmt.Sprintf("%d|agent: e\n", gsyslog.LOG_ERR),
		fmt.Sprintf("%d|no level at all\n", gsyslog.LOG_NOTICE),
	}
	if fmt.Sprint(out.got) != fmt.Sprint(want) {
		t.Errorf("syslog got %q, want %q", out.got, want)
	}
	w.SetLevel("ERR")
	out.got = nil
	_, _ = w.Write([]byte("2026/11/24 10:00:00 [WARN] agent: w\n"))
	if len(out.got) != 0 {
		t.Errorf("WARN line passed an ERR filter: %q", out.got)
	}
}

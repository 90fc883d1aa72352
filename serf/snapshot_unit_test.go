package serf

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func testSnapshot(t testing.TB, content string, rejoinAfterLeave bool) (*snapshotter, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snap")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var clock LamportClock
	s, err := openSnapshot(path, rejoinAfterLeave, log.New(io.Discard, "", 0), &clock)
	if err != nil {
		t.Fatalf("openSnapshot() error: %v", err)
	}
	t.Cleanup(func() { s.fh.Close() })
	return s, path
}

func names(prev []PreviousNode) string {
	var out []string
	for _, p := range prev {
		out = append(out, p.Name+"@"+p.Addr)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestGoldenSnapshotReplay(t *testing.T) {
	tests := []struct {
		file                   string
		rejoin                 bool
		wantNodes              string
		clock, event, queryClk LamportTime
	}{
		{"snapshot_serf_leave.txt", false, "", 1, 0, 0},
		{"snapshot_serf_leave.txt", true, "t1@127.0.0.14:18004", 1, 0, 0},
		{"snapshot_serf_members.txt", false, "node two@127.0.0.12:7946,v6@[::1]:7946", 5, 3, 2},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := testSnapshot(t, string(data), tc.rejoin)
		if got := names(s.previousNodes()); got != tc.wantNodes {
			t.Errorf("%s: previousNodes() = %q, want %q", tc.file, got, tc.wantNodes)
		}
		if s.lastClock.Load() != tc.clock || s.lastEventClock.Load() != tc.event || s.lastQueryClock.Load() != tc.queryClk {
			t.Errorf("%s: clocks = %d %d %d, want %d %d %d", tc.file, s.lastClock.Load(), s.lastEventClock.Load(), s.lastQueryClock.Load(), tc.clock, tc.event, tc.queryClk)
		}
	}
}

func TestSnapshotFailedPeersAreRejoinCandidates(t *testing.T) {
	s, _ := testSnapshot(t, "alive: a 127.0.0.1:1\nalive: b 127.0.0.2:2\nfailed: b 127.0.0.2:2\nalive: c 127.0.0.3:3\nnot-alive: c\n", false)
	prev := s.previousNodes()
	if got := names(prev); got != "a@127.0.0.1:1,b@127.0.0.2:2" {
		t.Errorf("previousNodes() = %q, want a and b", got)
	}
	if prev[0].Name != "a" {
		t.Errorf("previousNodes()[0] = %s, want the alive peer a before the failed b", prev[0].Name)
	}
}

func TestSnapshotCompaction(t *testing.T) {
	s, path := testSnapshot(t, "", false)
	s.minCompactSize = 1024
	for i := 0; i < 200; i++ {
		s.process(MemberEvent{Type: EventMemberJoin, Members: []Member{{Name: "n1", Addr: []byte{127, 0, 0, 1}, Port: 7946}}})
		s.process(UserEvent{LTime: LamportTime(i + 1), Name: "e"})
	}
	s.process(MemberEvent{Type: EventMemberFailed, Members: []Member{{Name: "n2", Addr: []byte{127, 0, 0, 2}, Port: 7946}}})
	s.sync()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 1024 {
		t.Errorf("snapshot is %d bytes after compaction, want at most 1024", info.Size())
	}
	if _, err := os.Stat(path + snapshotCompactSuffix); !os.IsNotExist(err) {
		t.Errorf("temporary compaction file left behind: %v", err)
	}
	again, _ := testSnapshot(t, mustRead(t, path), false)
	if got := names(again.previousNodes()); got != "n1@127.0.0.1:7946,n2@127.0.0.2:7946" {
		t.Errorf("after compaction previousNodes() = %q", got)
	}
	if again.lastEventClock.Load() != 200 {
		t.Errorf("after compaction event clock = %d, want 200", again.lastEventClock.Load())
	}
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// FuzzSnapshotReplay: any file content loads without error or panic, and
// what was loaded survives a compaction unchanged.
func FuzzSnapshotReplay(f *testing.F) {
	for _, name := range []string{"snapshot_serf_leave.txt", "snapshot_serf_members.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("alive: x\nclock: 99999999999999999999999\nleave\nfailed: y 1.2.3.4:5\n\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := testSnapshot(t, string(data), false)
		before := names(s.previousNodes())
		if err := s.compact(); err != nil {
			t.Fatalf("compact() error: %v", err)
		}
		again, _ := testSnapshot(t, mustRead(t, s.path), false)
		if after := names(again.previousNodes()); after != before {
			t.Fatalf("after compaction previousNodes() = %q, want %q", after, before)
		}
		if again.lastClock.Load() != s.lastClock.Load() || again.lastEventClock.Load() != s.lastEventClock.Load() || again.lastQueryClock.Load() != s.lastQueryClock.Load() {
			t.Fatalf("clocks changed by compaction")
		}
	})
}

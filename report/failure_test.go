package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
)

// fakeDescriber describes each error by its text.
type fakeDescriber map[string]project.Failure

func (d fakeDescriber) DescribeFailure(err error) project.Failure { return d[err.Error()] }
func (fakeDescriber) PlatformLabel(string) string                 { return "" }

// build feeds s one build of targets: those in ok succeed with their TargetFinished,
// the others fail with the error of the same name.
func build(s *Status, id int, targets []string, ok map[string]loop.TargetFinished) {
	s.Event(loop.BuildStarted{ID: id, Targets: targets})
	var failed []string
	for _, t := range targets {
		if fin, good := ok[t]; good {
			fin.ID, fin.Target, fin.OK = id, t, true
			s.Event(fin)
			continue
		}
		failed = append(failed, t)
		s.Event(loop.TargetFinished{ID: id, Target: t, Err: errors.New("error of " + t)})
	}
	s.Event(loop.BuildFinished{ID: id, OK: len(failed) == 0, Targets: targets, Failed: failed, Duration: time.Second})
}

const runStep = "[build 4/4] RUN go build -v -o /out/ ./cmd/..."

// compileFailure is a go build -v failure: n package lines, two compiler errors.
func compileFailure(n int) project.Failure {
	f := project.Failure{
		Failure: dockerfile.Failure{Step: runStep},
		Err:     `process "/bin/sh -c go build -v -o /out/ ./cmd/..." did not complete successfully: exit code: 1`,
	}
	var log []string
	for i := range n {
		line := fmt.Sprintf("example.com/m/internal/pkg%04d", i)
		f.Other = append(f.Other, line)
		log = append(log, line)
		if i == n/2 || i == n-1 {
			l := dockerfile.Location{File: fmt.Sprintf("internal/pkg%04d/a.go", i), Line: 3, Col: 7, Msg: "undefined: x", Raw: fmt.Sprintf("internal/pkg%04d/a.go:3:7: undefined: x", i)}
			f.Locations = append(f.Locations, l)
			log = append(log, l.Raw)
		}
	}
	f.Log = strings.Join(log, "\n") + "\n"
	return f
}

// A step shared by several targets fails them all with one failure: one block names
// them all (issue 16 §8: one block per target, one of them under the other target's
// name), after the targets that built, before the end line; distinct failures keep
// their own blocks. The header names the command once.
func TestStatusOneBlockPerFailure(t *testing.T) {
	shared := compileFailure(3)
	other := project.Failure{Failure: dockerfile.Failure{Step: "[tools 2/2] RUN make lint"}, Err: `process "/bin/sh -c make lint" did not complete successfully: exit code: 2`}
	d := fakeDescriber{"error of client": shared, "error of server": shared, "error of lint": other}
	var out bytes.Buffer
	s := NewStatus(&out, d, StatusOptions{})
	build(s, 1, []string{"client", "docs", "lint", "server"}, map[string]loop.TargetFinished{"docs": {Changed: []string{"out/index.html"}}})
	got := out.String()
	want := `[devloop] build started #1: client, docs, lint, server
docs: rebuilt in 0.00s (solve 0.00 · export 0.00 · swap 0.00) — updated out/index.html
client, server: build failed at [build 4/4] RUN go build -v -o /out/ ./cmd/...: exit code: 1
  example.com/m/internal/pkg0000
  example.com/m/internal/pkg0001
  example.com/m/internal/pkg0002
internal/pkg0001/a.go:3:7: undefined: x
internal/pkg0002/a.go:3:7: undefined: x
lint: build failed at [tools 2/2] RUN make lint: exit code: 2
[devloop] build failed #1 in 1.00s (failed: client, lint, server)
`
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	// The next build starts afresh.
	out.Reset()
	build(s, 2, []string{"server"}, nil)
	if n := strings.Count(out.String(), "build failed at"); n != 1 || !strings.Contains(out.String(), "\nserver: build failed at") {
		t.Errorf("second build: want one block for server alone:\n%s", out.String())
	}
}

// A failure block shows the last MaxLogLines lines of a long output, says how many
// came before and where the whole output is, and ends with every compiler error
// (issue 16 §8: a 1,342-line go install -v log buried its two errors).
func TestStatusCapsLongOutput(t *testing.T) {
	f := compileFailure(1340)
	logDir := filepath.Join(t.TempDir(), ".devloop", "logs")
	var out bytes.Buffer
	s := NewStatus(&out, fakeDescriber{"error of server": f}, StatusOptions{LogDir: logDir})
	build(s, 1, []string{"server"}, nil)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+1+1+20+2+1 {
		t.Fatalf("%d lines, want start, header, omitted, 20 output lines, 2 errors, end:\n%s", len(lines), out.String())
	}
	logFile := filepath.Join(logDir, "server.log")
	if want := regexp.MustCompile(`^  … 1,320 lines above; the whole output: \S*server\.log$`); !want.MatchString(lines[2]) {
		t.Errorf("line 3 = %q, want it to match %s", lines[2], want)
	}
	if lines[3] != "  example.com/m/internal/pkg1320" || lines[22] != "  example.com/m/internal/pkg1339" {
		t.Errorf("shown output = %q … %q, want the last 20 lines", lines[3], lines[22])
	}
	if lines[23] != "internal/pkg0670/a.go:3:7: undefined: x" || lines[24] != "internal/pkg1339/a.go:3:7: undefined: x" {
		t.Errorf("the block ends with %q, %q; want both compiler errors", lines[23], lines[24])
	}
	if b, err := os.ReadFile(logFile); err != nil || string(b) != f.Log {
		t.Errorf("%s: %d bytes, %v; want the whole output (%d bytes)", logFile, len(b), err, len(f.Log))
	}
	// Without a log dir, the count alone.
	out.Reset()
	s = NewStatus(&out, fakeDescriber{"error of server": f}, StatusOptions{MaxLogLines: 5})
	build(s, 2, []string{"server"}, nil)
	if !strings.Contains(out.String(), "\n  … 1,335 lines above\n  example.com/m/internal/pkg1335\n") {
		t.Errorf("without a log dir:\n%s", out.String())
	}
}

// A file the build context leaves out is named with its rule when a COPY misses it.
func TestStatusHint(t *testing.T) {
	f := project.Failure{
		Failure: dockerfile.Failure{Step: "[b 2/2] COPY data/seed.json /s"},
		Err:     `failed to compute cache key: "/data/seed.json": not found`,
		Hint:    `data/seed.json is not in the build context: devloop.yaml watch.ignore: "data/**": neither watched nor sent (a "!data/seed.json" line in .dockerignore sends it)`,
	}
	var out bytes.Buffer
	build(NewStatus(&out, fakeDescriber{"error of out": f}, StatusOptions{}), 1, []string{"out"}, nil)
	if !strings.Contains(out.String(), "\n  "+f.Hint+"\n") {
		t.Errorf("output lacks the hint:\n%s", out.String())
	}
}

// A restart that Ctrl-C interrupts is not a failure (issue 16 §8: "restart failed:
// context canceled"); any other restart error is said.
func TestStatusRestartInterrupted(t *testing.T) {
	var out bytes.Buffer
	s := NewStatus(&out, nil, StatusOptions{})
	s.Event(loop.BuildStarted{ID: 1, Targets: []string{"server"}})
	s.Event(loop.Restarted{ID: 1, Target: "server", Err: fmt.Errorf("stop server: %w", context.Canceled)})
	s.Event(loop.Restarted{ID: 1, Target: "worker", Err: errors.New("start bin/worker: permission denied")})
	if got := out.String(); strings.Contains(got, "server: restart failed") || !strings.Contains(got, "worker: restart failed: start bin/worker: permission denied\n") {
		t.Errorf("output:\n%s", got)
	}
}

// An export of a whole tree is counted, naming its executables (issue 16 §8: 25 KB
// on one line for 1,800 files); a few files are listed.
func TestStatusSummarizesLargeExports(t *testing.T) {
	many := func(n int, prefix string) []string {
		var p []string
		for i := range n {
			p = append(p, fmt.Sprintf("%s/f%04d", prefix, i))
		}
		return p
	}
	tests := []struct {
		name string
		fin  loop.TargetFinished
		want string
	}{
		{"few", loop.TargetFinished{Changed: []string{"bin/client", "bin/server"}, Executables: []string{"bin/client", "bin/server"}},
			"— updated bin/client, bin/server"},
		{"many", loop.TargetFinished{Changed: many(1800, "usr/share"), Executables: []string{"bin/a", "bin/b", "bin/c"}},
			"— updated 1,800 files (3 executables: bin/a, bin/b, bin/c)"},
		{"many executables", loop.TargetFinished{Changed: many(400, "bin"), Executables: many(400, "bin")},
			"— updated 400 files (400 executables: bin/f0000, bin/f0001, bin/f0002, bin/f0003, bin/f0004 and 395 more)"},
		{"unchanged and removed", loop.TargetFinished{Unchanged: many(1800, "usr"), Removed: many(12, "old")},
			"unchanged in 0.00s (solve 0.00 · export 0.00 · swap 0.00) — 1,800 files already up to date; removed 12 files"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		build(NewStatus(&out, nil, StatusOptions{}), 1, []string{"app"}, map[string]loop.TargetFinished{"app": tt.fin})
		if !strings.Contains(out.String(), tt.want+"\n") {
			t.Errorf("%s: output:\n%s\nwant a line ending %q", tt.name, out.String(), tt.want)
		}
		if len(out.String()) > 400 {
			t.Errorf("%s: %d bytes of output", tt.name, len(out.String()))
		}
	}
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands(1234567) = %s", got)
	}
}

package report

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
	"github.com/devloop/devloop/supervisor"
)

// platforms is a Describer of targets' platform labels.
type platforms map[string]string

func (platforms) DescribeFailure(err error) project.Failure { return project.Failure{Err: err.Error()} }
func (p platforms) PlatformLabel(target string) string      { return p[target] }

// A target built for another platform than the daemon's is named with it on the build
// started line, its status line and its failure; one built for the daemon's is not.
func TestStatusPlatforms(t *testing.T) {
	var out bytes.Buffer
	s := NewStatus(&out, platforms{"server": "darwin/arm64", "tools": "linux/amd64, windows/amd64"}, StatusOptions{})
	s.Event(loop.BuildStarted{ID: 1, Targets: []string{"client", "server", "tools"}, Skipped: []string{"docs"}})
	s.Event(loop.TargetFinished{ID: 1, Target: "client", OK: true, Changed: []string{"bin/client"}})
	s.Event(loop.TargetFinished{ID: 1, Target: "server", OK: true, Changed: []string{"bin/server"}})
	s.Event(loop.TargetFinished{ID: 1, Target: "tools", Err: errors.New("bin/tool is an ELF executable for linux/amd64, not for windows/amd64")})
	s.Event(loop.BuildFinished{ID: 1, Targets: []string{"client", "server", "tools"}, Failed: []string{"tools"}})
	want := []string{
		"[devloop] build started #1: client, server (darwin/arm64), tools (linux/amd64, windows/amd64) (not affected: docs)",
		"client: rebuilt in 0.00s (solve 0.00 · export 0.00 · swap 0.00) — updated bin/client",
		"server (darwin/arm64): rebuilt in 0.00s (solve 0.00 · export 0.00 · swap 0.00) — updated bin/server",
		"tools (linux/amd64, windows/amd64): build failed: bin/tool is an ELF executable for linux/amd64, not for windows/amd64",
		"[devloop] build failed #1 in 0.00s (failed: tools)",
	}
	if got := strings.TrimSpace(out.String()); got != strings.Join(want, "\n") {
		t.Errorf("status lines =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// A process that cannot start because its binary is for another platform: the line
// says how to fix it.
func TestProcessExecFormat(t *testing.T) {
	fe := fmt.Errorf("start server: %w", &supervisor.ExecFormatError{Program: "bin/server", Built: "Mach-O executable for darwin/arm64", Host: "linux/amd64", Err: syscall.ENOEXEC})
	const want = "start server: bin/server is a Mach-O executable for darwin/arm64 and cannot run on this linux/amd64 machine (exec format error): build the target for this machine (platform: local in devloop.yaml, the default for a target with run:)"
	var out bytes.Buffer
	ProcessEvent(&out, supervisor.Event{Kind: supervisor.EventRestarting, Name: "server", Err: fe})
	if got, w := out.String(), "server: start failed: "+want+"; retrying in 0.00s\n"; got != w {
		t.Errorf("ProcessEvent() = %q, want %q", got, w)
	}
	out.Reset()
	s := NewStatus(&out, nil, StatusOptions{})
	s.Event(loop.BuildStarted{ID: 1, Targets: []string{"server"}}) // restarts follow a build
	out.Reset()
	s.Event(loop.Restarted{Target: "server", Err: fe})
	if got, w := out.String(), "server: restart failed: "+want+"\n"; got != w {
		t.Errorf("restart line = %q, want %q", got, w)
	}
}

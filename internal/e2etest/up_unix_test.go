//go:build unix

package e2etest

import (
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startScript runs a shell script in place of devloop up.
func startScript(t *testing.T, script string) *Up {
	t.Helper()
	return Start(t, exec.Command("sh", "-c", script))
}

// Lines of one stream keep their order; the two streams are read apart (so that
// neither cuts a line of the other), so the test orders nothing across them.
func TestUpReadsBothStreams(t *testing.T) {
	up := startScript(t, `
echo '[devloop] build started #1: server'
echo 'progress on stderr' >&2
echo '[devloop] build ok #1 in 1.0s'
echo 'server: started (pid 42)'
echo '[devloop] build started #2: server'
echo '[devloop] build failed #2 in 1.0s'
exec sleep 60 # alive until stopped
`)
	up.WaitFirstBuild(10 * time.Second)
	if m := up.WaitLines(BuildFinished, 2, 10*time.Second); m[1] != "failed" || m[2] != "2" {
		t.Errorf("WaitLines(BuildFinished, 2) = %q, want the second, failed build", m)
	}
	i, m := up.WaitLine(regexp.MustCompile(`^server: started \(pid (\d+)\)`), 0, 10*time.Second)
	if m[1] != "42" || up.Since(i)[0] != "server: started (pid 42)" {
		t.Errorf("WaitLine() = %d, %q, want the server's start", i, m)
	}
	if n := up.Count(BuildStarted); n != 2 {
		t.Errorf("Count(BuildStarted) = %d, want 2", n)
	}
	if n := up.WaitQuiet(0, 50*time.Millisecond, 10*time.Second); n != 2 {
		t.Errorf("WaitQuiet() = %d, want 2 builds", n)
	}
	ms, at := up.Matches(BuildStarted, 0)
	if len(ms) != 2 || len(at) != 2 || at[1].Before(at[0]) {
		t.Errorf("Matches(BuildStarted) = %q at %v, want two lines in arrival order", ms, at)
	}
	if up.Len() != 6 || !strings.Contains(up.Output(), "progress on stderr") || up.Tail(1) == "" {
		t.Errorf("output = %q (%d lines), want the 6 lines of both streams", up.Output(), up.Len())
	}
	if !up.Alive() {
		t.Fatal("the script ended early")
	}
	if code := up.Stop(syscall.SIGTERM, 10*time.Second); code != -1 {
		t.Errorf("exit code after SIGTERM = %d, want -1 (killed by the signal)", code)
	}
	select {
	case <-up.Ended():
	case <-time.After(10 * time.Second):
		t.Fatal("the output did not end after the process exited")
	}
}

func TestUpOutputEnds(t *testing.T) {
	up := startScript(t, `echo '[devloop] build started #1'; exit 3`)
	_, _, err := up.AwaitLine(BuildFinished, 0, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "output ended") {
		t.Errorf("AwaitLine() for a line never printed = %v, want an error saying the output ended", err)
	}
	if code := up.WaitExit(10 * time.Second); code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	// A line printed just before the end is still found.
	if i, _, err := up.AwaitLine(BuildStarted, 0, time.Minute); err != nil || i != 0 {
		t.Errorf("AwaitLine() after the end = %d, %v, want line 0", i, err)
	}
}

func TestUpTimeout(t *testing.T) {
	up := startScript(t, `echo '[devloop] build started #1'; exec sleep 60`)
	start := time.Now()
	_, _, err := up.AwaitLine(BuildFinished, 0, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("AwaitLine() = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("AwaitLine(…, 100ms) returned after %s", d)
	}
}

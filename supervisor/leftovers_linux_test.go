package supervisor

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// startTagged starts `sh -c script` in a session of its own (as an orphan of a killed
// devloop would be: not in this process's group) with RunIDEnv=id, and returns it.
func startTagged(t *testing.T, id, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), RunIDEnv+"="+id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range mustProcesses(t, RunIDEnv+"="+id) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func mustProcesses(t *testing.T, entry string) []int {
	t.Helper()
	pids, err := processesWithEnv(entry)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// A devloop that was SIGKILLed leaves its run: process's children behind (Pdeathsig
// reaches only the direct child). The next supervisor of the target kills every
// process carrying the run id recorded in RunFile — and nothing else — before its
// first start, and records its own id.
func TestLeftoversKilledAtStart(t *testing.T) {
	runFile := filepath.Join(t.TempDir(), "run", "srv")
	if err := os.MkdirAll(filepath.Dir(runFile), 0o755); err != nil {
		t.Fatal(err)
	}
	const old, other = "old-run-0001", "other-run-0002"
	if err := os.WriteFile(runFile, []byte(old+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	leftover := startTagged(t, old, "sleep 300 & sleep 300; wait")
	bystander := startTagged(t, other, "sleep 300; wait")
	h := newHarness(t, "sleep", nil)
	// sh and its two sleeps, exec'd: a forked child's environment cannot be read
	// for a moment while it calls execve.
	h.waitFor("the leftovers to start", func() bool {
		sleeps := 0
		for _, pid := range mustProcesses(t, RunIDEnv+"="+old) {
			if strings.HasPrefix(commandLine(pid), "sleep ") {
				sleeps++
			}
		}
		return sleeps == 2
	})
	h.stop() // the harness's own supervisor has no RunFile: it must not touch them
	if n := len(mustProcesses(t, RunIDEnv+"="+old)); n < 3 {
		t.Fatalf("a supervisor without RunFile killed leftovers: %d of 3 left", n)
	}

	h = newHarness(t, "sleep", func(o *Options) { o.RunFile = runFile })
	h.restart()
	if pids := mustProcesses(t, RunIDEnv+"="+old); len(pids) > 0 {
		t.Errorf("processes of the earlier run still alive after the first start: %v", pids)
	}
	if err := leftover.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the earlier run's shell ended with %v, want killed", err)
	}
	var killed []int
	for _, ev := range h.events() {
		if ev.Kind == EventLeftover {
			killed = append(killed, ev.PID)
		}
	}
	if len(killed) < 3 || !slices.Contains(killed, leftover.Process.Pid) {
		t.Errorf("EventLeftover pids = %v, want the shell %d and its two sleeps", killed, leftover.Process.Pid)
	}
	if i := slices.Index(h.kinds(), EventLeftover); i > slices.Index(h.kinds(), EventStarted) {
		t.Errorf("events %v: leftovers killed after the first start, want before", h.kinds())
	}
	if dead(bystander.Process.Pid) {
		t.Errorf("a process of another run (%s) was killed", other)
	}
	data, err := os.ReadFile(runFile)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(string(data))
	if id == old || id == "" {
		t.Fatalf("RunFile holds %q after the start, want this run's id", id)
	}
	if got := mustProcesses(t, RunIDEnv+"="+id); !slices.Equal(got, []int{startedPID(h)}) {
		t.Errorf("processes carrying this run's id = %v, want the supervised process %d", got, startedPID(h))
	}
}

// A clean stop kills what left the process group (a child that called setsid) and
// removes RunFile.
func TestCleanStopForgetsRun(t *testing.T) {
	runFile := filepath.Join(t.TempDir(), "run", "srv")
	h := newHarness(t, "sleep", func(o *Options) {
		o.RunFile = runFile
		o.Command = []string{"sh", "-c", "setsid sleep 300 & exec sleep 300"}
		o.Env = nil
	})
	h.restart()
	data, err := os.ReadFile(runFile)
	if err != nil {
		t.Fatal(err)
	}
	entry := RunIDEnv + "=" + strings.TrimSpace(string(data))
	h.waitFor("the setsid child", func() bool { return len(mustProcesses(t, entry)) == 2 })
	h.stop()
	if pids := mustProcesses(t, entry); len(pids) > 0 {
		t.Errorf("processes of the run alive after a clean stop: %v", pids)
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	if _, err := os.Stat(runFile); !os.IsNotExist(err) {
		t.Errorf("RunFile after a clean stop: stat error %v, want it removed", err)
	}
}

func startedPID(h *harness) int {
	for _, ev := range h.events() {
		if ev.Kind == EventStarted {
			return ev.PID
		}
	}
	return 0
}

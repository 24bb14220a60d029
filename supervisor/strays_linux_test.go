package supervisor

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// strayPIDs returns the pids the stray helpers wrote into dir.
func strayPIDs(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// strayHarness runs mode with HELPER_PIDDIR set, kills every stray at cleanup (if
// the test fails), and records the strays alive whenever a process is started or
// reported exited: none of an earlier start may be left by then.
type strayHarness struct {
	*harness
	piddir string

	mu      sync.Mutex
	aliveAt map[EventKind][]int // strays alive at a started or exited event
}

func newStrayHarness(t *testing.T, mode string, configure func(*Options)) *strayHarness {
	t.Helper()
	piddir := t.TempDir()
	sh := &strayHarness{piddir: piddir, aliveAt: map[EventKind][]int{}}
	sh.harness = newHarness(t, mode, func(o *Options) {
		o.Env = append(o.Env, "HELPER_PIDDIR="+piddir)
		if configure != nil {
			configure(o)
		}
	})
	t.Cleanup(func() {
		for _, pid := range strayPIDs(t, piddir) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	})
	sh.setOnEvent(func(ev Event) {
		if ev.Kind != EventStarted && ev.Kind != EventExited && ev.Kind != EventStopped {
			return
		}
		sh.mu.Lock()
		defer sh.mu.Unlock()
		for _, pid := range strayPIDs(t, piddir) {
			if !dead(pid) {
				sh.aliveAt[ev.Kind] = append(sh.aliveAt[ev.Kind], pid)
			}
		}
	})
	return sh
}

// waitStrays waits until n strays have written their pid and returns them.
func (sh *strayHarness) waitStrays(n int) []int {
	sh.t.Helper()
	var pids []int
	sh.waitFor(strconv.Itoa(n)+" strays", func() bool {
		pids = strayPIDs(sh.t, sh.piddir)
		return len(pids) >= n
	})
	return pids
}

// checkLeftGroup fails unless every stray is outside the process group of leader:
// the precondition of these tests.
func (sh *strayHarness) checkLeftGroup(leader int) {
	sh.t.Helper()
	for _, pid := range strayPIDs(sh.t, sh.piddir) {
		if g, err := unix.Getpgid(pid); err == nil && g == leader {
			sh.t.Fatalf("stray %d is in the process group %d: the helper did not leave it", pid, leader)
		}
	}
}

func (sh *strayHarness) alive(kind EventKind) []int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return slices.Clone(sh.aliveAt[kind])
}

// A daemon that double-forked (a setsid child starts it and exits, so it is
// re-parented away from the supervised process and in a session of its own) is
// stopped with the process before the next one starts.
func TestRestartStopsDoubleForkedDaemon(t *testing.T) {
	sh := newStrayHarness(t, "daemonize", nil)
	sh.restart()
	daemon := sh.waitStrays(1)[0]
	sh.checkLeftGroup(startedPID(sh.harness))
	if ppid := parentOf(t, daemon); ppid == startedPID(sh.harness) {
		t.Fatalf("daemon %d is still a child of the supervised process", daemon)
	}
	sh.restart()
	if got := sh.alive(EventStarted); len(got) > 0 {
		t.Errorf("strays alive when the next process started: %v, want none", got)
	}
	sh.stop()
	if !dead(daemon) {
		t.Errorf("daemon %d alive after Run returned", daemon)
	}
	if got, want := sh.kinds(), []EventKind{EventStarted, EventStopped, EventStarted, EventStopped}; !slices.Equal(got, want) {
		t.Errorf("event kinds = %v, want %v", got, want)
	}
}

// A setsid child that ignores SIGTERM is SIGKILLed after the stop timeout, like the
// group, and the timeout is reported.
func TestRestartKillsStrayIgnoringTERM(t *testing.T) {
	const timeout = 200 * time.Millisecond
	sh := newStrayHarness(t, "spawn-stray", func(o *Options) {
		o.StopTimeout = timeout
		o.Env = append(o.Env, "STRAY_IGNORE_TERM=1")
	})
	sh.restart()
	stray := sh.waitStrays(1)[0]
	sh.checkLeftGroup(startedPID(sh.harness))
	sh.restart()
	if got := sh.alive(EventStarted); len(got) > 0 {
		t.Errorf("strays alive when the next process started: %v, want none", got)
	}
	if !dead(stray) {
		t.Errorf("stray %d alive after the restart", stray)
	}
	evs := sh.events()
	if got, want := sh.kinds(), []EventKind{EventStarted, EventStopTimeout, EventStopped, EventStarted}; !slices.Equal(got, want) {
		t.Fatalf("event kinds = %v, want %v: the leader stops at once, the stray only by SIGKILL", got, want)
	}
	if ev := evs[1]; ev.PID != evs[0].PID || ev.Signal != "SIGTERM" || ev.Delay != timeout {
		t.Errorf("stop timeout event = %+v, want pid %d, SIGTERM, %v", ev, evs[0].PID, timeout)
	}
}

// A process that crashes after starting a setsid child: the child is stopped before
// the crash is reported and the process restarted, every time.
func TestCrashRestartStopsStray(t *testing.T) {
	sh := newStrayHarness(t, "spawn-stray", func(o *Options) {
		o.Env = append(o.Env, "CRASH=1")
		o.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond, Reset: time.Hour}
	})
	sh.restart()
	sh.waitEvents(EventExited, 3)
	sh.stop()
	if n := len(strayPIDs(t, sh.piddir)); n < 3 {
		t.Fatalf("%d strays started, want one per start (at least 3)", n)
	}
	if got := sh.alive(EventExited); len(got) > 0 {
		t.Errorf("strays alive when their process's exit was reported: %v, want none", got)
	}
	if got := sh.alive(EventStarted); len(got) > 0 {
		t.Errorf("strays alive when the next process started: %v, want none", got)
	}
	for _, ev := range sh.events() {
		if ev.Kind == EventExited && ev.ExitCode != 3 {
			t.Errorf("exit event %+v, want exit code 3", ev)
		}
	}
}

// parentOf returns pid's parent pid from /proc/PID/stat ("pid (comm) state ppid ...").
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return ppid
}

//go:build unix

package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/devloop/devloop/internal/e2etest"
)

// The test binary doubles as the supervised process: with SUPERVISOR_HELPER set it
// runs one of the helpers below instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SUPERVISOR_HELPER"); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	switch mode {
	case "sleep":
		fmt.Println("hello from helper")
		fmt.Fprintln(os.Stderr, "to stderr")
		time.Sleep(time.Hour)
	case "ignore-term":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		for range c {
			fmt.Println("got SIGTERM")
		}
	case "spawn-grandchild":
		exe, err := os.Executable()
		if err != nil {
			return 10
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "SUPERVISOR_HELPER=grandchild")
		cmd.Stdout = os.Stdout // the grandchild holds the output pipe too
		if err := cmd.Start(); err != nil {
			return 11
		}
		fmt.Println("spawned")
		time.Sleep(time.Hour)
	case "grandchild":
		signal.Ignore(syscall.SIGTERM)
		if err := writePID(os.Getenv("HELPER_PIDFILE"), os.Getpid()); err != nil {
			return 12
		}
		fmt.Println("grandchild ready")
		time.Sleep(time.Hour)
	case "crash":
		if d, err := time.ParseDuration(os.Getenv("CRASH_AFTER")); err == nil {
			time.Sleep(d)
		}
		fmt.Println("crashing")
		return 3
	case "serve-http", "serve-tcp":
		time.Sleep(200 * time.Millisecond) // not ready at once
		ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
		if err != nil {
			return 14
		}
		if mode == "serve-http" {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError) // any answer means ready
			}))
			return 15
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return 16
			}
			c.Close()
		}
	case "supervise": // devloop itself, supervising a sleep helper
		exe, err := os.Executable()
		if err != nil {
			return 17
		}
		s, err := New(Options{
			Name: "child", Command: []string{exe}, Env: []string{"SUPERVISOR_HELPER=sleep"}, Dir: "/",
			Events: func(ev Event) {
				if ev.Kind == EventStarted {
					_ = writePID(os.Getenv("HELPER_PIDFILE"), ev.PID)
				}
			},
		})
		if err != nil {
			return 18
		}
		go func() { _ = s.Run(context.Background()) }()
		if err := s.Restart(context.Background()); err != nil {
			return 19
		}
		time.Sleep(time.Hour)
	case "print":
		_, _ = os.Stdout.WriteString(strings.Repeat("x", 150000) + "\ntail")
		return 0
	case "spawn-stray": // leaves the group through setsid, then sleeps or crashes
		if err := spawn("stray", newSession, waitForIt); err != nil {
			return 20
		}
		fmt.Println("spawned a stray")
		if os.Getenv("CRASH") != "" {
			return 3
		}
		time.Sleep(time.Hour)
	case "daemonize": // double fork: a setsid child starts the daemon and exits
		if err := spawn("daemon-mid", newSession, waitForIt); err != nil {
			return 21
		}
		fmt.Println("daemonized")
		time.Sleep(time.Hour)
	case "daemon-mid":
		if err := spawn("stray", sameSession, leaveIt); err != nil {
			return 22
		}
		return 0
	case "stray":
		if os.Getenv("STRAY_IGNORE_TERM") != "" {
			signal.Ignore(syscall.SIGTERM)
		}
		if err := writePID(filepath.Join(os.Getenv("HELPER_PIDDIR"), strconv.Itoa(os.Getpid())), os.Getpid()); err != nil {
			return 23
		}
		time.Sleep(time.Hour)
	case "serve-retry": // binds its address as soon as it is free
		for {
			ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
			if err == nil {
				fmt.Println("bound")
				_ = http.Serve(ln, http.NotFoundHandler())
				return 24
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "answer-once": // answers one HTTP request, then exits
		ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
		if err != nil {
			return 25
		}
		c, err := ln.Accept()
		if err != nil {
			return 26
		}
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return 29
		}
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		_ = c.Close()
		return 0
	case "foreign": // a server outside any supervisor: one line per request
		ln, err := net.Listen("tcp", os.Getenv("HELPER_ADDR"))
		if err != nil {
			return 27
		}
		fmt.Println("listening")
		var mu sync.Mutex
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			fmt.Println("request")
			mu.Unlock()
		}))
		return 28
	}
	return 99
}

// Values of spawn's setsid and wait.
const (
	newSession, sameSession = true, false
	waitForIt, leaveIt      = true, false
)

// spawn re-executes the test binary as helper mode, with this process's environment
// (run id included). A setsid child leaves the process group and session; a child
// that is not waited for is left to run on its own. Waiting means until it has
// written its pid (a stray) or exited (anything else).
func spawn(mode string, setsid, wait bool) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "SUPERVISOR_HELPER="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		return err
	}
	if !wait {
		return nil
	}
	if mode != "stray" {
		return cmd.Wait()
	}
	file := filepath.Join(os.Getenv("HELPER_PIDDIR"), strconv.Itoa(cmd.Process.Pid))
	for readPID(file) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// writePID writes pid to file atomically.
func writePID(file string, pid int) error {
	if err := os.WriteFile(file+".tmp", []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

// readPID returns the pid in file, or 0 if there is none yet.
func readPID(file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(string(data))
	return pid
}

// harness runs a Supervisor over a helper and records what it reports.
type harness struct {
	t      *testing.T
	s      *Supervisor
	dir    string
	stdout *writes
	stderr *writes

	mu      sync.Mutex
	evs     []Event
	onEvent func(Event) // called from Run's goroutine before an event is recorded

	cancel context.CancelFunc
	runErr chan error
}

const waitLimit = 15 * time.Second // failure bound for anything awaited

// newHarness creates a supervisor running the helper mode through bin/helper, a
// symlink to the test binary in a temporary project dir, and starts Run.
func newHarness(t *testing.T, mode string, configure func(*Options)) *harness {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: t.TempDir(), stdout: &writes{}, stderr: &writes{}, runErr: make(chan error, 1)}
	if err := os.Mkdir(filepath.Join(h.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(h.dir, "bin", "helper")); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Name:        "srv",
		Command:     []string{"bin/helper"},
		Env:         []string{"SUPERVISOR_HELPER=" + mode},
		Dir:         h.dir,
		StopTimeout: waitLimit,
		Stdout:      h.stdout,
		Stderr:      h.stderr,
		Events: func(ev Event) {
			h.mu.Lock()
			f := h.onEvent
			h.mu.Unlock()
			if f != nil {
				f(ev)
			}
			h.mu.Lock()
			h.evs = append(h.evs, ev)
			h.mu.Unlock()
		},
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
	if configure != nil {
		configure(&opts)
	}
	h.s, err = New(opts)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.runErr <- h.s.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// setOnEvent sets a hook called for every event before it is recorded.
func (h *harness) setOnEvent(f func(Event)) {
	h.mu.Lock()
	h.onEvent = f
	h.mu.Unlock()
}

// stop cancels Run and waits for it; it returns how long Run took to return.
func (h *harness) stop() time.Duration {
	h.t.Helper()
	begin := time.Now()
	h.cancel()
	select {
	case err := <-h.runErr:
		if err != nil {
			h.t.Errorf("Run() = %v, want nil", err)
		}
		h.runErr <- nil // a later stop returns at once
	case <-time.After(waitLimit):
		h.t.Fatalf("Run() did not return within %v of cancel", waitLimit)
	}
	return time.Since(begin)
}

func (h *harness) restart() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := h.s.Restart(ctx); err != nil {
		h.t.Fatalf("Restart() = %v, want nil", err)
	}
}

func (h *harness) events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.evs)
}

// kinds returns the event kinds seen so far.
func (h *harness) kinds() []EventKind {
	var k []EventKind
	for _, ev := range h.events() {
		k = append(k, ev.Kind)
	}
	return k
}

// count returns how many events of kind were seen.
func (h *harness) count(kind EventKind) int {
	n := 0
	for _, ev := range h.events() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	e2etest.Eventually(h.t, waitLimit, 5*time.Millisecond, func() (bool, string) {
		if cond() {
			return true, ""
		}
		return false, fmt.Sprintf("waiting for %s; events %v; stdout %.200q", what, h.kinds(), h.stdout.get())
	})
}

func (h *harness) waitOutput(w *writes, line string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("output %q", line), func() bool { return slices.Contains(w.get(), line) })
}

func (h *harness) waitEvents(kind EventKind, n int) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("%d %s events", n, kind), func() bool { return h.count(kind) >= n })
}

// dead reports whether pid no longer runs. A zombie counts as dead: here an orphan
// is re-parented to an init that may never reap it.
func dead(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && strings.HasPrefix(string(data[i+1:]), " Z")
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	valid := func() Options { return Options{Name: "srv", Command: []string{"bin/srv"}, Dir: dir} }
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"valid", func(*Options) {}, ""},
		{"valid with ready", func(o *Options) { o.Ready = "tcp://127.0.0.1:8080" }, ""},
		{"no name", func(o *Options) { o.Name = "" }, "name is empty"},
		{"no command", func(o *Options) { o.Command = nil }, "command is empty"},
		{"empty argv0", func(o *Options) { o.Command = []string{""} }, "command is empty"},
		{"relative dir", func(o *Options) { o.Dir = "app" }, `dir "app" is not absolute`},
		{"bad env", func(o *Options) { o.Env = []string{"NOVALUE"} }, `env "NOVALUE" is not KEY=VALUE`},
		{"negative timeout", func(o *Options) { o.StopTimeout = -time.Second }, "stop timeout -1s is negative"},
		{"bad backoff", func(o *Options) { o.Backoff = Backoff{Initial: time.Second, Max: time.Millisecond} }, "backoff max"},
		{"bad ready", func(o *Options) { o.Ready = "udp://x:1" }, `unsupported scheme "udp"`},
		{"stop signal by name", func(o *Options) { o.StopSignal = "int" }, ""},
		{"bad stop signal", func(o *Options) { o.StopSignal = "SIGSTOP" }, `unsupported signal "SIGSTOP"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.edit(&o)
			_, err := New(o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New() error = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New() error = %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "supervisor "+o.Name+": "):
				t.Errorf("New() error = %q, want it to name the target", err)
			}
		})
	}
}

func TestRestartReplacesProcess(t *testing.T) {
	h := newHarness(t, "sleep", nil)
	var oldAlive []int // pids of earlier processes still alive when a new one started
	var pids []int
	h.setOnEvent(func(ev Event) {
		if ev.Kind == EventStarted {
			for _, p := range pids {
				if !dead(p) {
					oldAlive = append(oldAlive, p)
				}
			}
			pids = append(pids, ev.PID)
		}
	})
	if got := h.events(); len(got) != 0 {
		t.Fatalf("events before the first Restart = %v, want none", got)
	}
	h.restart()
	evs := h.events()
	if len(evs) != 1 || evs[0].Kind != EventStarted || evs[0].PID <= 0 || evs[0].Name != "srv" || evs[0].Time.IsZero() {
		t.Fatalf("events after Restart() = %+v, want one started event with a pid, name and time", evs)
	}
	first := evs[0].PID
	h.waitOutput(h.stdout, "srv | hello from helper\n")
	h.waitOutput(h.stderr, "srv | to stderr\n")

	h.restart()
	evs = h.events()
	want := []EventKind{EventStarted, EventStopped, EventStarted}
	if got := h.kinds(); !slices.Equal(got, want) {
		t.Fatalf("event kinds = %v, want %v", got, want)
	}
	if evs[1].PID != first || evs[1].Signal != "SIGTERM" || evs[1].ExitCode != -1 {
		t.Errorf("stopped event = %+v, want pid %d killed by SIGTERM (exit code -1)", evs[1], first)
	}
	if second := evs[2].PID; second == first {
		t.Errorf("new pid = %d, want a different pid than %d", second, first)
	}
	if len(oldAlive) != 0 {
		t.Errorf("pids still alive when the next process started = %v, want none", oldAlive)
	}
	h.waitFor("two greetings", func() bool {
		return len(h.stdout.get()) == 2
	})

	h.stop()
	evs = h.events()
	if last := evs[len(evs)-1]; last.Kind != EventStopped || last.PID != evs[2].PID {
		t.Errorf("last event after cancel = %+v, want stopped for pid %d", last, evs[2].PID)
	}
	if !dead(evs[2].PID) {
		t.Errorf("pid %d alive after Run returned", evs[2].PID)
	}
}

// StopSignal, given by name as devloop.yaml writes it, is the signal sent: a process
// that ignores SIGTERM stops at once on "int", with no stop timeout.
func TestStopSignalByName(t *testing.T) {
	h := newHarness(t, "ignore-term", func(o *Options) { o.StopSignal = "int" })
	h.restart()
	h.waitOutput(h.stdout, "srv | ignoring SIGTERM\n")
	if took := h.stop(); took >= waitLimit {
		t.Errorf("stop took %v, want less than the stop timeout %v", took, waitLimit)
	}
	if got, want := h.kinds(), []EventKind{EventStarted, EventStopped}; !slices.Equal(got, want) {
		t.Fatalf("event kinds = %v, want %v (no stop timeout)", got, want)
	}
}

// The SIGKILL after the stop timeout is an event (the human output shows it), not
// only a log line.
func TestStopTimeoutKillsGroup(t *testing.T) {
	const timeout = 200 * time.Millisecond
	h := newHarness(t, "ignore-term", func(o *Options) { o.StopTimeout = timeout })
	h.restart()
	h.waitOutput(h.stdout, "srv | ignoring SIGTERM\n")
	took := h.stop()
	if took < timeout {
		t.Errorf("stop took %v, want at least the stop timeout %v", took, timeout)
	}
	evs := h.events()
	if got, want := h.kinds(), []EventKind{EventStarted, EventStopTimeout, EventStopped}; !slices.Equal(got, want) {
		t.Fatalf("event kinds = %v, want %v", got, want)
	}
	if ev := evs[1]; ev.PID != evs[0].PID || ev.Signal != "SIGTERM" || ev.Delay != timeout {
		t.Errorf("stop timeout event = %+v, want pid %d, signal SIGTERM, delay %v", ev, evs[0].PID, timeout)
	}
	last := evs[len(evs)-1]
	if last.Kind != EventStopped || last.Signal != "SIGKILL" {
		t.Errorf("last event = %+v, want stopped by SIGKILL", last)
	}
	if !dead(last.PID) {
		t.Errorf("pid %d alive after Run returned", last.PID)
	}
	if !slices.Contains(h.stdout.get(), "srv | got SIGTERM\n") {
		t.Errorf("stdout = %q, want the helper to have received SIGTERM first", h.stdout.get())
	}
}

func TestStopKillsGrandchildren(t *testing.T) {
	var pidfile string
	h := newHarness(t, "spawn-grandchild", func(o *Options) {
		o.StopTimeout = 200 * time.Millisecond
		pidfile = filepath.Join(o.Dir, "grandchild.pid")
		o.Env = append(o.Env, "HELPER_PIDFILE="+pidfile)
	})
	h.restart()
	var gpid int
	h.waitFor("the grandchild's pid file", func() bool {
		gpid = readPID(pidfile)
		return gpid > 0
	})
	t.Cleanup(func() { _ = unix.Kill(gpid, unix.SIGKILL) }) // if the test fails
	h.waitOutput(h.stdout, "srv | grandchild ready\n")
	h.waitOutput(h.stdout, "srv | spawned\n")

	h.stop()
	if !dead(gpid) {
		t.Errorf("grandchild %d alive after Run returned", gpid)
	}
	leader := h.events()[0].PID
	if !dead(leader) {
		t.Errorf("leader %d alive after Run returned", leader)
	}
	if err := unix.Kill(-leader, 0); err == nil && !onlyZombies(leader) {
		t.Errorf("process group %d has live members after Run returned", leader)
	}
}

func TestCrashLoopBackoff(t *testing.T) {
	const ms = time.Millisecond
	h := newHarness(t, "crash", func(o *Options) {
		o.Backoff = Backoff{Initial: 20 * ms, Max: 80 * ms, Reset: time.Hour}
	})
	h.restart()
	h.waitEvents(EventRestarting, 5)
	h.stop()

	var delays []time.Duration
	var startedPID int
	for i, ev := range h.events() {
		switch ev.Kind {
		case EventStarted:
			startedPID = ev.PID
		case EventExited:
			if ev.PID != startedPID || ev.ExitCode != 3 || ev.Signal != "" {
				t.Errorf("event %d = %+v, want pid %d exited with code 3", i, ev, startedPID)
			}
		case EventRestarting:
			if ev.Err != nil {
				t.Errorf("event %d = %+v, want no error", i, ev)
			}
			delays = append(delays, ev.Delay)
		}
	}
	want := []time.Duration{20 * ms, 40 * ms, 80 * ms, 80 * ms, 80 * ms}
	if len(delays) < len(want) || !slices.Equal(delays[:len(want)], want) {
		t.Errorf("restart delays = %v, want them to begin with %v", delays, want)
	}
	for _, d := range delays[len(want):] {
		if d != 80*ms {
			t.Errorf("restart delays = %v, want %v after the first %d", delays, 80*ms, len(want))
			break
		}
	}
	// The cycle is started, exited, restarting, started, ... with at most a trailing
	// stopped for the process running at cancel.
	kinds := h.kinds()
	cycle := []EventKind{EventStarted, EventExited, EventRestarting}
	for i, k := range kinds {
		if k != cycle[i%3] && !(i == len(kinds)-1 && k == EventStopped) {
			t.Fatalf("event kinds = %v, want repeated %v", kinds, cycle)
		}
	}
	if got := h.stdout.get(); len(got) < 5 || got[0] != "srv | crashing\n" {
		t.Errorf("stdout = %q, want a crashing line per run", got)
	}
}

func TestBackoffResetsAfterLongRun(t *testing.T) {
	h := newHarness(t, "crash", func(o *Options) {
		o.Env = append(o.Env, "CRASH_AFTER=100ms") // runs longer than Reset
		o.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Reset: 50 * time.Millisecond}
	})
	h.restart()
	h.waitEvents(EventRestarting, 3)
	h.stop()
	for _, ev := range h.events() {
		if ev.Kind == EventRestarting && ev.Delay != 10*time.Millisecond {
			t.Errorf("restarting event delay = %v, want the initial %v every time", ev.Delay, 10*time.Millisecond)
		}
	}
}

func TestRestartDuringBackoff(t *testing.T) {
	h := newHarness(t, "crash", func(o *Options) {
		o.Backoff = Backoff{Initial: time.Hour, Max: 4 * time.Hour, Reset: 10 * time.Hour}
	})
	h.restart()
	h.waitEvents(EventRestarting, 1)
	h.restart() // must not wait for the hour
	h.waitEvents(EventRestarting, 2)
	h.stop()
	want := []EventKind{EventStarted, EventExited, EventRestarting, EventStarted, EventExited, EventRestarting}
	if got := h.kinds(); !slices.Equal(got, want) {
		t.Fatalf("event kinds = %v, want %v", got, want)
	}
	if d := h.events()[5].Delay; d != time.Hour {
		t.Errorf("delay after Restart during backoff = %v, want the reset delay %v", d, time.Hour)
	}
}

func TestRestartCancelledWhileStopping(t *testing.T) {
	h := newHarness(t, "ignore-term", func(o *Options) { o.StopTimeout = 300 * time.Millisecond })
	h.restart()
	h.waitOutput(h.stdout, "srv | ignoring SIGTERM\n")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.s.Restart(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Restart() = %v, want %v", err, context.DeadlineExceeded)
	}
	h.waitEvents(EventStopped, 1)
	h.stop()
	if got, want := h.kinds(), []EventKind{EventStarted, EventStopTimeout, EventStopped}; !slices.Equal(got, want) {
		t.Errorf("event kinds = %v, want %v: a cancelled Restart starts nothing", got, want)
	}
}

func TestFailedStarts(t *testing.T) {
	h := newHarness(t, "crash", func(o *Options) {
		o.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Hour, Reset: time.Hour}
	})
	link := filepath.Join(h.dir, "bin", "helper")
	h.setOnEvent(func(ev Event) {
		if ev.Kind == EventExited { // the next start finds no binary
			_ = os.Rename(link, link+".old")
		}
	})
	h.restart()
	failed := func() int {
		return slices.IndexFunc(h.events(), func(ev Event) bool { return ev.Err != nil })
	}
	h.waitFor("a failed restart", func() bool { return failed() >= 0 })
	evs := h.events()
	i := failed()
	if want := []EventKind{EventStarted, EventExited, EventRestarting, EventRestarting}; !slices.Equal(h.kinds()[:i+1], want) {
		t.Errorf("event kinds = %v, want them to begin with %v", h.kinds(), want)
	}
	ev := evs[i]
	if ev.Kind != EventRestarting || !errors.Is(ev.Err, os.ErrNotExist) || !strings.Contains(ev.Err.Error(), link) {
		t.Errorf("event after the binary vanished = %+v, want restarting with a not-exist error naming %s", ev, link)
	}
	if ev.Delay != 20*time.Millisecond {
		t.Errorf("delay after a failed start = %v, want the doubled %v", ev.Delay, 20*time.Millisecond)
	}

	// Restart reports a failed start to its caller.
	h.setOnEvent(nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := h.s.Restart(ctx)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "start srv: ") {
		t.Errorf("Restart() with a missing binary = %v, want a not-exist error starting with %q", err, "start srv: ")
	}
	// A new binary swapped in by rename is picked up by the next start.
	if err := os.Rename(link+".old", link); err != nil {
		t.Fatal(err)
	}
	n := h.count(EventStarted)
	h.restart()
	if got := h.count(EventStarted); got != n+1 {
		t.Errorf("started events = %d, want %d", got, n+1)
	}
}

func TestKill(t *testing.T) {
	h := newHarness(t, "ignore-term", nil) // StopTimeout is waitLimit: only Kill ends it in time
	h.restart()
	h.waitOutput(h.stdout, "srv | ignoring SIGTERM\n")
	h.s.Kill()
	h.waitEvents(EventStopped, 1)
	evs := h.events()
	if last := evs[len(evs)-1]; last.Kind != EventStopped || last.Signal != "SIGKILL" || !dead(last.PID) {
		t.Errorf("event after Kill = %+v, want stopped by SIGKILL", last)
	}

	// A second Ctrl-C: Kill while a stop waits for its timeout.
	h.restart()
	h.waitFor("the second process to ignore SIGTERM", func() bool {
		return len(slices.DeleteFunc(h.stdout.get(), func(s string) bool { return s != "srv | ignoring SIGTERM\n" })) == 2
	})
	h.cancel()
	h.waitOutput(h.stdout, "srv | got SIGTERM\n")
	h.s.Kill()
	if took := h.stop(); took > waitLimit/2 {
		t.Errorf("Run took %v to return after Kill, want it at once", took)
	}
	kinds := h.kinds()
	if want := []EventKind{EventStarted, EventStopped, EventStarted, EventStopped}; !slices.Equal(kinds, want) {
		t.Errorf("event kinds = %v, want %v (no restart after Kill)", kinds, want)
	}
	evs = h.events()
	if last := evs[len(evs)-1]; last.Signal != "SIGKILL" || !dead(last.PID) {
		t.Errorf("last event = %+v, want stopped by SIGKILL", last)
	}
}

func TestReady(t *testing.T) {
	for _, mode := range []string{"serve-http", "serve-tcp"} {
		t.Run(mode, func(t *testing.T) {
			addr := closedAddr(t)
			scheme := map[string]string{"serve-http": "http://", "serve-tcp": "tcp://"}[mode]
			h := newHarness(t, mode, func(o *Options) {
				o.Env = append(o.Env, "HELPER_ADDR="+addr)
				o.Ready = scheme + addr + map[string]string{"serve-http": "/healthz"}[mode]
			})
			h.restart()
			h.waitEvents(EventReady, 1)
			h.restart()
			h.waitEvents(EventReady, 2)
			h.stop()
			want := []EventKind{EventStarted, EventReady, EventStopped, EventStarted, EventReady, EventStopped}
			if got := h.kinds(); !slices.Equal(got, want) {
				t.Fatalf("event kinds = %v, want %v", got, want)
			}
			evs := h.events()
			if evs[1].PID != evs[0].PID || evs[4].PID != evs[3].PID {
				t.Errorf("ready pids = %d, %d, want %d, %d", evs[1].PID, evs[4].PID, evs[0].PID, evs[3].PID)
			}
		})
	}
}

func TestOutputLongAndPartialLines(t *testing.T) {
	h := newHarness(t, "print", func(o *Options) { o.Backoff = Backoff{Initial: time.Hour} })
	h.restart()
	h.waitEvents(EventExited, 1)
	h.stop()
	x := strings.Repeat("x", maxLine)
	want := []string{"srv | " + x + "\n", "srv | " + x + "\n", "srv | " + x[:150000-2*maxLine] + "\n", "srv | tail\n"}
	got := h.stdout.get()
	if !slices.Equal(got, want) {
		t.Errorf("stdout writes = %.80q (%d), want %.80q (%d)", got, len(got), want, len(want))
	}
	// The output is complete before the exit is reported.
	evs := h.events()
	if evs[1].Kind != EventExited || evs[1].ExitCode != 0 {
		t.Errorf("second event = %+v, want exited with code 0", evs[1])
	}
}

func TestRestartOutsideRun(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Name: "srv", Command: []string{exe}, Env: []string{"SUPERVISOR_HELPER=sleep"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Before Run, Restart waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	restarted := make(chan error, 1)
	go func() { restarted <- s.Restart(ctx) }()

	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	if err := <-restarted; err != nil {
		t.Errorf("Restart() before Run = %v, want nil", err)
	}
	if err := s.Run(runCtx); err == nil || !strings.Contains(err.Error(), "already called") {
		t.Errorf("second Run() = %v, want an already called error", err)
	}
	stop()
	if err := <-ran; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if err := s.Restart(ctx); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Restart() after Run = %v, want a not running error", err)
	}
	// A cancelled context wins over a pending Restart.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := s.Restart(cctx); !errors.Is(err, context.Canceled) && !strings.Contains(fmt.Sprint(err), "not running") {
		t.Errorf("Restart(cancelled) = %v, want context.Canceled or not running", err)
	}
}

func TestPathLookupAndEnv(t *testing.T) {
	h := newHarness(t, "env-value", func(o *Options) {
		o.Command = []string{"sh", "-c", `echo "$SUPERVISOR_HELPER $EXTRA $PWD"; exec sleep 60`}
		o.Env = append(o.Env, "EXTRA=extra")
		o.Name = "sh"
		o.PrefixWidth = 5
	})
	h.restart()
	dir, err := filepath.EvalSymlinks(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("the echoed environment", func() bool {
		got := h.stdout.get()
		return len(got) == 1 && (got[0] == "sh    | env-value extra "+h.dir+"\n" || got[0] == "sh    | env-value extra "+dir+"\n")
	})
}

// A binary for another platform: the kernel refuses it (ENOEXEC), and the error names
// what the binary is and what this machine is, never a bare "exec format error".
func TestExecFormatError(t *testing.T) {
	host := runtime.GOOS + "/" + runtime.GOARCH
	for _, tt := range []struct {
		name     string
		describe func(string) (string, error)
		want     string
	}{
		{"described", func(p string) (string, error) {
			if filepath.Base(p) != "helper" {
				return "", fmt.Errorf("asked about %s", p)
			}
			return "Mach-O executable for darwin/arm64", nil
		}, "start srv: bin/helper is a Mach-O executable for darwin/arm64 and cannot run on this " + host + " machine (exec format error)"},
		{"ELF", func(string) (string, error) { return "ELF executable for linux/s390x", nil },
			"start srv: bin/helper is an ELF executable for linux/s390x and cannot run on this " + host + " machine (exec format error)"},
		{"not described", nil, "start srv: bin/helper cannot run on this " + host + " machine: exec format error"},
		{"description fails", func(string) (string, error) { return "", errors.New("unreadable") },
			"start srv: bin/helper cannot run on this " + host + " machine: exec format error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "crash", func(o *Options) { o.DescribeExecutable = tt.describe })
			link := filepath.Join(h.dir, "bin", "helper")
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			// A Mach-O header: no binary format handler of this kernel takes it.
			macho := append([]byte{0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01}, make([]byte, 56)...)
			if err := os.WriteFile(link, macho, 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			err := h.s.Restart(ctx)
			var fe *ExecFormatError
			if !errors.As(err, &fe) || !errors.Is(err, syscall.ENOEXEC) {
				t.Fatalf("Restart() = %v, want an *ExecFormatError wrapping ENOEXEC", err)
			}
			if err.Error() != tt.want {
				t.Errorf("Restart() error = %q, want %q", err, tt.want)
			}
		})
	}
}

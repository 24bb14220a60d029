//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// builderStartTimeout bounds how long a freshly started buildkitd may take to answer.
const builderStartTimeout = 60 * time.Second

// lockBuilderState takes the state directory's lock, so that two devloop sessions
// never start two daemons or stop one while the other starts it. The returned
// function releases it.
func lockBuilderState(st builderState) (func(), error) {
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create builder state directory %s: %w", st.dir, err)
	}
	f, err := os.OpenFile(st.lockFile(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open builder lock %s: %w", st.lockFile(), err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", st.lockFile(), err)
	}
	return func() { _ = f.Close() }, nil
}

// startBuilder starts buildkitd detached (own session and process group, so neither
// Ctrl-C nor devloop's exit stops it), records its pid, waits until it answers and
// returns a client for it.
func (a *app) startBuilder(ctx context.Context, opts rebuild.Options, st builderState, args []string) (*rebuild.Client, error) {
	unlock, err := lockBuilderState(st)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another session may have started it while this one waited for the lock.
	if c := a.tryConnect(ctx, opts, st.address()); c != nil {
		return c, nil
	}
	if pid, ok := runningBuilder(st); ok {
		// Started, but not answering (yet): give it the start-up time, do not start a second.
		return a.waitForBuilder(ctx, opts, st.address(), builderStartTimeout, func() error {
			if !processAlive(pid) {
				return fmt.Errorf("buildkitd (pid %d) exited; its log %s ends with:%s", pid, st.logFile(), logTail(st.logFile(), 10))
			}
			return nil
		})
	}
	_ = os.Remove(st.socket()) // a stale socket from a daemon that died
	logf, err := os.OpenFile(st.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open builder log %s: %w", st.logFile(), err)
	}
	fmt.Fprintf(logf, "--- devloop %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = logf.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", args[0], err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(st.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("write builder pid file %s: %w", st.pidFile(), err)
	}
	a.log.Info("started buildkitd", zap.Int("pid", pid), zap.Strings("args", args))
	c, err := a.waitForBuilder(ctx, opts, st.address(), builderStartTimeout, func() error {
		var ws unix.WaitStatus
		if p, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); p == pid {
			return fmt.Errorf("buildkitd exited during start-up (%s); its log %s ends with:%s", waitStatus(ws), st.logFile(), logTail(st.logFile(), 10))
		}
		return nil
	})
	if err != nil {
		_ = unix.Kill(pid, unix.SIGTERM)
		_ = os.Remove(st.pidFile())
		return nil, err
	}
	fmt.Fprintf(a.stderr, "[devloop] started a BuildKit daemon for this and later sessions: pid %d, %s\n"+
		"[devloop]   state and log in %s; `devloop builder stop` stops it\n", pid, st.address(), st.dir)
	return c, nil
}

func waitStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// runningBuilder returns the pid recorded in st's pid file if that process is alive
// and is the buildkitd devloop started there.
func runningBuilder(st builderState) (int, bool) {
	data, err := os.ReadFile(st.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return 0, false
	}
	if runtime.GOOS == "linux" {
		// The pid may have been reused: it must be a process started with our socket.
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(st.address())) {
			return 0, false
		}
	}
	return pid, true
}

// processAlive reports whether pid exists and has not exited (a zombie, which a
// container's init may leave unreaped, counts as exited).
func processAlive(pid int) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
		// pid (comm) S ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// stopBuilder stops the daemon devloop started: SIGTERM, then SIGKILL after grace.
// It reports the pid stopped, or ok=false when none was running.
func stopBuilder(ctx context.Context, st builderState, grace time.Duration) (pid int, ok bool, err error) {
	unlock, err := lockBuilderState(st)
	if err != nil {
		return 0, false, err
	}
	defer unlock()
	pid, ok = runningBuilder(st)
	if !ok {
		_ = os.Remove(st.pidFile())
		return 0, false, nil
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return pid, true, fmt.Errorf("stop buildkitd (pid %d): %w", pid, err)
	}
	if !waitExit(ctx, pid, grace) {
		_ = unix.Kill(pid, unix.SIGKILL)
		if !waitExit(ctx, pid, 5*time.Second) {
			return pid, true, fmt.Errorf("stop buildkitd (pid %d): still running after SIGKILL", pid)
		}
	}
	_ = os.Remove(st.pidFile())
	_ = os.Remove(st.socket())
	return pid, true, nil
}

// waitExit polls until pid is gone; false if it is still there after timeout.
func waitExit(ctx context.Context, pid int, timeout time.Duration) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for processAlive(pid) {
		select {
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func (s builderState) pidFile() string { return filepath.Join(s.dir, "buildkitd.pid") }
func (s builderState) logFile() string { return filepath.Join(s.dir, "buildkitd.log") }
func (s builderState) lockFile() string {
	return filepath.Join(s.dir, "lock")
}

// logTail returns the last n lines of the file at path, indented.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    " + strings.Join(lines, "\n    ")
}

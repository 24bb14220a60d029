//go:build unix

package localbuilder

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

	"github.com/gofrs/flock"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// startTimeout bounds how long a freshly started buildkitd may take to answer.
const startTimeout = 60 * time.Second

func (d Daemon) pidFile() string  { return filepath.Join(d.dir, "buildkitd.pid") }
func (d Daemon) logFile() string  { return filepath.Join(d.dir, "buildkitd.log") }
func (d Daemon) lockFile() string { return filepath.Join(d.dir, "lock") }

// lock takes the state directory's lock, so that two devloop processes never start two
// daemons or stop one while the other starts it. The returned function releases it.
func (d Daemon) lock() (func(), error) {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create builder state directory %s: %w", d.dir, err)
	}
	l := flock.New(d.lockFile(), flock.SetPermissions(0o600))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", d.lockFile(), err)
	}
	return func() { _ = l.Unlock() }, nil
}

// start starts buildkitd detached (own session and process group), records its pid and
// waits until it answers.
func (d Daemon) start(ctx context.Context, answers Probe, args []string) (Found, error) {
	unlock, err := d.lock()
	if err != nil {
		return Found{}, err
	}
	defer unlock()
	// Another devloop may have started it while this one waited for the lock.
	if probeSocket(ctx, answers, d.Address()) {
		return Found{Address: d.Address()}, nil
	}
	if pid, ok := d.Running(); ok {
		// Started, but not answering (yet): give it the start-up time, do not start a second.
		err := waitUntilAnswers(ctx, answers, d.Address(), startTimeout, func() error {
			if !ProcessAlive(pid) {
				return fmt.Errorf("buildkitd (pid %d) exited; its log %s ends with:%s", pid, d.logFile(), logTail(d.logFile(), 10))
			}
			return nil
		})
		if err != nil {
			return Found{}, err
		}
		return Found{Address: d.Address()}, nil
	}
	_ = os.Remove(d.socket()) // a stale socket from a daemon that died
	logf, err := os.OpenFile(d.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Found{}, fmt.Errorf("open builder log %s: %w", d.logFile(), err)
	}
	fmt.Fprintf(logf, "--- devloop %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = logf.Close()
	if err != nil {
		return Found{}, fmt.Errorf("start %s: %w", args[0], err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(d.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return Found{}, fmt.Errorf("write builder pid file %s: %w", d.pidFile(), err)
	}
	d.log.Info("started buildkitd", zap.Int("pid", pid), zap.Strings("args", args))
	err = waitUntilAnswers(ctx, answers, d.Address(), startTimeout, func() error {
		var ws unix.WaitStatus
		if p, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); p == pid {
			return fmt.Errorf("buildkitd exited during start-up (%s); its log %s ends with:%s", waitStatus(ws), d.logFile(), logTail(d.logFile(), 10))
		}
		return nil
	})
	if err != nil {
		_ = unix.Kill(pid, unix.SIGTERM)
		_ = os.Remove(d.pidFile())
		return Found{}, err
	}
	return Found{Address: d.Address(), Started: true, PID: pid}, nil
}

func waitStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// Running returns the pid recorded in the pid file if that process is alive and is the
// buildkitd devloop started for d.
func (d Daemon) Running() (int, bool) {
	data, err := os.ReadFile(d.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !ProcessAlive(pid) {
		return 0, false
	}
	if runtime.GOOS == "linux" {
		// The pid may have been reused: it must be a process started with our socket.
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(d.Address())) {
			return 0, false
		}
	}
	return pid, true
}

// ProcessAlive reports whether pid exists and has not exited (a zombie, which a
// container's init may leave unreaped, counts as exited).
func ProcessAlive(pid int) bool {
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

// Stop stops the daemon devloop started: SIGTERM, then SIGKILL after grace. It reports
// the pid stopped, or ok=false when none was running. Its build cache stays in Root.
func (d Daemon) Stop(ctx context.Context, grace time.Duration) (pid int, ok bool, err error) {
	unlock, err := d.lock()
	if err != nil {
		return 0, false, err
	}
	defer unlock()
	pid, ok = d.Running()
	if !ok {
		_ = os.Remove(d.pidFile())
		return 0, false, nil
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return pid, true, fmt.Errorf("stop buildkitd (pid %d): %w", pid, err)
	}
	if !WaitExit(ctx, pid, grace) {
		_ = unix.Kill(pid, unix.SIGKILL)
		if !WaitExit(ctx, pid, 5*time.Second) {
			return pid, true, fmt.Errorf("stop buildkitd (pid %d): still running after SIGKILL", pid)
		}
	}
	_ = os.Remove(d.pidFile())
	_ = os.Remove(d.socket())
	return pid, true, nil
}

// WaitExit polls until pid is gone; false if it is still there after timeout.
func WaitExit(ctx context.Context, pid int, timeout time.Duration) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for ProcessAlive(pid) {
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

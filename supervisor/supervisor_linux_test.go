package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devloop/devloop/internal/e2etest"
)

// A supervised process dies with devloop even when devloop is SIGKILLed.
func TestPdeathsig(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	devloop := exec.Command(exe)
	devloop.Env = append(os.Environ(), "SUPERVISOR_HELPER=supervise", "HELPER_PIDFILE="+pidfile)
	if err := devloop.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = devloop.Process.Kill(); _ = devloop.Wait() })
	child := 0
	e2etest.Eventually(t, waitLimit, 5*time.Millisecond, func() (bool, string) {
		child = readPID(pidfile)
		return child != 0, "supervised child did not start"
	})
	t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) }) // if the test fails

	if err := devloop.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = devloop.Wait()
	e2etest.Eventually(t, waitLimit, 5*time.Millisecond, func() (bool, string) {
		return dead(child), fmt.Sprintf("child %d still alive after its supervisor was SIGKILLed", child)
	})
}

func TestGroupGone(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL) })
	if onlyZombies(pid) || groupGone(pid) {
		t.Fatalf("onlyZombies(%d), groupGone(%d) = %v, %v for a running group, want false, false", pid, pid, onlyZombies(pid), groupGone(pid))
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Unreaped, the killed child stays a zombie of this process.
	e2etest.Eventually(t, waitLimit, 5*time.Millisecond, func() (bool, string) {
		return onlyZombies(pid), fmt.Sprintf("onlyZombies(%d) = false after SIGKILL, want true", pid)
	})
	if err := unix.Kill(-pid, 0); err != nil {
		t.Fatalf("kill(-%d, 0) = %v before groupGone, want the zombie to be there", pid, err)
	}
	if !groupGone(pid) {
		t.Errorf("groupGone(%d) = false for a group of one zombie, want true", pid)
	}
	// groupGone reaped the zombie, since it is this process's child.
	if err := unix.Kill(-pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("kill(-%d, 0) after groupGone = %v, want ESRCH", pid, err)
	}
}

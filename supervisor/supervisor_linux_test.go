package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	deadline := time.Now().Add(waitLimit)
	child := 0
	for child = readPID(pidfile); child == 0; child = readPID(pidfile) {
		if time.Now().After(deadline) {
			t.Fatalf("supervised child did not start within %v", waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) }) // if the test fails

	if err := devloop.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = devloop.Wait()
	for !dead(child) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still alive %v after its supervisor was SIGKILLed", child, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	deadline := time.Now().Add(waitLimit)
	for !onlyZombies(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("onlyZombies(%d) = false %v after SIGKILL, want true", pid, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
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

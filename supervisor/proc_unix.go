//go:build unix

package supervisor

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func platformSupported() error { return nil }

// sysProcAttr puts the child in a process group of its own, so that the group can
// be signalled as a whole, grandchildren included.
func sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(a)
	return a
}

// signalGroup sends sig to process group pgid; a group that no longer exists is
// not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill -%s -%d: %w", signalName(sig), pgid, err)
	}
	return nil
}

// groupGone reports whether process group pgid, whose leader has been reaped, has
// no live member left. It first reaps members that are devloop's own children
// (orphans re-parented to devloop when it is PID 1 or a subreaper); members that are
// zombies of some other parent count as gone.
func groupGone(pgid int) bool {
	for {
		var ws unix.WaitStatus
		if pid, err := unix.Wait4(-pgid, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
			break
		}
	}
	err := unix.Kill(-pgid, 0)
	return errors.Is(err, unix.ESRCH) || (err == nil && onlyZombies(pgid))
}

// killPID sends SIGKILL to one process; one that is already gone is not an error.
func killPID(pid int) error { return signalPID(pid, unix.SIGKILL) }

// signalPID sends sig to one process; one that is already gone is not an error.
func signalPID(pid int, sig syscall.Signal) error {
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill -%s %d: %w", signalName(sig), pid, err)
	}
	return nil
}

// exitSignal names the signal that ended the process, or "".
func exitSignal(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return signalName(ws.Signal())
	}
	return ""
}

// signalName returns "SIGTERM" for SIGTERM.
func signalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return sig.String()
}

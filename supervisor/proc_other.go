//go:build unix && !linux

package supervisor

import (
	"errors"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// setPdeathsig does nothing: Pdeathsig is used on Linux only.
func setPdeathsig(*syscall.SysProcAttr) {}

// onlyZombies cannot tell zombies apart without /proc; stop waits up to killWait
// for such a group instead.
func onlyZombies(int) bool { return false }

// canFindRuns: without /proc other processes' environments cannot be read, so
// Options.RunFile is not used and a process that left the process group is not
// found on a restart.
const canFindRuns = false

func processesWithEnv(string) ([]int, error) {
	return nil, errors.New("finding a run's processes needs /proc (Linux)")
}

// exitedAlready reports whether process pid is gone. A zombie not yet reaped counts
// as alive: without waitid(WNOWAIT) that cannot be told here.
func exitedAlready(pid int) bool { return errors.Is(unix.Kill(pid, 0), unix.ESRCH) }

// procOf cannot identify processes without /proc; strays are never looked for.
func procOf(pid int) (procID, int, error) {
	return procID{pid: pid, start: 0}, 0, errors.New("identifying a process needs /proc (Linux)")
}

func running(procID) bool { return false }

// findHolder cannot find a socket's holder without /proc: it is always unknown.
func findHolder(netip.AddrPort, int, string) (holder, error) { return holder{}, nil }

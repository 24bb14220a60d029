//go:build unix && !linux

package supervisor

import (
	"errors"
	"syscall"
)

// setPdeathsig does nothing: Pdeathsig is used on Linux only.
func setPdeathsig(*syscall.SysProcAttr) {}

// onlyZombies cannot tell zombies apart without /proc; stop waits up to killWait
// for such a group instead.
func onlyZombies(int) bool { return false }

// canFindRuns: without /proc other processes' environments cannot be read, so
// Options.RunFile is not used.
const canFindRuns = false

func processesWithEnv(string) ([]int, error) {
	return nil, errors.New("finding a previous run's processes needs /proc (Linux)")
}

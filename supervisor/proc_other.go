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

// processesWithEnv needs /proc to read other processes' environments.
func processesWithEnv(string) ([]int, error) {
	return nil, errors.New("finding a previous run's processes needs /proc (Linux)")
}

//go:build unix && !linux

package supervisor

import "syscall"

// setPdeathsig does nothing: Pdeathsig is used on Linux only.
func setPdeathsig(*syscall.SysProcAttr) {}

// onlyZombies cannot tell zombies apart without /proc; stop waits up to killWait
// for such a group instead.
func onlyZombies(int) bool { return false }

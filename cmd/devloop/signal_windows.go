//go:build windows

package main

import (
	"fmt"
	"syscall"
)

// parseSignal: stop signals are a Unix notion; devloop's supervisor does not run on
// Windows.
func parseSignal(name string) (syscall.Signal, error) {
	return 0, fmt.Errorf("stop_signal %q: running processes is not supported on windows", name)
}

//go:build unix

package exporter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive, non-blocking flock on path and records the
// process id in it. The kernel releases the lock when the process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: another devloop process (pid %s) is exporting this target",
				path, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// checkWritable refuses a directory without any write permission bit (even
// though root could write to it: the user marked it read-only) and one the
// process may not write to, including on a read-only mount.
func checkWritable(dir string, mode fs.FileMode) error {
	if mode.Perm()&0o222 == 0 {
		return fmt.Errorf("output dir %s is read-only (mode %s)", dir, mode.Perm())
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("output dir %s is not writable: %w", dir, err)
	}
	return nil
}

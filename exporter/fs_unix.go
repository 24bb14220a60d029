//go:build unix

package exporter

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

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

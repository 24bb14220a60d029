//go:build unix && !linux

package exporter

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sameMount reports whether a and b are on the same device, so that
// rename(2) between them works.
func sameMount(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev, nil
}

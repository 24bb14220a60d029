package exporter

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sameMount reports whether a and b are on the same mount, so that rename(2)
// between them works: same device and, where the kernel reports it, the same
// mount id (bind mounts of one filesystem share a device but not renames).
func sameMount(a, b string) (bool, error) {
	var sa, sb unix.Statx_t
	const mask = unix.STATX_MNT_ID
	if err := unix.Statx(unix.AT_FDCWD, a, 0, mask, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := unix.Statx(unix.AT_FDCWD, b, 0, mask, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	if sa.Dev_major != sb.Dev_major || sa.Dev_minor != sb.Dev_minor {
		return false, nil
	}
	if sa.Mask&sb.Mask&unix.STATX_MNT_ID != 0 {
		return sa.Mnt_id == sb.Mnt_id, nil
	}
	return true, nil
}

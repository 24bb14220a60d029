//go:build linux || darwin

package godeps

import (
	"os"
	"syscall"
	"time"
)

// changedBefore reports whether fi's file last changed (content or metadata: the
// inode's change time, which no tool can set back) before t.
func changedBefore(fi os.FileInfo, t time.Time) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && changeTime(st).Before(t)
}

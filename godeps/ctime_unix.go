//go:build linux || darwin

package godeps

import (
	"fmt"
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

// fileStamp identifies a version of fi's file: inode, size, modification and change
// times (a write always moves the change time).
func fileStamp(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprint(st.Ino, fi.Size(), fi.ModTime().UnixNano(), changeTime(st).UnixNano())
}

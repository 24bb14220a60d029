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
	if !ok {
		return false
	}
	return time.Unix(st.Ctimespec.Sec, st.Ctimespec.Nsec).Before(t)
}

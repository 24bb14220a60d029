//go:build unix

package rebuild

import (
	"os"
	"syscall"
)

// fileLinks returns fi's inode and link count, which fsutil's walk uses to send
// hardlinks as links to the first path of their inode.
func fileLinks(fi os.FileInfo) (ino, nlink uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Nlink)
	}
	return 0, 0
}

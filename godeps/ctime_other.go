//go:build !linux && !darwin

package godeps

import (
	"os"
	"time"
)

// changedBefore reports whether fi's file last changed before t. Without an inode
// change time (which no tool can set back) it cannot tell — a file copied with its
// times kept while go list ran looks old — so no header is trusted there, and every
// change to a Go file of the build needs a new answer.
func changedBefore(os.FileInfo, time.Time) bool { return false }

// fileStamp is "": no header is trusted here, none is kept.
func fileStamp(os.FileInfo) string { return "" }

package e2etest

import "io/fs"

// inode: Windows has no inode numbers in os.FileInfo; snapshots compare the rest.
func inode(fs.FileInfo) (uint64, bool) { return 0, false }

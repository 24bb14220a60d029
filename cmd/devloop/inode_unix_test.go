//go:build unix

package main

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
}

//go:build windows

package main

import "testing"

// inode is not meaningful on Windows; snapshots compare digests only there.
func inode(t *testing.T, path string) string { return "" }

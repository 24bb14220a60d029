package e2etest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Snapshot describes the entries below a directory: it maps each one's slash path
// relative to the directory to
//
//	"<mode> sha256:<hex>"  a regular file (mode as fs.FileMode.String: "-rwxr-xr-x")
//	"<mode> -> <target>"   a symlink (not followed)
//	"<mode>"               a directory, with the Dirs option ("." is the directory itself),
//	                       or another kind of file
//
// followed by " inode <n>" with the Inodes option on platforms that have inodes (not
// Windows). devloop's state directory .devloop at the top is left out; a directory
// that does not exist has an empty snapshot. Two snapshots are equal when nothing
// they describe changed: compare them with maps.Equal or Diff.
type Snapshot map[string]string

// SnapshotOption adds to what a Snapshot describes.
type SnapshotOption int

const (
	// Dirs also describes directories, the snapshot's own included.
	Dirs SnapshotOption = iota + 1
	// Inodes also records each entry's inode: a file replaced by an identical copy
	// differs (devloop must not rewrite unchanged outputs).
	Inodes
)

// TakeSnapshot describes the tree below dir; any error reading it fails the test.
func TakeSnapshot(t testing.TB, dir string, opts ...SnapshotOption) Snapshot {
	t.Helper()
	dirs, inodes := slices.Contains(opts, Dirs), slices.Contains(opts, Inodes)
	out := Snapshot{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == ".devloop" {
			return fs.SkipDir
		}
		if d.IsDir() && !dirs {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			sum, err := fileDigest(path)
			if err != nil {
				return err
			}
			v += " " + sum
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			v += " -> " + target
		}
		if ino, ok := inode(fi); ok && inodes {
			v += fmt.Sprintf(" inode %d", ino)
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

// Diff describes how s differs from want, one line per entry, "" if they are equal.
func (s Snapshot) Diff(want Snapshot) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		switch g, ok := s[k]; {
		case !ok:
			fmt.Fprintf(&b, "  missing %s\n", k)
		case g != want[k]:
			fmt.Fprintf(&b, "  %s = %s, want %s\n", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "  unexpected %s (%s)\n", k, s[k])
		}
	}
	return b.String()
}

// fileDigest returns "sha256:<hex>" of the file's content.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

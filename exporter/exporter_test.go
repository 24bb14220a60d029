//go:build unix

package exporter

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
	"syscall"
	"testing"
	"time"
)

// node describes one entry of a tree: a file (content, mode), a symlink or a
// directory.
type node struct {
	content string
	mode    fs.FileMode
	link    string
	dir     bool
}

func file(content string) node { return node{content: content, mode: 0o755} }

func link(target string) node { return node{link: target} }

// writeTree creates tree under dir.
func writeTree(t testing.TB, dir string, tree map[string]node) {
	t.Helper()
	for rel, n := range tree {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case n.dir:
			err = os.MkdirAll(p, 0o755)
		case n.link != "":
			err = os.Symlink(n.link, p)
		default:
			if err = os.WriteFile(p, []byte(n.content), n.mode); err == nil {
				err = os.Chmod(p, n.mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot describes every entry below dir (names, types, modes, contents,
// link targets), skipping the top-level names in skip.
func snapshot(t testing.TB, dir string, skip ...string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if slices.Contains(skip, rel) {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			snap[rel] = "link -> " + target
		case d.IsDir():
			snap[rel] = fmt.Sprintf("dir %v", fi.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = fmt.Sprintf("file %v %q", fi.Mode()&modeBits, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// treeSnapshot is the snapshot writeTree(tree) produces in an empty dir.
func treeSnapshot(t testing.TB, tree map[string]node) map[string]string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, tree)
	return snapshot(t, dir)
}

func newExporter(t testing.TB, opts Options) *Exporter {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// dirs returns an output dir and a state dir beside it.
func dirs(t testing.TB) (out, state string) {
	root := t.TempDir()
	return filepath.Join(root, "out"), filepath.Join(root, ".devloop")
}

// export stages tree and commits it.
func export(t testing.TB, e *Exporter, tree map[string]node) (Result, error) {
	t.Helper()
	st, err := e.Begin()
	if err != nil {
		t.Fatalf("Staging() error = %v", err)
	}
	defer func() {
		if err := st.Discard(); err != nil {
			t.Errorf("Discard() error = %v", err)
		}
	}()
	writeTree(t, st.Dir(), tree)
	return st.Commit()
}

func mustExport(t testing.TB, e *Exporter, tree map[string]node) Result {
	t.Helper()
	res, err := export(t, e, tree)
	if err != nil {
		t.Fatalf("Commit() error = %v", err)
	}
	return res
}

func digest(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// stagingDirs lists what is left in the staging locations.
func stagingDirs(t testing.TB, out, state string) []string {
	t.Helper()
	var left []string
	ents, err := os.ReadDir(filepath.Join(state, "staging"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ents {
		left = append(left, d.Name())
	}
	ents, err = os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), outsideStagingPrefix) {
			left = append(left, d.Name())
		}
	}
	return left
}

func TestCommitSequence(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	steps := []struct {
		name                        string
		tree                        map[string]node
		changed, unchanged, removed []string
	}{
		{
			name: "first export",
			tree: map[string]node{
				"bin/server": file("server v1"), "bin/client": file("client v1"),
				"share/server": link("../bin/server"), "share/empty": {dir: true},
			},
			changed: []string{"bin/client", "bin/server", "share/server"},
		},
		{
			name: "same export again",
			tree: map[string]node{
				"bin/server": file("server v1"), "bin/client": file("client v1"),
				"share/server": link("../bin/server"), "share/empty": {dir: true},
			},
			unchanged: []string{"bin/client", "bin/server", "share/server"},
		},
		{
			name: "one file changed",
			tree: map[string]node{
				"bin/server": file("server v2"), "bin/client": file("client v1"),
				"share/server": link("../bin/server"), "share/empty": {dir: true},
			},
			changed:   []string{"bin/server"},
			unchanged: []string{"bin/client", "share/server"},
		},
		{
			name: "mode and link target changed",
			tree: map[string]node{
				"bin/server": file("server v2"), "bin/client": {content: "client v1", mode: 0o700},
				"share/server": link("../bin/client"), "share/empty": {dir: true},
			},
			changed:   []string{"bin/client", "share/server"},
			unchanged: []string{"bin/server"},
		},
		{
			name:      "entries dropped",
			tree:      map[string]node{"bin/server": file("server v2")},
			unchanged: []string{"bin/server"},
			removed:   []string{"bin/client", "share/server"},
		},
	}
	for _, step := range steps {
		res := mustExport(t, e, step.tree)
		if !slices.Equal(res.Changed, step.changed) {
			t.Errorf("%s: Changed = %v, want %v", step.name, res.Changed, step.changed)
		}
		if !slices.Equal(res.Unchanged, step.unchanged) {
			t.Errorf("%s: Unchanged = %v, want %v", step.name, res.Unchanged, step.unchanged)
		}
		if !slices.Equal(res.Removed, step.removed) {
			t.Errorf("%s: Removed = %v, want %v", step.name, res.Removed, step.removed)
		}
		wantDigests := map[string]string{}
		var wantFiles []string
		for rel, n := range step.tree {
			if !n.dir {
				wantFiles = append(wantFiles, rel)
			}
			if !n.dir && n.link == "" {
				wantDigests[rel] = digest(n.content)
			}
		}
		if !maps.Equal(res.Digests, wantDigests) {
			t.Errorf("%s: Digests = %v, want %v", step.name, res.Digests, wantDigests)
		}
		slices.Sort(wantFiles)
		if got := e.Files(); !slices.Equal(got, wantFiles) {
			t.Errorf("%s: Files() = %v, want %v", step.name, got, wantFiles)
		}
		if got, want := snapshot(t, out), treeSnapshot(t, step.tree); !maps.Equal(got, want) {
			t.Errorf("%s: output = %v, want %v", step.name, got, want)
		}
		if left := stagingDirs(t, out, state); len(left) != 0 {
			t.Errorf("%s: staging dirs left = %v, want none", step.name, left)
		}
	}
}

func inode(t *testing.T, p string) (uint64, time.Time) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()
}

func TestUnchangedKeepsInodeAndMtime(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, map[string]node{"bin/server": file("v1")})
	p := filepath.Join(out, "bin", "server")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	ino1, mtime1 := inode(t, p)

	mustExport(t, e, map[string]node{"bin/server": file("v1")})
	ino2, mtime2 := inode(t, p)
	if ino2 != ino1 || !mtime2.Equal(mtime1) {
		t.Errorf("unchanged file: inode, mtime = %d, %v, want %d, %v", ino2, mtime2, ino1, mtime1)
	}

	mustExport(t, e, map[string]node{"bin/server": file("v2")})
	if ino3, _ := inode(t, p); ino3 == ino1 {
		t.Errorf("changed file: inode = %d, want a new inode", ino3)
	}
}

func TestSwapWhileReaderHoldsOldFile(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, map[string]node{"bin/server": file("old binary")})
	f, err := os.Open(filepath.Join(out, "bin", "server"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	mustExport(t, e, map[string]node{"bin/server": file("new binary")})
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old binary" {
		t.Errorf("read through open fd = %q, want %q", got, "old binary")
	}
	got, err = os.ReadFile(filepath.Join(out, "bin", "server"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new binary" {
		t.Errorf("read by path = %q, want %q", got, "new binary")
	}
}

func TestStaleCleanup(t *testing.T) {
	out, state := dirs(t)
	writeTree(t, out, map[string]node{"keep": {dir: true}})
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, map[string]node{
		"bin/a": file("a"), "bin/b": file("b"), "bin/c": file("c"),
		"gen/x/y": file("y"), "keep/k": file("k"), "lnk": link("bin/a"),
	})
	writeTree(t, out, map[string]node{"bin/user.txt": file("mine")})
	// Same size, different content: only the digest tells.
	if err := os.WriteFile(filepath.Join(out, "bin", "b"), []byte("B"), 0o755); err != nil {
		t.Fatal(err)
	}

	res := mustExport(t, e, map[string]node{"bin/a": file("a")})
	if want := []string{"bin/c", "gen/x/y", "keep/k", "lnk"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	want := map[string]string{
		"bin":          "dir -rwxr-xr-x",
		"bin/a":        `file -rwxr-xr-x "a"`,
		"bin/b":        `file -rwxr-xr-x "B"`,
		"bin/user.txt": `file -rwxr-xr-x "mine"`,
		"keep":         "dir -rwxr-xr-x",
	}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if got := e.Files(); !slices.Equal(got, []string{"bin/a"}) {
		t.Errorf("Files() = %v, want [bin/a]", got)
	}

	// bin/ was created by devloop but holds user files: it stays until empty.
	for _, p := range []string{"bin/b", "bin/user.txt"} {
		if err := os.Remove(filepath.Join(out, p)); err != nil {
			t.Fatal(err)
		}
	}
	res = mustExport(t, e, map[string]node{"other": file("o")})
	if want := []string{"bin/a"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	want = map[string]string{"other": `file -rwxr-xr-x "o"`, "keep": "dir -rwxr-xr-x"}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
}

func TestCommitRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"x": file("outside")})
	tests := []struct {
		name     string
		existing map[string]node // in OutputDir before the export
		tree     map[string]node
		wantErr  string
	}{
		{
			name:     "existing symlinked dir leads outside",
			existing: map[string]node{"ext": link(outside)},
			tree:     map[string]node{"ext/x": file("s")},
			wantErr:  "directory ext:",
		},
		{
			name:     "existing directory in the way",
			existing: map[string]node{"bin/server": {dir: true}},
			tree:     map[string]node{"bin/server": file("s")},
			wantErr:  "bin/server",
		},
		{
			name:    "fifo",
			tree:    map[string]node{"bin/server": file("s")},
			wantErr: "bin/pipe is a fifo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, state := dirs(t)
			writeTree(t, out, map[string]node{"bin/old": file("old"), "keep": file("k")})
			writeTree(t, out, tt.existing)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			before, outsideBefore := snapshot(t, out), snapshot(t, outside)

			st, err := e.Begin()
			if err != nil {
				t.Fatal(err)
			}
			writeTree(t, st.Dir(), tt.tree)
			if tt.name == "fifo" {
				if err := syscall.Mkfifo(filepath.Join(st.Dir(), "bin", "pipe"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err = st.Commit()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Commit() error = %v, want one naming %q", err, tt.wantErr)
			}
			if err := st.Discard(); err != nil {
				t.Errorf("Discard() error = %v", err)
			}
			checkRefused(t, out, state, outside, before, outsideBefore)
		})
	}
}

// checkRefused checks that a refused commit changed nothing: the output dir and the
// outside dir are as their snapshots before, and no staging dir is left.
func checkRefused(t *testing.T, out, state, outside string, before, outsideBefore map[string]string) {
	t.Helper()
	if got := snapshot(t, out); !maps.Equal(got, before) {
		t.Errorf("output after refused commit = %v, want %v", got, before)
	}
	if got := snapshot(t, outside); !maps.Equal(got, outsideBefore) {
		t.Errorf("outside dir after refused commit = %v, want %v", got, outsideBefore)
	}
	if left := stagingDirs(t, out, state); len(left) != 0 {
		t.Errorf("staging dirs left = %v, want none", left)
	}
}

func TestCommitFollowsLinksInside(t *testing.T) {
	out, state := dirs(t)
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"target": file("outside")})
	writeTree(t, out, map[string]node{
		"build/bin":  {dir: true},
		"bin":        link("build/bin"),                      // symlinked dir inside: followed
		"tools/tool": link(filepath.Join(outside, "target")), // replaced, never written through
	})
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	res := mustExport(t, e, map[string]node{
		"bin/server": file("s"),
		"tools/tool": file("t"),
		"abs":        link(filepath.Join(out, "bin", "server")),
	})
	if want := []string{"abs", "bin/server", "tools/tool"}; !slices.Equal(res.Changed, want) {
		t.Errorf("Changed = %v, want %v", res.Changed, want)
	}
	want := map[string]string{
		"abs":              "link -> " + filepath.Join(out, "bin", "server"),
		"bin":              "link -> build/bin",
		"build":            "dir -rwxr-xr-x",
		"build/bin":        "dir -rwxr-xr-x",
		"build/bin/server": `file -rwxr-xr-x "s"`,
		"tools":            "dir -rwxr-xr-x",
		"tools/tool":       `file -rwxr-xr-x "t"`,
	}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if got, want := snapshot(t, outside), map[string]string{"target": `file -rwxr-xr-x "outside"`}; !maps.Equal(got, want) {
		t.Errorf("outside dir = %v, want %v", got, want)
	}
}

func TestDiscard(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, map[string]node{"bin/server": file("v1")})
	before := snapshot(t, out)

	st, err := e.Begin()
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Dir(), map[string]node{"bin/server": file("v2"), "bin/new": file("n")})
	for i := range 2 {
		if err := st.Discard(); err != nil {
			t.Errorf("Discard() #%d error = %v", i+1, err)
		}
	}
	if _, err := os.Stat(st.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging dir after Discard: stat error = %v, want not exist", err)
	}
	if got := snapshot(t, out); !maps.Equal(got, before) {
		t.Errorf("output after Discard = %v, want %v", got, before)
	}
	if _, err := st.Commit(); err == nil {
		t.Error("Commit() after Discard error = nil, want an error")
	}

	st, err = e.Begin()
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Dir(), map[string]node{"bin/server": file("v2")})
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, out)
	if err := st.Discard(); err != nil {
		t.Errorf("Discard() after Commit error = %v", err)
	}
	if got := snapshot(t, out); !maps.Equal(got, after) {
		t.Errorf("output after Discard following Commit = %v, want %v", got, after)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) Options
		wantErr string
	}{
		{
			name: "output dir is a regular file",
			setup: func(t *testing.T, root string) Options {
				writeTree(t, root, map[string]node{"bin": file("not a dir")})
				return Options{OutputDir: filepath.Join(root, "bin"), StateDir: filepath.Join(root, ".devloop"), Target: "app"}
			},
			wantErr: "bin is a regular file, not a directory",
		},
		{
			name: "output dir below a regular file",
			setup: func(t *testing.T, root string) Options {
				writeTree(t, root, map[string]node{"bin": file("not a dir")})
				return Options{OutputDir: filepath.Join(root, "bin", "sub"), StateDir: filepath.Join(root, ".devloop"), Target: "app"}
			},
			wantErr: "create output dir",
		},
		{
			name: "read-only output dir",
			setup: func(t *testing.T, root string) Options {
				out := filepath.Join(root, "out")
				if err := os.Mkdir(out, 0o555); err != nil {
					t.Fatal(err)
				}
				return Options{OutputDir: out, StateDir: filepath.Join(root, ".devloop"), Target: "app"}
			},
			wantErr: "read-only",
		},
		{
			name: "relative output dir",
			setup: func(t *testing.T, root string) Options {
				return Options{OutputDir: "bin", StateDir: filepath.Join(root, ".devloop"), Target: "app"}
			},
			wantErr: "not an absolute path",
		},
		{
			name: "relative state dir",
			setup: func(t *testing.T, root string) Options {
				return Options{OutputDir: root, StateDir: ".devloop", Target: "app"}
			},
			wantErr: "not an absolute path",
		},
		{
			name: "target with a slash",
			setup: func(t *testing.T, root string) Options {
				return Options{OutputDir: root, StateDir: filepath.Join(root, ".devloop"), Target: "a/b"}
			},
			wantErr: "invalid target name",
		},
		{
			name: "empty target",
			setup: func(t *testing.T, root string) Options {
				return Options{OutputDir: root, StateDir: filepath.Join(root, ".devloop"), Target: ""}
			},
			wantErr: "invalid target name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			opts := tt.setup(t, root)
			before := snapshot(t, root)
			e, err := New(opts)
			if err == nil {
				_ = e.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() error = %v, want one containing %q", err, tt.wantErr)
			}
			if got := snapshot(t, root, ".devloop"); !maps.Equal(got, before) {
				t.Errorf("after New() = %v, want unchanged %v", got, before)
			}
		})
	}
}

// TestExclusive: an exclusive Exporter (devloop up) holds its target for its
// lifetime; a second exclusive one fails fast naming the holder, shared ones
// (devloop build, devloop explain) are not refused.
func TestExclusive(t *testing.T) {
	out, state := dirs(t)
	opts := Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop up", Exclusive: true}
	e := newExporter(t, opts)
	_, err := New(opts)
	var held *HeldError
	if !errors.As(err, &held) || held.Target != "app" || held.Holder != fmt.Sprintf("devloop up (pid %d)", os.Getpid()) {
		t.Errorf("second exclusive New() error = %v, want a HeldError naming devloop up (pid %d)", err, os.Getpid())
	}
	shared := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop build"})
	mustExport(t, shared, map[string]node{"bin/app": file("v1")})
	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "other", Exclusive: true})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	newExporter(t, opts)
}

// TestSharedTarget: two processes export the same target (devloop up running,
// devloop build run by an editor task). Their swaps take turns, each works
// against what the other left, and an export that another process already put
// in place still counts as changed for the one that had not seen it: its
// processes run the old binary.
func TestSharedTarget(t *testing.T) {
	out, state := dirs(t)
	up := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop up", Exclusive: true})
	build := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop build"})

	res := mustExport(t, up, map[string]node{"bin/server": file("v1"), "bin/tool": file("t1")})
	if want := []string{"bin/server", "bin/tool"}; !slices.Equal(res.Changed, want) {
		t.Fatalf("up's first export: Changed = %v, want %v", res.Changed, want)
	}
	// build started before up's export: bin/tool is news to it too.
	res = mustExport(t, build, map[string]node{"bin/server": file("v2"), "bin/tool": file("t1"), "bin/extra": file("x")})
	if want := []string{"bin/extra", "bin/server", "bin/tool"}; !slices.Equal(res.Changed, want) {
		t.Errorf("build's export: Changed = %v, want %v", res.Changed, want)
	}
	ino, _ := inode(t, filepath.Join(out, "bin", "server"))

	// up builds the same change: nothing to rename, but its server must restart;
	// the extra file build exported is stale for up's export and removed.
	res = mustExport(t, up, map[string]node{"bin/server": file("v2"), "bin/tool": file("t1")})
	if !slices.Equal(res.Changed, []string{"bin/server"}) || !slices.Equal(res.Unchanged, []string{"bin/tool"}) ||
		!slices.Equal(res.Removed, []string{"bin/extra"}) {
		t.Errorf("up's export after build's: Changed, Unchanged, Removed = %v, %v, %v, want [bin/server], [bin/tool], [bin/extra]",
			res.Changed, res.Unchanged, res.Removed)
	}
	if got, _ := inode(t, filepath.Join(out, "bin", "server")); got != ino {
		t.Errorf("bin/server was rewritten (inode %d, was %d), want it left as build put it", got, ino)
	}
	res = mustExport(t, up, map[string]node{"bin/server": file("v2"), "bin/tool": file("t1")})
	if len(res.Changed) != 0 {
		t.Errorf("up's export again: Changed = %v, want none", res.Changed)
	}
	if got, want := snapshot(t, out), treeSnapshot(t, map[string]node{"bin/server": file("v2"), "bin/tool": file("t1")}); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if got := build.Files(); !slices.Equal(got, []string{"bin/extra", "bin/server", "bin/tool"}) {
		t.Errorf("build's Files() = %v, want what it last saw", got)
	}
}

// TestSwapWaitsForLock: a swap waits while another process swaps the target,
// saying once who it waits for, then completes.
func TestSwapWaitsForLock(t *testing.T) {
	out, state := dirs(t)
	waited := make(chan string, 4)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop build",
		Waiting: func(holder string) { waited <- holder }})
	other := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", Owner: "devloop up"})
	st := stageTree(t, e, map[string]node{"bin/server": file("v1")}, nil)

	unlock, err := other.lockSwap() // devloop up is in the middle of a swap
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		res Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := st.Commit()
		done <- result{res, err}
	}()
	if got, want := <-waited, fmt.Sprintf("devloop up (pid %d)", os.Getpid()); got != want {
		t.Errorf("Waiting(%q), want %q", got, want)
	}
	select {
	case r := <-done:
		t.Fatalf("Commit() returned %v, %v while the other swap held the lock", r.res, r.err)
	default:
	}
	unlock()
	r := <-done
	if r.err != nil || !slices.Equal(r.res.Changed, []string{"bin/server"}) {
		t.Errorf("Commit() after the wait = %v, %v, want bin/server changed", r.res.Changed, r.err)
	}
	if len(waited) != 0 {
		t.Errorf("Waiting called %d more times, want once", len(waited))
	}
}

// TestLiveStageSurvivesRecovery: another process starting (New) or committing
// removes staging dirs of killed exports but never one a live Staging is writing.
func TestLiveStageSurvivesRecovery(t *testing.T) {
	out, state := dirs(t)
	up := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	st := stageTree(t, up, map[string]node{"bin/server": file("v1")}, nil)

	build := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, build, map[string]node{"bin/server": file("v0")})
	if _, err := os.Stat(st.Dir()); err != nil {
		t.Fatalf("live staging dir after another process's New and Commit: %v", err)
	}
	if res, err := st.Commit(); err != nil || !slices.Equal(res.Changed, []string{"bin/server"}) {
		t.Fatalf("Commit() of the live staging = %v, %v, want bin/server changed", res.Changed, err)
	}
	if got, want := snapshot(t, out), treeSnapshot(t, map[string]node{"bin/server": file("v1")}); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if left := stagingDirs(t, out, state); len(left) != 0 {
		t.Errorf("staging dirs left = %v, want none", left)
	}
}

// TestSharedProjectRoot exports two targets into the project root (output
// "."), with the state dir inside it.
func TestSharedProjectRoot(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, ".devloop")
	writeTree(t, root, map[string]node{"go.mod": file("module x"), "bin/README": file("user")})
	server := newExporter(t, Options{OutputDir: root, StateDir: state, Target: "server"})
	client := newExporter(t, Options{OutputDir: root, StateDir: state, Target: "client"})

	st, err := server.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Dir(), filepath.Join(state, "staging", "server-")) {
		t.Errorf("Staging().Dir() = %s, want it in %s", st.Dir(), filepath.Join(state, "staging"))
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}

	mustExport(t, server, map[string]node{"bin/server": file("s1")})
	mustExport(t, client, map[string]node{"bin/client": file("c1")})
	res := mustExport(t, server, map[string]node{"bin/server2": file("s2")})
	if want := []string{"bin/server"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	res = mustExport(t, client, map[string]node{"bin/client": file("c1")})
	if len(res.Removed) != 0 || !slices.Equal(res.Unchanged, []string{"bin/client"}) {
		t.Errorf("client re-export: Removed, Unchanged = %v, %v, want [], [bin/client]", res.Removed, res.Unchanged)
	}
	want := map[string]string{
		"go.mod":      `file -rwxr-xr-x "module x"`,
		"bin":         "dir -rwxr-xr-x",
		"bin/README":  `file -rwxr-xr-x "user"`,
		"bin/client":  `file -rwxr-xr-x "c1"`,
		"bin/server2": `file -rwxr-xr-x "s2"`,
	}
	if got := snapshot(t, root, ".devloop"); !maps.Equal(got, want) {
		t.Errorf("project root = %v, want %v", got, want)
	}
	if got := client.Files(); !slices.Equal(got, []string{"bin/client"}) {
		t.Errorf("client Files() = %v, want [bin/client]", got)
	}

	// An export may not write into devloop's own state.
	_, err = export(t, server, map[string]node{".devloop/manifests/client.json": file("{}")})
	if err == nil || !strings.Contains(err.Error(), ".devloop/manifests/client.json") {
		t.Errorf("Commit() into the state dir error = %v, want one naming the entry", err)
	}
	if got := client.Files(); !slices.Equal(got, []string{"bin/client"}) {
		t.Errorf("client Files() after refused export = %v, want [bin/client]", got)
	}
}

func TestStagingOnAnotherMount(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "exporter-test-")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm to put the output dir on another mount: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(shm) })
	out, state := filepath.Join(shm, "out"), filepath.Join(t.TempDir(), ".devloop")
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if same, err := sameMount(out, filepath.Join(state, "staging")); err != nil || same {
		t.Skipf("/dev/shm is on the same mount as %s (err %v)", state, err)
	}

	st, err := e.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Dir(), filepath.Join(out, outsideStagingPrefix+"app-")) {
		t.Errorf("Staging().Dir() = %s, want it in %s", st.Dir(), out)
	}
	writeTree(t, st.Dir(), map[string]node{"bin/server": file("s")})
	if _, err := st.Commit(); err != nil {
		t.Fatalf("Commit() error = %v", err)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, out), treeSnapshot(t, map[string]node{"bin/server": file("s")}); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}

	// A leftover from a killed run is removed by the next New.
	st, err = e.Begin()
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Dir(), map[string]node{"bin/server": file("half")})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if left := stagingDirs(t, out, state); len(left) != 0 {
		t.Errorf("staging dirs left after New() = %v, want none", left)
	}
}

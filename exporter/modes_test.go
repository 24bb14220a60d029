//go:build unix

package exporter

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// stageTree stages tree, then gives the listed entries their exact modes the way
// BuildKit's local exporter does (chmod after create, so no umask applies).
func stageTree(t testing.TB, e *Exporter, tree map[string]node, modes map[string]fs.FileMode) *Staging {
	t.Helper()
	st, err := e.Begin()
	if err != nil {
		t.Fatalf("Staging() error = %v", err)
	}
	t.Cleanup(func() { _ = st.Discard() })
	writeTree(t, st.Dir(), tree)
	// Deepest first: a read-only directory is chmodded after its children.
	for _, rel := range sortedKeysDeepestFirst(modes) {
		if err := os.Chmod(filepath.Join(st.Dir(), filepath.FromSlash(rel)), modes[rel]); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func sortedKeysDeepestFirst(m map[string]fs.FileMode) []string {
	keys := slices.Sorted(maps.Keys(m)) // children sort after their parents
	slices.Reverse(keys)
	return keys
}

// modeOf is the permission, setuid, setgid and sticky bits of p (not following a
// final symlink).
func modeOf(t testing.TB, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & modeBits
}

// TestExportedModes: the output keeps every mode the staged tree has, as BuildKit's
// local exporter writes them: directories devloop creates (0750, read-only 0555,
// sticky 1777, setgid 2755, empty ones too), files with setuid, setgid and sticky
// bits, whatever the umask.
func TestExportedModes(t *testing.T) {
	old := syscall.Umask(0o077) // a restrictive umask must not leak into exported modes
	t.Cleanup(func() { syscall.Umask(old) })

	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	tree := map[string]node{
		"share/doc":         file("doc"),
		"ro/file":           file("r"),
		"tmp":               {dir: true},
		"sgid/x":            file("x"),
		"empty/inner":       {dir: true},
		"bin/suid":          file("s"),
		"bin/sgid":          file("g"),
		"bin/sticky":        file("k"),
		"bin/plain":         file("p"),
		"bin/link-to-plain": link("plain"),
	}
	modes := map[string]fs.FileMode{
		"share":       0o750,
		"share/doc":   0o640,
		"ro":          0o555,
		"ro/file":     0o444,
		"tmp":         0o777 | fs.ModeSticky,
		"sgid":        0o755 | fs.ModeSetgid,
		"empty":       0o700,
		"empty/inner": 0o711,
		"bin":         0o755,
		"bin/suid":    0o755 | fs.ModeSetuid,
		"bin/sgid":    0o755 | fs.ModeSetgid,
		"bin/sticky":  0o755 | fs.ModeSticky,
		"bin/plain":   0o700,
	}
	st := stageTree(t, e, tree, modes)
	want := snapshot(t, st.Dir())
	if _, err := st.Commit(); err != nil {
		t.Fatalf("Commit() error = %v", err)
	}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v\nwant (the staged tree) %v", got, want)
	}
	for rel, m := range modes {
		if got := modeOf(t, filepath.Join(out, filepath.FromSlash(rel))); got != m {
			t.Errorf("mode of %s = %v, want %v", rel, got, m)
		}
	}

	// The next export changes only directory modes: they follow, with no file
	// rewritten; a read-only directory still takes a changed file.
	modes["share"] = 0o700
	modes["ro"] = 0o500
	modes["tmp"] = 0o755
	st = stageTree(t, e, tree, modes)
	res, err := st.Commit()
	if err != nil {
		t.Fatalf("second Commit() error = %v", err)
	}
	if len(res.Changed) != 0 {
		t.Errorf("second Commit() Changed = %v, want none (only directory modes changed)", res.Changed)
	}
	for _, rel := range []string{"share", "ro", "tmp"} {
		if got := modeOf(t, filepath.Join(out, rel)); got != modes[rel] {
			t.Errorf("after the second export: mode of %s = %v, want %v", rel, got, modes[rel])
		}
	}
	tree["ro/file"] = node{content: "r2", mode: 0o444}
	st = stageTree(t, e, tree, modes)
	if res, err := st.Commit(); err != nil || len(res.Changed) != 1 || res.Changed[0] != "ro/file" {
		t.Fatalf("third Commit() = %v, %v, want ro/file changed", res.Changed, err)
	}
	if got := modeOf(t, filepath.Join(out, "ro")); got != 0o500 {
		t.Errorf("after a change inside it: mode of ro = %v, want %v", got, fs.FileMode(0o500))
	}
}

// TestExistingDirModeKept: a directory devloop did not create is the user's: its
// mode stays whatever the export says (BuildKit's exporter would chmod it).
func TestExistingDirModeKept(t *testing.T) {
	out, state := dirs(t)
	writeTree(t, out, map[string]node{"bin": {dir: true}})
	if err := os.Chmod(filepath.Join(out, "bin"), 0o775); err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	st := stageTree(t, e, map[string]node{"bin/server": file("s")}, map[string]fs.FileMode{"bin": 0o700})
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, filepath.Join(out, "bin")); got != 0o775 {
		t.Errorf("mode of the user's bin = %v, want it kept at %v", got, fs.FileMode(0o775))
	}
}

// TestRecoverySetsDirModes: a swap that crashed before it set the directories'
// modes gets them when it is rolled forward.
func TestRecoverySetsDirModes(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(1)})
	st := stageTree(t, e, map[string]node{"share/a": file("a"), "share/b": file("b")}, map[string]fs.FileMode{"share": 0o750})
	if _, err := st.Commit(); !errors.Is(err, errCrash) {
		t.Fatalf("Commit() error = %v, want the simulated crash", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if got := modeOf(t, filepath.Join(out, "share")); got != 0o750 {
		t.Errorf("mode of share after recovery = %v, want %v", got, fs.FileMode(0o750))
	}
	if got, want := snapshot(t, out), treeSnapshot(t, map[string]node{"share/a": file("a"), "share/b": file("b")}); len(got) != len(want) {
		t.Errorf("output after recovery = %v, want %v", got, want)
	}
}

// TestUserChmodOfCreatedDir: a directory devloop created follows the exported mode
// only while its mode is the one devloop gave it. One the user chmodded is theirs: a
// writable one keeps the user's mode, a read-only one is refused like any read-only
// directory, and nothing changes.
func TestUserChmodOfCreatedDir(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	tree := map[string]node{"share/doc": file("v1")}
	modes := map[string]fs.FileMode{"share": 0o750}
	if _, err := stageTree(t, e, tree, modes).Commit(); err != nil {
		t.Fatal(err)
	}
	share := filepath.Join(out, "share")
	if err := os.Chmod(share, 0o555); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	tree["share/doc"] = file("v2")
	_, err := stageTree(t, e, tree, modes).Commit()
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Commit() into a directory the user made read-only: error = %v, want it refused as read-only", err)
	}
	if got := snapshot(t, out); !maps.Equal(got, before) {
		t.Errorf("output after the refused commit = %v, want %v", got, before)
	}

	if err := os.Chmod(share, 0o770); err != nil {
		t.Fatal(err)
	}
	modes["share"] = 0o700
	if res, err := stageTree(t, e, tree, modes).Commit(); err != nil || !slices.Equal(res.Changed, []string{"share/doc"}) {
		t.Fatalf("Commit() = %v, %v, want share/doc changed", res.Changed, err)
	}
	if got := modeOf(t, share); got != 0o770 {
		t.Errorf("mode of share = %v, want the user's %v", got, fs.FileMode(0o770))
	}
}

// TestReadOnlyDirNoLongerExported: a read-only directory devloop created and a later
// export drops is emptied and removed.
func TestReadOnlyDirNoLongerExported(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	st := stageTree(t, e, map[string]node{"ro/file": file("r"), "bin/x": file("x")}, map[string]fs.FileMode{"ro": 0o555})
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	res := mustExport(t, e, map[string]node{"bin/x": file("x")})
	if !slices.Equal(res.Removed, []string{"ro/file"}) {
		t.Errorf("Removed = %v, want [ro/file]", res.Removed)
	}
	if _, err := os.Lstat(filepath.Join(out, "ro")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ro after it is no longer exported: %v, want it removed", err)
	}
}

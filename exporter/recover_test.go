//go:build unix

package exporter

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var errCrash = errors.New("simulated crash")

// crashAfter returns a rename hook that fails after the n-th rename.
func crashAfter(n int) func(string) error {
	count := 0
	return func(string) error {
		if count++; count == n {
			return errCrash
		}
		return nil
	}
}

var (
	oldSet = map[string]node{"bin/a": file("a1"), "bin/b": file("b1"), "bin/old": file("o1"), "same": file("s")}
	newSet = map[string]node{"bin/a": file("a2"), "bin/b": file("b2"), "lib/c": file("c2"), "same": file("s")}
)

// TestRecoveryRollsForward crashes a commit after each of its renames, then
// checks that New completes the new set.
func TestRecoveryRollsForward(t *testing.T) {
	for crash := 1; crash <= 3; crash++ { // newSet has three changed files
		t.Run(fmt.Sprintf("after rename %d", crash), func(t *testing.T) {
			out, state := dirs(t)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(crash + 4)})
			mustExport(t, e, oldSet) // four renames

			st, err := e.Begin()
			if err != nil {
				t.Fatal(err)
			}
			writeTree(t, st.Dir(), newSet)
			if _, err := st.Commit(); !errors.Is(err, errCrash) {
				t.Fatalf("Commit() error = %v, want the simulated crash", err)
			}
			if err := st.Discard(); err != nil {
				t.Fatal(err)
			}
			if left := stagingDirs(t, out, state); len(left) != 1 {
				t.Fatalf("staging dirs after interrupted commit = %v, want the journaled one kept", left)
			}
			if got := snapshot(t, out); maps.Equal(got, treeSnapshot(t, newSet)) || maps.Equal(got, treeSnapshot(t, oldSet)) {
				t.Fatalf("output after simulated crash = %v, want a mix (the crash came too late or too early)", got)
			}
			if err := e.Close(); err != nil { // the process dies
				t.Fatal(err)
			}

			e = newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			if got, want := snapshot(t, out), treeSnapshot(t, newSet); !maps.Equal(got, want) {
				t.Errorf("output after recovery = %v, want %v", got, want)
			}
			if left := stagingDirs(t, out, state); len(left) != 0 {
				t.Errorf("staging dirs after recovery = %v, want none", left)
			}
			if got, want := e.Files(), []string{"bin/a", "bin/b", "lib/c", "same"}; !slices.Equal(got, want) {
				t.Errorf("Files() after recovery = %v, want %v", got, want)
			}
			res := mustExport(t, e, newSet)
			if len(res.Changed) != 0 || len(res.Removed) != 0 {
				t.Errorf("re-export after recovery: Changed, Removed = %v, %v, want none", res.Changed, res.Removed)
			}
		})
	}
}

func TestRecoveryInterruptedTwice(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(5)})
	mustExport(t, e, oldSet)
	if _, err := export(t, e, newSet); !errors.Is(err, errCrash) {
		t.Fatalf("Commit() error = %v, want the simulated crash", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// Recovery itself crashes after its first rename.
	opts := Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(1)}
	if _, err := New(opts); !errors.Is(err, errCrash) {
		t.Fatalf("New() error = %v, want the simulated crash", err)
	}
	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if got, want := snapshot(t, out), treeSnapshot(t, newSet); !maps.Equal(got, want) {
		t.Errorf("output after second recovery = %v, want %v", got, want)
	}
}

// TestFailedSwapCompletedByNextCommit: a swap that stops midway without the
// process dying is completed before the next export is applied.
func TestFailedSwapCompletedByNextCommit(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(5)})
	mustExport(t, e, oldSet)
	if _, err := export(t, e, newSet); !errors.Is(err, errCrash) {
		t.Fatalf("Commit() error = %v, want the simulated crash", err)
	}
	third := map[string]node{"bin/a": file("a3")}
	res := mustExport(t, e, third)
	if want := []string{"bin/b", "lib/c", "same"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	if got, want := snapshot(t, out), treeSnapshot(t, third); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if left := stagingDirs(t, out, state); len(left) != 0 {
		t.Errorf("staging dirs left = %v, want none", left)
	}
}

func TestRecoveryWithoutJournal(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, oldSet)
	// Another target's leftover must survive this target's recovery.
	other := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app-debug"})
	otherStaging, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}

	st, err := e.Begin() // killed while BuildKit was exporting
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Dir(), newSet)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if got, want := snapshot(t, out), treeSnapshot(t, oldSet); !maps.Equal(got, want) {
		t.Errorf("output after recovery = %v, want the old set %v", got, want)
	}
	left := stagingDirs(t, out, state)
	if len(left) != 1 || !strings.HasPrefix(otherStaging.Dir(), filepath.Join(state, "staging", left[0])) {
		t.Errorf("staging dirs after recovery = %v, want only %s", left, filepath.Dir(otherStaging.Dir()))
	}
	if _, err := os.Stat(st.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of the journal-less staging dir error = %v, want not exist", err)
	}
}

// TestAppliedJournalNotReplayed: a journal left behind after its manifest was
// written (a crash while removing the staging dir) must not be rolled forward
// again, or it could undo a later export.
func TestAppliedJournalNotReplayed(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, newSet)

	st, err := e.Begin()
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Dir(), map[string]node{"bin/a": file("a9")})
	j, _, err := e.plan(st.Dir(), e.man)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Renames) != 1 || len(j.Stale) != 3 {
		t.Fatalf("plan: %d renames, %d stale, want 1, 3", len(j.Renames), len(j.Stale))
	}
	j.Manifest.Seq = e.man.Seq // as if written by an already applied swap
	if err := writeFileAtomic(filepath.Join(filepath.Dir(st.Dir()), journalName), j); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if got, want := snapshot(t, out), treeSnapshot(t, newSet); !maps.Equal(got, want) {
		t.Errorf("output after New() = %v, want untouched %v", got, want)
	}
	if left := stagingDirs(t, out, state); len(left) != 0 {
		t.Errorf("staging dirs after New() = %v, want none", left)
	}
}

// New removes the temporary files an interrupted manifest write left (a crash between
// atomicwriter's create and rename), and only the target's own.
func TestNewRemovesManifestTempFiles(t *testing.T) {
	out, state := dirs(t)
	dir := filepath.Join(state, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, ".tmp-app.json2718281828")
	other := filepath.Join(dir, ".tmp-app.json1.json31415") // target "app.json1"'s
	for _, p := range []string{own, other} {
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	if _, err := os.Stat(own); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("leftover %s: stat error = %v, want it removed", own, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another target's temporary file %s: %v, want it kept", other, err)
	}
	// A manifest write leaves no temporary file behind.
	if _, err := export(t, newExporter(t, Options{OutputDir: out, StateDir: state, Target: "b"}), map[string]node{"b": file("b")}); err != nil {
		t.Fatal(err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-b.json*"))
	if len(tmps) > 0 {
		t.Errorf("temporary files after a commit: %v", tmps)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.json")); err != nil {
		t.Errorf("manifest of b: %v", err)
	}
}

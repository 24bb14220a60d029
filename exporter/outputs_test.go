//go:build unix

package exporter

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The output registry is fed from the exporter's own listing: a new Exporter adds
// the last export's files, Commit adds every staged file and symlink (not
// directories) before its first rename, so a watcher consulting it never sees a
// swapped-in file it does not know.
func TestOutputsRegistry(t *testing.T) {
	out, state := dirs(t)
	reg := NewOutputs()
	var atFirstRename []string
	opts := Options{OutputDir: out, StateDir: state, Target: "app", Outputs: reg, afterRename: func(string) error {
		if atFirstRename == nil {
			atFirstRename = reg.List()
		}
		return nil
	}}
	e := newExporter(t, opts)
	if got := reg.List(); len(got) != 0 {
		t.Fatalf("registry of a target never exported = %q, want empty", got)
	}
	mustExport(t, e, map[string]node{"bin/server": file("s"), "bin/client": link("server"), "share/empty/": {dir: true}})
	want := []string{filepath.Join(out, "bin", "client"), filepath.Join(out, "bin", "server")}
	if !slices.Equal(atFirstRename, want) {
		t.Errorf("registry at the first rename = %q, want %q", atFirstRename, want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	// The next session starts knowing them.
	opts.afterRename = nil
	next := NewOutputs()
	opts.Outputs = next
	newExporter(t, opts)
	if got := next.List(); !slices.Equal(got, want) {
		t.Errorf("registry after New = %q, want %q", got, want)
	}
}

// Contains holds a registered path and every directory holding one, by whole path
// elements: "..cache" is inside the project, "bi" is not "bin".
func TestOutputsContains(t *testing.T) {
	root := t.TempDir()
	o := NewOutputs()
	o.Add(filepath.Join(root, "..cache", "bin", "server") + string(os.PathSeparator))
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{filepath.Join(root, "..cache", "bin", "server"), true},
		{filepath.Join(root, "..cache", "bin"), true},
		{filepath.Join(root, "..cache"), true},
		{root, true},
		{filepath.Join(root, "..cach"), false},
		{filepath.Join(root, "..cache", "bi"), false},
		{filepath.Join(root, "..cache", "bin", "server2"), false},
		{filepath.Dir(root), true},
	} {
		if got := o.Contains(tt.p); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

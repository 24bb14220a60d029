//go:build unix

package exporter

import (
	"slices"
	"testing"
)

// TestCommitExecutables: Result.Executables are the regular files of Changed with
// an execute bit (any of user, group, other) — what a summary of a large export
// names (issue 16 §8: "updated 1,800 files (3 executables: …)"); never a link, a
// plain file or an unchanged one.
func TestCommitExecutables(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	tree := map[string]node{
		"bin/server":     file("server"),
		"bin/tool":       {content: "tool", mode: 0o710},
		"bin/suid":       {content: "suid", mode: 0o4711},
		"bin/srv":        link("server"),
		"bin/abs":        link("/bin/busybox"),
		"share/readme":   {content: "readme", mode: 0o644},
		"share/data.bin": {content: "data", mode: 0o600},
	}
	res := mustExport(t, e, tree)
	if want := []string{"bin/server", "bin/suid", "bin/tool"}; !slices.Equal(res.Executables, want) {
		t.Errorf("first export: Executables = %v, want %v", res.Executables, want)
	}

	tree["share/readme"] = node{content: "readme v2", mode: 0o644}
	res = mustExport(t, e, tree)
	if len(res.Executables) != 0 || !slices.Equal(res.Changed, []string{"share/readme"}) {
		t.Errorf("a plain file changed: Changed, Executables = %v, %v; want [share/readme], none", res.Changed, res.Executables)
	}

	tree["share/readme"] = node{content: "readme v2", mode: 0o755}
	tree["bin/tool"] = node{content: "tool v2", mode: 0o710}
	res = mustExport(t, e, tree)
	if want := []string{"bin/tool", "share/readme"}; !slices.Equal(res.Executables, want) {
		t.Errorf("a file made executable, an executable changed: Executables = %v, want %v", res.Executables, want)
	}
}

package ospath

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestChild(t *testing.T) {
	root := filepath.FromSlash("/ctx")
	if runtime.GOOS == "windows" {
		root = `C:\ctx`
	}
	at := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	tests := []struct {
		name    string
		dir, p  string
		wantRel string
		wantOK  bool
	}{
		{"the dir itself", root, root, ".", true},
		{"a file in it", root, at("main.go"), "main.go", true},
		{"deeper", root, at("cmd/server/main.go"), filepath.FromSlash("cmd/server/main.go"), true},
		// A name that merely starts with "..": the fault the output registry had.
		{"dir named ..cache", root, at("..cache"), "..cache", true},
		{"file in ..cache", root, at("..cache/x"), filepath.FromSlash("..cache/x"), true},
		{"file named ...", root, at("..."), "...", true},
		{"unclean path back inside", root, root + string(filepath.Separator) + filepath.FromSlash("a/../b"), "b", true},
		{"the parent", root, filepath.Dir(root), "", false},
		{"a sibling", root, root + "-other", "", false},
		{"a sibling's file", root, filepath.Join(filepath.Dir(root), "other", "x"), "", false},
		{"climbing out", root, root + string(filepath.Separator) + filepath.FromSlash("a/../../x"), "", false},
		{"relative in relative", ".", filepath.FromSlash("a/b"), filepath.FromSlash("a/b"), true},
		{"relative ..cache", ".", "..cache", "..cache", true},
		{"relative out", ".", filepath.FromSlash("../a"), "", false},
		{"relative ..", ".", "..", "", false},
		{"absolute in relative", ".", root, "", false},
	}
	for _, tt := range tests {
		rel, ok := Child(tt.dir, tt.p)
		if rel != tt.wantRel || ok != tt.wantOK {
			t.Errorf("%s: Child(%q, %q) = %q, %v; want %q, %v", tt.name, tt.dir, tt.p, rel, ok, tt.wantRel, tt.wantOK)
		}
	}
}

// Display shows a path relative to a directory only when it is below it.
func TestDisplay(t *testing.T) {
	dir := filepath.FromSlash("/work/proj")
	tests := []struct{ path, want string }{
		{filepath.FromSlash("/work/proj/bin/server"), filepath.FromSlash("bin/server")},
		{filepath.FromSlash("/work/proj/..cache/x"), filepath.FromSlash("..cache/x")},
		{filepath.FromSlash("/work/other/x"), filepath.FromSlash("/work/other/x")},
		{filepath.FromSlash("/work"), filepath.FromSlash("/work")},
	}
	for _, tt := range tests {
		if got := Display(dir, tt.path); got != tt.want {
			t.Errorf("Display(%q, %q) = %q, want %q", dir, tt.path, got, tt.want)
		}
	}
}

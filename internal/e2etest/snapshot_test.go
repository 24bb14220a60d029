package e2etest

import (
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "bin", "server"), "server v1")
	WriteFile(t, filepath.Join(dir, ".devloop", "state"), "devloop's own")
	WriteFile(t, filepath.Join(dir, "share", ".devloop", "kept"), "only the top .devloop is left out")
	if err := os.Chmod(filepath.Join(dir, "bin", "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink := runtime.GOOS != "windows"
	if symlink {
		if err := os.Symlink("server", filepath.Join(dir, "bin", "link")); err != nil {
			t.Fatal(err)
		}
	}

	s := TakeSnapshot(t, dir)
	const serverDigest = "sha256:8d4b4d656182dd2dc6a8ba1ccbe8c3a0b11ad03f5e49deba19910fd3ba2debc3"
	if runtime.GOOS != "windows" {
		if got, want := s["bin/server"], "-rwxr-xr-x "+serverDigest; got != want {
			t.Errorf("bin/server = %q, want %q", got, want)
		}
	}
	if got := s["bin/link"]; symlink && !strings.HasSuffix(got, " -> server") {
		t.Errorf("bin/link = %q, want the symlink's target", got)
	}
	if _, ok := s[".devloop/state"]; ok {
		t.Errorf("snapshot holds .devloop/state: %v", s)
	}
	if _, ok := s["share/.devloop/kept"]; !ok {
		t.Errorf("snapshot lacks share/.devloop/kept: %v", s)
	}
	if _, ok := s["bin"]; ok {
		t.Errorf("snapshot without Dirs holds the directory bin: %v", s)
	}

	withDirs := TakeSnapshot(t, dir, Dirs)
	for _, d := range []string{".", "bin", "share", "share/.devloop"} {
		if got := withDirs[d]; !strings.HasPrefix(got, "d") {
			t.Errorf("snapshot with Dirs: %s = %q, want a directory", d, got)
		}
	}

	// Rewritten with the same content: equal without inodes, different with them.
	withInodes := TakeSnapshot(t, dir, Inodes)
	WriteFile(t, filepath.Join(dir, "bin", "server"), "server v1")
	if err := os.Chmod(filepath.Join(dir, "bin", "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := TakeSnapshot(t, dir); !maps.Equal(got, s) {
		t.Errorf("snapshot after rewriting the same content = %v, want %v", got, s)
	}
	if runtime.GOOS != "windows" {
		if got := TakeSnapshot(t, dir, Inodes); got["bin/server"] == withInodes["bin/server"] {
			t.Errorf("snapshot with Inodes did not change when bin/server was replaced: %q", got["bin/server"])
		}
	}

	WriteFile(t, filepath.Join(dir, "bin", "server"), "server v2")
	WriteFile(t, filepath.Join(dir, "bin", "client"), "client")
	if err := os.Remove(filepath.Join(dir, "share", ".devloop", "kept")); err != nil {
		t.Fatal(err)
	}
	diff := TakeSnapshot(t, dir).Diff(s)
	for _, want := range []string{"  bin/server = ", "  missing share/.devloop/kept\n", "  unexpected bin/client ("} {
		if !strings.Contains(diff, want) {
			t.Errorf("Diff() = %q, want it to contain %q", diff, want)
		}
	}
	if d := s.Diff(s); d != "" {
		t.Errorf("Diff() of equal snapshots = %q, want \"\"", d)
	}

	if got := TakeSnapshot(t, filepath.Join(dir, "nonexistent")); len(got) != 0 {
		t.Errorf("snapshot of a missing dir = %v, want empty", got)
	}
}

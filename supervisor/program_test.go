package supervisor

import (
	"os"
	"path/filepath"
	"testing"
)

// The Windows lookup of a program path, run here with this file system.
func TestWithPathExt(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"server.exe", "tool.cmd", "tool.exe", "lib.dll", "plain", "both", "both.exe", "v1.2"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular()
	}
	tests := []struct {
		path, pathext, want string
	}{
		{"server", "", "server.exe"},                    // the default PATHEXT
		{"server", ".COM;.EXE;.BAT;.CMD", "server.exe"}, // PATHEXT is upper case
		{"server.exe", "", "server.exe"},
		{"tool", ".CMD;.EXE", "tool.cmd"}, // PATHEXT's order
		{"tool", ".EXE;.CMD", "tool.exe"},
		{"tool", "EXE", "tool.exe"},    // an entry without its dot
		{"plain", "", "plain"},         // no extension found: as given (it exists)
		{"missing", "", "missing"},     // fails with its own name
		{"both", "", "both.exe"},       // as exec.LookPath: an extension first
		{"v1.2", "", "v1.2"},           // has an extension and exists
		{"lib", ".EXE", "lib"},         // .dll is not in PATHEXT
		{"server.", ".EXE", "server."}, // an empty extension is none
	}
	for _, tt := range tests {
		got := withPathExt(filepath.Join(dir, tt.path), tt.pathext, exists)
		if want := filepath.Join(dir, tt.want); got != want {
			t.Errorf("withPathExt(%s, %q) = %s, want %s", tt.path, tt.pathext, got, want)
		}
	}
}

package godeps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module example.com/m\n\ngo 1.26\n")
	write(t, dir, "internal/a/a.go", "package a\n\nconst A = 1\n")
	write(t, dir, "internal/b/b.go", "package b\n\nconst B = 2\n")
	write(t, dir, "cmd/x/main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/m/internal/a\"\n)\n\nfunc main() { fmt.Println(a.A) }\n")
	write(t, dir, "cmd/y/main.go", "package main\n\nimport \"example.com/m/internal/b\"\n\nfunc main() { println(b.B) }\n")

	tests := []struct {
		pkgs []string
		want string
	}{
		{[]string{"cmd/x"}, "cmd/x,internal/a"},
		{[]string{"cmd/y"}, "cmd/y,internal/b"},
		{[]string{"cmd/x", "cmd/y"}, "cmd/x,cmd/y,internal/a,internal/b"},
	}
	for _, tt := range tests {
		got, err := Dirs(t.Context(), dir, tt.pkgs)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Dirs(%v) = %v, want %s", tt.pkgs, got, tt.want)
		}
	}
	if _, err := Dirs(t.Context(), dir, []string{"cmd/missing"}); err == nil || !strings.Contains(err.Error(), "go list") {
		t.Errorf("Dirs(missing) error = %v, want a go list error", err)
	}
}

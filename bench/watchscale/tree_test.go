package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/devloop/devloop/internal/ospath"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name string
		spec treeSpec
		want treeStats
	}{
		// root + src + 1 group + 3 dirs; node_modules + 2 packages × (pkg + lib)
		{"small", treeSpec{Dirs: 3, Files: 2, IgnoredFiles: 150},
			treeStats{Files: 3*2 + 2, Dirs: 1 + 1 + 1 + 3, IgnoredFiles: 150, IgnoredDirs: 1 + 2*2}},
		// 51 dirs span two groups of 50
		{"two groups", treeSpec{Dirs: 51, Files: 1},
			treeStats{Files: 51 + 2, Dirs: 1 + 1 + 2 + 51}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "tree")
			got, err := generate(root, tt.spec)
			if err != nil {
				t.Fatalf("generate() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("generate() = %+v, want %+v", got, tt.want)
			}
			// The counts must match what is on disk.
			var onDisk treeStats
			err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				_, ignored := ospath.Child(filepath.Join(root, ignoredDirName), p)
				switch {
				case d.IsDir() && ignored:
					onDisk.IgnoredDirs++
				case d.IsDir():
					onDisk.Dirs++
				case ignored:
					onDisk.IgnoredFiles++
				default:
					onDisk.Files++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if onDisk != tt.want {
				t.Errorf("tree on disk = %+v, want %+v", onDisk, tt.want)
			}
			b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
			if err != nil || string(b) != "node_modules\n" {
				t.Errorf(".dockerignore = %q, %v, want %q", b, err, "node_modules\n")
			}
			for _, rel := range []string{srcFile(0, 0), srcFile(tt.spec.Dirs-1, tt.spec.Files-1)} {
				if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
					t.Errorf("source file %s: %v", rel, err)
				}
			}
		})
	}
}

func TestGenerateRefusesNonEmptyDir(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(root, treeSpec{Dirs: 1, Files: 1}); err == nil {
		t.Errorf("generate(non-empty dir) error = nil, want an error")
	}
}

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// treeSpec is the shape of the generated tree: dirs source directories of files files
// each (in groups of 50 under src/), plus ignored files under node_modules/ (100 per
// package directory), which the tree's .dockerignore excludes.
type treeSpec struct {
	Dirs         int `json:"dirs"`
	Files        int `json:"files_per_dir"`
	IgnoredFiles int `json:"ignored_files"`
}

// treeStats counts what generate wrote.
type treeStats struct {
	Files        int `json:"files"`         // outside node_modules, .dockerignore and Dockerfile included
	Dirs         int `json:"dirs"`          // outside node_modules, the root included
	IgnoredFiles int `json:"ignored_files"` // under node_modules
	IgnoredDirs  int `json:"ignored_dirs"`  // node_modules and below
}

const (
	dirsPerGroup   = 50
	filesPerPkg    = 100
	ignoredDirName = "node_modules"
)

// srcFile is the path of source file f of directory d, relative to the root.
func srcFile(d, f int) string {
	return filepath.Join("src", fmt.Sprintf("g%03d", d/dirsPerGroup), fmt.Sprintf("d%02d", d%dirsPerGroup), fmt.Sprintf("f%02d.go", f))
}

// ignoredFile is the path of ignored file i, relative to the root.
func ignoredFile(i int) string {
	return filepath.Join(ignoredDirName, fmt.Sprintf("p%03d", i/filesPerPkg), "lib", fmt.Sprintf("f%03d.js", i%filesPerPkg))
}

// generate writes the tree under root, which must be empty or not exist.
func generate(root string, spec treeSpec) (treeStats, error) {
	var st treeStats
	if entries, err := os.ReadDir(root); err == nil && len(entries) > 0 {
		return st, fmt.Errorf("generate tree in %s: directory not empty", root)
	}
	dirs := map[string]bool{}
	write := func(rel string, content []byte, ignored bool) error {
		dir := filepath.Dir(rel)
		if !dirs[dir] {
			if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
				return fmt.Errorf("generate tree: %w", err)
			}
			for d := dir; !dirs[d] && d != "."; d = filepath.Dir(d) {
				dirs[d] = true
				if ignored {
					st.IgnoredDirs++
				} else {
					st.Dirs++
				}
			}
		}
		if err := os.WriteFile(filepath.Join(root, rel), content, 0o644); err != nil {
			return fmt.Errorf("generate tree: %w", err)
		}
		if ignored {
			st.IgnoredFiles++
		} else {
			st.Files++
		}
		return nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return st, fmt.Errorf("generate tree: %w", err)
	}
	st.Dirs = 1 // the root
	if err := write(".dockerignore", []byte(ignoredDirName+"\n"), false); err != nil {
		return st, err
	}
	if err := write("Dockerfile", []byte("FROM scratch\nCOPY src /src\n"), false); err != nil {
		return st, err
	}
	for d := range spec.Dirs {
		for f := range spec.Files {
			if err := write(srcFile(d, f), fmt.Appendf(nil, "package d%02d\n\nconst F%02d = %d\n", d%dirsPerGroup, f, d*spec.Files+f), false); err != nil {
				return st, err
			}
		}
	}
	for i := range spec.IgnoredFiles {
		if err := write(ignoredFile(i), fmt.Appendf(nil, "module.exports = %d;\n", i), true); err != nil {
			return st, err
		}
	}
	return st, nil
}

// dirInodes returns the inode numbers of dir and every directory below it.
func dirInodes(dir string) (map[uint64]string, error) {
	out := map[uint64]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if ino, ok := inodeOf(fi); ok {
			out[ino] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list directories of %s: %w", dir, err)
	}
	return out, nil
}

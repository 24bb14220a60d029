package godeps

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// moduleFiles returns the module files the go command reads for q besides the
// packages' directories, as host paths: the build's go.mod and go.sum (for -modfile,
// the .sum beside the named file) and vendor/modules.txt beside it; the go.work and
// go.work.sum it uses, and the go.mod and go.sum of every module the workspace uses;
// and the go.mod of every module replaced by a local directory in any of those files,
// which loading the module graph reads whether or not the build imports a package of
// it. Files that do not exist are listed too: one appearing changes the build.
func moduleFiles(q Query) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	var mods []string // go.mod files whose replace directives apply
	if q.GoMod != "" {
		add(q.GoMod)
		add(strings.TrimSuffix(q.GoMod, ".mod") + ".sum")
		add(filepath.Join(filepath.Dir(q.GoMod), "vendor", "modules.txt"))
		mods = append(mods, q.GoMod)
	}
	if q.GoWork != "" {
		add(q.GoWork)
		add(q.GoWork + ".sum")
		if data, err := os.ReadFile(q.GoWork); err == nil {
			if wf, err := modfile.ParseWork(q.GoWork, data, nil); err == nil {
				base := filepath.Dir(q.GoWork)
				for _, u := range wf.Use {
					dir := localDir(base, u.Path)
					add(filepath.Join(dir, "go.mod"))
					add(filepath.Join(dir, "go.sum"))
					mods = append(mods, filepath.Join(dir, "go.mod"))
				}
				for _, r := range wf.Replace {
					if modfile.IsDirectoryPath(r.New.Path) {
						add(filepath.Join(localDir(base, r.New.Path), "go.mod"))
					}
				}
			}
		}
	}
	for _, m := range mods {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		f, err := modfile.Parse(m, data, nil)
		if err != nil {
			continue
		}
		for _, r := range f.Replace {
			if modfile.IsDirectoryPath(r.New.Path) {
				add(filepath.Join(localDir(filepath.Dir(m), r.New.Path), "go.mod"))
			}
		}
	}
	return out
}

// localDir resolves a directory path of a go.mod or go.work directive against the
// file's directory.
func localDir(base, p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

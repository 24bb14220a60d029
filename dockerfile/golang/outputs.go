package golang

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"golang.org/x/mod/modfile"
)

// Where go build and go install write executables (go help build, go help install):
//   - go build -o FILE writes FILE; -o DIR/ (a trailing slash, or an existing
//     directory, or several packages) writes each main package's executable into
//     DIR;
//   - go build without -o writes, for a single package, its executable into the
//     working directory, and nothing for several;
//   - go install writes each main package's executable into $GOBIN, else
//     $GOPATH/bin (the first GOPATH entry), in a GOOS_GOARCH subdirectory when
//     cross-compiling;
//   - an executable is named after the last element of its import path — the
//     one before it for a major version suffix (example.com/cmd/v2 → cmd) — or,
//     for files on the command line, after the first file.

// execName is the name of the executable built from the package argument arg of a
// go command run in dir; modulePath gives the import path of a container
// directory. ok is false when it cannot be told (a pattern with "...").
func execName(arg, dir string, importPath func(dir string) (string, bool)) (string, bool) {
	switch {
	case strings.Contains(arg, "..."):
		return "", false
	case strings.HasSuffix(arg, ".go"):
		return strings.TrimSuffix(path.Base(arg), ".go"), true
	case path.IsAbs(arg) || arg == "." || arg == ".." || strings.HasPrefix(arg, "./") || strings.HasPrefix(arg, "../"):
		ip, ok := importPath(dockerfile.ContainerPath(dir, arg))
		if !ok {
			return "", false
		}
		return defaultExecName(ip), true
	}
	return defaultExecName(arg), true
}

// defaultExecName is the go command's name for a package's executable (its
// load.DefaultExecName in module mode).
func defaultExecName(importPath string) string {
	dir, elem := path.Split(strings.TrimSuffix(importPath, "/"))
	if dir != "" && isVersionElement(elem) {
		_, elem = path.Split(strings.TrimSuffix(dir, "/"))
	}
	return elem
}

// isVersionElement reports a major version suffix: v2, v3, … (not v0 or v1).
func isVersionElement(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] == '0' || s[1] == '1' && len(s) == 2 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// outputPlan is where a go command writes its executables: per package
// argument (names[i], in dir) when each is known, or dir for all; file when a
// single package is written to a file. None of them: unknown.
type outputPlan struct {
	file  string   // the one executable's container path
	dir   string   // the directory the executables land in
	names []string // parallel to the package arguments; nil when unknown
}

// paths are the plan's container paths: one per package, or the directory.
func (p outputPlan) paths() []string {
	switch {
	case p.file != "":
		return []string{p.file}
	case p.dir != "" && p.names != nil:
		out := make([]string, len(p.names))
		for i, n := range p.names {
			out[i] = path.Join(p.dir, n)
		}
		return out
	case p.dir != "":
		return []string{p.dir}
	}
	return nil
}

// goEnvLookup answers a variable of the go command's environment: its value
// and whether it is known (an unset variable is known and empty).
type goEnvLookup func(name string) (string, bool)

// planOutputs says where inv, run in dir (after -C) with env, writes its
// executables. binDirs are go install's candidate directories (see installDirs);
// importPath names a container directory's package.
func planOutputs(inv *goInvocation, dir string, binDirs []string, importPath func(string) (string, bool)) []outputPlan {
	files := len(inv.args) > 0
	for _, a := range inv.args {
		files = files && strings.HasSuffix(a, ".go")
	}
	single := files || len(inv.args) == 1 && !strings.Contains(inv.args[0], "...")
	names := func() []string {
		if files {
			n, _ := execName(inv.args[0], dir, importPath)
			return []string{n}
		}
		var out []string
		for _, a := range inv.args {
			n, ok := execName(a, dir, importPath)
			if !ok {
				return nil
			}
			out = append(out, n)
		}
		return out
	}
	switch {
	case inv.outputWhy != "":
		return nil
	case inv.sub == "install":
		if files {
			return nil // go install of files needs GOBIN: rare, not followed
		}
		var plans []outputPlan
		for _, d := range binDirs {
			plans = append(plans, outputPlan{dir: d, names: names()})
		}
		return plans
	case inv.sub != "build":
		return nil
	case inv.output != "":
		o := dockerfile.ContainerPath(dir, inv.output)
		if strings.HasSuffix(inv.output, "/") || !single {
			return []outputPlan{{dir: o, names: names()}}
		}
		// A file, or an existing directory the executable lands in: both lie at
		// or below o.
		return []outputPlan{{file: o}}
	case single:
		if n := names(); n != nil {
			return []outputPlan{{file: path.Join(dir, n[0])}}
		}
	}
	return nil // several packages without -o: nothing written
}

// installDirs are the directories go install writes to in env, cross said
// whether it cross-compiles (GOOS/GOARCH other than the platform it runs on):
// $GOBIN, else the first $GOPATH entry's bin; with GOPATH unset, /go/bin (the
// golang images set GOPATH=/go in their environment, which the Dockerfile does
// not show) and $HOME/go/bin (the go command's default). nil when a variable it
// depends on has no known value.
func installDirs(env goEnvLookup, goos, goarch string, cross bool) []string {
	gobin, ok := env("GOBIN")
	if !ok {
		return nil
	}
	if gobin != "" {
		return []string{path.Clean(gobin)}
	}
	gopath, ok := env("GOPATH")
	if !ok {
		return nil
	}
	var roots []string
	if gopath != "" {
		first, _, _ := strings.Cut(gopath, ":")
		roots = []string{first}
	} else {
		home, ok := env("HOME")
		if !ok {
			return nil
		}
		if home == "" {
			home = "/root"
		}
		roots = []string{"/go", path.Join(home, "go")}
	}
	var dirs []string
	for _, r := range roots {
		d := path.Join(r, "bin")
		if cross {
			d = path.Join(d, goos+"_"+goarch)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// split turns b, the translation of inv run in dir, into one Build per package
// argument when each has an executable of its own, and gives each its outputs.
func (w *goWalker) split(b Build, inv *goInvocation, dir string, v *dockerfile.View, st *goState) []Build {
	env := func(name string) (string, bool) {
		val, ok := st.env[name]
		if !ok || val.Unset {
			return "", true
		}
		return val.Value, val.Known()
	}
	cross := b.Env["GOOS"] != st.platform.OS || b.Env["GOARCH"] != st.platform.Architecture
	if st.platformWhy != "" {
		cross = true // the go install directory gets a GOOS_GOARCH element, or not
	}
	var dirs []string
	if inv.sub == "install" {
		dirs = installDirs(env, b.Env["GOOS"], b.Env["GOARCH"], cross)
		if st.platformWhy != "" {
			dirs = append(dirs, installDirs(env, b.Env["GOOS"], b.Env["GOARCH"], false)...)
		}
	}
	plans := planOutputs(inv, dir, dirs, func(d string) (string, bool) { return w.importPath(v, d) })
	perPackage := len(plans) > 0 && len(b.Patterns) > 1
	for _, p := range plans {
		perPackage = perPackage && p.file == "" && p.names != nil && len(p.names) == len(b.Patterns)
	}
	if !perPackage {
		for _, p := range plans {
			b.Outputs = append(b.Outputs, p.paths()...)
		}
		return []Build{b}
	}
	var out []Build
	for i, pat := range b.Patterns {
		one := b
		one.Patterns = []string{pat}
		one.Outputs = nil
		for _, p := range plans {
			one.Outputs = append(one.Outputs, path.Join(p.dir, p.names[i]))
		}
		out = append(out, one)
	}
	return out
}

// importPath is the import path of the package in the container directory dir,
// from the go.mod the build sees above it: false when that is not a file of the
// context.
func (w *goWalker) importPath(v *dockerfile.View, dir string) (string, bool) {
	return importPathIn(w.ctx, v, dir)
}

// importPathIn is importPath with ctx the build context on the host.
func importPathIn(ctx string, v *dockerfile.View, dir string) (string, bool) {
	modFile, rel, st, _ := v.FindUp(dir, "go.mod")
	if st != dockerfile.FilePresent {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(ctx, filepath.FromSlash(rel)))
	if err != nil {
		return "", false
	}
	mod := modfile.ModulePath(data)
	if mod == "" {
		return "", false
	}
	return path.Join(mod, strings.TrimPrefix(strings.TrimPrefix(dir, path.Dir(modFile)), "/")), true
}

// Outputs says which files the go build and go install commands (also through
// xx-go) of d's RUNs write: per stage, each executable — a directory of unknown
// names for a package pattern — with the line of its RUN, as
// [dockerfile.Dockerfile.StageTree] asks of a language. ctx is the build context
// on the host, read for module paths (go build . names its executable after the
// module). go install writes to $GOBIN, else $GOPATH/bin, else /go/bin on the
// golang images and $HOME/go/bin elsewhere; cross-compiling go installs are taken
// for native ones. What cannot be told (an -o without a known value) is left out.
func Outputs(d *dockerfile.Dockerfile, ctx string) dockerfile.Produced {
	if abs, err := filepath.Abs(ctx); err == nil {
		ctx = abs
	}
	byStage := map[int][]dockerfile.File{}
	for _, r := range d.Runs() {
		v := dockerfile.NewView(ctx, r.State.Dir, r.Mounts, r.Copies, "")
		dockerfile.WalkRun(r.Command, r.State, func(cmd dockerfile.Command, _ *dockerfile.Facts) bool {
			if cmd.Name != "go" && cmd.Name != "xx-go" {
				return false
			}
			inv, why := parseGoCommand(cmd)
			if why != "" || cmd.DirWhy != "" || inv.sub != "build" && inv.sub != "install" {
				return true
			}
			dir := cmd.Dir
			if inv.dirArg != "" {
				dir = dockerfile.ContainerPath(dir, inv.dirArg)
			}
			env := func(name string) (string, bool) {
				val, ok := cmd.Env[name]
				if !ok || val.Unset {
					return "", true
				}
				return val.Value, val.Known()
			}
			dirs := installDirs(env, "", "", false)
			if gopath, _ := env("GOPATH"); gopath == "" && len(dirs) == 2 {
				if gobin, _ := env("GOBIN"); gobin == "" {
					dirs = dirs[1:]
					if isGolangImage(r.Root) {
						dirs = []string{"/go/bin"}
					}
				}
			}
			for _, p := range planOutputs(inv, dir, dirs, func(d string) (string, bool) { return importPathIn(ctx, v, d) }) {
				for _, o := range p.paths() {
					byStage[r.Stage] = append(byStage[r.Stage], dockerfile.File{Path: o, Dir: p.file == "" && p.names == nil, Line: r.Line})
				}
			}
			return true
		})
	}
	return func(stage int) []dockerfile.File { return byStage[stage] }
}

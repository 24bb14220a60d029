// Package godeps asks the host's go command which directories of a build context a
// Go build reads, so devloop can skip rebuilding targets a change cannot affect.
//
// The question is asked for one configuration at a time ([Query]): the directory the
// build's go command runs in, its package arguments, the flags that select files
// (-tags, -mod, -modfile, -race, …) and the environment that does (GOOS, GOARCH,
// CGO_ENABLED, GOEXPERIMENT, …). The host's own configuration never leaks in: every
// GO* and CGO_* variable of devloop's environment and the host's go env file are left
// out (GOENV=off), and only the host's module download and cache settings (GOPROXY,
// GOPRIVATE, GOMODCACHE, GOTOOLCHAIN, … as `go env` reports them) are kept, so the
// module cache is shared.
//
// The answer ([Inputs]) holds, relative to the build context, every directory of a
// package the build compiles, the directories of the files they embed and the trees
// an embed pattern names (a new file there is embedded too), and for cgo the
// directories of headers included from elsewhere and the trees -I and -L name. The host's toolchain
// need not be the build's: files that a release tag (go1.N), a GOEXPERIMENT tag or an
// architecture feature tag (amd64.v3) leaves out on the host but might let in inside
// the build are followed as well. Within a package directory whose files reach the
// build only as the package's Go files ([Inputs.Packages]), a Go file the build's
// GOOS and GOARCH rule out by its name (x_darwin.go for a linux build) is no input
// ([InputSet.Covers], [Query.LeavesOut]): an edit of a darwin-only file rebuilds only the
// darwin target. Over-approximation is safe, under-approximation is
// the fault this package exists to avoid; anything it cannot answer is an error, and
// then the caller must assume the build reads everything.
//
// An answer outlives changes that cannot alter it: [Inputs.Holds] says, from the
// changed paths alone, whether it still holds — no module file changed, every changed
// Go file of a compiled package kept the header go list read (package clause, build
// constraints, imports, cgo preamble, //go:embed lines; file change times tell a file
// written while go list ran), no cgo source changed where cgo reads, no missing import
// or "..." pattern a new package could satisfy — and else why go list must be asked
// again.
//
// What a target's builds read together is an [InputSet]; [Affects] decides from every
// target's sets whether a change can reach a target (the caller learns the sets:
// which go builds a Dockerfile stage runs is package dockerfile/golang's answer, and
// this package imports no other devloop package but internal/ospath).
package godeps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devloop/devloop/internal/ospath"
)

// Query is one go build configuration.
type Query struct {
	// Root is the build context (absolute); results are relative to it, and
	// directories outside it (the module cache, GOROOT) are left out.
	Root string
	// Dir is the absolute host directory the go command runs in.
	Dir string
	// Patterns are the package arguments as given to go build ("./cmd/server",
	// "example.com/m/cmd/...", "/abs/host/dir").
	Patterns []string
	// Flags are the go build flags that select packages and files, in a form go
	// list accepts: -tags=a,b -mod=vendor -modfile=/abs/go.dev.mod -race …
	Flags []string
	// Env is the build's configuration: GOOS and GOARCH always, and whichever of
	// CGO_ENABLED, GOEXPERIMENT, GOAMD64, GO111MODULE, … the build sets.
	Env map[string]string
	// GoMod is the absolute host path of the go.mod the build uses; the host's
	// go command must pick the same one, or the answer would be about another
	// module.
	GoMod string
	// GoWork is the absolute host path of the go.work the build uses, "" for none.
	GoWork string
}

// Inputs are the context paths a build reads, relative to Query.Root, slash-separated.
type Inputs struct {
	Dirs  []string // directories whose files (not subdirectories) feed the build
	Trees []string // directories whose whole tree feeds it (embedded directories)
	// Files are the module files inside the context the go command reads besides the
	// packages: go.mod, go.sum, go.work, go.work.sum,
	// vendor/modules.txt and the go.mod of local replacements and workspace modules,
	// whether or not they exist yet.
	Files []string
	// Missing are the import paths the build imports that no package provides (yet):
	// the build fails until one appears.
	Missing []string
	// Embeds are the files the packages embed (all of them lie in Dirs).
	Embeds []string
	// Open is set when a package pattern holds "...": a new directory may add a
	// package the build compiles.
	Open bool

	// Packages are the directories of Dirs that feed the build only through their
	// package's Go files: no file there is embedded or included by C code, and the
	// package embeds nothing from its own directory. A Go file there whose name the
	// build's configuration rules out ([Query.LeavesOut]) cannot reach the build
	// ([InputSet.Covers]).
	Packages []string

	root    string            // Query.Root
	dirs    map[string]bool   // Dirs as a set
	headers map[string]string // Go file in Dirs → goHeader when go list read it; "" unknown
	q       Query             // the question answered: its configuration rules files out by name
}

// LeavesOut reports whether a build with q's configuration never compiles a Go file
// named name, whatever it holds, by the go command's file name rules (go/build's
// MatchFile): a _GOOS, _GOARCH or _GOOS_GOARCH suffix for another platform
// (x_darwin.go, x_arm64.go, x_windows_amd64.go; android counts as linux, ios as
// darwin), or a name starting with _ or . (ignored). Only .go files: a C header is
// included by whatever name it has. The GOOS and GOARCH names are the host
// toolchain's; one newer than the build's might know a name the build's does not.
func (q Query) LeavesOut(name string) bool {
	if path.Ext(name) != ".go" || q.Env["GOOS"] == "" || q.Env["GOARCH"] == "" {
		return false
	}
	ctxt := build.Context{GOOS: q.Env["GOOS"], GOARCH: q.Env["GOARCH"], Compiler: "gc", CgoEnabled: true}
	// Only the name decides: the content is a file without build constraints.
	ctxt.OpenFile = func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("package p\n")), nil
	}
	ok, err := ctxt.MatchFile(".", name)
	return err == nil && !ok
}

// Lister runs go list. Its zero value is not usable; use [NewLister].
type Lister struct {
	goCmd string

	mu          sync.Mutex
	hostEnv     []string                // the host's download and cache settings, once known
	headerCache map[string]cachedHeader // Go file → its header, for recordHeaders
}

// NewLister returns a Lister using the go command on PATH.
func NewLister() *Lister { return &Lister{goCmd: "go"} }

// hostKeys are the settings copied from the host's `go env`: where modules come from
// and where they are cached. None of them changes which files a build compiles.
var hostKeys = []string{
	"GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "GOVCS",
	"GOAUTH", "GOMODCACHE", "GOCACHE", "GOPATH", "GOTOOLCHAIN", "GOROOT", "GOTELEMETRY",
}

// baseEnv is devloop's environment without any GO* or CGO_* variable, plus the
// host's download and cache settings and GOENV=off.
func (l *Lister) baseEnv(ctx context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hostEnv != nil {
		return l.hostEnv, nil
	}
	cmd := exec.CommandContext(ctx, l.goCmd, append([]string{"env", "-json"}, hostKeys...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go env: %w: %s", err, firstLine(stderr.String()))
	}
	var vals map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &vals); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GO") || strings.HasPrefix(k, "CGO_") {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range hostKeys {
		if v := vals[k]; v != "" {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "GOENV=off", "GOFLAGS=")
	l.hostEnv = env
	return env, nil
}

// listedPackage is what go list -json says about a package (the fields asked for).
type listedPackage struct {
	ImportPath     string
	Dir            string
	Standard       bool
	DepOnly        bool
	EmbedPatterns  []string
	EmbedFiles     []string
	IgnoredGoFiles []string
	// cgo: the files its C compiler reads, and the flags that name directories.
	CgoFiles, CFiles, CXXFiles, HFiles, MFiles, FFiles, SFiles []string
	CgoCFLAGS, CgoCPPFLAGS, CgoCXXFLAGS, CgoFFLAGS, CgoLDFLAGS []string
	Module                                                     *struct {
		Path  string
		Main  bool
		GoMod string
	}
	Error *struct{ Err string }
}

const listFields = "ImportPath,Dir,Standard,DepOnly,EmbedPatterns,EmbedFiles,IgnoredGoFiles,Module,Error," +
	"CgoFiles,CFiles,CXXFiles,HFiles,MFiles,FFiles,SFiles,CgoCFLAGS,CgoCPPFLAGS,CgoCXXFLAGS,CgoFFLAGS,CgoLDFLAGS"

// maxRounds bounds how often files the host's toolchain leaves out are followed.
const maxRounds = 4

// Inputs runs `go list -deps` for q and returns the context directories the build
// reads. Errors name the go list command and its first line of stderr.
func (l *Lister) Inputs(ctx context.Context, q Query) (Inputs, error) {
	if q.Env["GOOS"] == "" || q.Env["GOARCH"] == "" {
		return Inputs{}, errors.New("godeps: GOOS and GOARCH must be given")
	}
	base, err := l.baseEnv(ctx)
	if err != nil {
		return Inputs{}, err
	}
	env := slices.Clone(base)
	for _, k := range slices.Sorted(maps.Keys(q.Env)) {
		env = append(env, k+"="+q.Env[k])
	}
	gowork := "off"
	if q.GoWork != "" {
		gowork = q.GoWork
	}
	env = append(env, "GOWORK="+gowork)

	r := &resolver{q: q, env: env, goCmd: l.goCmd, seen: map[string]bool{}, dirs: map[string]bool{}, trees: map[string]bool{},
		missing: map[string]bool{}, embeds: map[string]bool{}, pkgDirs: map[string]bool{}, other: map[string]bool{}}
	r.root, err = filepath.Abs(q.Root)
	if err != nil {
		return Inputs{}, err
	}
	r.realRoot, err = filepath.EvalSymlinks(r.root)
	if err != nil {
		r.realRoot = r.root
	}
	start := time.Now() // before go list reads a file
	pkgs, err := r.list(ctx, q.Patterns)
	if err != nil {
		return Inputs{}, err
	}
	if err := r.checkRoots(pkgs); err != nil {
		return Inputs{}, err
	}
	if err := r.checkModule(pkgs); err != nil {
		return Inputs{}, err
	}
	for round := 0; ; round++ {
		r.round = round
		extra := r.add(pkgs)
		if len(extra) == 0 {
			break
		}
		if round == maxRounds {
			return Inputs{}, fmt.Errorf("go list in %s: files left out by the host's toolchain import more packages after %d rounds", q.Dir, maxRounds)
		}
		// Imports of files the build's toolchain may compile: errors are theirs
		// (a package only that toolchain has); what resolves is followed.
		if pkgs, err = r.list(ctx, extra); err != nil {
			return Inputs{}, err
		}
	}
	in := Inputs{
		Dirs: slices.Sorted(maps.Keys(r.dirs)), Trees: slices.Sorted(maps.Keys(r.trees)),
		Missing: slices.Sorted(maps.Keys(r.missing)), Embeds: slices.Sorted(maps.Keys(r.embeds)), root: r.root, dirs: r.dirs, q: q,
	}
	for _, d := range in.Dirs {
		if r.pkgDirs[d] && !r.other[d] {
			in.Packages = append(in.Packages, d)
		}
	}
	for _, f := range moduleFiles(q) {
		if rel, ok := r.rel(f); ok {
			in.Files = append(in.Files, rel)
		}
	}
	slices.Sort(in.Files)
	for _, p := range q.Patterns {
		in.Open = in.Open || strings.Contains(p, "...")
	}
	l.recordHeaders(&in, start)
	return in, nil
}

// resolver is one Inputs call.
type resolver struct {
	q              Query
	env            []string
	goCmd          string
	root, realRoot string
	seen           map[string]bool // import paths listed
	dirs, trees    map[string]bool
	missing        map[string]bool // import paths of the build no package provides
	embeds         map[string]bool // files the packages embed
	round          int             // 0: the build's own packages; later: imports of files the host left out
	pkgDirs        map[string]bool // the directories of packages
	other          map[string]bool // directories read otherwise: embedded or C files
}

// list runs go list -deps -e: a package that does not load (a syntax error in its
// imports while the user types, an import not there yet) is reported with what could
// be read, its directory included. That is enough: the build of whatever imports it
// fails until an edit in that directory — an input — fixes it, and a new package is
// a new directory, which no target claims.
func (r *resolver) list(ctx context.Context, patterns []string) ([]listedPackage, error) {
	args := []string{"list", "-deps", "-e", "-json=" + listFields}
	args = append(args, r.q.Flags...)
	args = append(args, patterns...)
	cmd := exec.CommandContext(ctx, r.goCmd, args...)
	cmd.Dir = r.q.Dir
	cmd.Env = r.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list %s in %s: %w: %s", strings.Join(append(slices.Clone(r.q.Flags), patterns...), " "), r.q.Dir, err, firstLine(stderr.String()))
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list in %s: %w", r.q.Dir, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// checkRoots fails for a package argument that names no directory: what the build
// compiles is unknown.
func (r *resolver) checkRoots(pkgs []listedPackage) error {
	for _, p := range pkgs {
		if p.DepOnly || p.Error == nil {
			continue
		}
		if fi, err := os.Stat(p.Dir); p.Dir == "" || err != nil || !fi.IsDir() {
			return fmt.Errorf("go list in %s: %s: %s", r.q.Dir, p.ImportPath, firstLine(p.Error.Err))
		}
	}
	return nil
}

// checkModule verifies that the host's go command used the build's go.mod (outside
// a workspace; in one, that every main module lies in the context).
func (r *resolver) checkModule(pkgs []listedPackage) error {
	want := r.q.GoMod
	if w, err := filepath.EvalSymlinks(want); err == nil {
		want = w
	}
	for _, p := range pkgs {
		if p.DepOnly || p.Module == nil || !p.Module.Main {
			continue
		}
		got := p.Module.GoMod
		if g, err := filepath.EvalSymlinks(got); err == nil {
			got = g
		}
		if r.q.GoWork != "" {
			if _, ok := r.rel(filepath.Dir(got)); !ok {
				return fmt.Errorf("go list in %s: module %s (%s) is outside the build context", r.q.Dir, p.Module.Path, got)
			}
			continue
		}
		if got != want {
			return fmt.Errorf("go list in %s: the host's go command uses %s, the build uses %s", r.q.Dir, got, want)
		}
	}
	return nil
}

// add records pkgs' context directories and returns the import paths, not yet
// listed, of files the host left out that the build's toolchain may compile.
func (r *resolver) add(pkgs []listedPackage) []string {
	var extra []string
	for _, p := range pkgs {
		r.seen[p.ImportPath] = true
	}
	for _, p := range pkgs {
		// A package only another toolchain has is not one the context can provide.
		if p.Dir == "" && p.Error != nil && !p.Standard && r.round == 0 {
			r.missing[p.ImportPath] = true
		}
		if p.Standard || p.Dir == "" {
			continue
		}
		rel, ok := r.rel(p.Dir)
		if !ok {
			continue
		}
		r.dirs[rel] = true
		r.pkgDirs[rel] = true
		for _, f := range p.EmbedFiles {
			d := path.Join(rel, path.Dir(filepath.ToSlash(f)))
			r.dirs[d] = true
			r.other[d] = true
			r.embeds[path.Join(rel, filepath.ToSlash(f))] = true
		}
		for _, pat := range p.EmbedPatterns {
			if t := embedTree(pat); t != "" {
				r.trees[path.Join(rel, t)] = true
			} else {
				r.other[rel] = true // it embeds files of its own directory
			}
		}
		r.cgoInputs(p)
		for _, imp := range r.mayImport(p) {
			if !r.seen[imp] && !slices.Contains(extra, imp) {
				extra = append(extra, imp)
			}
		}
	}
	for _, imp := range extra {
		r.seen[imp] = true
	}
	return extra
}

// rel turns a host directory into a context-relative one; ok is false outside.
func (r *resolver) rel(dir string) (string, bool) {
	for _, base := range []string{r.root, r.realRoot} {
		if rel, ok := ospath.Child(base, dir); ok {
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

// embedTree is the directory an embed pattern names or lies in, whose whole tree a
// new file may be embedded from: "static" for "static", "all:static" or
// "static/*.html"; "" when the pattern names files of the package's own directory.
func embedTree(pattern string) string {
	pattern = strings.TrimPrefix(pattern, "all:")
	var lit []string
	for _, elem := range strings.Split(pattern, "/") {
		if strings.ContainsAny(elem, `*?[\`) {
			return strings.Join(lit, "/")
		}
		lit = append(lit, elem)
	}
	// No wildcard: the pattern names a file or a directory, the tree is that path.
	return strings.Join(lit, "/")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

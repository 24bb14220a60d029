package golang

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/mod/modfile"
)

// Rule is a check of a Dockerfile, named the way BuildKit's Dockerfile linter
// (frontend/dockerfile/linter) names its rules.
type Rule struct {
	Name        string
	Description string
}

// The rules [Lint] checks.
var (
	// RuleGoBuildCacheMount: a RUN that runs go build, go install or go test — or a
	// build tool (make, …) in a Go image — where every change to the sources reruns
	// it needs a cache mount on the Go build cache, or every change recompiles
	// everything.
	RuleGoBuildCacheMount = Rule{
		Name:        "GoBuildCacheMount",
		Description: "RUN go build, go install and go test without a cache mount on the Go build cache recompile everything on every change",
	}
	// RuleGoBuildAll: go build -a rebuilds every package whatever the cache holds.
	RuleGoBuildAll = Rule{
		Name:        "GoBuildAll",
		Description: "go build -a recompiles every package on every build: a build cache, mounted or not, is not used",
	}
	// RuleGoModCacheMount: the modules a build needs must be where it looks — in
	// its image (a go mod download without a mount, in a layer that reruns only
	// when go.mod or go.sum change) or in a cache mount on the Go module cache it
	// shares with the go mod download that filled it — or it downloads every
	// module again whenever it reruns, and fails offline.
	RuleGoModCacheMount = Rule{
		Name:        "GoModCacheMount",
		Description: "RUN go mod download, go build, go install and go test that find no module cache download every module again whenever they rerun",
	}
)

// Warning is a problem a [Rule] found in a Dockerfile: one that makes rebuilds slow,
// or a build for another platform wrong.
type Warning struct {
	Rule    string // the Rule's Name
	Line    int    // 1-based line of the RUN
	Stage   string // stage name, or "stage-N" for an unnamed stage
	Message string // "<Dockerfile path>:12: RUN go build without …"
	// Fix is the flag to add to the RUN, e.g.
	// "--mount=type=cache,target=/root/.cache/go-build"; for RuleGoCrossCompile the
	// lines to write, one per line; "" when the fix is another.
	Fix string
	// Hint says what to do, one sentence: "add --mount=… to that RUN instruction".
	Hint string
}

// Lint checks every RUN of d, in the order of the Dockerfile, against the rules,
// judging each by what it sees of the build context ctx (the host directory):
// the context's sources (COPY . ., a bind mount of a directory), which make it
// rerun on every change; only single files (COPY go.mod go.sum ./), which make it
// rerun when they change; or nothing, which never does.
//
//   - [RuleGoBuildAll]: a go build, go install or go test with -a (on its command
//     line or in GOFLAGS).
//   - [RuleGoBuildCacheMount]: the first go build, go install or go test (also
//     through xx-go) of a RUN that sees the sources, without a cache mount on the
//     build cache it uses ($GOCACHE, else $XDG_CACHE_HOME/go-build, else
//     $HOME/.cache/go-build, else /root/.cache/go-build); also make, just, task,
//     mage, goreleaser or a *.sh script that sees the sources in a stage of the
//     golang image, which may run go build. A dependency warm-up that sees only
//     go.mod and go.sum is cached with its layer: no warning.
//   - [RuleGoModCacheMount]: go mod download without a cache mount on the module
//     cache it uses ($GOMODCACHE, else $GOPATH/pkg/mod, else /go/pkg/mod on the
//     golang images and $HOME/go/pkg/mod elsewhere), saying when it reruns; and a
//     go build, go install or go test without that mount when an earlier RUN of its
//     stage chain downloaded the modules into a cache mount (they are not in the
//     image), or when none downloaded them and it sees the sources — unless the
//     go.mod it sees requires no module.
//
// The commands are found by [dockerfile.WalkRun], with ENV values and ARG defaults,
// inline assignments and export: in && chains, if, case and loops, functions,
// sh -c, sh <<EOF, behind env, exec, nice, nohup, time and command. A go command
// whose cache directory depends on a variable without a known value is not judged.
func Lint(d *dockerfile.Dockerfile, ctx string) []Warning {
	l := &linter{d: d, ctx: ctx, ends: map[int]modState{}}
	if abs, err := filepath.Abs(ctx); err == nil {
		l.ctx = abs
	}
	for _, r := range d.Runs() {
		l.run(r)
	}
	return l.out
}

// modState is where a stage chain's modules are, as far as its RUNs tell.
type modState struct {
	inImage   bool   // a go mod download without a mount put them in a layer
	mountLine int    // else the line of the go mod download that put them in a cache mount
	mountDir  string // the cache mount's target
}

// linter checks one Dockerfile.
type linter struct {
	d    *dockerfile.Dockerfile
	ctx  string
	out  []Warning
	ends map[int]modState // per stage: the state after its last RUN so far
}

// seen says what a RUN sees of the context.
type seen int

const (
	seesNothing seen = iota
	seesFiles        // single files only: it reruns when they change
	seesSources      // a directory: it reruns on every change
)

func (l *linter) sees(r dockerfile.Run) (seen, []string) {
	v := dockerfile.NewView(l.ctx, r.State.Dir, r.Mounts, r.Copies, "")
	files, ok := v.Files()
	switch {
	case !ok:
		return seesSources, nil
	case len(files) > 0:
		return seesFiles, files
	}
	return seesNothing, nil
}

// chainState is the module state a RUN of stage i starts in: its stage's so far,
// or, for the first RUN, its FROM stage's.
func (l *linter) chainState(i int) modState {
	if st, ok := l.ends[i]; ok {
		return st
	}
	if p := l.d.Lookup(l.d.Stages[i].Base, dockerfile.RefFrom, i); p >= 0 {
		return l.chainState(p)
	}
	return modState{}
}

func (l *linter) warn(r dockerfile.Run, rule Rule, fix, hint, format string, args ...any) {
	if hint == "" && fix != "" {
		hint = "add " + fix + " to that RUN instruction"
	}
	l.out = append(l.out, Warning{
		Rule: rule.Name, Line: r.Line, Stage: l.d.StageName(r.Stage), Fix: fix, Hint: hint,
		Message: fmt.Sprintf("%s:%d: ", l.d.Path, r.Line) + fmt.Sprintf(format, args...),
	})
}

func (l *linter) run(r dockerfile.Run) {
	st := l.chainState(r.Stage)
	defer func() { l.ends[r.Stage] = st }()
	found := goCommandsOf(r)
	what, files := l.sees(r)
	when := "every change"
	if what == seesFiles {
		when = "every change to " + strings.Join(files, " or ")
	}

	switch {
	case found.force != "" && what == seesSources:
		hint := "drop -a from that go " + found.force
		if found.build != "" && !hasCacheMount(r, found.buildCache) && what == seesSources {
			hint += ", and add --mount=type=cache,target=" + found.buildCache + " to that RUN instruction"
		}
		l.warn(r, RuleGoBuildAll, "", hint,
			"RUN go %s -a recompiles every package on every build, whatever the Go build cache holds: a cache mount cannot speed it up while -a is there", found.force)
	case found.build != "" && what == seesSources && !hasCacheMount(r, found.buildCache):
		l.warn(r, RuleGoBuildCacheMount, "--mount=type=cache,target="+found.buildCache, "",
			"RUN go %s without a cache mount on the Go build cache: every one-line change recompiles everything (64 s instead of 1.3 s measured on a 2-core machine)", found.build)
	case found.build == "" && found.driver != "" && what == seesSources && isGolangImage(r.Root) && !hasCacheMount(r, found.driverCache):
		l.warn(r, RuleGoBuildCacheMount, "--mount=type=cache,target="+found.driverCache, "",
			"RUN %s without a cache mount on the Go build cache: if it runs go build, every one-line change recompiles everything (64 s instead of 1.3 s measured on a 2-core machine)", found.driver)
	}

	switch {
	case found.modDownload:
		suggest := found.modCache[0]
		if len(found.modCache) > 1 && !isGolangImage(r.Root) {
			suggest = found.modCache[1]
		}
		if t, ok := cacheMountOf(r, found.modCache...); ok {
			st = modState{mountLine: r.Line, mountDir: t}
			break
		}
		st = modState{inImage: true}
		if what != seesNothing {
			l.warn(r, RuleGoModCacheMount, "--mount=type=cache,target="+suggest, "",
				"RUN go mod download without a cache mount on the Go module cache: %s downloads every module again", when)
		}
	case found.build == "" || len(found.buildModCache) == 0 || hasCacheMount(r, found.buildModCache...) || st.inImage:
	case st.mountLine > 0:
		if !l.requiresNone(r) {
			l.warn(r, RuleGoModCacheMount, "--mount=type=cache,target="+st.mountDir, "",
				"RUN go %s without the module cache mount that the go mod download on line %d fills: the modules are not in the image, so every build downloads them all again (and fails offline)", found.build, st.mountLine)
		}
	case what == seesSources:
		suggest := found.buildModCache[0]
		if len(found.buildModCache) > 1 && !isGolangImage(r.Root) {
			suggest = found.buildModCache[1]
		}
		if l.requiresSome(r) {
			l.warn(r, RuleGoModCacheMount, "--mount=type=cache,target="+suggest, "",
				"RUN go %s without a cache mount on the Go module cache, and no go mod download before the sources are copied: every change downloads every module go.mod requires again", found.build)
		}
	}
}

// requires reads the go.mod the RUN sees (from its working directory up): how
// many modules it requires, and whether it could be read.
func (l *linter) requires(r dockerfile.Run) (int, bool) {
	v := dockerfile.NewView(l.ctx, r.State.Dir, r.Mounts, r.Copies, "")
	_, rel, st, _ := v.FindUp(r.State.Dir, "go.mod")
	if st != dockerfile.FilePresent {
		return 0, false
	}
	data, err := os.ReadFile(filepath.Join(l.ctx, filepath.FromSlash(rel)))
	if err != nil {
		return 0, false
	}
	f, err := modfile.ParseLax(rel, data, nil)
	if err != nil {
		return 0, false
	}
	return len(f.Require), true
}

// requiresNone reports a go.mod known to require no module.
func (l *linter) requiresNone(r dockerfile.Run) bool {
	n, ok := l.requires(r)
	return ok && n == 0
}

// requiresSome reports a go.mod known to require a module.
func (l *linter) requiresSome(r dockerfile.Run) bool {
	n, ok := l.requires(r)
	return ok && n > 0
}

// hasCacheMount reports whether a cache mount of the RUN holds one of dirs.
func hasCacheMount(r dockerfile.Run, dirs ...string) bool {
	_, ok := cacheMountOf(r, dirs...)
	return ok
}

// cacheMountOf is the target of the RUN's cache mount that holds one of dirs.
func cacheMountOf(r dockerfile.Run, dirs ...string) (string, bool) {
	for _, m := range r.Mounts {
		if m.Type != instructions.MountTypeCache || m.Target == "" {
			continue
		}
		t := dockerfile.ContainerPath(r.State.Dir, m.Target)
		for _, dir := range dirs {
			if t == "/" || dir == t || strings.HasPrefix(dir, t+"/") {
				return t, true
			}
		}
	}
	return "", false
}

// goCommands is what goCommandsOf found in a RUN.
type goCommands struct {
	build         string   // the first of build/install/test that runs, "" if none
	buildCache    string   // the build cache directory it uses
	buildModCache []string // the module cache directories it may use, the likeliest first
	force         string   // a go build/install/test with -a: its subcommand
	modDownload   bool     // go mod download runs
	modCache      []string // module cache directories it may use, the likeliest first
	driver        string   // a build tool that may run go build (make, ./build.sh)
	driverCache   string   // the build cache a go build it runs would use
}

// buildDrivers are the build tools that commonly run go build.
var buildDrivers = map[string]bool{"make": true, "gmake": true, "just": true, "task": true, "mage": true, "goreleaser": true}

// goCommandsOf walks the commands of r for the go commands the rules judge.
func goCommandsOf(r dockerfile.Run) goCommands {
	var found goCommands
	dockerfile.WalkRun(r.Command, r.State, func(cmd dockerfile.Command, _ *dockerfile.Facts) bool {
		env := func(k string) (string, bool) {
			v, ok := cmd.Env[k]
			return v.Value, !ok || v.Known() // unset counts as known (empty)
		}
		if cmd.Name != "go" && cmd.Name != "xx-go" {
			if (buildDrivers[cmd.Name] || strings.HasSuffix(cmd.Name, ".sh")) && found.driver == "" {
				if dir, ok := goBuildCache(env); ok {
					found.driver, found.driverCache = cmd.Name, dir
				}
			}
			return false
		}
		args := cmd.Args
		if len(args) >= 2 && args[0].Text == "-C" {
			args = args[2:]
		}
		if len(args) == 0 {
			return true
		}
		switch args[0].Text {
		case "build", "install", "test":
			if inv, _ := parseGoCommand(cmd); inv.force && found.force == "" {
				found.force = args[0].Text
			}
			dir, ok := goBuildCache(env)
			if ok && found.build == "" {
				found.build, found.buildCache = args[0].Text, dir
				found.buildModCache, _ = goModCache(env)
			}
		case "mod":
			if len(args) > 1 && args[1].Text == "download" && !found.modDownload {
				if dirs, ok := goModCache(env); ok {
					found.modDownload, found.modCache = true, dirs
				}
			}
		}
		return true
	})
	return found
}

// goBuildCache is the directory the go command uses as its build cache; false when
// a variable it depends on has no known value.
func goBuildCache(env func(string) (string, bool)) (string, bool) {
	for _, k := range []string{"GOCACHE", "XDG_CACHE_HOME", "HOME"} {
		v, known := env(k)
		switch {
		case !known:
			return "", false
		case v == "":
		case k == "GOCACHE":
			return path.Clean(v), true
		case k == "XDG_CACHE_HOME":
			return path.Join(v, "go-build"), true
		default:
			return path.Join(v, ".cache", "go-build"), true
		}
	}
	return "/root/.cache/go-build", true
}

// goModCache lists where the module cache may be: the golang images set GOPATH=/go,
// others default it to $HOME/go. False when a variable it depends on has no known
// value.
func goModCache(env func(string) (string, bool)) ([]string, bool) {
	dir, ok := goModCacheDir(env)
	switch {
	case !ok:
		return nil, false
	case varSet(env, "GOMODCACHE") || varSet(env, "GOPATH"):
		return []string{dir}, true
	}
	return []string{"/go/pkg/mod", dir}, true
}

// goModCacheDir is the directory the go command uses as its module cache where the
// environment is all there is to know (the image's included): $GOMODCACHE, else
// $GOPATH/pkg/mod (its first entry), else $HOME/go/pkg/mod, /root's without HOME.
// False when a variable it depends on has no known value.
func goModCacheDir(env func(string) (string, bool)) (string, bool) {
	for _, k := range []string{"GOMODCACHE", "GOPATH", "HOME"} {
		v, known := env(k)
		switch {
		case !known:
			return "", false
		case v == "":
		case k == "GOMODCACHE":
			return path.Clean(v), true
		case k == "GOPATH":
			first, _, _ := strings.Cut(v, ":")
			return path.Join(first, "pkg", "mod"), true
		default:
			return path.Join(v, "go", "pkg", "mod"), true
		}
	}
	return "/root/go/pkg/mod", true
}

// varSet reports whether env has a non-empty value for k.
func varSet(env func(string) (string, bool), k string) bool {
	v, _ := env(k)
	return v != ""
}

// isGolangImage reports whether ref names the official golang image, whose GOPATH
// is /go.
func isGolangImage(ref string) bool {
	ref, _, _ = strings.Cut(ref, "@")
	name := path.Base(ref)
	name, _, _ = strings.Cut(name, ":")
	return name == "golang"
}

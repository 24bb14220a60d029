package golang

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/devloop/devloop/dockerfile"
)

// Build is one `go build` or `go install` of a build, translated to the host: the
// question to ask the host's go list to learn which context directories it reads.
type Build struct {
	Line     int               // the RUN's line in the Dockerfile
	Command  string            // the command, its words expanded: "go build -o /out/app ./cmd/app"
	Dir      string            // absolute host directory the go command runs in
	Patterns []string          // package arguments; container directories mapped to host ones
	Flags    []string          // flags that select packages and files: -tags=…, -mod=…, -modfile=<host path>, -race
	Env      map[string]string // GOOS, GOARCH and every other configuration variable the build sets
	GoMod    string            // absolute host path of the go.mod the build uses
	GoWork   string            // absolute host path of the go.work it uses, "" for none
	// Outputs are the container paths it writes executables to: a file per
	// package when the names are known, else the directory they land in; nil when
	// unknown (or it writes none: a check of several packages). InputsOf gives a
	// target the builds whose outputs reach its exported files, and those without.
	Outputs []string
}

// Configs are the configurations the build may run with: Env, or, when the build
// leaves CGO_ENABLED unset, Env with cgo on and Env with it off, since the go command
// enables cgo only where it finds a C compiler, which devloop cannot see.
func (b Build) Configs() []map[string]string {
	if _, ok := b.Env["CGO_ENABLED"]; ok {
		return []map[string]string{b.Env}
	}
	var out []map[string]string
	for _, v := range []string{"1", "0"} {
		if v == "0" && b.needsCgo() {
			continue
		}
		env := maps.Clone(b.Env)
		if env == nil {
			env = map[string]string{}
		}
		env["CGO_ENABLED"] = v
		out = append(out, env)
	}
	return out
}

// needsCgo reports flags that only work with cgo.
func (b Build) needsCgo() bool {
	for _, f := range b.Flags {
		if f == "-race" || f == "-msan" || f == "-asan" {
			return true
		}
	}
	return false
}

// identifier matches a flag or variable name.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// goConfigVars are the environment variables that change which packages and files a
// go build compiles. GOFLAGS is read separately.
var goConfigVars = []string{
	"GOOS", "GOARCH", "CGO_ENABLED", "GOEXPERIMENT", "GO111MODULE", "GOWORK",
	"GOARM", "GOAMD64", "GO386", "GOARM64", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
}

// flagKind is how a go build flag matters to the packages and files it compiles.
type flagKind int

const (
	flagIgnore      flagKind = iota // no effect on which files are compiled
	flagIgnoreValue                 // takes a value, no effect
	flagTags                        // -tags
	flagMod                         // -mod
	flagModfile                     // -modfile
	flagPGO                         // -pgo: a profile file read
	flagSanitizer                   // -race, -msan, -asan: a build tag each
	flagUnsupported                 // changes the files in a way devloop does not follow
	flagUnsupportedValue
)

// goBuildFlags are go build's flags (go help build).
var goBuildFlags = map[string]flagKind{
	"a": flagIgnore, "n": flagIgnore, "v": flagIgnore, "x": flagIgnore, "work": flagIgnore,
	"trimpath": flagIgnore, "linkshared": flagIgnore, "modcacherw": flagIgnore, "cover": flagIgnore,
	"json": flagIgnore, "i": flagIgnore,
	"o": flagIgnoreValue, "p": flagIgnoreValue, "asmflags": flagIgnoreValue, "buildmode": flagIgnoreValue,
	"buildvcs": flagIgnore, "gcflags": flagIgnoreValue, "gccgoflags": flagIgnoreValue,
	"installsuffix": flagIgnoreValue, "ldflags": flagIgnoreValue, "pkgdir": flagIgnoreValue,
	"covermode": flagIgnoreValue, "coverpkg": flagIgnoreValue,
	"tags": flagTags, "mod": flagMod, "modfile": flagModfile, "pgo": flagPGO,
	"race": flagSanitizer, "msan": flagSanitizer, "asan": flagSanitizer,
	"overlay": flagUnsupportedValue, "compiler": flagUnsupportedValue, "toolexec": flagUnsupportedValue,
}

// boolFlag reports flags that take no separate value.
func (k flagKind) boolFlag() bool {
	return k == flagIgnore || k == flagSanitizer || k == flagUnsupported
}

// goInvocation is a go build, go install or go test command line, parsed.
type goInvocation struct {
	sub    string   // build, install, test: what follows go [-C dir]
	flags  []string // that select packages and files: -tags=…, -mod=…, -modfile=… (as written), -race
	dirArg string   // -C
	pgo    string   // -pgo FILE
	args   []string // package arguments, as written; "." when none
	// output is -o as written ("" for none); outputWhy says why its value is
	// unknown.
	output    string
	outputWhy string
	force     bool // -a, on the command line or in GOFLAGS
}

// parseFlag splits "-name=value" / "--name" into its name and value.
func parseFlag(s string) (name, value string, hasValue bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "-")
	name, value, hasValue = strings.Cut(s, "=")
	return name, value, hasValue
}

// addFlag records one flag; it returns why the build cannot be followed.
func (inv *goInvocation) addFlag(name, value string, hasValue bool) string {
	kind, known := goBuildFlags[name]
	switch {
	case name == "C":
		inv.dirArg = value
	case !known:
		return fmt.Sprintf("go build flag -%s is not known to devloop", name)
	case name == "o":
		inv.output, inv.outputWhy = value, ""
	case name == "a":
		inv.force = !hasValue || value == "true"
	case kind == flagTags:
		inv.flags = append(inv.flags, "-tags="+value)
	case kind == flagMod:
		if value == "mod" {
			value = "readonly" // never let the host's go list rewrite go.mod
		}
		inv.flags = append(inv.flags, "-mod="+value)
	case kind == flagModfile:
		inv.flags = append(inv.flags, "-modfile="+value) // mapped to the host later
	case kind == flagPGO:
		if value != "auto" && value != "off" && value != "" {
			inv.pgo = value
		}
	case kind == flagSanitizer:
		if !hasValue || value == "true" {
			inv.flags = append(inv.flags, "-"+name)
		}
	case kind == flagUnsupported || kind == flagUnsupportedValue:
		if name == "compiler" && value == "gc" {
			return ""
		}
		return fmt.Sprintf("go build -%s is not followed by devloop", name)
	}
	return ""
}

// parseGoCommand parses call, a go command of the form go [-C dir] SUB [flags]
// [packages] (go build, go install, go test): GOFLAGS from its environment, then
// its command line. why says what cannot be followed: GOFLAGS or a word that
// matters without a known value, a flag devloop does not know or follow. A flag
// value that changes no file compiled (-ldflags "-X main.v=$(git describe)") may be
// unknown; an unknown -o value is outputWhy.
func parseGoCommand(call dockerfile.Command) (inv *goInvocation, why string) {
	inv = &goInvocation{}
	args := call.Args
	if len(args) > 1 && args[0].Text == "-C" {
		inv.dirArg, args = args[1].Text, args[2:]
	}
	if len(args) == 0 {
		return inv, "go without a command"
	}
	inv.sub, args = args[0].Text, args[1:]

	if gf, ok := call.Env["GOFLAGS"]; ok && !gf.Unset {
		if !gf.Known() {
			return inv, fmt.Sprintf("GOFLAGS has no known value (%s)", gf.Why)
		}
		fields, ferr := splitGoFlags(gf.Value)
		if ferr != nil {
			return inv, fmt.Sprintf("GOFLAGS=%s: %v", gf.Value, ferr)
		}
		for _, f := range fields {
			name, value, hasValue := parseFlag(f)
			if _, known := goBuildFlags[name]; !known {
				continue // flags of other go commands: go build ignores them
			}
			if why := inv.addFlag(name, value, hasValue); why != "" {
				return inv, "GOFLAGS: " + why
			}
		}
	}

	// The command line: flags up to the first package argument.
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a.Why != "" {
			raw := strings.TrimLeft(a.Raw, `"'`)
			if name, _, ok := parseFlag(raw); ok && strings.HasPrefix(raw, "-") && goBuildFlags[name] == flagIgnoreValue && identifier.MatchString(name) {
				if name == "o" {
					inv.output, inv.outputWhy = "", a.Raw+" "+a.Why
				}
				continue // -ldflags="-X main.version=$(git describe)": no effect on the files
			}
			return inv, fmt.Sprintf("go build argument %s %s", a.Raw, a.Why)
		}
		if a.Text == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a.Text, "-") || a.Text == "-" {
			break
		}
		name, value, hasValue := parseFlag(a.Text)
		kind, known := goBuildFlags[name]
		if (known && !kind.boolFlag() || name == "C") && !hasValue {
			if i+1 >= len(args) {
				return inv, fmt.Sprintf("go build flag %s has no value", a.Text)
			}
			i++
			if args[i].Why != "" {
				if kind != flagIgnoreValue {
					return inv, fmt.Sprintf("go build %s %s %s", a.Text, args[i].Raw, args[i].Why)
				}
				if name == "o" {
					inv.output, inv.outputWhy = "", a.Text+" "+args[i].Raw+" "+args[i].Why
				}
				continue
			}
			value, hasValue = args[i].Text, true
		}
		if why := inv.addFlag(name, value, hasValue); why != "" {
			return inv, why
		}
	}
	for _, a := range args[i:] {
		if a.Why != "" {
			return inv, fmt.Sprintf("go build package argument %s %s", a.Raw, a.Why)
		}
		inv.args = append(inv.args, a.Text)
	}
	if len(inv.args) == 0 {
		inv.args = []string{"."}
	}
	return inv, ""
}

// splitGoFlags splits GOFLAGS as the go command does: space-separated, quotes
// grouping.
func splitGoFlags(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// goBuild translates call, run by a RUN at line that sees v, to Builds — one per
// package argument when each lands in an executable of its own (go install, or
// go build -o DIR/ of several packages), so that each target gets the packages
// of the executables it exports — and lists the other context files it reads
// (-modfile and its go.sum, a -pgo profile, a GOWORK file). A go install of
// module@version reads nothing of the context: no Builds.
func (w *goWalker) goBuild(line int, call dockerfile.Command, v *dockerfile.View, st *goState) (builds []Build, reads []string, err error) {
	fail := func(format string, a ...any) ([]Build, []string, error) {
		return nil, nil, w.unknown(line, fmt.Sprintf(format, a...))
	}
	// The environment: configuration variables, then GOFLAGS and the command line.
	env := map[string]string{}
	for _, k := range goConfigVars {
		val, ok := call.Env[k]
		switch {
		case !ok || val.Unset:
		case !val.Known():
			return fail("%s has no known value (%s)", k, val.Why)
		default:
			env[k] = val.Value
		}
	}
	inv, why := parseGoCommand(call)
	if why != "" {
		return fail("%s", why)
	}
	versioned := 0
	for _, a := range inv.args {
		if strings.Contains(a, "@") {
			versioned++
		}
	}
	if versioned == len(inv.args) {
		return nil, nil, nil // go install pkg@version builds outside the context's module
	}

	// Where it runs, and which module.
	if call.DirWhy != "" {
		return fail("the working directory of go build is unknown (%s)", call.DirWhy)
	}
	dir := call.Dir
	if inv.dirArg != "" {
		dir = dockerfile.ContainerPath(dir, inv.dirArg)
	}
	if env["GO111MODULE"] == "off" {
		return fail("GO111MODULE=off builds in GOPATH mode, which devloop does not follow")
	}
	if env["GOOS"] == "" || env["GOARCH"] == "" {
		if st.platformWhy != "" {
			return fail("the stage's platform is unknown (%s)", st.platformWhy)
		}
		if env["GOOS"] == "" {
			env["GOOS"] = st.platform.OS
		}
		if env["GOARCH"] == "" {
			env["GOARCH"] = st.platform.Architecture
		}
		if env["GOOS"] == "" || env["GOARCH"] == "" {
			return fail("the builder's platform is unknown")
		}
	}
	if v.Why() != "" {
		return fail("%s", v.Why())
	}
	modPath, modRel, modState, why := v.FindUp(dir, "go.mod")
	switch modState {
	case dockerfile.FileMaybe:
		return fail("%s", why)
	case dockerfile.FileAbsent:
		return fail("no go.mod from the build context in %s or above", dir)
	}
	root, hostRoot := path.Dir(modPath), path.Dir(modRel)
	goWork := ""
	switch gw := env["GOWORK"]; gw {
	case "off":
	case "":
		workPath, workRel, workState, why := v.FindUp(dir, "go.work")
		switch workState {
		case dockerfile.FileMaybe:
			return fail("%s", why)
		case dockerfile.FilePresent:
			goWork, root, hostRoot = workRel, path.Dir(workPath), path.Dir(workRel)
		}
	default:
		rel, state, why := v.File(dockerfile.ContainerPath(dir, gw))
		if state != dockerfile.FilePresent {
			return fail("GOWORK=%s is not a file of the build context %s", gw, why)
		}
		goWork = rel
		reads = append(reads, rel)
		// The workspace's modules are named relative to the go.work file.
		root, hostRoot = path.Dir(dockerfile.ContainerPath(dir, gw)), path.Dir(rel)
	}
	delete(env, "GOWORK")
	if dir != root && !dockerfile.Under(dir, root) {
		return fail("go build runs in %s, outside the module at %s", dir, root)
	}
	if why := v.CheckTree(root, hostRoot); why != "" {
		return fail("%s", why)
	}
	for _, m := range st.modified {
		if m.path == root || dockerfile.Under(m.path, root) || dockerfile.Under(root, m.path) {
			return fail("the RUN at line %d may change files under %s (%s)", m.line, root, m.why)
		}
	}
	hostDir := dockerfile.ContextPath(hostRoot, strings.TrimPrefix(dir, root))

	b := Build{
		Line:    line,
		Command: commandText(call),
		Dir:     w.hostPath(hostDir),
		GoMod:   w.hostPath(modRel),
		Env:     env,
	}
	if goWork != "" {
		b.GoWork = w.hostPath(goWork)
	}
	for _, f := range inv.flags {
		if mf, ok := strings.CutPrefix(f, "-modfile="); ok {
			rel, state, why := v.File(dockerfile.ContainerPath(dir, mf))
			if state != dockerfile.FilePresent {
				return fail("-modfile=%s is not a file of the build context %s", mf, why)
			}
			f = "-modfile=" + w.hostPath(rel)
			reads = append(reads, rel, strings.TrimSuffix(rel, ".mod")+".sum")
		}
		b.Flags = append(b.Flags, f)
	}
	// The shell expanded a wildcard in a package argument (go build cmd/app/*)
	// against the container's files: expand it against the context's.
	var args []string
	for _, a := range inv.args {
		if !dockerfile.HasWildcard(a) {
			args = append(args, a)
			continue
		}
		matches, why := w.glob(v, dir, a)
		if why != "" {
			return fail("go build argument %s: %s", a, why)
		}
		args = append(args, matches...)
	}
	inv.args = args
	for _, a := range inv.args {
		if path.IsAbs(a) {
			a = path.Clean(a)
			if strings.HasSuffix(a, ".go") {
				rel, state, why := v.File(a)
				if state != dockerfile.FilePresent {
					return fail("file %s is not a file of the build context %s", a, why)
				}
				a = w.hostPath(rel)
			} else {
				rel, ok := v.HostDir(a)
				if !ok {
					return fail("package %s is not a directory of the build context", a)
				}
				a = w.hostPath(rel)
			}
		}
		b.Patterns = append(b.Patterns, a)
	}
	if inv.pgo != "" {
		reads = append(reads, v.ReadsUnder(dockerfile.ContainerPath(dir, inv.pgo))...)
	}
	return w.split(b, inv, dir, v, st), reads, nil
}

// commandText is how messages show a go command: its words as expanded, those
// without a known value as written.
func commandText(call dockerfile.Command) string {
	words := []string{"go"}
	for _, a := range call.Args {
		if a.Why != "" {
			words = append(words, a.Raw)
			continue
		}
		words = append(words, a.Text)
	}
	return strings.Join(words, " ")
}

// glob expands a shell wildcard in the package argument a, as the shell in the
// container did, against the context's files the RUN sees (v): the matches as
// arguments relative to dir ("./cmd/app/main.go") or absolute container paths.
// Names starting with a dot match only a pattern that starts with one. No match
// leaves a as it is, as the shell does.
func (w *goWalker) glob(v *dockerfile.View, dir, a string) ([]string, string) {
	abs := dockerfile.ContainerPath(dir, a)
	lit := literalDir(abs)
	hostLit, ok := v.HostDir(lit)
	if !ok {
		return nil, fmt.Sprintf("%s is not a directory of the build context", lit)
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(abs, lit), "/")
	matches, err := filepath.Glob(filepath.Join(w.hostPath(hostLit), filepath.FromSlash(rest)))
	if err != nil {
		return nil, err.Error()
	}
	var out []string
	for _, m := range matches {
		r, err := filepath.Rel(w.hostPath(hostLit), m)
		if err != nil {
			continue
		}
		r = filepath.ToSlash(r)
		if hiddenMatch(rest, r) {
			continue
		}
		c := path.Join(lit, r)
		if rel, ok := strings.CutPrefix(c, strings.TrimSuffix(dir, "/")+"/"); ok {
			c = "./" + rel
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return []string{a}, ""
	}
	return out, ""
}

// hiddenMatch reports a match the shell leaves out: an element starting with a
// dot where the pattern's element does not.
func hiddenMatch(pattern, match string) bool {
	pe, me := strings.Split(pattern, "/"), strings.Split(match, "/")
	for i := range me {
		if i < len(pe) && strings.HasPrefix(me[i], ".") && !strings.HasPrefix(pe[i], ".") {
			return true
		}
	}
	return false
}

// hostPath is the absolute host path of a context-relative path.
func (w *goWalker) hostPath(rel string) string {
	return filepath.Join(w.ctx, filepath.FromSlash(rel))
}

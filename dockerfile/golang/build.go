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
	Dir      string            // absolute host directory the go command runs in
	Patterns []string          // package arguments; container directories mapped to host ones
	Flags    []string          // flags that select packages and files: -tags=…, -mod=…, -modfile=<host path>, -race
	Env      map[string]string // GOOS, GOARCH and every other configuration variable the build sets
	GoMod    string            // absolute host path of the go.mod the build uses
	GoWork   string            // absolute host path of the go.work it uses, "" for none
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

// goInvocation is a go build command line being translated.
type goInvocation struct {
	flags  []string
	dirArg string // -C
	pgo    string // -pgo FILE
	args   []string
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

// goBuild translates call, run by a RUN at line that sees v, to a Build, and
// lists the other context files it reads (-modfile and its go.sum, a -pgo profile,
// a GOWORK file). skip is true for a go install of module@version, which reads
// nothing of the context.
func (w *goWalker) goBuild(line int, call dockerfile.Command, v *dockerfile.View, st *goState) (b Build, reads []string, skip bool, err error) {
	fail := func(format string, a ...any) (Build, []string, bool, error) {
		return Build{}, nil, false, w.unknown(line, fmt.Sprintf(format, a...))
	}
	inv := &goInvocation{}
	args := call.Args
	if len(args) > 1 && args[0].Text == "-C" {
		inv.dirArg, args = args[1].Text, args[2:]
	}
	args = args[1:] // build or install

	// The environment: configuration variables and GOFLAGS.
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
	if gf, ok := call.Env["GOFLAGS"]; ok && !gf.Unset {
		if !gf.Known() {
			return fail("GOFLAGS has no known value (%s)", gf.Why)
		}
		fields, ferr := splitGoFlags(gf.Value)
		if ferr != nil {
			return fail("GOFLAGS=%s: %v", gf.Value, ferr)
		}
		for _, f := range fields {
			name, value, hasValue := parseFlag(f)
			if _, known := goBuildFlags[name]; !known {
				continue // flags of other go commands: go build ignores them
			}
			if why := inv.addFlag(name, value, hasValue); why != "" {
				return fail("GOFLAGS: %s", why)
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
				continue // -ldflags="-X main.version=$(git describe)": no effect on the files
			}
			return fail("go build argument %s %s", a.Raw, a.Why)
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
				return fail("go build flag %s has no value", a.Text)
			}
			i++
			if args[i].Why != "" && kind != flagIgnoreValue {
				return fail("go build %s %s %s", a.Text, args[i].Raw, args[i].Why)
			}
			value, hasValue = args[i].Text, true
		}
		if why := inv.addFlag(name, value, hasValue); why != "" {
			return fail("%s", why)
		}
	}
	for _, a := range args[i:] {
		if a.Why != "" {
			return fail("go build package argument %s %s", a.Raw, a.Why)
		}
		inv.args = append(inv.args, a.Text)
	}
	if len(inv.args) == 0 {
		inv.args = []string{"."}
	}
	versioned := 0
	for _, a := range inv.args {
		if strings.Contains(a, "@") {
			versioned++
		}
	}
	if versioned == len(inv.args) {
		return Build{}, nil, true, nil // go install pkg@version builds outside the context's module
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

	b = Build{
		Line:  line,
		Dir:   w.hostPath(hostDir),
		GoMod: w.hostPath(modRel),
		Env:   env,
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
	for _, a := range inv.args {
		if path.IsAbs(a) {
			rel, ok := v.HostDir(path.Clean(a))
			if !ok {
				return fail("package %s is not a directory of the build context", a)
			}
			a = w.hostPath(rel)
		}
		b.Patterns = append(b.Patterns, a)
	}
	if inv.pgo != "" {
		reads = append(reads, v.ReadsUnder(dockerfile.ContainerPath(dir, inv.pgo))...)
	}
	return b, reads, false, nil
}

// hostPath is the absolute host path of a context-relative path.
func (w *goWalker) hostPath(rel string) string {
	return filepath.Join(w.ctx, filepath.FromSlash(rel))
}

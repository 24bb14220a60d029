package golang

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// DevOptions say what [DevBuild] may rely on besides the Dockerfile.
type DevOptions struct {
	// Context is the build context on the host, absolute: whether a COPY of it puts
	// files where a cache would be mounted. Required.
	Context string
	// Images are the configs of the base images, by FROM reference as
	// [dockerfile.Stage.Base] writes it (see [dockerfile.Dockerfile.BaseImages]).
	// An official golang image missing from it is taken to have the golang image's
	// defaults (GOPATH=/go, WORKDIR /go, root); any other image missing is taken to
	// set nothing, and its stages count as Go stages only when they run go.
	Images map[string]dockerfile.Image
	// Targets are the stages of every build that uses the dev build, one entry per
	// build (a stage two targets build is listed twice): a cache mount the builds of
	// two of them use gets sharing=locked.
	Targets []string
}

// Dev is a dev build of a Dockerfile: the same Dockerfile with Go's build and module
// caches mounted as caches on every RUN of its Go stages and -a dropped from go build
// and go install, every instruction on the line it is written on.
type Dev struct {
	// Source is the Dockerfile to build; the original content when nothing changed.
	Source []byte
	// Changes are the instructions changed, in the order of the file.
	Changes []Change
	// Kept are the reasons stages were left as written, in the order of the file.
	Kept []Kept
}

// Change is one RUN instruction a dev build changed.
type Change struct {
	Line  int // 1-based line of the RUN
	Stage int // index of its stage
	// Targets are the indexes in DevOptions.Targets of the builds that run it.
	Targets []int
	// BuildCache and ModCache list the cache mounts added (container paths).
	BuildCache, ModCache []string
	// DroppedA counts the -a flags removed.
	DroppedA int
}

// Summary is what the change does: "adds go build/module cache mounts, drops -a".
func (c Change) Summary() string {
	var parts []string
	switch {
	case len(c.BuildCache) > 0 && len(c.ModCache) > 0:
		parts = append(parts, "adds go build/module cache mounts")
	case len(c.BuildCache) > 0:
		parts = append(parts, "adds a go build cache mount")
	case len(c.ModCache) > 0:
		parts = append(parts, "adds a go module cache mount")
	}
	if c.DroppedA > 0 {
		parts = append(parts, "drops -a")
	}
	return strings.Join(parts, ", ")
}

// Kept says why a dev build leaves stages as written.
type Kept struct {
	Line   int      // the instruction that decided it
	Stages []string // the stages left as written, by name ("stage-N" for unnamed ones)
	Why    string
}

// golangDefaults is what the official golang images' config sets that matters
// here (docker-library/golang's Dockerfiles): GOPATH, PATH and WORKDIR.
var golangDefaults = dockerfile.Image{
	Env:        []string{"GOPATH=/go", "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	WorkingDir: "/go",
}

// ErrNoContext is DevBuild's error when DevOptions.Context is not set.
var ErrNoContext = errors.New("dev build: no build context given")

// DevBuild returns the dev build of d: for every stage whose FROM chain starts from
// an image with a Go toolchain (the image config's GOLANG_VERSION, or a go
// directory's bin in its PATH) or runs go, found by [dockerfile.WalkRun] — a tree of
// stages built FROM one another counting as one — every RUN gets a cache mount on
// the Go build cache and on the module cache at the directories it uses ($GOCACHE,
// $XDG_CACHE_HOME/go-build, $HOME/.cache/go-build; $GOMODCACHE, $GOPATH/pkg/mod,
// $HOME/go/pkg/mod; HOME is /root for root and unknown for other users unless set),
// owned by its USER, and go build and go install written in the RUN's own command
// line lose -a, which only forces recompiling: the output is the same.
//
// Left alone:
//   - a directory the stages already mount as a cache somewhere (the user manages
//     it), or that the RUN mounts something at, over or under, or that a COPY or
//     ADD may have put files in;
//   - a directory that is not known (a variable without a value, another user's
//     HOME): no mount;
//   - -a in an exec form, a heredoc script, sh -c, a function, or a RUN whose
//     commands cannot be followed: the RUN gets the mounts only;
//   - every stage of a tree from which a stage copies or mounts the module or build
//     cache (COPY --from=build /go/pkg/mod), that a target exports whole, or that
//     runs go env -w ([Kept] says which and why).
//
// The module cache is mounted on every RUN, not only those that run go: a RUN
// without it would leave modules in the layer for a later RUN's mount to hide. Every
// change stays on the instruction's lines (mount flags join the RUN keyword's line,
// -a goes from its own), so BuildKit's and devloop's messages point at the lines as
// written. The result is parsed again and checked to have the same instructions on
// the same lines; an error says what went wrong, and the Dockerfile is then to be
// built as written.
func DevBuild(d *dockerfile.Dockerfile, opt DevOptions) (*Dev, error) {
	if opt.Context == "" {
		return nil, ErrNoContext
	}
	images := maps.Clone(opt.Images)
	if images == nil {
		images = map[string]dockerfile.Image{}
	}
	for _, ref := range d.BaseImages() {
		if _, ok := images[ref]; !ok && isGolangImage(ref) {
			images[ref] = golangDefaults
		}
	}
	di, err := d.WithImages(images)
	if err != nil {
		return nil, fmt.Errorf("dev build of %s: %w", d.Path, err)
	}
	_, stages, err := di.Instructions()
	if err != nil {
		return nil, fmt.Errorf("dev build of %s: %w", d.Path, err)
	}
	t := &devTransform{d: di, opt: opt, images: images, stages: stages}
	t.trees()
	t.analyseRuns()
	t.keep()
	return t.apply()
}

// devTransform is one DevBuild.
type devTransform struct {
	d      *dockerfile.Dockerfile
	opt    DevOptions
	images map[string]dockerfile.Image
	stages []*instructions.Stage

	parent []int  // the stage each is built FROM, -1 for an image
	tree   []int  // the first stage of its FROM tree
	goTree []bool // by tree: its stages are Go stages
	kept   map[int]bool
	runs   []*devRun
	out    Dev
}

// devRun is what DevBuild learns of one RUN.
type devRun struct {
	run         dockerfile.Run
	tree        int
	goSeen      bool     // it runs go
	envWrite    bool     // it runs go env -w or -u
	build, mod  []string // cache directories it uses, the RUN's own first
	dropA       [][2]int // source spans of the -a flags to drop
	buildMounts []string // decided: the mounts to add
	modMounts   []string
}

// trees finds each stage's FROM tree.
func (t *devTransform) trees() {
	n := len(t.d.Stages)
	t.parent = make([]int, n)
	t.tree = make([]int, n)
	t.goTree = make([]bool, n)
	t.kept = map[int]bool{}
	for i, s := range t.d.Stages {
		t.parent[i] = t.d.Lookup(s.Base, dockerfile.RefFrom, i)
		t.tree[i] = i
		if p := t.parent[i]; p >= 0 {
			t.tree[i] = t.tree[p]
		}
		if t.parent[i] < 0 && !s.Scratch && hasGoToolchain(t.images[s.Base]) {
			t.goTree[i] = true
		}
	}
}

// hasGoToolchain reports an image config that says it has a Go toolchain.
func hasGoToolchain(img dockerfile.Image) bool {
	for _, kv := range img.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "GOLANG_VERSION":
			if v != "" {
				return true
			}
		case "PATH":
			for _, dir := range strings.Split(v, ":") {
				dir = path.Clean(dir)
				if path.Base(dir) == "bin" && path.Base(path.Dir(dir)) == "go" {
					return true
				}
			}
		}
	}
	return false
}

// analyseRuns walks every RUN for its go commands and cache directories.
func (t *devTransform) analyseRuns() {
	for _, r := range t.d.Runs() {
		dr := &devRun{run: r, tree: t.tree[r.Stage]}
		user := r.State.User
		startEnv := func(k string) (string, bool) {
			v, ok := r.State.Env[k]
			return envValue(k, v, ok, user)
		}
		dr.addDirs(startEnv)
		facts := dockerfile.WalkRun(r.Command, r.State, func(cmd dockerfile.Command, _ *dockerfile.Facts) bool {
			if cmd.Name != "go" {
				return false
			}
			dr.goSeen = true
			dr.addDirs(func(k string) (string, bool) {
				v, ok := cmd.Env[k]
				return envValue(k, v, ok, user)
			})
			args := cmd.Args
			if len(args) > 1 && args[0].Text == "-C" {
				args = args[2:]
			}
			if len(args) == 0 {
				return true
			}
			switch args[0].Text {
			case "env":
				for _, a := range args[1:] {
					if a.Text == "-w" || a.Text == "-u" || a.Why != "" {
						dr.envWrite = true
					}
				}
			case "build", "install":
				for _, a := range forcedRebuildFlags(args[1:]) {
					if a.End == 0 {
						continue // not written in the RUN's own command line
					}
					if from, to, ok := t.d.CmdLineSpan(r.Command, a.Start, a.End); ok {
						dr.dropA = append(dr.dropA, [2]int{from, to})
					}
				}
			}
			return true
		})
		if facts.Unknown != "" {
			dr.dropA = nil // the RUN cannot be followed: it gets the mounts only
		}
		if dr.goSeen {
			t.goTree[dr.tree] = true
		}
		t.runs = append(t.runs, dr)
	}
}

// envValue is a variable of a go command's environment: unset counts as known and
// empty, except HOME, which is /root for root and unknown for other users.
func envValue(k string, v dockerfile.Var, set bool, user string) (string, bool) {
	switch {
	case set && !v.Unset:
		return v.Value, v.Known()
	case k == "HOME" && isRoot(user):
		return "/root", true
	case k == "HOME":
		return "", false
	}
	return "", true
}

// addDirs adds the cache directories the environment env gives the go command.
func (dr *devRun) addDirs(env func(string) (string, bool)) {
	if dir, ok := goBuildCache(env); ok && !slices.Contains(dr.build, dir) {
		dr.build = append(dr.build, dir)
	}
	if dir, ok := goModCacheDir(env); ok && !slices.Contains(dr.mod, dir) {
		dr.mod = append(dr.mod, dir)
	}
}

// forcedRebuildFlags returns the -a flags among a go build or go install's
// arguments (after the subcommand), as far as its flags can be told apart from its
// package arguments.
func forcedRebuildFlags(args []dockerfile.Word) []dockerfile.Word {
	var out []dockerfile.Word
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.Why != "" || a.Text == "--" || a.Text == "-" || !strings.HasPrefix(a.Text, "-") {
			break
		}
		name, value, hasValue := parseFlag(a.Text)
		kind, known := goBuildFlags[name]
		switch {
		case !known:
			return out // its value, if any, cannot be told from a package
		case !kind.boolFlag() && !hasValue:
			i++
		case name == "a" && (!hasValue || value == "true"):
			out = append(out, a)
		}
	}
	return out
}

// isRoot reports a USER that is root ("" when none is set).
func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "" || u == "root" || u == "0"
}

// keep finds the trees to leave as written.
func (t *devTransform) keep() {
	dirs := map[int][]string{} // by tree: the cache directories its RUNs use
	for _, dr := range t.runs {
		dirs[dr.tree] = append(append(dirs[dr.tree], dr.build...), dr.mod...)
		if dr.envWrite && t.goTree[dr.tree] {
			t.keepTree(dr.tree, dr.run.Line, "go env -w changes where the go command keeps its caches")
		}
	}
	overlaps := func(tree int, src string) string {
		for _, dir := range dirs[tree] {
			if src == dir || dockerfile.Under(dir, src) || dockerfile.Under(src, dir) {
				return dir
			}
		}
		return ""
	}
	// What a stage copies or mounts from a Go tree.
	from := func(line int, ref string, srcs []string, kind dockerfile.RefKind, what string) {
		j := t.d.Lookup(ref, kind, 0)
		if j < 0 {
			if !strings.Contains(ref, "$") {
				return // an image
			}
			for tree := range dirs { // a stage not known: any of them
				t.fromTree(tree, line, ref, srcs, what, overlaps)
			}
			return
		}
		t.fromTree(t.tree[j], line, t.d.StageName(j), srcs, what, overlaps)
	}
	for _, s := range t.stages {
		for _, cmd := range s.Commands {
			if c, ok := cmd.(*instructions.CopyCommand); ok && c.From != "" {
				from(dockerfile.LineOf(c), c.From, c.SourcePaths, dockerfile.RefCopyFrom, "COPY --from")
			}
		}
	}
	for _, dr := range t.runs {
		for _, m := range dr.run.Mounts {
			if m.From != "" && m.Type == instructions.MountTypeBind {
				from(dr.run.Line, m.From, []string{m.Source}, dockerfile.RefMountFrom, "RUN --mount from=")
			}
		}
	}
	for _, name := range t.opt.Targets {
		if i := t.d.Lookup(name, dockerfile.RefTarget, 0); i >= 0 && t.goTree[t.tree[i]] {
			t.keepTree(t.tree[i], t.d.Stages[i].Line, fmt.Sprintf("a target exports the whole filesystem of stage %s, Go's caches included", t.d.StageName(i)))
		}
	}
}

// fromTree keeps tree when one of srcs, copied or mounted out of it, holds a cache
// directory of it.
func (t *devTransform) fromTree(tree, line int, stage string, srcs []string, what string, overlaps func(int, string) string) {
	if !t.goTree[tree] || t.kept[tree] {
		return
	}
	for _, src := range srcs {
		p := path.Join("/", src)
		if strings.Contains(src, "$") {
			p = "/"
		} else if dockerfile.HasWildcard(p) {
			p = literalDir(p)
			if p == "." {
				p = "/"
			}
		}
		if dir := overlaps(tree, p); dir != "" {
			t.keepTree(tree, line, fmt.Sprintf("%s=%s %s copies Go's cache %s out of the stage", what, stage, src, dir))
			return
		}
	}
}

func (t *devTransform) keepTree(tree, line int, why string) {
	if t.kept[tree] {
		return
	}
	t.kept[tree] = true
	k := Kept{Line: line, Why: why}
	for i := range t.d.Stages {
		if t.tree[i] == tree {
			k.Stages = append(k.Stages, t.d.StageName(i))
		}
	}
	t.out.Kept = append(t.out.Kept, k)
}

// safePath matches the container paths a --mount flag can name as written.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9/._+@-]*$`)

// apply decides the mounts of every RUN and edits the source.
func (t *devTransform) apply() (*Dev, error) {
	managed := map[int]map[string]bool{} // by tree: directories the Dockerfile mounts as caches
	for _, dr := range t.runs {
		for _, m := range dr.run.Mounts {
			if m.Type == instructions.MountTypeCache && m.Target != "" {
				if managed[dr.tree] == nil {
					managed[dr.tree] = map[string]bool{}
				}
				managed[dr.tree][dockerfile.ContainerPath(dr.run.State.Dir, m.Target)] = true
			}
		}
	}
	reach := t.reach()
	users := map[string]map[int]bool{} // by mount: the builds (Targets) that use it
	var changed []*devRun
	for _, dr := range t.runs {
		if !t.goTree[dr.tree] || t.kept[dr.tree] {
			continue
		}
		v := dockerfile.NewView(t.opt.Context, dr.run.State.Dir, dr.run.Mounts, dr.run.Copies, "")
		pick := func(dirs []string) []string {
			var out []string
			for _, dir := range dirs {
				if managed[dr.tree][dir] || !safePath.MatchString(dir) || v.Fills(dir) != "" {
					continue
				}
				out = append(out, dir)
			}
			return out
		}
		dr.buildMounts, dr.modMounts = pick(dr.build), pick(dr.mod)
		if len(dr.buildMounts)+len(dr.modMounts)+len(dr.dropA) == 0 {
			continue
		}
		for _, dir := range append(slices.Clone(dr.buildMounts), dr.modMounts...) {
			key := dir + "\x00" + dr.run.State.User
			if users[key] == nil {
				users[key] = map[int]bool{}
			}
			for k := range reach[dr.run.Stage] {
				users[key][k] = true
			}
		}
		changed = append(changed, dr)
	}

	var edits []sourceEdit
	for _, dr := range changed {
		var flags strings.Builder
		for _, dir := range append(slices.Clone(dr.buildMounts), dr.modMounts...) {
			flags.WriteString(" " + mountFlag(dir, dr.run.State.User, len(users[dir+"\x00"+dr.run.State.User]) > 1))
		}
		if flags.Len() > 0 {
			at, ok := t.d.AfterKeyword(dr.run.Command)
			if !ok {
				return nil, fmt.Errorf("dev build of %s: line %d: cannot find the RUN keyword", t.d.Path, dr.run.Line)
			}
			edits = append(edits, sourceEdit{at, at, flags.String()})
		}
		for _, span := range dr.dropA {
			edits = append(edits, t.dropWord(span))
		}
		c := Change{Line: dr.run.Line, Stage: dr.run.Stage, BuildCache: dr.buildMounts, ModCache: dr.modMounts, DroppedA: len(dr.dropA)}
		for k := range reach[dr.run.Stage] {
			c.Targets = append(c.Targets, k)
		}
		slices.Sort(c.Targets)
		t.out.Changes = append(t.out.Changes, c)
	}
	src := t.d.Source()
	if len(edits) == 0 {
		t.out.Source = src
		return &t.out, nil
	}
	slices.SortFunc(edits, func(a, b sourceEdit) int { return b.from - a.from })
	out := slices.Clone(src)
	for _, e := range edits {
		out = slices.Concat(out[:e.from:e.from], []byte(e.text), out[e.to:])
	}
	if err := sameInstructions(t.d, out); err != nil {
		return nil, fmt.Errorf("dev build of %s: %w", t.d.Path, err)
	}
	t.out.Source = out
	return &t.out, nil
}

// sourceEdit replaces the source's bytes [from, to) with text.
type sourceEdit struct {
	from, to int
	text     string
}

// dropWord is the edit that removes the word at span and the blanks before it on
// its line (after it when there are none).
func (t *devTransform) dropWord(span [2]int) (e sourceEdit) {
	src := t.d.Source()
	from, to := span[0], span[1]
	switch {
	case from > 0 && (src[from-1] == ' ' || src[from-1] == '\t'):
		for from > 0 && (src[from-1] == ' ' || src[from-1] == '\t') {
			from--
		}
	default:
		for to < len(src) && (src[to] == ' ' || src[to] == '\t') {
			to++
		}
	}
	e.from, e.to = from, to
	return e
}

// mountFlag is the --mount flag of a cache at dir for a RUN as user; locked when
// two builds use it.
func mountFlag(dir, user string, locked bool) string {
	f := "--mount=type=cache,target=" + dir
	if locked {
		f += ",sharing=locked"
	}
	if !isRoot(user) {
		u, g, hasGroup := strings.Cut(user, ":")
		uid, uerr := strconv.ParseUint(u, 10, 32)
		gid, gerr := strconv.ParseUint(g, 10, 32)
		switch {
		case uerr == nil && hasGroup && gerr == nil:
			f += fmt.Sprintf(",uid=%d,gid=%d", uid, gid)
		case uerr == nil:
			f += fmt.Sprintf(",uid=%d", uid)
		default:
			// A user known by name only: its uid is in the image's /etc/passwd. The
			// cache is its own (id) and open to it (mode).
			f += ",id=" + dir + "-" + safeID(user) + ",mode=0777"
		}
	}
	return f
}

// safeID keeps the characters a --mount option value can hold as written.
func safeID(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ',' || r == '"' || r == '\'' || r == '=' || r == ' ' || r == '$' {
			return '_'
		}
		return r
	}, s)
}

// reach says, by stage, which builds (indexes of DevOptions.Targets) run it: the
// target's stage, the stages it is built FROM, copies or mounts from, and theirs.
func (t *devTransform) reach() map[int]map[int]bool {
	deps := make([][]int, len(t.stages))
	for i, s := range t.stages {
		if p := t.parent[i]; p >= 0 {
			deps[i] = append(deps[i], p)
		}
		for _, cmd := range s.Commands {
			if c, ok := cmd.(*instructions.CopyCommand); ok && c.From != "" {
				if j := t.d.Lookup(c.From, dockerfile.RefCopyFrom, 0); j >= 0 {
					deps[i] = append(deps[i], j)
				}
			}
		}
	}
	for _, dr := range t.runs {
		for _, m := range dr.run.Mounts {
			if m.From != "" {
				if j := t.d.Lookup(m.From, dockerfile.RefMountFrom, 0); j >= 0 {
					deps[dr.run.Stage] = append(deps[dr.run.Stage], j)
				}
			}
		}
	}
	out := map[int]map[int]bool{}
	for k, name := range t.opt.Targets {
		start := t.d.Lookup(name, dockerfile.RefTarget, 0)
		if start < 0 {
			continue
		}
		seen := map[int]bool{}
		var visit func(int)
		visit = func(i int) {
			if seen[i] {
				return
			}
			seen[i] = true
			if out[i] == nil {
				out[i] = map[int]bool{}
			}
			out[i][k] = true
			for _, j := range deps[i] {
				visit(j)
			}
		}
		visit(start)
	}
	return out
}

// sameInstructions checks that src, the edited source of d, parses to the same
// instructions on the same lines.
func sameInstructions(d *dockerfile.Dockerfile, src []byte) error {
	n, err := dockerfile.Parse(d.Path, src)
	if err != nil {
		return fmt.Errorf("the edited Dockerfile does not parse: %w", err)
	}
	lines := func(d *dockerfile.Dockerfile) ([]int, error) {
		_, stages, err := d.Instructions()
		if err != nil {
			return nil, err
		}
		var out []int
		for _, s := range stages {
			out = append(out, stageLine(s))
			for _, c := range s.Commands {
				out = append(out, dockerfile.LineOf(c))
			}
		}
		return out, nil
	}
	want, err := lines(d)
	if err != nil {
		return err
	}
	got, err := lines(n)
	if err != nil {
		return fmt.Errorf("the edited Dockerfile does not parse: %w", err)
	}
	if !slices.Equal(got, want) || bytes.Count(src, []byte("\n")) != bytes.Count(d.Source(), []byte("\n")) {
		return fmt.Errorf("the edited Dockerfile moves instructions to other lines")
	}
	return nil
}

package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Stage is one FROM of a Dockerfile.
type Stage struct {
	Name    string // "" for unnamed stages (then Index identifies it)
	Index   int    // 0-based position among the Dockerfile's stages
	Base    string // FROM image or stage name, build args expanded where their defaults are known
	Scratch bool   // FROM scratch
	Line    int    // 1-based line of the FROM
	// Root is the image at the root of its FROM chain, expanded: "scratch" for a
	// stage built FROM scratch or FROM a stage that is.
	Root string
}

// Dockerfile is a parsed Dockerfile: its stages, and what the analyses need to know
// about every RUN in them. It is never modified after [Parse]: one value may be
// shared by concurrent builds (see [Cache]).
type Dockerfile struct {
	Path   string // as given to Parse or Cache.Load, for messages
	Stages []Stage

	stages []stageInfo    // parallel to Stages
	ast    *parser.Result // for analyses that expand the instructions themselves
	source []byte         // the content parsed
	images map[string]Image
}

// Image is what a base image's config says of the state its stages start in (the
// "config" of its OCI image config). The analyses start from it where they know it
// (see [Dockerfile.WithImages]); without it, a stage starts with no environment, in
// "/", as root.
type Image struct {
	Env        []string // "KEY=value"
	User       string   // "" for root
	WorkingDir string   // "" for "/"
}

// stageInfo is what a stage's instructions do to the filesystem and environment.
type stageInfo struct {
	root   string // the image at the root of the FROM chain, expanded
	parent int    // the stage it is built FROM, -1 for an image
	runs   []runInfo
	total  int // steps BuildKit numbers in this stage (the n of "[stage i/n]")
	final  buildState
	ops    []fileOp    // its COPY, ADD, RUN and WORKDIR, in order
	config ImageConfig // at its end
}

// buildState is the state of the container filesystem as far as devloop follows it.
type buildState struct {
	workdir string
	env     map[string]string // ENV and ARG values
	copies  []CopyLayer
	shell   []string // SHELL; nil for the default /bin/sh -c
	user    string   // USER; "" for root
}

func (s buildState) clone() buildState {
	c := s
	c.env = maps.Clone(s.env)
	c.copies = s.copies[:len(s.copies):len(s.copies)]
	return c
}

// runInfo is one RUN and the state it runs in.
type runInfo struct {
	cmd     *instructions.RunCommand // expanded (mounts); read only
	line    int
	index   int    // the i of "[stage i/n]"
	text    string // the vertex name BuildKit gives it, without the prefix, whitespace collapsed
	mounts  []*instructions.Mount
	workdir string
	env     map[string]string
	copies  []CopyLayer
	shell   []string
	user    string
}

// Parse parses data, the content of the Dockerfile at path, with BuildKit's own
// parser and analyses its stages. Errors name the path and, for syntax errors, the
// line: "parse Dockerfile <path>:<line>: <BuildKit's message>". [Cache.Load] reads
// the file and parses each content once.
func Parse(path string, data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		if line := errLine(err); line > 0 {
			return nil, fmt.Errorf("parse Dockerfile %s:%d: %w", path, line, err)
		}
		return nil, fmt.Errorf("parse Dockerfile %s: %w", path, err)
	}
	d := &Dockerfile{Path: path, ast: res, source: data}
	if err := d.analyse(); err != nil {
		return nil, err
	}
	return d, nil
}

// Source is the content d was parsed from. It must not be modified.
func (d *Dockerfile) Source() []byte { return d.source }

// WithImages returns d analysed again with the state its stages' base images set:
// images maps a FROM reference, as [Stage.Base] writes it, to its image's config.
// Stages whose base image is not in images start as without it. d is not changed.
func (d *Dockerfile) WithImages(images map[string]Image) (*Dockerfile, error) {
	n := &Dockerfile{Path: d.Path, ast: d.ast, source: d.source, images: images}
	if err := n.analyse(); err != nil {
		return nil, err
	}
	return n, nil
}

// BaseImages lists the images at the root of the stages' FROM chains, as
// [Stage.Base] writes them (the keys of [Dockerfile.WithImages]), in the order of
// the stages, without duplicates: scratch and bases whose build args have no default
// are left out.
func (d *Dockerfile) BaseImages() []string {
	var out []string
	for i, s := range d.Stages {
		if s.Scratch || strings.Contains(s.Base, "$") || d.Lookup(s.Base, RefFrom, i) >= 0 || slices.Contains(out, s.Base) {
			continue
		}
		out = append(out, s.Base)
	}
	return out
}

// analyse fills d's stages from its AST.
func (d *Dockerfile) analyse() error {
	metaArgs, stages, err := d.Instructions()
	if err != nil {
		return err
	}
	a := newAnalyzer(d, d.ast.EscapeToken, metaArgs, stages)
	d.Stages = make([]Stage, len(stages))
	for i, s := range stages {
		d.Stages[i] = Stage{Name: s.Name, Index: i} // the names stage lookups need
	}
	d.stages = make([]stageInfo, len(stages))
	for i := range stages {
		d.stages[i] = a.stage(i)
		d.Stages[i] = a.public(i)
	}
	return nil
}

// Instructions turns the parsed Dockerfile into its global ARGs (those before the
// first FROM) and its stages. Each call returns new instructions, which the caller
// may expand in place (instructions.SupportsSingleWordExpansion). Errors name the
// path and line, as Parse's.
func (d *Dockerfile) Instructions() ([]*instructions.ArgCommand, []*instructions.Stage, error) {
	var (
		metaArgs []*instructions.ArgCommand
		stages   []*instructions.Stage
	)
	for _, n := range d.ast.AST.Children {
		v, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, nil, fmt.Errorf("parse Dockerfile %s:%d: %w", d.Path, n.StartLine, err)
		}
		switch c := v.(type) {
		case *instructions.Stage:
			stages = append(stages, c)
		case *instructions.ArgCommand:
			if len(stages) == 0 {
				metaArgs = append(metaArgs, c)
				continue
			}
			stages[len(stages)-1].AddCommand(c)
		case instructions.Command:
			if len(stages) == 0 {
				return nil, nil, fmt.Errorf("parse Dockerfile %s:%d: %s before the first FROM", d.Path, n.StartLine, strings.ToUpper(n.Value))
			}
			stages[len(stages)-1].AddCommand(c)
		}
	}
	if len(stages) == 0 {
		return nil, nil, fmt.Errorf("parse Dockerfile %s: no FROM instruction", d.Path)
	}
	return metaArgs, stages, nil
}

// NewLex returns a word expander with the Dockerfile's escape token, as BuildKit
// expands FROM, ENV, ARG, WORKDIR, COPY and mount words.
func (d *Dockerfile) NewLex() *shell.Lex { return shell.NewLex(d.ast.EscapeToken) }

func errLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	return 0
}

// RefKind is where a stage is referred to from, which decides the forms BuildKit
// (dockerfile2llb) accepts there. Stage names compare case-insensitively everywhere.
type RefKind int

const (
	// RefTarget is the stage a build targets (the frontend's "target", devloop.yaml's
	// stage): a stage name; "" for the last stage (BuildKit builds the last stage when
	// no target is given, as docker build without --target); or "stage-N" for the
	// stage N by its 0-based index, the name BuildKit's progress and devloop's messages
	// give an unnamed stage. A stage's name wins over the index spelling. Only a
	// named stage or the last one can be sent to BuildKit: see [Dockerfile.TargetStage].
	RefTarget RefKind = iota
	// RefFrom is the base of a FROM: the name of an earlier stage (a later one is
	// not looked at: FROM then names an image).
	RefFrom
	// RefCopyFrom is COPY --from: a stage name, or a stage's 0-based index.
	RefCopyFrom
	// RefMountFrom is RUN --mount from=: a stage name.
	RefMountFrom
	// RefStep is the stage in a build step's name in BuildKit's progress
	// ("[build 2/3] RUN …"): a stage name, or "stage-N" for the unnamed stage N.
	RefStep
)

// Lookup returns the index of the stage ref names where it is written (kind), or
// -1 when it names none (an image, or nothing). at is, for RefFrom, the index of
// the stage whose FROM it is; other kinds ignore it. It is the Dockerfile's one stage
// lookup: every analysis resolves stage references through it.
func (d *Dockerfile) Lookup(ref string, kind RefKind, at int) int {
	limit := len(d.Stages)
	if kind == RefFrom {
		limit = min(at, limit)
	}
	for i, s := range d.Stages[:max(limit, 0)] {
		if s.Name != "" && strings.EqualFold(s.Name, ref) {
			return i
		}
	}
	var index string
	switch kind {
	case RefCopyFrom:
		index = ref
	case RefTarget:
		if ref == "" {
			return len(d.Stages) - 1
		}
		fallthrough
	case RefStep:
		n, ok := strings.CutPrefix(ref, "stage-")
		if !ok {
			return -1
		}
		index = n
	default:
		return -1
	}
	if i, err := strconv.Atoi(index); err == nil && i >= 0 && i < len(d.Stages) {
		return i
	}
	return -1
}

// Stage returns the stage a build targeting ref builds (see RefTarget).
func (d *Dockerfile) Stage(ref string) (Stage, bool) {
	if i := d.Lookup(ref, RefTarget, 0); i >= 0 {
		return d.Stages[i], true
	}
	return Stage{}, false
}

// Run is one RUN instruction as [Dockerfile.Runs] lists it: where it is and the state
// its commands start in, with ENV values and ARG defaults (build args passed to a
// build are not known here).
type Run struct {
	Stage   int // index in Stages
	Line    int // 1-based line of the RUN
	Command *instructions.RunCommand
	Mounts  []*instructions.Mount // its --mount flags, expanded
	State   RunState
	// Root is the image at the root of the stage's FROM chain, expanded; "scratch"
	// for none.
	Root string
	// Copies are the COPY and ADD layers of the stage's FROM chain before the RUN,
	// for its [View] of the context.
	Copies []CopyLayer
}

// Runs lists every RUN of the Dockerfile, stage by stage in order. The commands are
// shared with every other user of the Dockerfile: read them, never expand them.
func (d *Dockerfile) Runs() []Run {
	var out []Run
	for i, info := range d.stages {
		for _, r := range info.runs {
			env := make(Env, len(r.env))
			for k, v := range r.env {
				env[k] = Var{Value: v}
			}
			out = append(out, Run{
				Stage: i, Line: r.line, Command: r.cmd, Mounts: r.mounts, Root: info.root, Copies: r.copies,
				State: RunState{Shell: r.shell, Env: env, Dir: r.workdir, User: r.user},
			})
		}
	}
	return out
}

// StageName is how messages name stage i: its name, or "stage-N" (BuildKit's name
// for an unnamed stage).
func (d *Dockerfile) StageName(i int) string {
	if d.Stages[i].Name != "" {
		return d.Stages[i].Name
	}
	return fmt.Sprintf("stage-%d", i)
}

// analyzer walks the stages once, in dependency order.
type analyzer struct {
	d       *Dockerfile
	escape  rune
	meta    map[string]string // global ARG defaults
	stages  []*instructions.Stage
	results []*stageInfo
}

func newAnalyzer(d *Dockerfile, escape rune, metaArgs []*instructions.ArgCommand, stages []*instructions.Stage) *analyzer {
	a := &analyzer{
		d:       d,
		escape:  escape,
		meta:    map[string]string{},
		stages:  stages,
		results: make([]*stageInfo, len(stages)),
	}
	for _, c := range metaArgs {
		for _, kv := range c.Args {
			if kv.Value == nil {
				continue
			}
			if v, _, err := a.lex().ProcessWord(*kv.Value, envMap(a.meta)); err == nil {
				a.meta[kv.Key] = v
			}
		}
	}
	return a
}

func (a *analyzer) lex() *shell.Lex { return shell.NewLex(a.escape) }

// base expands the FROM argument with the global ARG defaults; it stays as written
// when a variable has no default.
func (a *analyzer) base(i int) string {
	raw := a.stages[i].BaseName
	res, err := a.lex().ProcessWordWithMatches(raw, envMap(a.meta))
	if err != nil || len(res.Unmatched) > 0 {
		return raw
	}
	return res.Result
}

func (a *analyzer) public(i int) Stage {
	st := a.stages[i]
	base := a.base(i)
	s := Stage{Name: st.Name, Index: i, Base: base, Scratch: base == "scratch", Root: a.results[i].root}
	if len(st.Location) > 0 {
		s.Line = st.Location[0].Start.Line
	}
	return s
}

// stage analyses stage i (and, first, the stage it is built from: always an earlier
// one, so the recursion ends).
func (a *analyzer) stage(i int) stageInfo {
	if r := a.results[i]; r != nil {
		return *r
	}
	info := &stageInfo{root: a.base(i), parent: -1}
	st := buildState{workdir: "/", env: map[string]string{}}
	step := 0 // BuildKit's step counter: the image pull, then ADD, COPY, RUN and WORKDIR
	switch p := a.d.Lookup(a.base(i), RefFrom, i); {
	case p >= 0:
		ps := a.stage(p)
		st = ps.final.clone()
		info.root = ps.root
		info.parent = p
		info.config = ps.config.clone()
	case info.root != "scratch":
		step = 1
		if img, ok := a.d.images[info.root]; ok {
			for _, kv := range img.Env {
				if k, v, ok := strings.Cut(kv, "="); ok {
					st.env[k] = v
				}
			}
			st.user = img.User
			if img.WorkingDir != "" {
				st.workdir = ContainerPath("/", img.WorkingDir)
			}
		}
	default:
		info.config.Known = true // scratch: nothing set
	}
	info.total = step + countSteps(a.stages[i].Commands)
	for _, cmd := range a.stages[i].Commands {
		expand := func(word string) (string, error) {
			w, _, err := a.lex().ProcessWord(word, envMap(st.env))
			return w, err
		}
		if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			if _, isArg := cmd.(*instructions.ArgCommand); !isArg {
				// Best effort: a failed expansion leaves the words as written.
				_ = ex.Expand(expand)
			}
		}
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			// As in BuildKit, the last ARG or ENV of a name sets its value (an ARG
			// without a default takes the global one); build args given to the build
			// are not known here.
			for _, kv := range c.Args {
				switch {
				case kv.Value != nil:
					if v, err := expand(*kv.Value); err == nil {
						st.env[kv.Key] = v
					}
				default:
					if v, ok := a.meta[kv.Key]; ok {
						st.env[kv.Key] = v
					}
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				st.env[kv.Key] = kv.Value
			}
		case *instructions.ShellCommand:
			st.shell = c.Shell
		case *instructions.UserCommand:
			st.user = c.User
		case *instructions.WorkdirCommand:
			step++
			st.workdir = ContainerPath(st.workdir, c.Path)
			info.ops = append(info.ops, fileOp{line: LineOf(c), workdir: st.workdir})
			info.config.WorkingDir = st.workdir
		case *instructions.CopyCommand:
			step++
			from := c.From
			if from != "" {
				if v, err := expand(from); err == nil {
					from = v
				}
			}
			l := NewCopyLayer(st.workdir, c.SourcesAndDest, from == "")
			st.copies = append(st.copies, l)
			info.ops = append(info.ops, fileOp{line: LineOf(c), copy: &l, from: from})
		case *instructions.AddCommand:
			step++
			local := true
			for _, src := range c.SourcePaths {
				local = local && !IsRemote(src)
			}
			l := NewCopyLayer(st.workdir, c.SourcesAndDest, local)
			st.copies = append(st.copies, l)
			info.ops = append(info.ops, fileOp{line: LineOf(c), copy: &l})
		case *instructions.RunCommand:
			step++
			info.runs = append(info.runs, a.run(c, step, st))
			info.ops = append(info.ops, fileOp{line: LineOf(c), run: true})
		case *instructions.EntrypointCommand:
			info.config.Entrypoint = commandLine(c.ShellDependantCmdLine, st.shell)
			info.config.Cmd = nil // as docker does: ENTRYPOINT resets the CMD it inherits
			info.config.Known = true
		case *instructions.CmdCommand:
			info.config.Cmd = commandLine(c.ShellDependantCmdLine, st.shell)
			info.config.Known = true
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				if v, err := expand(p); err == nil {
					info.config.Expose = append(info.config.Expose, v)
				}
			}
		}
	}
	info.final = st
	a.results[i] = info
	return *info
}

func countSteps(cmds []instructions.Command) int {
	n := 0
	for _, cmd := range cmds {
		switch cmd.(type) {
		case *instructions.AddCommand, *instructions.CopyCommand, *instructions.RunCommand, *instructions.WorkdirCommand:
			n++
		}
	}
	return n
}

func (a *analyzer) run(c *instructions.RunCommand, step int, st buildState) runInfo {
	lex := a.lex()
	lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
	text, _, err := lex.ProcessWord(c.String(), envMap(st.env))
	if err != nil {
		text = c.String()
	}
	if cmd, rest, ok := strings.Cut(text, " "); ok {
		text = strings.ToUpper(cmd) + " " + rest
	}
	return runInfo{
		cmd:     c,
		line:    LineOf(c),
		index:   step,
		text:    collapseSpace(text),
		mounts:  instructions.GetMounts(c),
		workdir: st.workdir,
		env:     maps.Clone(st.env),
		copies:  st.copies,
		shell:   st.shell,
		user:    st.user,
	}
}

// LineOf is the 1-based line an instruction starts on; 0 when unknown.
func LineOf(c instructions.Command) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// ContainerPath resolves p against the working directory dir, as BuildKit does:
// an absolute, clean container path.
func ContainerPath(dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join("/", dir, p)
}

// isDirPath reports whether a COPY path names a directory by its spelling.
func isDirPath(p string) bool {
	return p == "." || p == ".." || strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")
}

// HasWildcard reports whether a COPY or ADD source is a pattern (*, ?, [).
func HasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

// IsRemote reports whether an ADD source is a URL or a git address rather than a
// path in the build context.
func IsRemote(src string) bool {
	return strings.Contains(src, "://") || strings.HasPrefix(src, "git@")
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// envMap is a shell.EnvGetter over a map.
type envMap map[string]string

func (e envMap) Get(k string) (string, bool) {
	v, ok := e[k]
	return v, ok
}

func (e envMap) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

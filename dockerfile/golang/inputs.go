package golang

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options says which build of a stage [InputsOf] analyses: the values the build's
// variables take.
type Options struct {
	Stage     string
	Context   string            // the build context on the host
	BuildArgs map[string]string // the build args the solve passes
	// Platform is the target platform (TARGETPLATFORM): the platform of every stage
	// whose FROM names none. Zero means unknown.
	Platform ocispecs.Platform
	// BuildPlatform is BUILDPLATFORM, the builder's own; zero means Platform.
	BuildPlatform ocispecs.Platform
}

// Inputs are the context files a stage's build reads.
type Inputs struct {
	// Go are its go build and go install commands: what they compile is for the
	// host's go list to say (package godeps).
	Go []Build
	// Reads are the other context paths it reads, relative and slash-separated: a
	// file, or a directory with everything below it. Never ".".
	Reads []string
}

// UnknownInputsError says why the context files a build reads cannot be known: the
// target must then be rebuilt on every change.
type UnknownInputsError struct {
	Dockerfile string
	Line       int // 0 when no single line is to blame
	Reason     string
}

func (e *UnknownInputsError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", filepath.Base(e.Dockerfile), e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", filepath.Base(e.Dockerfile), e.Reason)
}

// InputsOf says which context files building opt.Stage of d reads: the go build and go
// install commands of every stage it is built from, copies from or mounts, with the
// flags, environment (ENV, ARG defaults, opt.BuildArgs, the platform ARGs, GOFLAGS,
// inline VAR=value and export in the RUN) and working directory they run with; and
// what else reaches the stage's files: COPY and ADD from the context into it or its
// FROM chain, COPY --from paths that hold context files, and what other commands
// read. The answer is conservative: whatever devloop cannot follow — a variable with
// no known value in a word that matters, a command that may read any file it sees
// when it sees the whole context, a module tree that is not the context's — is an
// [*UnknownInputsError].
//
// Assumed, not checked: base images carry no Go configuration in their ENV (GOFLAGS,
// GOOS, CGO_ENABLED, …) and no files where the context is copied or mounted, and no
// ONBUILD triggers.
func InputsOf(d *dockerfile.Dockerfile, opt Options) (*Inputs, error) {
	meta, stages, err := d.Instructions()
	if err != nil {
		return nil, err
	}
	ctx, err := filepath.Abs(opt.Context)
	if err != nil {
		return nil, fmt.Errorf("go inputs of %s: build context %s: %w", d.Path, opt.Context, err)
	}
	if opt.BuildPlatform.OS == "" {
		opt.BuildPlatform = opt.Platform
	}
	w := &goWalker{
		d:      d,
		opt:    opt,
		ctx:    ctx,
		lex:    d.NewLex(),
		stages: stages,
		done:   make([]*goStage, len(stages)),
		busy:   make([]bool, len(stages)),
	}
	w.metaArgs(meta)
	start := d.Lookup(opt.Stage, dockerfile.RefTarget, 0)
	if start < 0 {
		return nil, w.unknown(0, fmt.Sprintf("no stage %q", opt.Stage))
	}
	if _, err := w.stage(start); err != nil {
		return nil, err
	}
	c := collected{seen: map[int]bool{}}
	w.collect(start, &c)
	c.reads = append(c.reads, w.imageReads(start)...)
	in := &Inputs{Go: c.builds}
	for _, r := range c.reads {
		if r.path == "." {
			return nil, w.unknown(r.line, r.why)
		}
		in.Reads = append(in.Reads, r.path)
	}
	slices.Sort(in.Reads)
	in.Reads = slices.Compact(in.Reads)
	return in, nil
}

// goWalker analyses the stages of one GoInputs call.
type goWalker struct {
	d      *dockerfile.Dockerfile
	opt    Options
	ctx    string
	lex    *shell.Lex
	meta   dockerfile.Env
	stages []*instructions.Stage
	done   []*goStage
	busy   []bool
	// cross, when set, makes the walk CrossCompile's: RUNs only record their go
	// builds, and nothing they do stops the walk.
	cross *crossCheck
}

// goStage is what a stage does to the target's inputs.
type goStage struct {
	index  int // in the Dockerfile's stages
	parent int // the stage it is built FROM, or -1
	state  goState
	builds []Build
	reads  []ctxRead // by its RUNs and its COPY --from
	image  []ctxRead // COPY and ADD from the context into its filesystem
	deps   []int     // stages it copies or mounts from
}

// ctxRead is a context path a stage reads; why describes it for the case it is the
// whole context.
type ctxRead struct {
	path string
	line int
	why  string
}

// goState is the stage's filesystem and environment as far as GoInputs follows it.
type goState struct {
	workdir     string
	workdirWhy  string
	env         dockerfile.Env
	copies      []dockerfile.CopyLayer
	layoutWhy   string // non-empty: where context files lie is unknown
	modified    []modification
	platform    ocispecs.Platform
	platformWhy string
	shell       []string // SHELL, nil for the default /bin/sh -c
	xxWrapped   bool     // xx-go --wrap ran: go commands run as xx-go (CrossCompile)
}

// modification is a container path a RUN may have written where context files lie.
type modification struct {
	path string
	line int
	why  string
}

func (s goState) clone() goState {
	c := s
	c.env = s.env.Clone()
	c.copies = s.copies[:len(s.copies):len(s.copies)]
	c.modified = s.modified[:len(s.modified):len(s.modified)]
	return c
}

func (w *goWalker) unknown(line int, reason string) error {
	return &UnknownInputsError{Dockerfile: w.d.Path, Line: line, Reason: reason}
}

// expand expands a Dockerfile word (FROM, ENV, ARG, WORKDIR, COPY, mounts) as
// BuildKit does; why says which variable has no known value.
func (w *goWalker) expand(word string, env dockerfile.Env) (string, string) {
	res, err := w.lex.ProcessWordWithMatches(word, env)
	if err != nil {
		return word, fmt.Sprintf("cannot be expanded: %v", err)
	}
	var names []string
	for k := range res.Unmatched {
		names = append(names, k)
	}
	if len(names) == 0 {
		return res.Result, ""
	}
	slices.Sort(names)
	if r := env.Reason(names[0]); r != "" {
		return word, fmt.Sprintf("has no value (%s)", r)
	}
	return word, "has no value"
}

// metaArgs sets the global ARGs: the platform ARGs, then the ARGs before the first
// FROM, build args winning over defaults.
func (w *goWalker) metaArgs(cmds []*instructions.ArgCommand) {
	w.meta = dockerfile.Env{}
	tp, bp := w.opt.Platform, w.opt.BuildPlatform
	auto := map[string]string{
		"BUILDPLATFORM": formatPlatform(bp), "BUILDOS": bp.OS, "BUILDARCH": bp.Architecture, "BUILDVARIANT": bp.Variant,
		"TARGETPLATFORM": formatPlatform(tp), "TARGETOS": tp.OS, "TARGETARCH": tp.Architecture, "TARGETVARIANT": tp.Variant,
		"TARGETSTAGE": w.opt.Stage,
	}
	for k, v := range auto {
		switch bv, ok := w.opt.BuildArgs[k]; {
		case ok:
			w.meta[k] = dockerfile.Var{Value: bv}
		case tp.OS == "" && k != "TARGETSTAGE":
			w.meta[k] = dockerfile.Var{Why: "the builder's platform is unknown", Unset: true}
		default:
			w.meta[k] = dockerfile.Var{Value: v}
		}
	}
	for _, c := range cmds {
		for _, kv := range c.Args {
			if v, ok := w.opt.BuildArgs[kv.Key]; ok {
				w.meta[kv.Key] = dockerfile.Var{Value: v}
				continue
			}
			if kv.Value != nil {
				v, why := w.expand(*kv.Value, w.meta)
				w.meta[kv.Key] = dockerfile.Var{Value: v, Why: argWhy(kv.Key, dockerfile.LineOf(c), why)}
				continue
			}
			if _, ok := w.meta[kv.Key]; !ok {
				w.meta[kv.Key] = dockerfile.Var{Unset: true, Why: fmt.Sprintf("ARG %s on line %d has no default and no build arg", kv.Key, dockerfile.LineOf(c))}
			}
		}
	}
}

func argWhy(key string, line int, why string) string {
	if why == "" {
		return ""
	}
	return fmt.Sprintf("the default of ARG %s on line %d %s", key, line, why)
}

func formatPlatform(p ocispecs.Platform) string {
	if p.OS == "" {
		return ""
	}
	return platforms.Format(p)
}

func stageLine(s *instructions.Stage) int {
	if len(s.Location) > 0 {
		return s.Location[0].Start.Line
	}
	return 0
}

// stage analyses stage i, and first the stages it needs.
func (w *goWalker) stage(i int) (*goStage, error) {
	if gs := w.done[i]; gs != nil {
		return gs, nil
	}
	s := w.stages[i]
	line := stageLine(s)
	if w.busy[i] {
		return nil, w.unknown(line, fmt.Sprintf("stage %s depends on itself", s.Name))
	}
	w.busy[i] = true
	defer func() { w.busy[i] = false }()

	gs := &goStage{index: i, parent: -1}
	base, why := w.expand(s.BaseName, w.meta)
	if why != "" {
		return nil, w.unknown(line, fmt.Sprintf("FROM %s %s", s.BaseName, why))
	}
	if p := w.d.Lookup(base, dockerfile.RefFrom, i); p >= 0 {
		ps, err := w.stage(p)
		if err != nil {
			return nil, err
		}
		gs.parent = p
		gs.state = ps.state.clone()
	} else {
		gs.state = goState{workdir: "/", env: dockerfile.Env{}, platform: w.opt.Platform}
		if w.opt.Platform.OS == "" {
			gs.state.platformWhy = "the builder's platform is unknown"
		}
	}
	if s.Platform != "" {
		v, why := w.expand(s.Platform, w.meta)
		if why != "" {
			gs.state.platformWhy = fmt.Sprintf("FROM --platform=%s %s", s.Platform, why)
		} else if p, err := platforms.Parse(v); err != nil {
			gs.state.platformWhy = fmt.Sprintf("FROM --platform=%s: %v", v, err)
		} else {
			gs.state.platform, gs.state.platformWhy = platforms.Normalize(p), ""
		}
	}
	for _, cmd := range s.Commands {
		if err := w.instruction(gs, cmd); err != nil {
			return nil, err
		}
	}
	w.done[i] = gs
	return gs, nil
}

func (w *goWalker) instruction(gs *goStage, cmd instructions.Command) error {
	st := &gs.state
	line := dockerfile.LineOf(cmd)
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		// As BuildKit: a build arg wins, then the default, then the global value; an
		// ARG with none of them sets nothing.
		for _, kv := range c.Args {
			switch g, global := w.meta[kv.Key]; {
			case hasKey(w.opt.BuildArgs, kv.Key):
				st.env[kv.Key] = dockerfile.Var{Value: w.opt.BuildArgs[kv.Key]}
			case kv.Value != nil:
				v, why := w.expand(*kv.Value, st.env)
				st.env[kv.Key] = dockerfile.Var{Value: v, Why: argWhy(kv.Key, line, why)}
			case global:
				st.env[kv.Key] = g
			default:
				if _, set := st.env[kv.Key]; !set {
					st.env[kv.Key] = dockerfile.Var{Unset: true, Why: fmt.Sprintf("ARG %s on line %d has no default and no build arg", kv.Key, line)}
				}
			}
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			v, why := w.expand(kv.Value, st.env)
			if why != "" {
				why = fmt.Sprintf("ENV %s=%s on line %d %s", kv.Key, kv.Value, line, why)
			}
			st.env[kv.Key] = dockerfile.Var{Value: v, Why: why}
		}
	case *instructions.WorkdirCommand:
		v, why := w.expand(c.Path, st.env)
		if why != "" {
			st.workdirWhy = fmt.Sprintf("WORKDIR %s on line %d %s", c.Path, line, why)
			break
		}
		st.workdir = dockerfile.ContainerPath(st.workdir, v)
	case *instructions.ShellCommand:
		st.shell = c.Shell
	case *instructions.CopyCommand:
		if c.Parents {
			st.layoutWhy = fmt.Sprintf("COPY --parents on line %d is not followed", line)
		}
		return w.copyInstr(gs, line, "COPY", c.SourcesAndDest, c.From)
	case *instructions.AddCommand:
		return w.copyInstr(gs, line, "ADD", c.SourcesAndDest, "")
	case *instructions.RunCommand:
		return w.run(gs, line, c)
	}
	return nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// copyInstr follows a COPY or ADD (kind).
func (w *goWalker) copyInstr(gs *goStage, line int, kind string, sd instructions.SourcesAndDest, from string) error {
	st := &gs.state
	sd.SourcePaths = slices.Clone(sd.SourcePaths)
	for i, p := range append(sd.SourcePaths, sd.DestPath) {
		v, why := w.expand(p, st.env)
		if why != "" {
			st.layoutWhy = fmt.Sprintf("%s on line %d: %s %s", kind, line, p, why)
			return nil
		}
		if i < len(sd.SourcePaths) {
			sd.SourcePaths[i] = v
		} else {
			sd.DestPath = v
		}
	}
	if st.workdirWhy != "" && !path.IsAbs(sd.DestPath) {
		st.layoutWhy = st.workdirWhy
	}
	text := kind + " " + strings.Join(append(slices.Clone(sd.SourcePaths), sd.DestPath), " ")
	if from != "" {
		f, why := w.expand(from, st.env)
		if why != "" {
			return w.unknown(line, fmt.Sprintf("COPY --from=%s %s", from, why))
		}
		layer := dockerfile.NewCopyLayer(st.workdir, sd, dockerfile.FromElsewhere)
		layer.Origin = "image " + f
		if j := w.d.Lookup(f, dockerfile.RefCopyFrom, 0); j >= 0 {
			xs, err := w.stage(j)
			if err != nil {
				return err
			}
			gs.deps = append(gs.deps, j)
			layer.Origin = "stage " + f
			xv := dockerfile.NewView(w.ctx, "/", nil, xs.state.copies, xs.state.layoutWhy)
			for _, src := range sd.SourcePaths {
				if xv.Why() != "" {
					return w.unknown(line, fmt.Sprintf("COPY --from=%s: %s", f, xv.Why()))
				}
				for _, r := range xv.ReadsUnder(literalDir(path.Join("/", src))) {
					gs.reads = append(gs.reads, ctxRead{path: r, line: line, why: fmt.Sprintf("COPY --from=%s %s copies the whole build context", f, src)})
				}
			}
		}
		st.copies = append(st.copies, layer)
		return nil
	}
	local := true
	for _, src := range sd.SourcePaths {
		if dockerfile.IsRemote(src) {
			local = false
			continue
		}
		rel := literalDir(dockerfile.ContextPath(src, ""))
		gs.image = append(gs.image, ctxRead{path: rel, line: line, why: text + " puts the whole build context into the image"})
		if kind == "ADD" && isArchive(filepath.Join(w.ctx, filepath.FromSlash(rel))) {
			st.layoutWhy = fmt.Sprintf("ADD on line %d extracts the archive %s", line, src)
		}
	}
	layer := dockerfile.NewCopyLayer(st.workdir, sd, local)
	layer.Origin = fmt.Sprintf("%s on line %d", kind, line)
	st.copies = append(st.copies, layer)
	return nil
}

// literalDir cuts a path at its first wildcard element: "cmd" for "cmd/*/main.go".
func literalDir(p string) string {
	if !dockerfile.HasWildcard(p) {
		return p
	}
	var lit []string
	for _, e := range strings.Split(p, "/") {
		if dockerfile.HasWildcard(e) {
			break
		}
		lit = append(lit, e)
	}
	if len(lit) == 0 || (len(lit) == 1 && lit[0] == "") {
		return "."
	}
	return strings.Join(lit, "/")
}

// isArchive reports a local file that ADD would extract: a tar archive, plain or
// compressed, recognised by its content as BuildKit does.
func isArchive(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	for _, magic := range [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	return n >= 262 && bytes.Equal(head[257:262], []byte("ustar"))
}

// run follows a RUN: what its commands read, what they write where context files
// lie, and its go builds.
func (w *goWalker) run(gs *goStage, line int, c *instructions.RunCommand) error {
	if w.cross != nil {
		return w.crossRun(gs, line, c)
	}
	st := &gs.state
	layoutWhy := st.layoutWhy
	expandErr := c.Expand(func(word string) (string, error) {
		v, why := w.expand(word, st.env)
		if why != "" && layoutWhy == "" {
			layoutWhy = fmt.Sprintf("the mount option %s %s", word, why)
		}
		return v, nil
	})
	if expandErr != nil {
		return w.unknown(line, fmt.Sprintf("RUN mounts: %v", expandErr))
	}
	mounts := instructions.GetMounts(c)
	var visible []ctxRead
	for _, m := range mounts {
		if st.workdirWhy != "" && !path.IsAbs(m.Target) && layoutWhy == "" {
			layoutWhy = st.workdirWhy
		}
		j, err := w.mountStage(gs, m)
		if err != nil {
			return err
		}
		if j >= 0 {
			visible = append(visible, w.imageReads(j)...)
		}
	}
	v := dockerfile.NewView(w.ctx, st.workdir, mounts, st.copies, layoutWhy)
	for _, src := range v.Sources() {
		visible = append(visible, ctxRead{path: src, line: line})
	}
	if len(visible) == 0 && v.Why() == "" {
		w.xxWraps(c, st)
		return nil // the RUN sees nothing of the context: it reads none of it
	}

	var calls []dockerfile.Command
	facts := dockerfile.WalkRun(c, dockerfile.RunState{Shell: st.shell, Env: st.env, Dir: st.workdir, DirWhy: st.workdirWhy},
		func(cmd dockerfile.Command, f *dockerfile.Facts) bool {
			switch {
			case cmd.Name == "xx-go" || (cmd.Name == "go" && st.xxWrapped):
				var wrap bool
				if cmd, wrap = w.xxCommand(cmd, st); wrap {
					return true
				}
			case cmd.Name != "go":
				return false
			}
			if goCommand(cmd, f) {
				calls = append(calls, cmd)
			}
			return true
		})

	if facts.Unknown != "" {
		return w.unknown(line, facts.Unknown)
	}
	if facts.ReadsAll != "" || len(facts.Reads) > 0 {
		if v.Why() != "" {
			return w.unknown(line, v.Why())
		}
	}
	if facts.ReadsAll != "" {
		for _, r := range visible {
			gs.reads = append(gs.reads, ctxRead{path: r.path, line: line, why: facts.ReadsAll})
		}
	}
	for _, p := range facts.Reads {
		for _, r := range v.ReadsUnder(p) {
			gs.reads = append(gs.reads, ctxRead{path: r, line: line, why: fmt.Sprintf("RUN reads %s, the whole build context", p)})
		}
	}
	// Writes where the stage's context files lie change what later steps compile.
	for _, region := range v.CopyRegions() {
		if facts.WritesAll != "" {
			st.modified = append(st.modified, modification{path: region, line: line, why: facts.WritesAll})
			continue
		}
		for _, p := range facts.Writes {
			if p == region || dockerfile.Under(p, region) || dockerfile.Under(region, p) {
				st.modified = append(st.modified, modification{path: p, line: line, why: "it writes " + p})
			}
		}
	}
	for _, call := range calls {
		b, reads, skip, err := w.goBuild(line, call, v, st)
		if err != nil {
			return err
		}
		for _, r := range reads {
			gs.reads = append(gs.reads, ctxRead{path: r, line: line, why: "go build reads the whole build context"})
		}
		if !skip {
			gs.builds = append(gs.builds, b)
		}
	}
	return nil
}

// mountStage analyses the stage a RUN's mount m mounts from and adds it to gs's
// dependencies; -1 when m mounts no stage of the Dockerfile.
func (w *goWalker) mountStage(gs *goStage, m *instructions.Mount) (int, error) {
	if m.From == "" {
		return -1, nil
	}
	j := w.d.Lookup(m.From, dockerfile.RefMountFrom, 0)
	if j < 0 {
		return -1, nil
	}
	if _, err := w.stage(j); err != nil {
		return -1, err
	}
	gs.deps = append(gs.deps, j)
	return j, nil
}

// imageReads are the context paths in stage j's filesystem: its COPY and ADD from
// the context and those of its FROM chain.
func (w *goWalker) imageReads(j int) []ctxRead {
	var out []ctxRead
	for ; j >= 0 && w.done[j] != nil; j = w.done[j].parent {
		out = append(out, w.done[j].image...)
	}
	return out
}

// collected is the union of what a target's stages read.
type collected struct {
	seen   map[int]bool
	builds []Build
	reads  []ctxRead
}

// collect adds the go builds and reads of stage i, its FROM chain and the stages it
// copies or mounts from. What COPY and ADD put into the target's own filesystem is
// imageReads'.
func (w *goWalker) collect(i int, c *collected) {
	if c.seen[i] {
		return
	}
	c.seen[i] = true
	gs := w.done[i]
	c.builds = append(c.builds, gs.builds...)
	c.reads = append(c.reads, gs.reads...)
	if gs.parent >= 0 {
		w.collect(gs.parent, c)
	}
	for _, d := range gs.deps {
		w.collect(d, c)
	}
}

// goCommand says what a go command does to the inputs: true for go build and go
// install, which the caller translates with goBuild; other go commands record in f
// what they read, or that they cannot be followed.
func goCommand(cmd dockerfile.Command, f *dockerfile.Facts) bool {
	args := cmd.Args
	i := 0
	if len(args) > 1 && args[0].Text == "-C" {
		i = 2
	}
	if i >= len(args) {
		return false
	}
	sub := args[i]
	switch {
	case sub.Why != "":
		f.SetUnknown(fmt.Sprintf("go %s %s", sub.Raw, sub.Why))
	case sub.Text == "build" || sub.Text == "install":
		return true
	case sub.Text == "mod":
		if i+1 < len(args) {
			switch args[i+1].Text {
			case "download", "verify", "graph", "why", "help":
				return false // they read go.mod and go.sum, which every target depends on
			}
		}
		f.Opaque("RUN runs go mod")
	case sub.Text == "env":
		for _, a := range args[i+1:] {
			if a.Text == "-w" || a.Text == "-u" {
				f.SetUnknown("go env " + a.Text + " changes the go command's defaults")
			}
		}
	case sub.Text == "version" || sub.Text == "help":
	default:
		f.Opaque(fmt.Sprintf("RUN runs go %s, which may read any file it sees", sub.Text))
	}
	return false
}

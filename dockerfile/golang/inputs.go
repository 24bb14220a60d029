package golang

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
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
	// Stage is the frontend's target (dockerfile.Target.Frontend): a stage name,
	// or "" for the last stage.
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
	// Solve is what the solve of the stage reads of the context, which may be more:
	// BuildKit runs every step of every stage the stage is built from, copies from or
	// mounts, whether its files reach the stage or not (the go build of another
	// executable in the same RUN, a COPY of a file into a build stage that nothing
	// uses). A build context narrowed to the stage must hold all of it. Nil when one
	// of those steps may read any file the whole context would give it.
	Solve *Solve
}

// Solve is what every step a solve runs reads of the context (see [Inputs.Solve]).
type Solve struct {
	Go []Build // every go build and go install
	// Reads: every other path read, and every path a COPY or ADD from the context
	// names (COPY . . names none: it copies what the narrowed context holds).
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
	builds, reads := w.collect(start)
	reads = append(reads, w.imageReads(start)...)
	in := &Inputs{Go: builds}
	for _, r := range reads {
		if r.path == "." {
			return nil, w.unknown(r.line, r.why)
		}
		in.Reads = append(in.Reads, r.path)
	}
	slices.Sort(in.Reads)
	in.Reads = slices.Compact(in.Reads)
	in.Solve = w.solve(start)
	return in, nil
}

// solve gathers what every step of the solve of stage start reads (see
// [Inputs.Solve]): the go builds and reads of every stage it is built from, copies
// from or mounts, and the context paths they copy; nil when one of them may read
// the whole context.
func (w *goWalker) solve(start int) *Solve {
	s := &Solve{}
	seen := map[int]bool{}
	work := []int{start}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if i < 0 || seen[i] || w.done[i] == nil {
			continue
		}
		seen[i] = true
		gs := w.done[i]
		s.Go = append(s.Go, gs.builds...)
		for _, r := range gs.reads {
			if r.path == "." {
				return nil
			}
			s.Reads = append(s.Reads, r.path)
		}
		for _, r := range gs.image {
			if r.path != "." {
				s.Reads = append(s.Reads, r.path)
			}
		}
		work = append(work, gs.parent)
		for _, sp := range gs.steps {
			work = append(work, sp.from)
			for _, m := range sp.mounts {
				work = append(work, m.stage)
			}
		}
	}
	slices.Sort(s.Reads)
	s.Reads = slices.Compact(s.Reads)
	return s
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
	steps  []step    // its COPY --from of stages and its RUNs, in order
}

// step is a COPY --from of a stage or a RUN: what moves or makes files, for
// telling which go builds make the files a target exports (see collect).
type step struct {
	// A COPY --from of stage from (-1 for a RUN): srcs are container paths in
	// it (wildcards as written), dest where they land.
	from int
	srcs []string
	dest string
	// A RUN: its go builds (indexes in goStage.builds), the container paths its
	// other commands read and write (all: readsAll, writesAll), and the stages it
	// mounts.
	builds    []int
	reads     []string
	readsAll  bool
	writes    []string
	writesAll bool
	mounts    []stageMount
}

// stageMount is a RUN's bind mount of a stage: its source path there.
type stageMount struct {
	stage  int
	source string
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
	// xxWrap is the xx-go --wrap that last ran (nil: none, or xx-go --unwrap since):
	// the go env file it wrote sets GOOS and GOARCH for every later go command.
	xxWrap *dockerfile.Command
}

// modification is a container path a RUN may have written where context files lie.
type modification struct {
	path string
	file bool // path is a single file (a later COPY of it from the context restores it)
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
		"TARGETSTAGE": cmp.Or(w.opt.Stage, w.d.Stages[len(w.d.Stages)-1].Name),
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
		image := f
		j := w.d.Lookup(f, dockerfile.RefCopyFrom, 0)
		if j >= 0 && len(w.stages[j].Commands) == 0 && w.d.Lookup(w.stages[j].BaseName, dockerfile.RefFrom, j) < 0 {
			image, _ = w.expand(w.stages[j].BaseName, w.meta) // a stage that only names an image
		}
		if isXXImage(image) {
			sd = xxLayer(sd)
		}
		layer := dockerfile.NewCopyLayer(st.workdir, sd, dockerfile.FromElsewhere)
		layer.Origin = "image " + f
		if j >= 0 {
			xs, err := w.stage(j)
			if err != nil {
				return err
			}
			sp := step{from: j, dest: dockerfile.ContainerPath(st.workdir, sd.DestPath)}
			for _, src := range sd.SourcePaths {
				sp.srcs = append(sp.srcs, dockerfile.ContainerPath("/", src))
			}
			gs.steps = append(gs.steps, sp)
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
	// A file a RUN changed, copied again from the context, is the context's again.
	if len(st.modified) > 0 && st.layoutWhy == "" {
		lv := dockerfile.NewView(w.ctx, st.workdir, nil, []dockerfile.CopyLayer{layer}, "")
		kept := st.modified[:0:0]
		for _, m := range st.modified {
			if _, state, _ := lv.File(m.path); !m.file || state != dockerfile.FilePresent {
				kept = append(kept, m)
			}
		}
		st.modified = kept
	}
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
	sp := step{from: -1}
	var mounted []ctxRead // context files in the stages it mounts
	for _, m := range mounts {
		if st.workdirWhy != "" && !path.IsAbs(m.Target) && layoutWhy == "" {
			layoutWhy = st.workdirWhy
		}
		if m.From == "" {
			continue
		}
		if j := w.d.Lookup(m.From, dockerfile.RefMountFrom, 0); j >= 0 {
			if _, err := w.stage(j); err != nil {
				return err
			}
			sp.mounts = append(sp.mounts, stageMount{stage: j, source: dockerfile.ContainerPath("/", m.Source)})
			mounted = append(mounted, w.imageReads(j)...)
		}
	}
	v := dockerfile.NewView(w.ctx, st.workdir, mounts, st.copies, layoutWhy)
	visible := slices.Clone(mounted)
	for _, src := range v.Sources() {
		visible = append(visible, ctxRead{path: src, line: line})
	}

	var calls []dockerfile.Command
	facts := dockerfile.WalkRun(c, dockerfile.RunState{Shell: st.shell, Env: st.env, Dir: st.workdir, DirWhy: st.workdirWhy},
		func(cmd dockerfile.Command, f *dockerfile.Facts) bool {
			if wrap, ok := xxWrapping(cmd); ok {
				st.xxWrap = wrap
				return true
			}
			var why string
			switch {
			case cmd.Name == "xx-go":
				cmd, why = xxGo(cmd, st.platform, st.platformWhy)
			case cmd.Name == "go" && st.xxWrap != nil:
				cmd, why = wrappedGo(cmd, *st.xxWrap, st.platform, st.platformWhy)
			}
			if why != "" {
				f.SetUnknown(why)
				f.Opaque(why)
				return true
			}
			if cmd.Name != "go" {
				return false
			}
			if goCommand(cmd, f) {
				calls = append(calls, cmd)
			}
			return true
		})
	sp.reads, sp.writes = facts.Reads, facts.Writes
	sp.readsAll = facts.ReadsAll != "" || facts.Unknown != ""
	sp.writesAll = facts.WritesAll != "" || facts.Unknown != ""
	defer func() { gs.steps = append(gs.steps, sp) }()

	// Writes where the stage's context files lie change what later steps compile.
	writesAll := cmp.Or(facts.WritesAll, facts.Unknown)
	for _, region := range v.CopyRegions() {
		if writesAll != "" {
			st.modified = append(st.modified, modification{path: region.Path, file: region.File, line: line, why: writesAll})
			continue
		}
		for _, p := range facts.Writes {
			if p == region.Path || dockerfile.Under(p, region.Path) || dockerfile.Under(region.Path, p) {
				st.modified = append(st.modified, modification{path: p, file: region.File && p == region.Path, line: line, why: "it writes " + p})
			}
		}
	}

	if len(visible) == 0 && v.Why() == "" {
		return nil // the RUN sees nothing of the context: it reads none of it
	}
	// A RUN that sees only single files of the context (COPY go.mod go.sum ./
	// before a dependency warm-up) reads at most those, whatever it runs.
	if files, ok := v.Files(); ok && allFiles(w.ctx, mounted) {
		for _, f := range files {
			gs.reads = append(gs.reads, ctxRead{path: f, line: line})
		}
		gs.reads = append(gs.reads, mounted...)
		return nil
	}

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
	for _, call := range calls {
		builds, reads, err := w.goBuild(line, call, v, st)
		if err != nil {
			return err
		}
		for _, r := range reads {
			gs.reads = append(gs.reads, ctxRead{path: r, line: line, why: "go build reads the whole build context"})
		}
		for _, b := range builds {
			sp.builds = append(sp.builds, len(gs.builds))
			gs.builds = append(gs.builds, b)
		}
	}
	return nil
}

// allFiles reports whether every read is a regular file of the context ctx.
func allFiles(ctx string, reads []ctxRead) bool {
	for _, r := range reads {
		fi, err := os.Stat(filepath.Join(ctx, filepath.FromSlash(r.path)))
		if err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
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

// collect gathers what building stage start reads: the go builds whose
// executables reach its files, and the context reads of every stage that does.
//
// It walks back from the target's filesystem (all of it: the export) through the
// instructions that move and make files, keeping, per stage, the container paths
// of it the target needs: a COPY --from needs its sources in the stage it copies
// from when its destination holds a needed path; a RUN whose go build writes a
// needed path (or an unknown one) counts, and then so do the paths its other
// commands read, and the stages it mounts; a RUN that may read anything needs
// everything; a stage's FROM needs what the stage needs. So each target of a stage
// that builds several executables gets the packages of the ones it exports.
func (w *goWalker) collect(start int) ([]Build, []ctxRead) {
	needed := map[int][]string{}
	var work []int
	need := func(j int, paths ...string) {
		grew := false
		for _, p := range paths {
			if !coveredBy(needed[j], p) {
				needed[j] = append(needed[j], p)
				grew = true
			}
		}
		if grew {
			work = append(work, j)
		}
	}
	included := map[[2]int]bool{}
	need(start, "/")
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		gs := w.done[i]
		n := slices.Clone(needed[i])
		for k := len(gs.steps) - 1; k >= 0; k-- {
			sp := gs.steps[k]
			if sp.from >= 0 {
				if anyIntersects(n, sp.dest) {
					need(sp.from, sp.srcs...)
				}
				continue
			}
			// The RUN's other commands run after its go builds, or so it is
			// assumed (cp /go/bin/app /out/ after go install): what they need of
			// the files counts before the builds are judged.
			relevant := sp.writesAll
			for _, p := range sp.writes {
				relevant = relevant || anyIntersects(n, p)
			}
			if relevant {
				n = sp.needs(n)
			}
			built := false
			for _, bi := range sp.builds {
				outs := gs.builds[bi].Outputs
				use := outs == nil
				for _, o := range outs {
					use = use || anyIntersects(n, o)
				}
				if use {
					included[[2]int{i, bi}] = true
					built = true
				}
			}
			if built && !relevant {
				n = sp.needs(n)
			}
			if relevant || built {
				for _, m := range sp.mounts {
					need(m.stage, m.source)
				}
			}
		}
		if gs.parent >= 0 {
			need(gs.parent, n...)
		}
	}
	var builds []Build
	var reads []ctxRead
	for _, i := range slices.Sorted(maps.Keys(needed)) {
		gs := w.done[i]
		for bi, b := range gs.builds {
			if included[[2]int{i, bi}] {
				builds = append(builds, b)
			}
		}
		reads = append(reads, gs.reads...)
	}
	return builds, reads
}

// needs adds to n, the paths needed after the RUN, what its commands read.
func (sp step) needs(n []string) []string {
	if sp.readsAll {
		return []string{"/"}
	}
	for _, r := range sp.reads {
		if !coveredBy(n, r) {
			n = append(n, r)
		}
	}
	return n
}

// coveredBy reports whether paths hold p: p or a directory above it.
func coveredBy(paths []string, p string) bool {
	for _, q := range paths {
		if q == p || q == "/" || !dockerfile.HasWildcard(q) && dockerfile.Under(p, q) {
			return true
		}
	}
	return false
}

// anyIntersects reports whether a path of needed and the container path o share
// files: one lies at or below the other; a needed path may hold wildcards
// (COPY --from=build /out/app* /), matched element by element.
func anyIntersects(needed []string, o string) bool {
	for _, n := range needed {
		if intersects(n, o) {
			return true
		}
	}
	return false
}

func intersects(n, o string) bool {
	ne, oe := elements(n), elements(o)
	for i := 0; i < len(ne) && i < len(oe); i++ {
		if ok, err := path.Match(ne[i], oe[i]); err != nil || !ok {
			return err != nil // a malformed pattern: assume it does
		}
	}
	return true
}

func elements(p string) []string {
	p = strings.Trim(path.Clean(p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
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
	// A module proxy on the file system (GOPROXY=file://…), or one whose value is
	// not known, may be a directory of the context: the command reads it.
	if v, ok := cmd.Env["GOPROXY"]; ok && !v.Unset && (!v.Known() || strings.Contains(v.Value, "file://")) {
		f.Opaque(fmt.Sprintf("RUN runs go with GOPROXY=%s, which may read any file it sees", v.Value))
	}
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

// Package initconfig proposes a devloop.yaml for a Dockerfile, for `devloop init`:
// which stages to build as targets, where their files land, and how `devloop up`
// runs the server the image runs.
//
// Targets are the stages built FROM scratch (directly or through other stages) that
// hold files made by the Dockerfile's own stages — executables of go build and
// go install ([golang.Outputs]) or files copied from a build stage — named
// stages, and the last stage even unnamed (BuildKit builds it when no target is
// given; init writes it as stage-N). A stage that only gathers what other proposed
// targets export (the export guide's "binaries") is proposed commented out.
//
// Where files land ([Output]): a stage whose files all lie under /bin exports to
// the project directory (./bin/server); one whose files all lie at its root exports
// to ./bin; any other (COPY --from=build /app /usr/bin/app, a WORKDIR) to
// ./out/<target>, so that nothing it holds (./usr, an empty ./tmp) lands in the
// project root.
//
// run: comes from the image the Dockerfile builds — its last stage, what
// `docker build` builds without --target: the program of its ENTRYPOINT (or CMD)
// followed to the stage and path it was made at, which a proposed target exports,
// with the ENTRYPOINT's and CMD's arguments; ready: is tcp://127.0.0.1:PORT for
// its first EXPOSEd TCP port. Without an ENTRYPOINT or CMD that runs an exported
// executable, a target whose executable's name or stage name says server, api,
// web, daemon or service is run. Nothing here starts a process or a build.
//
// Source of facts: the Dockerfile as package dockerfile parses it (StageTree,
// Config), and the build context's go.mod files for executable names.
package initconfig

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"mvdan.cc/sh/v3/syntax"
)

// Proposal is what init proposes.
type Proposal struct {
	Targets []Target
	// BuildArgs are the ARGs the Dockerfile declares, in order, for the commented
	// build_args example; BuildKit's automatic platform ARGs are left out.
	BuildArgs []BuildArg
	// Suggestion is set when no stage FROM scratch holds what the Dockerfile
	// builds but its last stage, built FROM an image, runs (or holds) executables
	// it copies from a build stage: exporting that stage would write the whole
	// image, so init suggests a stage to add that holds only them.
	Suggestion *Suggestion
}

// BuildArg is an ARG the Dockerfile declares: its first declaration with a default,
// else its first.
type BuildArg struct {
	Name, Default string
	HasDefault    bool
	Line          int
}

// automaticArg reports the ARGs BuildKit sets itself (the platform ARGs) or reads as
// its own settings (BUILDKIT_*): no build arg to propose.
func automaticArg(name string) bool {
	switch name {
	case "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT":
		return true
	}
	return strings.HasPrefix(name, "BUILDKIT_")
}

// buildArgs lists the ARGs d declares (see [Proposal.BuildArgs]); none when its
// instructions cannot be read.
func buildArgs(d *dockerfile.Dockerfile) []BuildArg {
	meta, stages, err := d.Instructions()
	if err != nil {
		return nil
	}
	all := slices.Clone(meta)
	for _, st := range stages {
		for _, c := range st.Commands {
			if a, ok := c.(*instructions.ArgCommand); ok {
				all = append(all, a)
			}
		}
	}
	var out []BuildArg
	index := map[string]int{}
	for _, c := range all {
		line := 0
		if loc := c.Location(); len(loc) > 0 {
			line = loc[0].Start.Line
		}
		for _, kv := range c.Args {
			if automaticArg(kv.Key) {
				continue
			}
			a := BuildArg{Name: kv.Key, Line: line}
			if kv.Value != nil {
				a.Default, a.HasDefault = *kv.Value, true
			}
			i, seen := index[kv.Key]
			switch {
			case !seen:
				index[kv.Key] = len(out)
				out = append(out, a)
			case !out[i].HasDefault && a.HasDefault:
				out[i] = a
			}
		}
	}
	return out
}

// Suggestion is a stage to add to the Dockerfile, and its target.
type Suggestion struct {
	FinalLine  int      // the last stage's FROM line
	FinalBase  string   // its image
	Dockerfile []string // the lines to add at the end of the Dockerfile
	Target     Target
}

// Target is a proposed target.
type Target struct {
	Name  string // the target's name
	Stage string // targets.NAME.stage: the stage's name, or stage-N for the last, unnamed stage
	Line  int    // the stage's FROM line
	// Output is targets.NAME.output, slash-separated, relative to devloop.yaml's
	// directory (which is the build context's).
	Output string
	// Files are where the stage's files land, relative to devloop.yaml's
	// directory ("bin/server"); a directory of unknown names ends in "/".
	Files []string
	// Dirs are the empty directories its WORKDIRs add ("out/app/tmp").
	Dirs []string
	// Aggregate marks a stage that exports only what other targets export: it is
	// proposed commented out, since building both does the work twice.
	Aggregate bool
	Run       *Run
	// Platform are the lines about the platform of a target with run: (at the
	// target's keys' indentation): platform: local, or the advice as comments.
	Platform []string
}

// Run is a proposed run: section.
type Run struct {
	Command []string // the executable (relative to devloop.yaml's directory) and its arguments
	Ready   string   // tcp://127.0.0.1:PORT, "" when the image exposes no TCP port
	// From says where the command comes from, for a comment: "ENTRYPOINT and CMD
	// of stage-1 (line 9)", or "the executable's name".
	From string
}

// Propose reads d, whose build context is ctx (a host directory, also where
// devloop.yaml goes), and proposes targets.
func Propose(d *dockerfile.Dockerfile, ctx string) Proposal {
	produced := golang.Outputs(d, ctx)
	type candidate struct {
		t    Target
		tree dockerfile.Tree
	}
	var cands []candidate
	for i, s := range d.Stages {
		if s.Root != "scratch" || s.Name == "" && i != len(d.Stages)-1 {
			continue
		}
		tree := d.StageTree(i, produced)
		made := false
		for _, f := range tree.Files {
			made = made || f.Stage >= 0
		}
		if !made {
			continue
		}
		t := Target{Name: s.Name, Stage: s.Name, Line: s.Line}
		if s.Name == "" {
			t.Name, t.Stage = unnamedTargetName(d, tree), d.StageName(i)
		}
		t.Output = Output(t.Name, tree)
		for _, f := range tree.Files {
			p := path.Join(t.Output, strings.TrimPrefix(f.Path, "/"))
			if f.Dir {
				p += "/"
			}
			t.Files = append(t.Files, p)
		}
		for _, dir := range tree.Dirs {
			if !slices.ContainsFunc(tree.Files, func(f dockerfile.File) bool { return dockerfile.Under(f.Path, dir) }) {
				t.Dirs = append(t.Dirs, path.Join(t.Output, strings.TrimPrefix(dir, "/")))
			}
		}
		cands = append(cands, candidate{t: t, tree: tree})
	}
	// A stage exporting only files other candidates export, from where they were
	// made, gathers them.
	for k := range cands {
		others := map[origin]bool{}
		for j := range cands {
			if j != k && len(cands[j].tree.Files) < len(cands[k].tree.Files) {
				for _, f := range cands[j].tree.Files {
					others[originOf(f)] = true
				}
			}
		}
		covered := len(others) > 0
		for _, f := range cands[k].tree.Files {
			covered = covered && others[originOf(f)]
		}
		cands[k].t.Aggregate = covered
	}
	p := Proposal{BuildArgs: buildArgs(d)}
	for _, c := range cands {
		p.Targets = append(p.Targets, c.t)
	}
	if len(p.Targets) == 0 {
		if s, tree := suggest(d, produced); s != nil {
			p.Targets = []Target{s.Target}
			proposeRun(d, produced, &p, func(int) dockerfile.Tree { return tree })
			s.Target, p.Targets = p.Targets[0], nil
			p.Suggestion = s
		}
		return p
	}
	proposeRun(d, produced, &p, func(k int) dockerfile.Tree { return cands[k].tree })
	proposePlatforms(d, ctx, &p)
	return p
}

// suggest proposes a stage holding the executables the last stage copies from
// the Dockerfile's build stages — the one its ENTRYPOINT or CMD runs, when it is
// one of them — and the tree that stage would have.
func suggest(d *dockerfile.Dockerfile, produced dockerfile.Produced) (*Suggestion, dockerfile.Tree) {
	final := len(d.Stages) - 1
	if d.Stages[final].Root == "scratch" {
		return nil, dockerfile.Tree{}
	}
	tree := d.StageTree(final, produced)
	var made []dockerfile.File
	for _, f := range tree.Files {
		if !f.Dir && f.Stage >= 0 && f.Stage != final && d.Stages[f.Stage].Root != "scratch" {
			made = append(made, f)
		}
	}
	if len(made) == 0 {
		return nil, dockerfile.Tree{}
	}
	cfg := d.Config(final)
	argv := slices.Concat(cfg.Entrypoint, cfg.Cmd)
	if w, ok := shellWords(argv); ok {
		argv = w
	}
	if len(argv) > 0 {
		if f, ok := findProgram(tree, argv[0], cfg.WorkingDir); ok {
			made = []dockerfile.File{f}
		}
	}
	name := "app"
	if len(made) == 1 && validName(path.Base(made[0].Path)) {
		name = path.Base(made[0].Path)
	}
	for d.Lookup(name, dockerfile.RefTarget, 0) >= 0 && d.Lookup(name, dockerfile.RefTarget, 0) != len(d.Stages)-1 || name == d.Stages[final].Name {
		name += "-bin"
	}
	s := &Suggestion{FinalLine: d.Stages[final].Line, FinalBase: d.Stages[final].Base, Dockerfile: []string{"FROM scratch AS " + name}}
	var st dockerfile.Tree
	t := Target{Name: name, Stage: name, Output: "bin"}
	for _, f := range made {
		from := d.Stages[f.Stage].Name
		if from == "" {
			from = strconv.Itoa(f.Stage)
		}
		s.Dockerfile = append(s.Dockerfile, fmt.Sprintf("COPY --from=%s %s /", from, f.Source))
		// The file as the new stage would hold it: at the root, from where it was made.
		g := f
		g.Path = "/" + path.Base(f.Source)
		st.Files = append(st.Files, g)
		t.Files = append(t.Files, path.Join("bin", path.Base(f.Source)))
	}
	s.Target = t
	return s, st
}

// origin is where a file was made.
type origin struct {
	stage  int
	source string
}

func originOf(f dockerfile.File) origin { return origin{f.Stage, f.Source} }

// unnamedTargetName names the target of the last stage when it has no name: after
// its one executable, else "app".
func unnamedTargetName(d *dockerfile.Dockerfile, tree dockerfile.Tree) string {
	name := "app"
	var files []dockerfile.File
	for _, f := range tree.Files {
		if !f.Dir && f.Stage >= 0 {
			files = append(files, f)
		}
	}
	if len(files) == 1 && validName(path.Base(files[0].Path)) {
		name = path.Base(files[0].Path)
	}
	// A stage of that name would be built instead of the last one when stage is
	// left out: init writes stage-N, but keep the name unambiguous too.
	for d.Lookup(name, dockerfile.RefTarget, 0) >= 0 && d.Lookup(name, dockerfile.RefTarget, 0) != len(d.Stages)-1 {
		name += "-image"
	}
	return name
}

// validName reports a name devloop.yaml accepts for a target.
func validName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Output is the output directory init proposes for a target exporting tree:
// "." when everything lies under /bin (files land in ./bin), "bin" when every
// file lies at the root and no WORKDIR adds a directory, else out/<target>.
func Output(target string, tree dockerfile.Tree) string {
	underBin, atRoot := true, len(tree.Dirs) == 0
	for _, f := range tree.Files {
		underBin = underBin && (f.Path == "/bin" && f.Dir || dockerfile.Under(f.Path, "/bin"))
		atRoot = atRoot && !f.Dir && path.Dir(f.Path) == "/"
	}
	for _, dir := range tree.Dirs {
		underBin = underBin && (dir == "/bin" || dockerfile.Under(dir, "/bin"))
	}
	switch {
	case underBin:
		return "."
	case atRoot:
		return "bin"
	}
	return path.Join("out", target)
}

// pathDirs are where a program named without a slash is looked up: the PATH
// docker gives a container when the image sets none.
var pathDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// serverWords are names that say a program serves.
var serverWords = []string{"server", "api", "web", "daemon", "svc", "service", "proxy", "gateway"}

// proposeRun gives the target that exports what the image runs a run: section.
func proposeRun(d *dockerfile.Dockerfile, produced dockerfile.Produced, p *Proposal, treeOf func(int) dockerfile.Tree) {
	final := len(d.Stages) - 1
	cfg := d.Config(final)
	finalTree := d.StageTree(final, produced)
	ready := readyOf(cfg.Expose)
	argv := slices.Concat(cfg.Entrypoint, cfg.Cmd)
	if len(cfg.Entrypoint) == 0 {
		argv = cfg.Cmd
	}
	if w, ok := shellWords(argv); ok {
		argv = w
	}
	what := "CMD"
	if len(cfg.Entrypoint) > 0 {
		what = "ENTRYPOINT"
		if len(cfg.Cmd) > 0 {
			what = "ENTRYPOINT and CMD"
		}
	}
	if len(argv) > 0 {
		if f, ok := findProgram(finalTree, argv[0], cfg.WorkingDir); ok {
			for k := range p.Targets {
				t := &p.Targets[k]
				if t.Aggregate {
					continue
				}
				if local, ok := exportedAt(*t, treeOf(k), f); ok {
					t.Run = &Run{
						Command: append([]string{local}, argv[1:]...),
						Ready:   ready,
						From:    fmt.Sprintf("%s of %s (line %d)", what, d.StageName(final), d.Stages[final].Line),
					}
					return
				}
			}
		}
	}
	// No ENTRYPOINT or CMD runs an exported executable: the one named like a server.
	for k := range p.Targets {
		t := &p.Targets[k]
		if t.Aggregate {
			continue
		}
		for _, f := range treeOf(k).Files {
			if f.Dir || f.Stage < 0 || !looksLikeServer(t.Name, path.Base(f.Path)) {
				continue
			}
			local, _ := exportedAt(*t, treeOf(k), f)
			r := &Run{Command: []string{local}, From: "the executable's name"}
			if slices.ContainsFunc(finalTree.Files, func(g dockerfile.File) bool { return originOf(g) == originOf(f) }) {
				r.Ready = ready // the image runs it, and exposes this
			}
			t.Run = r
			return
		}
	}
}

func looksLikeServer(names ...string) bool {
	for _, n := range names {
		for _, w := range serverWords {
			if strings.Contains(strings.ToLower(n), w) {
				return true
			}
		}
	}
	return false
}

// exportedAt is where target t (whose stage holds tree) puts the file made where f
// was made, relative to devloop.yaml's directory.
func exportedAt(t Target, tree dockerfile.Tree, f dockerfile.File) (string, bool) {
	for _, g := range tree.Files {
		if !g.Dir && originOf(g) == originOf(f) {
			return path.Join(t.Output, strings.TrimPrefix(g.Path, "/")), true
		}
	}
	return "", false
}

// findProgram finds the file the image runs for program: an absolute path, a
// path relative to the working directory, or a name looked up in PATH.
func findProgram(tree dockerfile.Tree, program, workdir string) (dockerfile.File, bool) {
	var candidates []string
	switch {
	case path.IsAbs(program):
		candidates = []string{path.Clean(program)}
	case strings.Contains(program, "/"):
		candidates = []string{dockerfile.ContainerPath(workdir, program)}
	default:
		for _, dir := range pathDirs {
			candidates = append(candidates, path.Join(dir, program))
		}
	}
	for _, c := range candidates {
		for _, f := range tree.Files {
			if !f.Dir && f.Path == c && f.Stage >= 0 {
				return f, true
			}
		}
	}
	return dockerfile.File{}, false
}

// shellWords turns a shell-form command (sh -c LINE) into its words when LINE is
// one simple command of literal words (after an optional exec); false otherwise.
func shellWords(argv []string) ([]string, bool) {
	if len(argv) != 3 || argv[1] != "-c" || !strings.HasSuffix(argv[0], "sh") {
		return nil, false
	}
	f, err := syntax.NewParser().Parse(strings.NewReader(argv[2]), "")
	if err != nil || len(f.Stmts) != 1 {
		return nil, false
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) > 0 || len(f.Stmts[0].Redirs) > 0 {
		return nil, false
	}
	var words []string
	for _, w := range call.Args {
		lit := w.Lit()
		if lit == "" {
			// Quoted literals are literal too.
			var b strings.Builder
			for _, part := range w.Parts {
				switch q := part.(type) {
				case *syntax.SglQuoted:
					b.WriteString(q.Value)
				case *syntax.DblQuoted:
					if len(q.Parts) != 1 {
						return nil, false
					}
					l, ok := q.Parts[0].(*syntax.Lit)
					if !ok {
						return nil, false
					}
					b.WriteString(l.Value)
				case *syntax.Lit:
					b.WriteString(q.Value)
				default:
					return nil, false
				}
			}
			lit = b.String()
		}
		words = append(words, lit)
	}
	if len(words) > 0 && words[0] == "exec" {
		words = words[1:]
	}
	return words, len(words) > 0
}

// readyOf is the ready: URL for the first TCP port of EXPOSE.
func readyOf(expose []string) string {
	for _, e := range expose {
		port, proto, _ := strings.Cut(e, "/")
		if proto != "" && !strings.EqualFold(proto, "tcp") {
			continue
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
			return "tcp://127.0.0.1:" + port
		}
	}
	return ""
}

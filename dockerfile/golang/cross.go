package golang

import (
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// RuleGoCrossCompile: a build for a platform other than the builder's must run its go
// builds on the builder's platform and have them compile for the target platform.
var RuleGoCrossCompile = Rule{
	Name: "GoCrossCompile",
	Description: "A build for another platform than the builder's must run go build on the builder's platform " +
		"(FROM --platform=$BUILDPLATFORM) and compile for the target platform (GOOS=$TARGETOS GOARCH=$TARGETARCH, or xx-go)",
}

// goSite is one go build or go install of the target, as [CrossCompile] judges it.
type goSite struct {
	stage       int
	line        int
	name        string         // "go build", "xx-go build"
	env         dockerfile.Env // the go command's environment
	xx          bool           // run through tonistiigi/xx's xx-go: GOOS and GOARCH come from TARGET*
	cmd         dockerfile.Command
	wrap        *dockerfile.Command // the xx-go --wrap before a go command, or nil
	platform    ocispecs.Platform
	platformWhy string
}

// crossCheck collects the go builds of a target for CrossCompile (goWalker.cross).
type crossCheck struct {
	sites []goSite
}

// CrossCompile checks the Dockerfile's build of opt.Stage for opt.Platform on a
// builder whose platform is opt.BuildPlatform, as `docker build --platform` would run
// it, against [RuleGoCrossCompile]. Every go build and go install of the stages the
// target is built from, copies from or mounts (go, xx-go, and go after xx-go --wrap)
// must run in a stage whose platform is the builder's — its FROM chain starts with
// `FROM --platform=$BUILDPLATFORM` (or BUILDOS/BUILDARCH, or any platform that is the
// builder's) — else the stage pulls an image for the target platform (a darwin image
// does not exist; another Linux architecture runs only under emulation), and must
// compile for the target platform: GOOS and GOARCH from TARGETOS and TARGETARCH
// (inline, ENV, ARG, export, build args), or xx-go with TARGETPLATFORM (or TARGETOS and
// TARGETARCH) declared. A go build that leaves GOOS unset compiles for its stage's
// platform, which is the builder's once the stage runs where it should.
//
// It returns one [Warning] per Dockerfile line to change (the FROM, the RUN), in the
// order of the file, each with the lines to write in Fix, and how many go builds it
// found: none found, no warning says nothing about a Dockerfile. It returns nothing
// when the platforms are equal or unknown, and judges nothing it cannot follow: a
// variable without a known value, a stage it cannot analyse (what [InputsOf] would
// call unknown stops the check there, with what it found so far).
func CrossCompile(d *dockerfile.Dockerfile, opt Options) (warnings []Warning, builds int) {
	target, builder := opt.Platform, opt.BuildPlatform
	if target.OS == "" || builder.OS == "" || samePlatform(target, builder) {
		return nil, 0
	}
	meta, stages, err := d.Instructions()
	if err != nil {
		return nil, 0
	}
	w := &goWalker{
		d:      d,
		opt:    opt,
		ctx:    opt.Context,
		lex:    d.NewLex(),
		stages: stages,
		done:   make([]*goStage, len(stages)),
		busy:   make([]bool, len(stages)),
		cross:  &crossCheck{},
	}
	w.metaArgs(meta)
	start := d.Lookup(opt.Stage, dockerfile.RefTarget, 0)
	if start < 0 {
		return nil, 0
	}
	_, _ = w.stage(start) // an error ends the walk; what it found is judged
	return w.cross.judge(w, target, builder), len(w.cross.sites)
}

// samePlatform compares two platforms as normalized, without OS version or features.
func samePlatform(a, b ocispecs.Platform) bool {
	return platforms.Format(platforms.Normalize(a)) == platforms.Format(platforms.Normalize(b))
}

// crossRun follows a RUN in CrossCompile's walk: the stages it mounts from, and its
// go builds.
func (w *goWalker) crossRun(gs *goStage, line int, c *instructions.RunCommand) error {
	st := &gs.state
	if err := c.Expand(func(word string) (string, error) {
		v, _ := w.expand(word, st.env)
		return v, nil
	}); err != nil {
		return nil // mounts it cannot expand: their stages are not followed
	}
	for _, m := range instructions.GetMounts(c) {
		if m.From == "" {
			continue
		}
		if j := w.d.Lookup(m.From, dockerfile.RefMountFrom, 0); j >= 0 {
			if _, err := w.stage(j); err != nil {
				return err
			}
		}
	}
	dockerfile.WalkRun(c, dockerfile.RunState{Shell: st.shell, Env: st.env, Dir: st.workdir, DirWhy: st.workdirWhy},
		func(cmd dockerfile.Command, _ *dockerfile.Facts) bool {
			if cmd.Name != "go" && cmd.Name != "xx-go" {
				return false
			}
			if wrap, ok := xxWrapping(cmd); ok {
				st.xxWrap = wrap // later go commands of the stage run as xx-go set them
				return true
			}
			if sub, ok := goSubcommand(cmd); ok && (sub == "build" || sub == "install") {
				site := goSite{
					stage: gs.index, line: line, name: cmd.Name + " " + sub, env: cmd.Env,
					xx: cmd.Name == "xx-go", cmd: cmd, platform: st.platform, platformWhy: st.platformWhy,
				}
				if cmd.Name == "go" && st.xxWrap != nil {
					site.xx, site.wrap = true, st.xxWrap
				}
				w.cross.sites = append(w.cross.sites, site)
			}
			return true
		})
	return nil
}

// goSubcommand is the go command's subcommand ("build"), after a leading -C DIR; false
// when it has none or it is unknown.
func goSubcommand(cmd dockerfile.Command) (string, bool) {
	args := cmd.Args
	if len(args) > 1 && args[0].Text == "-C" {
		args = args[2:]
	}
	if len(args) == 0 || args[0].Why != "" {
		return "", false
	}
	return args[0].Text, true
}

// judge turns the go builds found into warnings: one per FROM to change, one per RUN.
func (c *crossCheck) judge(w *goWalker, target, builder ocispecs.Platform) []Warning {
	var out []Warning
	seen := map[int]bool{} // lines warned about
	add := func(wn Warning) {
		if !seen[wn.Line] {
			seen[wn.Line] = true
			out = append(out, wn)
		}
	}
	tp, bp := formatPlatform(target), formatPlatform(builder)
	for _, s := range c.sites {
		onBuilder := s.platformWhy == "" && samePlatform(s.platform, builder)
		if s.platformWhy == "" && !onBuilder {
			if wn, ok := w.fromWarning(s, tp, bp); ok {
				add(wn)
			}
		}
		if wn, ok := w.compileWarning(s, target, builder, onBuilder); ok {
			add(wn)
		}
	}
	slices.SortStableFunc(out, func(a, b Warning) int { return a.Line - b.Line })
	return out
}

// fromWarning is the warning for the FROM that sets the platform of site's stage: the
// nearest stage of its FROM chain that names a platform, else the one that starts
// from an image.
func (w *goWalker) fromWarning(s goSite, tp, bp string) (Warning, bool) {
	j := s.stage
	for w.stages[j].Platform == "" && w.done[j] != nil && w.done[j].parent >= 0 {
		j = w.done[j].parent
	}
	st := w.stages[j]
	if st.BaseName == "scratch" {
		return Warning{}, false
	}
	fix := "FROM --platform=$BUILDPLATFORM " + st.BaseName
	if st.Name != "" && !isStageIndex(st.Name) {
		fix += " AS " + st.Name
	}
	line := stageLine(st)
	where := fmt.Sprintf("the %s on line %d", s.name, s.line)
	if j != s.stage {
		where += " (stage " + w.d.StageName(s.stage) + ")"
	}
	what := fmt.Sprintf("FROM %s", st.BaseName)
	if st.Platform != "" {
		what = fmt.Sprintf("FROM --platform=%s %s", st.Platform, st.BaseName)
	}
	return Warning{
		Rule:  RuleGoCrossCompile.Name,
		Line:  line,
		Stage: w.d.StageName(j),
		Message: fmt.Sprintf("%s:%d: %s runs %s on the target platform (%s), not the builder's (%s): there may be no image for %s, or it runs only under emulation; run it on the builder's platform and let go build cross-compile",
			w.d.Path, line, what, where, tp, bp, tp),
		Fix:  fix,
		Hint: "change that line to: " + fix,
	}, true
}

// isStageIndex reports a stage name that is BuildKit's own ("0" for an unnamed stage).
func isStageIndex(name string) bool { return strings.Trim(name, "0123456789") == "" }

// compileWarning is the warning for a go build that does not compile for the target
// platform, judged as it runs once its stage is on the builder's platform.
func (w *goWalker) compileWarning(s goSite, target, builder ocispecs.Platform, onBuilder bool) (Warning, bool) {
	goos, goarch, known := s.compiles(builder)
	if !known || (goos == target.OS && goarch == target.Architecture) {
		return Warning{}, false
	}
	tp := formatPlatform(target)
	wn := Warning{Rule: RuleGoCrossCompile.Name, Line: s.line, Stage: w.d.StageName(s.stage)}
	if s.xx {
		wn.Message = fmt.Sprintf("%s:%d: %s compiles for %s/%s, not the target platform (%s): xx-go takes the platform from TARGETPLATFORM, which the stage does not declare",
			w.d.Path, s.line, s.name, goos, goarch, tp)
		wn.Fix = "ARG TARGETPLATFORM"
		wn.Hint = "add ARG TARGETPLATFORM to the stage before that RUN"
		return wn, true
	}
	osSet, archSet := s.sets("GOOS"), s.sets("GOARCH")
	var why string
	switch {
	case !osSet && !archSet && onBuilder:
		why = fmt.Sprintf("GOOS and GOARCH are not set: it compiles for the builder's platform (%s)", formatPlatform(builder))
	case !osSet && !archSet:
		why = fmt.Sprintf("GOOS and GOARCH are not set: it compiles for its stage's platform, which is the builder's (%s) once the stage runs there", formatPlatform(builder))
	default:
		why = fmt.Sprintf("it compiles for GOOS=%s GOARCH=%s", goos, goarch)
	}
	wn.Message = fmt.Sprintf("%s:%d: %s does not compile for the target platform (%s): %s; set GOOS and GOARCH from TARGETOS and TARGETARCH",
		w.d.Path, s.line, s.name, tp, why)
	var lines []string
	if v := s.env["TARGETOS"]; !v.Known() || v.Value != target.OS {
		lines = append(lines, "ARG TARGETOS TARGETARCH")
	} else if v := s.env["TARGETARCH"]; !v.Known() || v.Value != target.Architecture {
		lines = append(lines, "ARG TARGETOS TARGETARCH")
	}
	lines = append(lines, fmt.Sprintf("RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH %s …", s.name))
	wn.Fix = strings.Join(lines, "\n")
	wn.Hint = fmt.Sprintf("run it as GOOS=$TARGETOS GOARCH=$TARGETARCH %s …", s.name)
	if len(lines) > 1 {
		wn.Hint = "add ARG TARGETOS TARGETARCH to the stage and " + wn.Hint
	}
	return wn, true
}

// compiles is the platform site's go command compiles for when its stage runs on the
// builder's platform; known is false when a variable it depends on has no known value.
func (s goSite) compiles(builder ocispecs.Platform) (goos, goarch string, known bool) {
	env := s.env
	if s.xx {
		// As xx-go on the builder: its target platform, GOOS and GOARCH set from it.
		cmd, why := xxGo(s.cmd, builder, "")
		if s.wrap != nil {
			cmd, why = wrappedGo(s.cmd, *s.wrap, builder, "")
		}
		if why != "" {
			return "", "", false
		}
		env = cmd.Env
	}
	goos, goarch = builder.OS, builder.Architecture
	for _, kv := range []struct {
		name string
		dst  *string
	}{{"GOOS", &goos}, {"GOARCH", &goarch}} {
		v, ok := env[kv.name]
		switch {
		case !ok || v.Unset: // as goBuild: an ARG without a value sets nothing
		case !v.Known():
			return "", "", false
		case v.Value != "":
			*kv.dst = v.Value
		}
	}
	return goos, goarch, true
}

// sets reports whether the go command's environment sets k.
func (s goSite) sets(k string) bool {
	v, ok := s.env[k]
	return ok && !v.Unset
}

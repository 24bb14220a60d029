package project

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/rebuild"
)

// Check runs before the first build and checks what only the file system and the
// Dockerfile can tell about devloop.yaml's values: the context is a directory, the
// Dockerfile exists, every target's stage is one of its stages (the error lists them),
// and secret files exist; cache specs config.Load already checked with rebuild's
// parser. Each problem is a config.Error at the value's position in devloop.yaml, all
// of them together as config.Errors. Missing Go cache mounts are reported once as
// warnings on warn: advice for the user's own docker build when the targets use the
// dev build (see devBuild), which has them. dfs parses the Dockerfile (pass it on in
// [Options.Dockerfiles]).
func Check(cfg *config.Config, targets []*config.Target, dfs *dockerfile.Cache, warn io.Writer) error {
	var errs config.Errors
	if fi, err := os.Stat(cfg.Context); err != nil || !fi.IsDir() {
		errs = append(errs, cfg.ErrorAt("context", "build context %s is not a directory", cfg.Context))
		return errs
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Secrets)) {
		if s := cfg.Secrets[id]; s.File != "" {
			if err := rebuild.CheckSecret(id, rebuild.Secret{File: s.File}); err != nil {
				errs = append(errs, cfg.ErrorAt("secrets."+id+".file", "secret %q: %v", id, err))
			}
		}
	}
	refs := make([]dockerfile.TargetRef, len(targets))
	for i, t := range targets {
		refs[i] = stageRef(cfg, t)
	}
	df, problems := dfs.Check(cfg.Dockerfile, refs)
	for _, p := range problems {
		var se *dockerfile.StageError
		if !errors.As(p, &se) {
			errs = append(errs, cfg.ErrorAt("dockerfile", "%v", p))
			continue
		}
		se.Dockerfile = ospath.DisplayCwd(cfg.Dockerfile)
		errs = append(errs, cfg.ErrorAt("targets."+targets[se.Index].Name+".stage", "%v", se))
	}
	if len(errs) > 0 || df == nil {
		return sortedErrors(errs)
	}
	devBuild := slices.ContainsFunc(targets, func(t *config.Target) bool { return t.DevTransform })
	for _, w := range LintWarnings(df, cfg.Context, devBuild) {
		fmt.Fprintf(warn, "[devloop] %s", w)
	}
	return nil
}

// LintWarnings are the Dockerfile's missing Go cache mounts (golang.Lint) as devloop
// says them, two lines each ("warning: MESSAGE\n  HINT\n"). With the dev build
// (devBuild: some target keeps dev_transform on), devloop's builds have the mounts
// and no -a: the advice is for the user's own docker build, and says so.
func LintWarnings(df *dockerfile.Dockerfile, context string, devBuild bool) []string {
	suffix := ""
	if devBuild {
		suffix = " for your own docker build (devloop's dev build does it: see dev_transform)"
	}
	var out []string
	for _, w := range golang.Lint(df, context) {
		out = append(out, fmt.Sprintf("warning: %s\n  %s%s\n", w.Message, w.Hint, suffix))
	}
	return out
}

// stageRef is target t's stage as devloop.yaml gives it: Defaulted when it leaves
// stage out (then Stage is the target's name).
func stageRef(cfg *config.Config, t *config.Target) dockerfile.TargetRef {
	return dockerfile.TargetRef{Stage: t.Stage, Defaulted: !cfg.Set("targets." + t.Name + ".stage")}
}

// frontendTarget is what BuildKit's Dockerfile frontend is sent as the target that
// builds t's stage (dockerfile.Target.Frontend): its name, or none for the last,
// unnamed stage. A Dockerfile that cannot be read or parsed, or lacks the stage
// (Check said so, or it was edited since), gets the stage as written: the solve
// reports the problem.
func frontendTarget(dfs *dockerfile.Cache, cfg *config.Config, t *config.Target) string {
	df, err := dfs.Load(cfg.Dockerfile)
	if err != nil {
		return t.Stage
	}
	target, err := df.TargetStage(stageRef(cfg, t))
	if err != nil {
		return t.Stage
	}
	return target.Frontend
}

// sortedErrors orders problems by their position in devloop.yaml; nil if none.
func sortedErrors(errs config.Errors) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b config.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return errs
}

// Failure is a failed target as devloop shows it: BuildKit's error, and the step and
// its output as package dockerfile describes them.
type Failure struct {
	dockerfile.Failure
	Err string
	// Log is the failed step's whole output, as BuildKit gave it.
	Log string
	// Hint, if set, says what devloop knows of the cause: a file the step copies
	// from the build context that devloop's rules keep out of it.
	Hint string
}

// notFound is BuildKit's error for a COPY or ADD source missing from the build
// context: … "/data/seed.json": not found.
var notFound = regexp.MustCompile(`"/([^"]*)": not found`)

// DescribeFailure maps a target's build error to host paths. The Dockerfile is the
// dev build the solve built, else the file, read again each time (the user may have
// edited it since the build started) and parsed only when its content changed.
//
// A failed build for another platform than the daemon's (exported binaries of another
// platform, an image or program the target platform lacks) also gets the lines that
// say what to change in the Dockerfile.
func (p *Project) DescribeFailure(err error) Failure {
	var be *rebuild.BuildError
	if !errors.As(err, &be) {
		return p.platformFailure(err, Failure{Err: err.Error()})
	}
	var df *dockerfile.Dockerfile
	switch {
	case be.Logs == "":
	case be.DockerfileSource != nil:
		df, _ = dockerfile.Parse(p.cfg.Dockerfile, be.DockerfileSource) // its lines are the file's
	default:
		df, _ = p.dockerfiles.Load(p.cfg.Dockerfile) // nil when it does not parse
	}
	f := Failure{
		Failure: dockerfile.DescribeFailure(df, be.Step, be.Logs, p.cfg.Context),
		Err:     strings.TrimPrefix(be.Err.Error(), "failed to solve: "),
		Log:     be.Logs,
	}
	if be.DockerfileSource != nil && df != nil && p.devbuild != nil {
		// The step as the user wrote it, not with the dev build's mounts.
		f.Step = df.StepAsWritten(be.Step, p.devbuild.asWritten(be.DockerfileSource))
	}
	f.Hint = p.notSentHint(be.Step, f.Err)
	return p.platformFailure(err, f)
}

// notSentHint explains a COPY or ADD from the build context that failed on a
// missing source the context rules left out (watch.ignore, .git, .dockerignore):
// which rule, and the line that would send it. "" otherwise.
func (p *Project) notSentHint(step, msg string) string {
	m := notFound.FindStringSubmatch(msg)
	if m == nil || strings.Contains(step, "--from") || !(strings.Contains(step, "] COPY ") || strings.Contains(step, "] ADD ")) {
		return ""
	}
	rel := m[1]
	if _, err := os.Lstat(filepath.Join(p.cfg.Context, filepath.FromSlash(rel))); err != nil {
		return "" // really missing
	}
	live := p.live.Load()
	if live == nil || live.rules == nil {
		return ""
	}
	d := live.rules.Explain(rel, false)
	if d.InContext {
		return ""
	}
	return fmt.Sprintf("%s is not in the build context: %s", rel, d.Rule)
}

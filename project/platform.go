package project

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/devloop/devloop/execfile"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/rebuild"
)

// What devloop does with the platforms a target builds for (config.Target.Platforms,
// or the --platform flag): the solve builds for them (rebuild.Request.Platforms);
// before a solve for a platform other than the daemon's, the Dockerfile is checked for
// cross-compilation (golang.CrossCompile) and what is wrong is said once; after the
// solve every exported executable's header must be the platform asked for
// (execfile.Check), or the build fails with a *PlatformError and nothing is swapped;
// a target's process starts from its run platform's files.

// daemonPlatformString is the daemon's default platform, formatted as config formats
// platforms; "" when unknown.
func (p *Project) daemonPlatformString() string {
	if p.daemonPlatform.OS == "" {
		return ""
	}
	return platforms.Format(platforms.Normalize(p.daemonPlatform))
}

// foreign reports whether t builds for a platform other than the daemon's default:
// one it names that is not the daemon's, or several.
func (p *Project) foreign(t *config.Target) bool {
	switch len(t.Platforms) {
	case 0:
		return false
	case 1:
		return t.Platforms[0] != p.daemonPlatformString()
	}
	return true
}

// PlatformLabel is what the status lines say a target builds for: its platforms
// ("darwin/arm64", "linux/amd64, darwin/arm64"), or "" when it builds for the daemon's
// own platform.
func (p *Project) PlatformLabel(target string) string {
	t, ok := p.live.Load().targets[target]
	if !ok || !p.foreign(t) {
		return ""
	}
	return strings.Join(t.Platforms, ", ")
}

// crossPlatform is the first platform of t that is not the daemon's, which the
// cross-compilation check asks about; "" for none.
func (p *Project) crossPlatform(t *config.Target) string {
	daemon := p.daemonPlatformString()
	if daemon == "" {
		return ""
	}
	for _, pl := range t.Platforms {
		if pl != daemon {
			return pl
		}
	}
	return ""
}

// crossWarnings checks t's build for its first platform other than the daemon's
// (golang.CrossCompile); platform is "" when there is none to check.
func (p *Project) crossWarnings(t *config.Target, buildArgs map[string]string) (platform string, warnings []golang.Warning) {
	platform = p.crossPlatform(t)
	if platform == "" {
		return "", nil
	}
	target, err := platforms.Parse(platform)
	if err != nil {
		return "", nil
	}
	df, err := p.dockerfiles.Load(p.cfg.Dockerfile)
	if err != nil {
		return "", nil // the solve fails with the Dockerfile's error
	}
	warnings, _ = golang.CrossCompile(df, golang.Options{
		Stage: frontendTarget(p.dockerfiles, p.live.Load().cfg, t), Context: p.cfg.Context, BuildArgs: buildArgs,
		Platform: target, BuildPlatform: p.daemonPlatform,
	})
	return platform, warnings
}

// WarnPlatforms says, once per warning for the session, what keeps the selected
// targets' Dockerfile from building for their platforms: before the first solve (the
// daemon's platform is known from the connection), and before a build after a reload.
func (p *Project) WarnPlatforms(w io.Writer) {
	for _, t := range p.live.Load().targets {
		p.warnPlatform(w, t)
	}
}

func (p *Project) warnPlatform(w io.Writer, t *config.Target) {
	if w == nil {
		return
	}
	_, warnings := p.crossWarnings(t, t.BuildArgs)
	for _, wn := range warnings {
		text := fmt.Sprintf("[devloop] warning: %s\n%s", wn.Message, indent(wn.Fix, "  "))
		p.warnedMu.Lock()
		said := p.warned[text]
		p.warned[text] = true
		p.warnedMu.Unlock()
		if !said {
			fmt.Fprint(w, text)
		}
	}
}

// indent prefixes every line of s with prefix, each line ending in a newline.
func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

// PlatformError is a build whose exported executables are not all built for the
// platform asked for: nothing was swapped.
type PlatformError struct {
	Target     string
	Mismatches []execfile.Mismatch // paths relative to the project directory
}

func (e *PlatformError) Error() string {
	var parts []string
	for _, m := range e.Mismatches {
		parts = append(parts, m.String())
	}
	return strings.Join(parts, "; ") + "; nothing was swapped"
}

// checkExecutables reads the header of every executable t's solve exported into dir
// and fails with a *PlatformError when one is not built for the platform asked of its
// directory: one platform asked, the whole export; several, each one's subdirectory.
// A target that names no platform (the daemon's default) is not checked.
func (p *Project) checkExecutables(t *config.Target, dir string) error {
	if len(t.Platforms) == 0 {
		return nil
	}
	var wants []execfile.Want
	for _, pl := range t.Platforms {
		w := execfile.Want{Platform: pl}
		if t.MultiPlatform() {
			w.Dir = rebuild.PlatformDir(pl)
		}
		wants = append(wants, w)
	}
	mismatches, err := execfile.Check(dir, wants)
	if err != nil || len(mismatches) == 0 {
		return err
	}
	for i := range mismatches {
		mismatches[i].Path = p.display(filepath.Join(t.Output, filepath.FromSlash(mismatches[i].Path)))
	}
	return &PlatformError{Target: t.Name, Mismatches: mismatches}
}

// platformAdvice are the lines that say how to make t's Dockerfile build for its
// platforms: the cross-compilation check's findings, or, without any, the pattern.
func (p *Project) platformAdvice(t *config.Target) []string {
	platform, warnings := p.crossWarnings(t, t.BuildArgs)
	if platform == "" {
		platform = strings.Join(t.Platforms, ", ")
	}
	if len(warnings) == 0 {
		return []string{fmt.Sprintf("make the Dockerfile build for %s: run go build on the builder's platform (FROM --platform=$BUILDPLATFORM …) and compile for the target's (GOOS=$TARGETOS GOARCH=$TARGETARCH go build …, after ARG TARGETOS TARGETARCH)", platform)}
	}
	lines := []string{fmt.Sprintf("the Dockerfile does not cross-compile for %s:", platform)}
	for _, w := range warnings {
		lines = append(lines, w.Message)
		for _, l := range strings.Split(w.Fix, "\n") {
			lines = append(lines, "    "+l)
		}
	}
	return lines
}

// platformFailure adds to f what to change when err is the failure of a build for
// another platform: a *PlatformError, or a solve that found no image, or could not run
// a program, of the target platform (rebuild.IsPlatformUnavailable).
func (p *Project) platformFailure(err error, f Failure) Failure {
	var (
		pe   *PlatformError
		be   *rebuild.BuildError
		name string
	)
	switch {
	case errors.As(err, &pe):
		name = pe.Target
	case errors.As(err, &be) && rebuild.IsPlatformUnavailable(err):
		name = be.Target
	default:
		return f
	}
	t, ok := p.live.Load().targets[name]
	if !ok || !p.foreign(t) {
		return f
	}
	f.Other = append(f.Other, p.platformAdvice(t)...)
	return f
}

// runCommand is t's run command with its program, when t is built for several
// platforms and the program is one of its outputs, moved into the run platform's
// subdirectory: bin/server becomes bin/linux_amd64/server.
func runCommand(t *config.Target) []string {
	cmd := slices.Clone(t.Run.Command)
	if !t.MultiPlatform() || len(cmd) == 0 {
		return cmd
	}
	if _, rel, ok := inOutput(t, cmd[0]); ok {
		cmd[0] = filepath.Join(t.Output, rebuild.PlatformDir(t.RunPlatform()), rel)
	}
	return cmd
}

// inOutput resolves prog, a run command's program, against the run's directory and
// says where it lies in t's output: rel is relative to the output directory. ok is
// false for a program looked up on PATH (no separator) or one outside the output.
func inOutput(t *config.Target, prog string) (abs, rel string, ok bool) {
	if !strings.ContainsAny(prog, `/\`) {
		return "", "", false
	}
	if !filepath.IsAbs(prog) {
		prog = filepath.Join(t.Run.Dir, prog)
	}
	rel, ok = ospath.Child(t.Output, prog)
	return prog, rel, ok
}

// programOf is the file of t's output its process runs (an absolute path); "" when the
// run command's program is not a file inside the output (a command on PATH, a script
// elsewhere).
func programOf(t *config.Target) string {
	if t.Run == nil {
		return ""
	}
	cmd := runCommand(t)
	if len(cmd) == 0 {
		return ""
	}
	if abs, rel, ok := inOutput(t, cmd[0]); ok && rel != "." {
		return abs
	}
	return ""
}

// describeExecutable says what the file at path is ("Mach-O executable for
// darwin/arm64"), for the message of a process that cannot start on this machine.
func describeExecutable(path string) (string, error) {
	info, err := execfile.Read(path)
	if err != nil {
		return "", err
	}
	return info.String(), nil
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/rebuild"
)

// failure is a failed target as devloop shows it: the step, BuildKit's error and the
// compiler's messages with their paths mapped back to host files.
type failure struct {
	Step      string
	Err       string
	Locations []rebuild.Location
	Other     []string // output lines that carry no location, kept in order
}

// describeFailure maps a target's build error to host paths. The Dockerfile is parsed
// again each time: the user may have edited it since the build started.
func (p *project) describeFailure(err error) failure {
	var be *rebuild.BuildError
	if !errors.As(err, &be) {
		return failure{Err: err.Error()}
	}
	f := failure{Step: be.Step, Err: strings.TrimPrefix(be.Err.Error(), "failed to solve: ")}
	if be.Logs == "" {
		return f
	}
	df, perr := rebuild.ParseDockerfile(p.cfg.Dockerfile)
	if perr != nil {
		f.Other = strings.Split(strings.TrimRight(be.Logs, "\n"), "\n")
		return f
	}
	f.Locations = df.Locate(be.Step, be.Logs, p.cfg.Context)
	located := map[string]bool{}
	for _, l := range f.Locations {
		located[l.Raw] = true
	}
	for _, line := range strings.Split(strings.TrimRight(be.Logs, "\n"), "\n") {
		if !located[strings.TrimRight(line, "\r")] {
			f.Other = append(f.Other, line)
		}
	}
	return f
}

// print writes the failure for humans: the failing step, the output lines without a
// location, then every location as path:line:col: message relative to the working
// directory (what editors' problem matchers read).
func (f failure) print(w io.Writer, target string) {
	fmt.Fprintf(w, "%s: build failed", target)
	if f.Step != "" {
		fmt.Fprintf(w, " at %s", f.Step)
	}
	fmt.Fprintf(w, ": %s\n", f.Err)
	for _, l := range f.Other {
		if strings.TrimSpace(l) != "" {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	cwd, _ := os.Getwd()
	for _, l := range f.Locations {
		fmt.Fprintln(w, rebuild.FormatLocation(l, cwd))
	}
}

// failureFields describes a failed target for the event stream.
func (p *project) failureFields(err error) map[string]any {
	f := p.describeFailure(err)
	fields := map[string]any{}
	if f.Step != "" {
		fields["step"] = f.Step
	}
	if len(f.Locations) > 0 {
		cwd, _ := os.Getwd()
		locs := make([]map[string]any, len(f.Locations))
		for i, l := range f.Locations {
			file := l.File
			if l.Mapped {
				file = relTo(cwd, l.File)
			}
			locs[i] = map[string]any{"file": file, "line": l.Line, "col": l.Col, "message": l.Msg, "mapped": l.Mapped}
		}
		fields["locations"] = locs
	}
	return fields
}

// checkDockerfile runs before the first build: the Dockerfile must exist, every target's
// stage must be one of its stages (the error lists them), and missing Go cache mounts
// are reported once as warnings.
func checkDockerfile(cfg *config.Config, targets []*config.Target, warn io.Writer) error {
	df, err := rebuild.ParseDockerfile(cfg.Dockerfile)
	if err != nil {
		if _, serr := os.Stat(cfg.Dockerfile); serr != nil {
			return fmt.Errorf("%s: dockerfile: %w", cfg.File, serr)
		}
		return nil // a syntax error: BuildKit reports it with the build
	}
	var problems []string
	for _, t := range targets {
		if _, ok := df.Stage(t.Stage); !ok {
			names := []string{}
			for _, s := range df.Stages {
				if s.Name != "" {
					names = append(names, s.Name)
				}
			}
			problems = append(problems, fmt.Sprintf("%s: targets.%s.stage: stage %q not found in %s; its stages are: %s",
				cfg.File, t.Name, t.Stage, relToCwd(cfg.Dockerfile), strings.Join(names, ", ")))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	for _, d := range df.CacheDiagnostics() {
		fmt.Fprintf(warn, "[devloop] warning: %s\n  add %s to that RUN instruction\n", d.Message, d.Fix)
	}
	return nil
}

package report

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/project"
	"github.com/moby/sys/atomicwriter"
)

// Describer maps a failed target's error to the failing step and host locations, and
// says which platforms a target builds for; *project.Project is one.
type Describer interface {
	DescribeFailure(err error) project.Failure
	// PlatformLabel is what the status lines say a target builds for ("darwin/arm64"),
	// "" when it builds for the daemon's own platform.
	PlatformLabel(target string) string
}

// addFailure records target's failure f for the build's end: with an earlier one of
// the same step, output and error (the step is shared: it failed every target that
// needs it), it adds target to it.
func (s *Status) addFailure(target string, f project.Failure) {
	for _, prev := range s.failures {
		if sameFailure(prev.f, f) {
			prev.targets = append(prev.targets, target)
			return
		}
	}
	s.failures = append(s.failures, &failure{targets: []string{target}, f: f})
}

func sameFailure(a, b project.Failure) bool {
	return a.Step == b.Step && a.Err == b.Err && a.Log == b.Log && a.Hint == b.Hint &&
		slices.Equal(a.Other, b.Other) && slices.Equal(a.Locations, b.Locations)
}

// processFailed is the error BuildKit gives a RUN that exited non-zero, which repeats
// the whole command the step's name already shows: process "/bin/sh -c …" did not
// complete successfully: exit code: 1.
var processFailed = regexp.MustCompile(`^process "(?:[^"\\]|\\.)*" did not complete successfully: `)

// printFailure writes a failure for humans: the targets it failed, the failing step
// and the error, the step's output lines without a location (the last
// StatusOptions.MaxLogLines of them; the whole output goes to a file the block names),
// a hint, then every location as path:line:col: message relative to the working
// directory (what editors' problem matchers read), collected at the end so that two
// compiler errors are not lost in a thousand lines of go build -v.
func (s *Status) printFailure(fl *failure) {
	f := fl.f
	slices.Sort(fl.targets)
	msg := f.Err
	if f.Step != "" {
		msg = processFailed.ReplaceAllString(msg, "")
	}
	names := make([]string, len(fl.targets))
	for i, t := range fl.targets {
		names[i] = s.name(t)
	}
	fmt.Fprintf(s.w, "%s: build failed", strings.Join(names, ", "))
	if f.Step != "" {
		fmt.Fprintf(s.w, " at %s", f.Step)
	}
	fmt.Fprintf(s.w, ": %s\n", msg)
	var other []string
	for _, l := range f.Other {
		if strings.TrimSpace(l) != "" {
			other = append(other, l)
		}
	}
	if omitted := len(other) - s.opts.MaxLogLines; omitted > 0 {
		line := fmt.Sprintf("  … %s above", count(omitted, "line"))
		if where, err := s.saveLog(fl.targets[0], f.Log); err != nil {
			line += fmt.Sprintf(" (the whole output could not be saved: %v)", err)
		} else if where != "" {
			line += "; the whole output: " + where
		}
		fmt.Fprintln(s.w, line)
		other = other[omitted:]
	}
	for _, l := range other {
		fmt.Fprintf(s.w, "  %s\n", l)
	}
	if f.Hint != "" {
		fmt.Fprintf(s.w, "  %s\n", f.Hint)
	}
	cwd, _ := os.Getwd()
	for _, l := range f.Locations {
		fmt.Fprintln(s.w, dockerfile.FormatLocation(l, cwd))
	}
}

// saveLog writes a failed step's whole output to <LogDir>/<target>.log and returns
// that path as the user would type it; "" without a LogDir or an output.
func (s *Status) saveLog(target, log string) (string, error) {
	if s.opts.LogDir == "" || log == "" {
		return "", nil
	}
	if err := os.MkdirAll(s.opts.LogDir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(s.opts.LogDir, target+".log")
	if err := atomicwriter.WriteFile(p, []byte(log), 0o644); err != nil {
		return "", err
	}
	return ospath.DisplayCwd(p), nil
}

// failureFields describes a failed target for the event stream.
func failureFields(f project.Failure) map[string]any {
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
				file = ospath.Display(cwd, l.File)
			}
			locs[i] = map[string]any{"file": file, "line": l.Line, "col": l.Col, "message": l.Msg, "mapped": l.Mapped}
		}
		fields["locations"] = locs
	}
	return fields
}

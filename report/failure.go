package report

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/project"
)

// Describer maps a failed target's error to the failing step and host locations;
// *project.Project is one.
type Describer interface {
	DescribeFailure(err error) project.Failure
}

// printFailure writes a failed target for humans: the failing step, the output lines
// without a location, then every location as path:line:col: message relative to the
// working directory (what editors' problem matchers read).
func printFailure(w io.Writer, target string, f project.Failure) {
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
		fmt.Fprintln(w, dockerfile.FormatLocation(l, cwd))
	}
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

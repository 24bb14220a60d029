package initconfig

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
)

// proposePlatforms says, for every target p runs, what init writes about its
// platform ([Target.Platform]).
func proposePlatforms(d *dockerfile.Dockerfile, ctx string, p *Proposal) {
	for i := range p.Targets {
		if p.Targets[i].Run != nil {
			p.Targets[i].Platform = platformLines(d, ctx, p.Targets[i].Stage)
		}
	}
}

// platformLines are the lines about the platform of a run: target built from stage:
// `platform: local` when the Dockerfile cross-compiles (its go builds run on the
// builder's platform and compile for the target's: golang.CrossCompile finds
// nothing to change), else, when it has go builds that do not, the advice as
// comments — a run: target builds for this machine, which fails with such a
// Dockerfile wherever the builder's platform is not this machine's (Docker Desktop
// on a Mac or Windows, a remote arm64 builder). Nil without a go build.
func platformLines(d *dockerfile.Dockerfile, ctx, stage string) []string {
	// Any pair of platforms with another OS and architecture asks the question.
	warnings, builds := golang.CrossCompile(d, golang.Options{
		Stage:         stage,
		Context:       ctx,
		Platform:      platforms.MustParse("darwin/arm64"),
		BuildPlatform: platforms.MustParse("linux/amd64"),
	})
	switch {
	case builds == 0:
		return nil
	case len(warnings) == 0:
		return []string{fmt.Sprintf("%-26s # %s", "platform: local", "the machine devloop runs on (the default for a run: target); the Dockerfile cross-compiles")}
	}
	lines := []string{
		fmt.Sprintf("%-26s # %s", "# platform: local", "the default for a run: target: built for the machine devloop runs on."),
		"#   The Dockerfile builds only for the builder's platform: where that is not this machine's",
		"#   (Docker Desktop on a Mac or Windows, a remote arm64 builder) make it cross-compile:",
	}
	for _, w := range warnings {
		loc := fmt.Sprintf("%s:%d", filepath.Base(d.Path), w.Line) // "Dockerfile:12"
		for i, l := range strings.Split(w.Fix, "\n") {
			if i == 0 {
				lines = append(lines, fmt.Sprintf("#   %s: %s", loc, l))
			} else {
				lines = append(lines, fmt.Sprintf("#   %s  %s", strings.Repeat(" ", len(loc)), l))
			}
		}
	}
	return lines
}

package main

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
)

// initPlatform is what `devloop init` writes about the platform of the run: target
// built from stage: `platform: local` when the Dockerfile cross-compiles (its go
// builds run on the builder's platform and compile for the target's), else, when it
// has go builds that do not, the advice as a comment — a run: target builds for this
// machine, which fails with such a Dockerfile wherever the builder's platform is not
// this machine's (Docker Desktop on a Mac or Windows, a remote arm64 builder).
func initPlatform(df *dockerfile.Dockerfile, stage string) string {
	// Any pair of platforms with another OS and architecture asks the question.
	warnings, builds := golang.CrossCompile(df, golang.Options{
		Stage:         stage,
		Platform:      platforms.MustParse("darwin/arm64"),
		BuildPlatform: platforms.MustParse("linux/amd64"),
	})
	switch {
	case builds == 0:
		return ""
	case len(warnings) == 0:
		return "    platform: local         # the machine devloop runs on (the default for a run: target); the Dockerfile cross-compiles\n"
	}
	var b strings.Builder
	b.WriteString("    # platform: local       # the default for a run: target: built for the machine devloop runs on.\n")
	b.WriteString("    #   The Dockerfile builds only for the builder's platform: where that is not this machine's\n")
	b.WriteString("    #   (Docker Desktop on a Mac or Windows, a remote arm64 builder) make it cross-compile:\n")
	for _, w := range warnings {
		loc, _, _ := strings.Cut(w.Message, ": ")
		for i, l := range strings.Split(w.Fix, "\n") {
			if i == 0 {
				fmt.Fprintf(&b, "    #   %s: %s\n", shortLocation(loc), l)
			} else {
				fmt.Fprintf(&b, "    #   %s  %s\n", strings.Repeat(" ", len(shortLocation(loc))), l)
			}
		}
	}
	return b.String()
}

// shortLocation is a warning's "path:line" with the Dockerfile's base name.
func shortLocation(loc string) string {
	if i := strings.LastIndex(loc, "/"); i >= 0 {
		return loc[i+1:]
	}
	return loc
}

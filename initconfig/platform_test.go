package initconfig

import (
	"strings"
	"testing"
)

// A run: target gets platform: local (its comment in the column of the target's other
// comments) when the Dockerfile cross-compiles, the lines to change as comments when
// it does not; a target without run: gets nothing.
func TestProposePlatform(t *testing.T) {
	const cross = "FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS builder\nWORKDIR /src\nCOPY . .\nARG TARGETOS TARGETARCH\n" +
		"RUN export GOOS=$TARGETOS GOARCH=$TARGETARCH && go build -o /out/server ./cmd/server && go build -o /out/app ./cmd/app\n" +
		"FROM scratch AS server\nCOPY --from=builder /out/server /bin/\nFROM scratch AS app\nCOPY --from=builder /out/app /bin/\n"
	native := strings.NewReplacer("--platform=$BUILDPLATFORM ", "", "ARG TARGETOS TARGETARCH\n", "", "export GOOS=$TARGETOS GOARCH=$TARGETARCH && ", "").Replace(cross)
	tests := []struct {
		name, dockerfile string
		want             []string
	}{
		{"cross-compiling", cross, []string{"platform: local            # the machine devloop runs on (the default for a run: target); the Dockerfile cross-compiles"}},
		{"native", native, []string{
			"# platform: local          # the default for a run: target: built for the machine devloop runs on.",
			"#   The Dockerfile builds only for the builder's platform: where that is not this machine's",
			"#   (Docker Desktop on a Mac or Windows, a remote arm64 builder) make it cross-compile:",
			"#   Dockerfile:1: FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS builder",
			"#   Dockerfile:4: ARG TARGETOS TARGETARCH",
			"#                 RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dir := project(t, tt.dockerfile)
			p := Propose(d, dir)
			var run, other *Target
			for i := range p.Targets {
				if p.Targets[i].Run != nil {
					run = &p.Targets[i]
				} else {
					other = &p.Targets[i]
				}
			}
			if run == nil || other == nil {
				t.Fatalf("Propose() = %s, want a target with run: and one without", describe(p))
			}
			if got := strings.Join(run.Platform, "\n"); got != strings.Join(tt.want, "\n") {
				t.Errorf("platform lines of %s =\n%s\nwant\n%s", run.Name, got, strings.Join(tt.want, "\n"))
			}
			if other.Platform != nil {
				t.Errorf("platform lines of %s (no run:) = %q, want none", other.Name, other.Platform)
			}
		})
	}
}

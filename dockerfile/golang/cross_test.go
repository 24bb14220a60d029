package golang

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/dockerfile"
)

// The guide's multi-platform chapter: the Dockerfile that cross-compiles.
const crossExample = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base
WORKDIR /src
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/go/pkg/mod/ \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=bind,source=go.mod,target=go.mod \
    go mod download -x

FROM base AS build-server
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod/ \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /bin/server ./cmd/server

FROM scratch AS server
COPY --from=build-server /bin/server /bin/
`

// A Dockerfile of the guide's first chapters: it builds for the platform it runs on.
const nativeExample = `ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-alpine AS base
WORKDIR /src

FROM base AS build-server
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    go build -o /bin/server ./cmd/server

FROM scratch AS server
COPY --from=build-server /bin/server /bin/
`

func TestCrossCompile(t *testing.T) {
	const (
		fromMsg  = "FROM %s runs the %s on line %d%s on the target platform (darwin/arm64), not the builder's (linux/amd64): there may be no image for darwin/arm64, or it runs only under emulation; run it on the builder's platform and let go build cross-compile"
		unsetMsg = "go build does not compile for the target platform (darwin/arm64): GOOS and GOARCH are not set: it compiles for the builder's platform (linux/amd64); set GOOS and GOARCH from TARGETOS and TARGETARCH"
		stageMsg = "go build does not compile for the target platform (darwin/arm64): GOOS and GOARCH are not set: it compiles for its stage's platform, which is the builder's (linux/amd64) once the stage runs there; set GOOS and GOARCH from TARGETOS and TARGETARCH"
		fixRun   = "ARG TARGETOS TARGETARCH\nRUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …"
	)
	type want struct {
		line      int
		msg, fix  string
		stageName string
	}
	tests := []struct {
		name, dockerfile string
		stage            string // default "server"
		target           string // default darwin/arm64
		buildArgs        map[string]string
		want             []want
	}{
		{name: "the guide's cross-compiling Dockerfile", dockerfile: crossExample},
		{name: "missing --platform and GOOS/GOARCH", dockerfile: nativeExample, want: []want{
			{2, fmt.Sprintf(fromMsg, "golang:${GO_VERSION}-alpine", "go build", 6, " (stage build-server)"), "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base", "base"},
			{6, stageMsg, fixRun, "build-server"},
		}},
		{name: "--platform but GOOS/GOARCH unset",
			dockerfile: strings.Replace(nativeExample, "FROM golang", "FROM --platform=$BUILDPLATFORM golang", 1),
			want:       []want{{6, unsetMsg, fixRun, "build-server"}}},
		{name: "--platform=$BUILDOS/$BUILDARCH, inline GOOS/GOARCH",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDOS/$BUILDARCH golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG TARGETOS TARGETARCH\n",
				"    go build", "    GOOS=$TARGETOS GOARCH=$TARGETARCH go build").Replace(nativeExample)},
		{name: "ENV from ARG",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG TARGETOS\nARG TARGETARCH\nENV GOOS=${TARGETOS} GOARCH=$TARGETARCH\n").Replace(nativeExample)},
		{name: "ARG defaults in the base stage, inherited",
			dockerfile: strings.NewReplacer("FROM golang:${GO_VERSION}-alpine AS base\n", "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base\nARG TARGETOS TARGETARCH\nARG GOOS=$TARGETOS GOARCH=$TARGETARCH\n").Replace(nativeExample)},
		{name: "export in the RUN",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG TARGETOS TARGETARCH\n",
				"    go build", "    export GOOS=$TARGETOS GOARCH=$TARGETARCH && go build").Replace(nativeExample)},
		{name: "GOOS hard-coded for the target platform",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"    go build", "    GOOS=darwin GOARCH=arm64 go build").Replace(nativeExample)},
		{name: "GOOS and GOARCH from build args",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG GOOS GOARCH\n").Replace(nativeExample),
			buildArgs: map[string]string{"GOOS": "darwin", "GOARCH": "arm64"}},
		{name: "GOOS hard-coded for another platform",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"    go build", "    GOOS=linux GOARCH=amd64 go build").Replace(nativeExample),
			want: []want{{6, "go build does not compile for the target platform (darwin/arm64): it compiles for GOOS=linux GOARCH=amd64; set GOOS and GOARCH from TARGETOS and TARGETARCH", fixRun, "build-server"}}},
		{name: "the ARG is declared: only the RUN to change",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG TARGETOS TARGETARCH\n").Replace(nativeExample),
			want: []want{{7, unsetMsg, "RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …", "build-server"}}},
		{name: "only the architecture differs", target: "linux/arm64",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"FROM base AS build-server\n", "FROM base AS build-server\nARG TARGETOS TARGETARCH\n",
				"    go build", "    GOOS=$TARGETOS go build").Replace(nativeExample),
			want: []want{{7, "go build does not compile for the target platform (linux/arm64): it compiles for GOOS=linux GOARCH=amd64; set GOOS and GOARCH from TARGETOS and TARGETARCH", "RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …", "build-server"}}},
		{name: "the same platform as the builder's: nothing to check", target: "linux/amd64", dockerfile: nativeExample},
		{name: "--platform=$TARGETPLATFORM", dockerfile: strings.Replace(crossExample, "--platform=$BUILDPLATFORM", "--platform=$TARGETPLATFORM", 1),
			want: []want{{3, fmt.Sprintf("FROM --platform=$TARGETPLATFORM %s runs the %s on line %d%s on the target platform (darwin/arm64), not the builder's (linux/amd64): there may be no image for darwin/arm64, or it runs only under emulation; run it on the builder's platform and let go build cross-compile",
				"golang:${GO_VERSION}-alpine", "go build", 13, " (stage build-server)"), "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base", "base"}}},
		{name: "tonistiigi/xx: xx-go with TARGETPLATFORM",
			dockerfile: "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build\nCOPY --from=xx / /\nARG TARGETPLATFORM\nRUN --mount=type=bind,target=. xx-go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=build /out/server /bin/\n"},
		{name: "tonistiigi/xx: xx-go without TARGETPLATFORM",
			dockerfile: "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build\nCOPY --from=xx / /\nRUN --mount=type=bind,target=. xx-go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=build /out/server /bin/\n",
			want:       []want{{4, "xx-go build compiles for linux/amd64, not the target platform (darwin/arm64): xx-go takes the platform from TARGETPLATFORM, which the stage does not declare", "ARG TARGETPLATFORM", "build"}}},
		{name: "tonistiigi/xx: xx-go --wrap, then go build in a later stage",
			dockerfile: "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang:1.26-alpine AS base\nCOPY --from=xx / /\nARG TARGETPLATFORM\nRUN xx-go --wrap\nFROM base AS build\nRUN --mount=type=bind,target=. go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=build /out/server /bin/\n"},
		{name: "a go build in a stage the target mounts from",
			dockerfile: "FROM golang:1.26 AS tools\nRUN go install ./cmd/gen\nFROM --platform=$BUILDPLATFORM golang:1.26 AS build\nARG TARGETOS TARGETARCH\nRUN --mount=from=tools,target=/tools GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/server .\nFROM scratch AS server\nCOPY --from=build /out/server /bin/\n",
			want: []want{
				{1, fmt.Sprintf(fromMsg, "golang:1.26", "go install", 2, ""), "FROM --platform=$BUILDPLATFORM golang:1.26 AS tools", "tools"},
				{2, strings.Replace(stageMsg, "go build", "go install", 1), "ARG TARGETOS TARGETARCH\nRUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go install …", "tools"},
			}},
		{name: "a stage the target does not need is not judged", stage: "server",
			dockerfile: nativeExample + "FROM golang:1.26 AS other\nRUN go build ./...\n",
			want: []want{
				{2, fmt.Sprintf(fromMsg, "golang:${GO_VERSION}-alpine", "go build", 6, " (stage build-server)"), "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base", "base"},
				{6, stageMsg, fixRun, "build-server"},
			}},
		{name: "a GOOS without a known value is not judged",
			dockerfile: strings.NewReplacer("FROM golang", "FROM --platform=$BUILDPLATFORM golang",
				"    go build", "    GOOS=$(cat /goos) GOARCH=$TARGETARCH go build").Replace(nativeExample)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDockerfile(t, tt.dockerfile)
			stage, target := tt.stage, tt.target
			if stage == "" {
				stage = "server"
			}
			if target == "" {
				target = "darwin/arm64"
			}
			got, builds := CrossCompile(d, Options{
				Stage: stage, Context: t.TempDir(), BuildArgs: tt.buildArgs,
				Platform:      platforms.MustParse(target),
				BuildPlatform: platforms.MustParse("linux/amd64"),
			})
			if tt.target != "linux/amd64" && builds == 0 {
				t.Errorf("CrossCompile() found no go build")
			}
			var gotS, wantS []string
			for _, w := range got {
				if w.Rule != RuleGoCrossCompile.Name {
					t.Errorf("rule = %q, want %q", w.Rule, RuleGoCrossCompile.Name)
				}
				gotS = append(gotS, fmt.Sprintf("%d [%s] %s\nfix: %s", w.Line, w.Stage, w.Message, w.Fix))
			}
			for _, w := range tt.want {
				wantS = append(wantS, fmt.Sprintf("%d [%s] %s:%d: %s\nfix: %s", w.line, w.stageName, d.Path, w.line, w.msg, w.fix))
			}
			if strings.Join(gotS, "\n") != strings.Join(wantS, "\n") {
				t.Errorf("CrossCompile() =\n%s\nwant\n%s", strings.Join(gotS, "\n"), strings.Join(wantS, "\n"))
			}
		})
	}
}

// What a target's go builds compile, per platform: the cross-compiling Dockerfile's
// go build gets the target's GOOS and GOARCH, and so does xx-go (go list must answer
// for the platform the binary is for).
func TestInputsOfCrossCompiled(t *testing.T) {
	// xx's helpers copied to /usr/bin: with COPY --from=xx / / the image's files might
	// lie under /src, and the inputs are unknown.
	xx := func(lines ...string) string {
		return "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build\nCOPY --from=xx /usr/bin/ /usr/bin/\nWORKDIR /src\n" +
			strings.Join(lines, "\n") + "\nFROM scratch AS server\nCOPY --from=build /out/server /bin/\n"
	}
	const run = "RUN --mount=type=bind,target=. --mount=type=cache,target=/root/.cache/go-build "
	tests := []struct {
		name, dockerfile, platform, want string
	}{
		{"the guide's cross-compiling Dockerfile for darwin/arm64", crossExample, "darwin/arm64",
			"dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=arm64,GOOS=darwin mod=go.mod\nreads=go.mod,go.sum"},
		{"the same for windows/amd64", crossExample, "windows/amd64",
			"dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=windows mod=go.mod\nreads=go.mod,go.sum"},
		{"a native Dockerfile for another platform compiles for the stage's", nativeExample, "darwin/arm64",
			"dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=darwin mod=go.mod"},
		{"xx-go with TARGETPLATFORM", xx("ARG TARGETPLATFORM", run+"xx-go build -o /out/server ./cmd/server"), "darwin/arm64",
			"dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=darwin mod=go.mod"},
		{"xx-go without TARGETPLATFORM: the builder's architecture on linux", xx(run + "xx-go build -o /out/server ./cmd/server"), "darwin/arm64",
			"dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{"go after xx-go --wrap", xx("ARG TARGETOS TARGETARCH", "RUN xx-go --wrap", run+"go build -o /out/server ./cmd/server"), "windows/arm64",
			"dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=windows mod=go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := goInputsContext(t, nil)
			d := parseDockerfile(t, tt.dockerfile)
			in, err := InputsOf(d, Options{Stage: "server", Context: ctx,
				Platform: platforms.MustParse(tt.platform), BuildPlatform: platforms.MustParse("linux/amd64")})
			if err != nil {
				t.Fatalf("InputsOf() error = %v", err)
			}
			if got := describeInputs(in, ctx); got != tt.want {
				t.Errorf("InputsOf() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// parseDockerfile writes content to a Dockerfile in a fresh directory and parses it.
func parseDockerfile(t *testing.T, content string) *dockerfile.Dockerfile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := dockerfile.NewCache().Load(p)
	if err != nil {
		t.Fatalf("Load(%q) error = %v", p, err)
	}
	return d
}

//go:build e2e && unix

package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// The go build forms of real projects (issue 16 §4) in the affected-targets project:
// an edit of internal/shared, which the server uses, rebuilds the server; an edit of
// the client alone rebuilds the client only. Before, each of these left the server's
// inputs unknown, or gave it the client's packages too, so every client edit rebuilt
// the server.

// oneStage builds both executables in one stage, with the build lines given, and
// exports each from its own stage.
func oneStage(build string) string {
	return `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0
` + build + `

FROM scratch AS server
COPY --from=build /out/server /bin/

FROM scratch AS client
COPY --from=build /out/client /bin/
`
}

const cacheBind = "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=bind,target=. \\\n    "

func TestUpAffectedForms(t *testing.T) {
	e2etest.RequireBuildKit(t)
	uses := map[string]string{"cmd/server/uses.go": serverUses("")}
	cases := []affectsCase{
		{name: "two go builds in one RUN",
			dockerfile: oneStage(cacheBind + "go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client")},
		{name: "one go build -o DIR/ of both",
			dockerfile: oneStage(cacheBind + "go build -o /out/ ./cmd/server ./cmd/client")},
		{name: "go install of several import paths",
			dockerfile: strings.ReplaceAll(oneStage(cacheBind+"go install example.com/aff/cmd/server example.com/aff/cmd/client"), "/out/", "/go/bin/")},
		{name: "files by a shell wildcard, and a file argument",
			dockerfile: oneStage(cacheBind + "go build -o /out/server cmd/server/* && go build -o /out/client ./cmd/client/main.go")},
		{name: "import paths",
			dockerfile: oneStage(cacheBind + "go build -o /out/server example.com/aff/cmd/server && go build -o /out/client example.com/aff/cmd/client")},
		{name: "xx-go",
			dockerfile: oneStage("COPY --chmod=755 xx-go /usr/local/bin/\nARG TARGETPLATFORM\n" + cacheBind + "xx-go build -o /out/server ./cmd/server && xx-go build -o /out/client ./cmd/client"),
			files: map[string]string{
				// A stand-in for tonistiigi/xx's xx-go: the target platform's GOOS and
				// GOARCH, then go.
				"xx-go": "#!/bin/sh\nset -e\nos=${TARGETPLATFORM%%/*}\narch=${TARGETPLATFORM#*/}\nexport GOOS=${os:-linux} GOARCH=${arch%%/*}\nexec go \"$@\"\n",
			}},
		{name: "a dependency warm-up before the sources",
			dockerfile: oneStage("COPY go.mod ./\nRUN go mod download && go install fmt\nCOPY . .\n" + "RUN --mount=type=cache,target=/root/.cache/go-build go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client")},
		{name: "a build script says why the inputs are unknown",
			dockerfile: `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY . .
COPY --chmod=755 build.sh /usr/local/bin/
RUN --mount=type=cache,target=/root/.cache/go-build build.sh

FROM golang:1.26-alpine AS build-client
WORKDIR /src
ENV CGO_ENABLED=0
` + cacheBind + `go build -o /out/client ./cmd/client

FROM scratch AS server
COPY --from=build /out/server /bin/

FROM scratch AS client
COPY --from=build-client /out/client /bin/
`,
			files:   map[string]string{"build.sh": "#!/bin/sh\nset -e\ngo build -o /out/server ./cmd/server\n"},
			unknown: "[devloop] server: inputs unknown (Dockerfile:6: RUN runs build.sh, which may read any file it sees): every change rebuilds it"},
	}
	for _, c := range cases {
		files := maps.Clone(uses)
		maps.Copy(files, c.files)
		c.files = files
		c.edit, c.editAfter = "internal/shared/shared.go", sharedSource("shared v2")
		c.before, c.after = "shared v1", "shared v2"
		t.Run(c.name, func(t *testing.T) { runAffectsCase(t, c) })
	}
}

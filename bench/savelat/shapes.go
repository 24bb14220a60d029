package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// shape is a Dockerfile written the way release-oriented projects write theirs
// (issue 17), put over the example's own: the same server and client, built without
// cache mounts. Each shape is measured twice, side by side: "devloop-<name>" with
// devloop's dev build of the Dockerfile (the default) and "devloop-<name>-written"
// with dev_transform: false, the Dockerfile as written.
type shape struct {
	name       string
	dockerfile string
	files      map[string]string // more files the shape needs, mode 0755
}

// shapes are the Dockerfile shapes the benchmark knows, in report order.
var shapes = []shape{
	{
		name: "release",
		dockerfile: `# The whole context copied, modules downloaded, both commands forced to recompile
# (-a) in one stage; no cache mounts.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY . .
RUN go mod download
RUN CGO_ENABLED=0 go build -a -o /out/server ./cmd/server && \
    CGO_ENABLED=0 go build -a -o /out/client ./cmd/client

FROM scratch AS server
COPY --from=build /out/server /bin/server

FROM scratch AS client
COPY --from=build /out/client /bin/client
`,
	},
	{
		name: "script",
		dockerfile: `# go.mod and go.sum first for the module download, then the context, then a build
# script (standing in for make: the testbed's image has no make) that runs go build.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN ./build.sh

FROM scratch AS server
COPY --from=build /out/server /bin/server

FROM scratch AS client
COPY --from=build /out/client /bin/client
`,
		files: map[string]string{"build.sh": `#!/bin/sh
set -e
export CGO_ENABLED=0
go build -trimpath -o /out/server ./cmd/server
go build -trimpath -o /out/client ./cmd/client
`},
	},
	{
		name: "gopath",
		dockerfile: `# ADD of the context under GOPATH, go build -a of import paths, no module step.
FROM golang:1.26-alpine AS build
WORKDIR /go/src/example.com/greeter
ADD . .
RUN CGO_ENABLED=0 go build -a -o /out/server example.com/greeter/cmd/server && \
    CGO_ENABLED=0 go build -a -o /out/client example.com/greeter/cmd/client

FROM scratch AS server
COPY --from=build /out/server /bin/server

FROM scratch AS client
COPY --from=build /out/client /bin/client
`,
	},
}

// writtenSuffix marks the loop of a shape that builds the Dockerfile as written.
const writtenSuffix = "-written"

// shapeLoops are the loop names of the shapes: each shape's dev build, then as
// written.
func shapeLoops() []string {
	var out []string
	for _, s := range shapes {
		out = append(out, "devloop-"+s.name, "devloop-"+s.name+writtenSuffix)
	}
	return out
}

// shapeOf returns the shape a loop measures, and whether it builds the Dockerfile as
// written; nil for a loop that is not a shape's.
func shapeOf(loop string) (*shape, bool) {
	name, ok := strings.CutPrefix(loop, "devloop-")
	if !ok {
		return nil, false
	}
	base, written := strings.CutSuffix(name, writtenSuffix)
	for i := range shapes {
		if shapes[i].name == base {
			return &shapes[i], written
		}
	}
	return nil, false
}

// apply writes the shape's Dockerfile and files over the example copy in dir.
func (s *shape) apply(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(s.dockerfile), 0o644); err != nil {
		return fmt.Errorf("shape %s: %w", s.name, err)
	}
	for name, content := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			return fmt.Errorf("shape %s: %w", s.name, err)
		}
	}
	return nil
}

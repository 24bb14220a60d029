package golang

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
)

const (
	buildMount = "--mount=type=cache,target=/root/.cache/go-build"
	modMount   = "--mount=type=cache,target=/go/pkg/mod"
	both       = buildMount + " " + modMount
)

func TestDevBuild(t *testing.T) {
	tests := []struct {
		name    string
		content string
		images  map[string]dockerfile.Image
		targets []string
		files   []string // context paths to create
		want    string   // the dev build; "" for unchanged
		changes []string // "line: summary"
		kept    []string // "line: stages: why" (a substring of why)
	}{
		{
			name: "the release shape: go mod download, COPY . ., go build -a",
			content: "FROM golang:1.26 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n" +
				"RUN CGO_ENABLED=0 go build -a -trimpath -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=build /out/server /server\n",
			targets: []string{"server"},
			want: "FROM golang:1.26 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN " + both + " go mod download\nCOPY . .\n" +
				"RUN " + both + " CGO_ENABLED=0 go build -trimpath -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=build /out/server /server\n",
			changes: []string{"4: adds go build/module cache mounts", "6: adds go build/module cache mounts, drops -a"},
		},
		{
			name:    "-a on a continuation line, after a comment line and flags with values",
			content: "FROM golang:1.26\nRUN go build \\\n# the release flags\n    -ldflags \"-X main.version=1\" \\\n    -a \\\n    -o /out/app .\n",
			want:    "FROM golang:1.26\nRUN " + both + " go build \\\n# the release flags\n    -ldflags \"-X main.version=1\" \\\n \\\n    -o /out/app .\n",
			changes: []string{"2: adds go build/module cache mounts, drops -a"},
		},
		{
			name:    "-a at the start of a continuation line, twice, go install, && chain",
			content: "FROM golang:1.26\nRUN go install -a=true ./cmd/a && go build \\\n-a -v ./cmd/b\n",
			want:    "FROM golang:1.26\nRUN " + both + " go install ./cmd/a && go build \\\n-v ./cmd/b\n",
			changes: []string{"2: adds go build/module cache mounts, drops -a"},
		},
		{
			name:    "a package argument -a and a flag value -a stay",
			content: "FROM golang:1.26\nRUN go build -o -a . && go build ./x -a\n",
			want:    "FROM golang:1.26\nRUN " + both + " go build -o -a . && go build ./x -a\n",
			changes: []string{"2: adds go build/module cache mounts"},
		},
		{
			name:    "the escape directive",
			content: "# escape=`\nFROM golang:1.26\nRUN go build `\n  -a -o /out/app .\n",
			want:    "# escape=`\nFROM golang:1.26\nRUN " + both + " go build `\n -o /out/app .\n",
			changes: []string{"3: adds go build/module cache mounts, drops -a"},
		},
		{
			name:    "RUN make build: mounts, nothing else",
			content: "FROM golang:1.26-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN apk add --no-cache make && make build\n",
			want:    "FROM golang:1.26-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN " + both + " apk add --no-cache make && make build\n",
			changes: []string{"4: adds go build/module cache mounts"},
		},
		{
			name:    "heredoc, function, sh -c, exec form: mounts only",
			content: "FROM golang:1.26\nRUN <<EOF\ngo build -a .\nEOF\nRUN b() { go build -a .; }; b\nRUN sh -c 'go build -a .'\nRUN [\"go\", \"build\", \"-a\", \".\"]\nRUN eval x; go build -a .\n",
			want: "FROM golang:1.26\nRUN " + both + " <<EOF\ngo build -a .\nEOF\nRUN " + both + " b() { go build -a .; }; b\nRUN " + both + " sh -c 'go build -a .'\n" +
				"RUN " + both + " [\"go\", \"build\", \"-a\", \".\"]\nRUN " + both + " eval x; go build -a .\n",
			changes: []string{"2: adds go build/module cache mounts", "5: adds go build/module cache mounts", "6: adds go build/module cache mounts",
				"7: adds go build/module cache mounts", "8: adds go build/module cache mounts"},
		},
		{
			name: "the guide's shape, already mounting both caches: left alone",
			content: "FROM golang:1.26 AS base\nWORKDIR /src\nRUN --mount=type=cache,target=/go/pkg/mod/ --mount=type=bind,source=go.sum,target=go.sum \\\n" +
				"    --mount=type=bind,source=go.mod,target=go.mod go mod download -x\n" +
				"FROM base AS build\nRUN --mount=type=cache,target=/go/pkg/mod/ --mount=type=cache,target=/root/.cache/go-build/ \\\n" +
				"    --mount=type=bind,target=. go build -o /bin/server ./cmd/server\n",
		},
		{
			name:    "a build cache mount with an id: only the module cache is added",
			content: "FROM golang:1.26\nCOPY . .\nRUN --mount=type=cache,id=gobuild,target=/root/.cache/go-build make build\n",
			want:    "FROM golang:1.26\nCOPY . .\nRUN " + modMount + " --mount=type=cache,id=gobuild,target=/root/.cache/go-build make build\n",
			changes: []string{"3: adds a go module cache mount"},
		},
		{
			name:    "USER 1000 with its own HOME",
			content: "FROM golang:1.26\nRUN adduser -D -u 1000 app\nUSER 1000\nENV HOME=/home/app\nWORKDIR /home/app/src\nRUN go build -o /tmp/app .\n",
			want: "FROM golang:1.26\nRUN " + both + " adduser -D -u 1000 app\nUSER 1000\nENV HOME=/home/app\nWORKDIR /home/app/src\n" +
				"RUN --mount=type=cache,target=/home/app/.cache/go-build,uid=1000 --mount=type=cache,target=/go/pkg/mod,uid=1000 go build -o /tmp/app .\n",
			changes: []string{"2: adds go build/module cache mounts", "6: adds go build/module cache mounts"},
		},
		{
			name:    "USER by name without HOME: the build cache is unknown",
			content: "FROM golang:1.26\nUSER app:staff\nRUN go build .\n",
			want:    "FROM golang:1.26\nUSER app:staff\nRUN --mount=type=cache,target=/go/pkg/mod,id=/go/pkg/mod-app:staff,mode=0777 go build .\n",
			changes: []string{"3: adds a go module cache mount"},
		},
		{
			name:    "USER 1000:1000 from the image config, GOCACHE set by the stage",
			content: "FROM example.com/go-builder:2\nENV GOCACHE=/cache/go\nRUN GOMODCACHE=/mods go mod download\n",
			images:  map[string]dockerfile.Image{"example.com/go-builder:2": {Env: []string{"GOLANG_VERSION=1.26.1", "GOPATH=/work"}, User: "1000:1000"}},
			want:    "FROM example.com/go-builder:2\nENV GOCACHE=/cache/go\nRUN --mount=type=cache,target=/cache/go,uid=1000,gid=1000 --mount=type=cache,target=/work/pkg/mod,uid=1000,gid=1000 --mount=type=cache,target=/mods,uid=1000,gid=1000 GOMODCACHE=/mods go mod download\n",
			changes: []string{"3: adds go build/module cache mounts"},
		},
		{
			name:    "an image with go in its PATH",
			content: "FROM example.com/ci:1\nRUN make\n",
			images:  map[string]dockerfile.Image{"example.com/ci:1": {Env: []string{"PATH=/usr/local/go/bin:/usr/bin"}}},
			want:    "FROM example.com/ci:1\nRUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/root/go/pkg/mod make\n",
			changes: []string{"2: adds go build/module cache mounts"},
		},
		{
			name:    "no Go toolchain, no go: unchanged",
			content: "FROM alpine:3.20\nRUN apk add curl && make\nFROM node:22\nRUN npm ci\n",
		},
		{
			name:    "go installed by the Dockerfile: the whole FROM tree",
			content: "FROM alpine:3.20 AS tools\nRUN apk add go\nFROM tools AS build\nRUN go build -o /app .\nFROM alpine:3.20 AS other\nRUN echo hi\n",
			want: "FROM alpine:3.20 AS tools\nRUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/root/go/pkg/mod apk add go\nFROM tools AS build\n" +
				"RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/root/go/pkg/mod go build -o /app .\nFROM alpine:3.20 AS other\nRUN echo hi\n",
			changes: []string{"2: adds go build/module cache mounts", "4: adds go build/module cache mounts"},
		},
		{
			name:    "a stage copies the module cache out: its tree is kept",
			content: "FROM golang:1.26 AS deps\nRUN go mod download\nFROM deps AS build\nRUN go build -o /app .\nFROM golang:1.26 AS final\nCOPY --from=build /go/pkg/mod /go/pkg/mod\nRUN go build .\n",
			want:    "FROM golang:1.26 AS deps\nRUN go mod download\nFROM deps AS build\nRUN go build -o /app .\nFROM golang:1.26 AS final\nCOPY --from=build /go/pkg/mod /go/pkg/mod\nRUN --mount=type=cache,target=/root/.cache/go-build go build .\n",
			changes: []string{"7: adds a go build cache mount"},
			kept:    []string{"6: deps,build: COPY --from=build /go/pkg/mod copies Go's cache /go/pkg/mod out of the stage"},
		},
		{
			name:    "a stage mounts /root out of another",
			content: "FROM golang:1.26 AS build\nRUN go build -o /app .\nFROM alpine AS final\nRUN --mount=from=build,source=/root,target=/r cp -r /r/.cache /c\n",
			kept:    []string{"4: build: RUN --mount from==build /root copies Go's cache /root/.cache/go-build out of the stage"},
		},
		{
			name:    "a target exports a Go stage whole",
			content: "FROM golang:1.26 AS build\nRUN go build -o /app .\n",
			targets: []string{"build"},
			kept:    []string{"1: build: a target exports the whole filesystem of stage build"},
		},
		{
			name:    "go env -w",
			content: "FROM golang:1.26\nRUN go env -w GOMODCACHE=/m\nRUN go build .\n",
			kept:    []string{"2: stage-0: go env -w changes where the go command keeps its caches"},
		},
		{
			name:    "a bind mount over the cache, a tmpfs at it",
			content: "FROM golang:1.26\nRUN --mount=type=bind,target=/go go build .\nRUN --mount=type=tmpfs,target=/root/.cache/go-build go build .\n",
			want:    "FROM golang:1.26\nRUN " + buildMount + " --mount=type=bind,target=/go go build .\nRUN " + modMount + " --mount=type=tmpfs,target=/root/.cache/go-build go build .\n",
			changes: []string{"2: adds a go build cache mount", "3: adds a go module cache mount"},
		},
		{
			name:    "COPY . . into /go: the context has pkg/mod",
			content: "FROM golang:1.26\nCOPY . .\nRUN go build -a ./...\n",
			files:   []string{"pkg/mod/example.com/x@v1/x.go"},
			want:    "FROM golang:1.26\nCOPY . .\nRUN " + buildMount + " go build ./...\n",
			changes: []string{"3: adds a go build cache mount, drops -a"},
		},
		{
			name:    "COPY . . into /go: the context has no pkg/mod",
			content: "FROM golang:1.26\nCOPY . .\nRUN go build -a ./...\n",
			want:    "FROM golang:1.26\nCOPY . .\nRUN " + both + " go build ./...\n",
			changes: []string{"3: adds go build/module cache mounts, drops -a"},
		},
		{
			name:    "two targets share the caches: locked",
			content: "FROM golang:1.26 AS build\nRUN go build ./...\nFROM scratch AS a\nCOPY --from=build /a /a\nFROM scratch AS b\nCOPY --from=build /b /b\n",
			targets: []string{"a", "b"},
			want:    "FROM golang:1.26 AS build\nRUN --mount=type=cache,target=/root/.cache/go-build,sharing=locked --mount=type=cache,target=/go/pkg/mod,sharing=locked go build ./...\nFROM scratch AS a\nCOPY --from=build /a /a\nFROM scratch AS b\nCOPY --from=build /b /b\n",
			changes: []string{"2: adds go build/module cache mounts"},
		},
		{
			name:    "two targets, separate stages: not locked",
			content: "FROM golang:1.26 AS ba\nRUN go build ./a\nFROM golang:1.26 AS bb\nENV GOCACHE=/c\nRUN go build ./b\nFROM scratch AS a\nCOPY --from=ba /a /a\nFROM scratch AS b\nCOPY --from=bb /b /b\n",
			targets: []string{"a", "b"},
			want: "FROM golang:1.26 AS ba\nRUN " + buildMount + " --mount=type=cache,target=/go/pkg/mod,sharing=locked go build ./a\nFROM golang:1.26 AS bb\nENV GOCACHE=/c\n" +
				"RUN --mount=type=cache,target=/c --mount=type=cache,target=/go/pkg/mod,sharing=locked go build ./b\nFROM scratch AS a\nCOPY --from=ba /a /a\nFROM scratch AS b\nCOPY --from=bb /b /b\n",
			changes: []string{"2: adds go build/module cache mounts", "5: adds go build/module cache mounts"},
		},
		{
			name:    "a cache path with a variable without a value",
			content: "FROM golang:1.26\nARG CACHE\nENV GOCACHE=$CACHE/x\nRUN GOMODCACHE=$NOPE go build .\n",
			want:    "FROM golang:1.26\nARG CACHE\nENV GOCACHE=$CACHE/x\nRUN --mount=type=cache,target=/x --mount=type=cache,target=/go/pkg/mod GOMODCACHE=$NOPE go build .\n",
			changes: []string{"4: adds go build/module cache mounts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDockerfile(t, tt.content)
			ctx := filepath.Dir(d.Path)
			for _, f := range tt.files {
				p := filepath.Join(ctx, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dev, err := DevBuild(d, DevOptions{Context: ctx, Images: tt.images, Targets: tt.targets})
			if err != nil {
				t.Fatalf("DevBuild error = %v", err)
			}
			want := tt.want
			if want == "" {
				want = tt.content
			}
			if string(dev.Source) != want {
				t.Errorf("Source =\n%s\nwant\n%s", dev.Source, want)
			}
			var changes []string
			for _, c := range dev.Changes {
				changes = append(changes, fmt.Sprintf("%d: %s", c.Line, c.Summary()))
			}
			if got, want := strings.Join(changes, "\n"), strings.Join(tt.changes, "\n"); got != want {
				t.Errorf("Changes =\n%s\nwant\n%s", got, want)
			}
			var kept []string
			for _, k := range dev.Kept {
				kept = append(kept, fmt.Sprintf("%d: %s: %s", k.Line, strings.Join(k.Stages, ","), k.Why))
			}
			if len(kept) != len(tt.kept) {
				t.Fatalf("Kept = %q, want %q", kept, tt.kept)
			}
			for i := range kept {
				if !strings.HasPrefix(kept[i], tt.kept[i]) {
					t.Errorf("Kept[%d] = %q, want %q…", i, kept[i], tt.kept[i])
				}
			}
		})
	}
}

// TestDevBuildKeepsLines: the dev build's instructions are the original's, on the
// same lines, and parse the way BuildKit reads them.
func TestDevBuildKeepsLines(t *testing.T) {
	content := "# syntax=docker/dockerfile:1\nFROM golang:1.26 AS build\nWORKDIR /src\n\nRUN \\\n  go build \\\n\n  -a \\\n  -o /out/a .\n" +
		"RUN   go build -a -o /out/b .   \nFROM scratch\nCOPY --from=build /out /\n"
	d := parseDockerfile(t, content)
	dev, err := DevBuild(d, DevOptions{Context: filepath.Dir(d.Path)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := dockerfile.Parse(d.Path, dev.Source)
	if err != nil {
		t.Fatalf("the dev build does not parse: %v\n%s", err, dev.Source)
	}
	runs := n.Runs()
	if len(runs) != 2 || runs[0].Line != 5 || runs[1].Line != 10 {
		t.Fatalf("RUN lines = %v, want 5 and 10", runs)
	}
	for i, want := range []string{"go build     -o /out/a .", "go build -o /out/b ."} {
		if got := strings.Join(strings.Fields(runs[i].Command.CmdLine[0]), " "); got != strings.Join(strings.Fields(want), " ") {
			t.Errorf("RUN %d runs %q, want %q", i, got, want)
		}
		if len(runs[i].Mounts) != 2 {
			t.Errorf("RUN %d has %d mounts, want 2", i, len(runs[i].Mounts))
		}
	}
	if strings.Count(string(dev.Source), "\n") != strings.Count(content, "\n") {
		t.Errorf("the dev build has another number of lines:\n%s", dev.Source)
	}
}

func TestDevBuildNeedsContext(t *testing.T) {
	d := parseDockerfile(t, "FROM golang:1.26\nRUN go build .\n")
	if _, err := DevBuild(d, DevOptions{}); !errors.Is(err, ErrNoContext) {
		t.Errorf("DevBuild without a context: error = %v, want ErrNoContext", err)
	}
}

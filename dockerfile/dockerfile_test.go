package dockerfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeDockerfile writes content to a Dockerfile in a fresh directory and parses it.
func writeDockerfile(t *testing.T, content string) *Dockerfile {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewCache().Load(p)
	if err != nil {
		t.Fatalf("Load(%q) error = %v", p, err)
	}
	return d
}

func TestParseDockerfileStagesGuide(t *testing.T) {
	d, err := NewCache().Load("testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := []Stage{
		{Name: "base", Index: 0, Base: "golang:1.26-alpine", Line: 9, Root: "golang:1.26-alpine"},
		{Name: "build-client", Index: 1, Base: "base", Line: 17, Root: "golang:1.26-alpine"},
		{Name: "build-server", Index: 2, Base: "base", Line: 24, Root: "golang:1.26-alpine"},
		{Name: "client", Index: 3, Base: "scratch", Scratch: true, Line: 31, Root: "scratch"},
		{Name: "server", Index: 4, Base: "scratch", Scratch: true, Line: 35, Root: "scratch"},
		{Name: "binaries", Index: 5, Base: "scratch", Scratch: true, Line: 39, Root: "scratch"},
	}
	if !reflect.DeepEqual(d.Stages, want) {
		t.Errorf("Stages =\n%+v\nwant\n%+v", d.Stages, want)
	}
	if d.Path != "testdata/greeter.Dockerfile" {
		t.Errorf("Path = %q, want %q", d.Path, "testdata/greeter.Dockerfile")
	}
}

func TestParseDockerfileStagesInline(t *testing.T) {
	tests := []struct {
		name, content string
		want          []Stage
	}{
		{
			name:    "unnamed stages and an arg without default",
			content: "ARG BASE\nFROM ${BASE}:latest\nRUN true\n\nFROM scratch\nCOPY --from=0 /out/app /usr/local/bin/app\n",
			want: []Stage{
				{Index: 0, Base: "${BASE}:latest", Line: 2, Root: "${BASE}:latest"},
				{Index: 1, Base: "scratch", Scratch: true, Line: 5, Root: "scratch"},
			},
		},
		{
			name: "several sources",
			content: "FROM golang:1.26 AS b\nRUN true\n" +
				"FROM scratch AS out\nWORKDIR /opt\nCOPY --from=b /x/a /x/b bin/\nCOPY --from=b /x/dist/ /static/\nCOPY --from=b /x/*.so /lib/\nCOPY --from=b /x/c /etc/c.conf\n",
			want: []Stage{
				{Name: "b", Index: 0, Base: "golang:1.26", Line: 1, Root: "golang:1.26"},
				{Name: "out", Index: 1, Base: "scratch", Scratch: true, Line: 3, Root: "scratch"},
			},
		},
		{
			name:    "a FROM cycle does not hang",
			content: "FROM b AS a\nRUN true\nFROM a AS b\nRUN true\n",
			want: []Stage{
				{Name: "a", Index: 0, Base: "b", Line: 1, Root: "b"},
				{Name: "b", Index: 1, Base: "a", Line: 3, Root: "b"},
			},
		},
		{
			name:    "meta arg expanded in FROM, case-insensitive AS",
			content: "ARG GO_VERSION=1.25\nARG IMG=golang:${GO_VERSION}\nFROM $IMG as Build\n",
			want:    []Stage{{Name: "build", Index: 0, Base: "golang:1.25", Line: 3, Root: "golang:1.25"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, tt.content)
			if !reflect.DeepEqual(d.Stages, tt.want) {
				t.Errorf("Stages =\n%+v\nwant\n%+v", d.Stages, tt.want)
			}
		})
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string // content "" means: no file
		want          []string
	}{
		{"missing file", "", []string{"read Dockerfile", filepath.Join(dir, "missing file")}},
		{"unknown instruction", "FROM alpine\nRUN true\nFORM x\n", []string{filepath.Join(dir, "unknown instruction") + ":3:", "unknown instruction: FORM"}},
		{"instruction before FROM", "ARG X=1\nRUN true\n", []string{":2:", "RUN before the first FROM"}},
		{"no FROM", "ARG X=1\n", []string{"no FROM instruction"}},
		{"bad FROM", "FROM a b\n", []string{":1:", "FROM requires either one or three arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if tt.content != "" {
				if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d, err := NewCache().Load(p)
			if err == nil {
				t.Fatalf("Load() = %+v, want an error", d)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDockerfileStage(t *testing.T) {
	d, err := NewCache().Load("testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		wantOK    bool
		wantIndex int
	}{
		{"server", true, 4},
		{"SERVER", true, 4},
		{"build-client", true, 1},
		{"nope", false, 0},
		{"", true, 5}, // no target: the last stage
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := d.Stage(tt.name)
			if ok != tt.wantOK || s.Index != tt.wantIndex {
				t.Errorf("Stage(%q) = %d, %v, want %d, %v", tt.name, s.Index, ok, tt.wantIndex, tt.wantOK)
			}
		})
	}
}

const locateDockerfile = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-alpine AS base
WORKDIR /src

FROM base AS build-server
ARG APP_VERSION="0.0.0+unknown"
RUN --mount=type=cache,target=/go/pkg/mod/ \
    --mount=type=bind,target=. \
    go build -ldflags "-X main.version=$APP_VERSION" -o /bin/server ./cmd/server

FROM base AS vet
RUN --mount=type=bind,target=. go vet ./...

FROM golang:1.26 AS copied
WORKDIR /app
COPY . .
COPY --from=tools /out/ ./gen/

FROM copied AS build-copied
RUN go build -o /bin/app ./...

FROM golang:1.26 AS srcdir
COPY src/ /app/
WORKDIR /app
RUN go build -o /bin/app .

FROM base AS pkgmount
WORKDIR /work
RUN --mount=type=bind,source=pkg,target=/work/pkg \
    --mount=type=bind,from=example.com/gen:1,source=/out,target=gen \
    go build ./...

FROM golang:1.26 AS mods
WORKDIR /m
COPY go.mod go.sum ./
RUN go mod download

FROM base AS mounthides
COPY --from=tools /out/ /src/gen/
RUN --mount=type=bind,target=. go build ./...

FROM base AS tworuns
ARG V=1
RUN go generate ./...
RUN --mount=type=bind,target=. go build -ldflags "-X main.v=$V" ./...
`

// locateContext builds a fake build context.
func locateContext(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	for _, f := range []string{
		"go.mod", "go.sum",
		"cmd/server/handler.go", "cmd/server/main.go",
		"src/main.go",
		"pkg/util/util.go",
		"gen/api.go", // exists on the host, but some builds above take gen/ from elsewhere
		"out/api.go", // where a from= source would be if it were in the context
	} {
		p := filepath.Join(ctx, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("package x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

func TestLocate(t *testing.T) {
	d := writeDockerfile(t, locateDockerfile)
	ctx := locateContext(t)
	const serverStep = `[build-server 1/1] RUN --mount=type=cache,target=/go/pkg/mod/ --mount=type=bind,target=. go build -ldflags "-X main.version=0.0.0+unknown" -o /bin/server ./cmd/server`

	// want is a Location with File relative to ctx (slash-separated) when mapped.
	type want struct {
		file      string
		line, col int
		msg       string
		mapped    bool
	}
	tests := []struct {
		name, step, logs string
		want             []want
	}{
		{
			name: "relative path, bind mount of the context at the workdir",
			step: serverStep,
			logs: "# example.com/greeter/cmd/server\n./cmd/server/handler.go:16:13: syntax error: unexpected newline\n",
			want: []want{{"cmd/server/handler.go", 16, 13, "syntax error: unexpected newline", true}},
		},
		{
			name: "relative without ./, CRLF, noise around",
			step: serverStep,
			logs: "go: downloading golang.org/x/sys v0.1.0\r\ncmd/server/main.go:3:2: \"fmt\" imported and not used\r\nexit status 1\r\n",
			want: []want{{"cmd/server/main.go", 3, 2, `"fmt" imported and not used`, true}},
		},
		{
			name: "absolute container path",
			step: serverStep,
			logs: "/src/cmd/server/handler.go:9:1: undefined: x\n",
			want: []want{{"cmd/server/handler.go", 9, 1, "undefined: x", true}},
		},
		{
			name: "no column",
			step: serverStep,
			logs: "go: errors parsing go.mod:\n/src/go.mod:3: unknown directive: foo\n",
			want: []want{{"go.mod", 3, 0, "unknown directive: foo", true}},
		},
		{
			name: "file missing on the host is kept unmapped",
			step: serverStep,
			logs: "./cmd/server/gone.go:1:1: expected 'package', found 'EOF'\n",
			want: []want{{"./cmd/server/gone.go", 1, 1, "expected 'package', found 'EOF'", false}},
		},
		{
			name: "file from the base image is unmapped",
			step: serverStep,
			logs: "/usr/local/go/src/fmt/print.go:10:2: boom\n",
			want: []want{{"/usr/local/go/src/fmt/print.go", 10, 2, "boom", false}},
		},
		{
			name: "step prefixed by the devloop target",
			step: "[server] " + serverStep,
			logs: "./cmd/server/handler.go:16:13: syntax error\n",
			want: []want{{"cmd/server/handler.go", 16, 13, "syntax error", true}},
		},
		{
			name: "build arg passed to the build: matched by step number",
			step: `[server] [build-server 1/1] RUN --mount=type=cache,target=/go/pkg/mod/ --mount=type=bind,target=. go build -ldflags "-X main.version=1.2.3" -o /bin/server ./cmd/server`,
			logs: "./cmd/server/handler.go:16:13: syntax error\n",
			want: []want{{"cmd/server/handler.go", 16, 13, "syntax error", true}},
		},
		{
			name: "go vet output",
			step: "[vet 1/1] RUN --mount=type=bind,target=. go vet ./...",
			logs: "# example.com/greeter/cmd/server\nvet: ./cmd/server/handler.go:16:13: unreachable code\n# example.com/greeter/cmd/server\n" +
				"cmd/server/main.go:7:2: fmt.Printf format %d has arg s of wrong type string\n",
			want: []want{
				{"cmd/server/handler.go", 16, 13, "unreachable code", true},
				{"cmd/server/main.go", 7, 2, "fmt.Printf format %d has arg s of wrong type string", true},
			},
		},
		{
			name: "COPY . . in the parent stage, WORKDIR /app inherited",
			step: "[build-copied 1/1] RUN go build -o /bin/app ./...",
			logs: "cmd/server/handler.go:16:13: a\n/app/cmd/server/main.go:2:1: b\n",
			want: []want{
				{"cmd/server/handler.go", 16, 13, "a", true},
				{"cmd/server/main.go", 2, 1, "b", true},
			},
		},
		{
			name: "later COPY --from shadows the context copy",
			step: "[build-copied 1/1] RUN go build -o /bin/app ./...",
			logs: "gen/api.go:1:1: c\n",
			want: []want{{"gen/api.go", 1, 1, "c", false}},
		},
		{
			name: "COPY src/ /app/",
			step: "[srcdir 4/4] RUN go build -o /bin/app .",
			logs: "/app/main.go:5:2: d\n./main.go:6:2: e\n",
			want: []want{
				{"src/main.go", 5, 2, "d", true},
				{"src/main.go", 6, 2, "e", true},
			},
		},
		{
			name: "bind mount with source, and a from= mount",
			step: "[pkgmount 2/2] RUN --mount=type=bind,source=pkg,target=/work/pkg --mount=type=bind,from=example.com/gen:1,source=/out,target=gen go build ./...",
			logs: "pkg/util/util.go:4:6: f\ngen/api.go:1:1: g\n/work/pkg/util/util.go:5:1: h\n",
			want: []want{
				{"pkg/util/util.go", 4, 6, "f", true},
				{"gen/api.go", 1, 1, "g", false},
				{"pkg/util/util.go", 5, 1, "h", true},
			},
		},
		{
			name: "a bind mount hides what an earlier COPY put beneath it",
			step: "[mounthides 2/2] RUN --mount=type=bind,target=. go build ./...",
			logs: "gen/api.go:1:1: i\n",
			want: []want{{"gen/api.go", 1, 1, "i", true}},
		},
		{
			name: "several RUNs, build arg changed the text: matched by step number",
			step: `[tworuns 2/2] RUN --mount=type=bind,target=. go build -ldflags "-X main.v=2" ./...`,
			logs: "cmd/server/main.go:1:1: j\n",
			want: []want{{"cmd/server/main.go", 1, 1, "j", true}},
		},
		{
			name: "several RUNs, text matches",
			step: `[tworuns 2/2] RUN --mount=type=bind,target=. go build -ldflags "-X main.v=1" ./...`,
			logs: "cmd/server/main.go:1:1: j\n",
			want: []want{{"cmd/server/main.go", 1, 1, "j", true}},
		},
		{
			name: "several RUNs, step number of a RUN without the mount",
			step: `[tworuns 1/2] RUN go generate ./...`,
			logs: "cmd/server/main.go:1:1: k\n",
			want: []want{{"cmd/server/main.go", 1, 1, "k", false}},
		},
		{
			name: "COPY of single files into a directory",
			step: "[mods 3/3] RUN go mod download",
			logs: "go: errors parsing go.mod:\n/m/go.mod:3: unknown directive: foo\n",
			want: []want{{"go.mod", 3, 0, "unknown directive: foo", true}},
		},
		{
			name: "unknown step: raw locations, unmapped",
			step: "[nope 1/1] RUN make",
			logs: "./cmd/server/handler.go:16:13: syntax error\n",
			want: []want{{"./cmd/server/handler.go", 16, 13, "syntax error", false}},
		},
		{
			name: "no locations",
			step: serverStep,
			logs: "exit status 2\n12:00:01 started\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.Locate(tt.step, tt.logs, ctx)
			if len(got) != len(tt.want) {
				t.Fatalf("Locate() = %+v, want %d locations", got, len(tt.want))
			}
			for i, w := range tt.want {
				file := w.file
				if w.mapped {
					file = filepath.Join(ctx, filepath.FromSlash(w.file))
				}
				g := got[i]
				if g.File != file || g.Line != w.line || g.Col != w.col || g.Msg != w.msg || g.Mapped != w.mapped {
					t.Errorf("Locate()[%d] = %s:%d:%d %q mapped=%v, want %s:%d:%d %q mapped=%v",
						i, g.File, g.Line, g.Col, g.Msg, g.Mapped, file, w.line, w.col, w.msg, w.mapped)
				}
				if !strings.Contains(tt.logs, g.Raw) || g.Raw == "" || strings.HasSuffix(g.Raw, "\r") {
					t.Errorf("Locate()[%d].Raw = %q, want the original line", i, g.Raw)
				}
			}
		})
	}
}

func TestLocateSingleStage(t *testing.T) {
	// A single-stage build has no stage name in its step names.
	d := writeDockerfile(t, "FROM golang:1.26\nWORKDIR /go/src/app\nCOPY . .\nRUN go build ./...\n")
	ctx := locateContext(t)
	got := d.Locate("[4/4] RUN go build ./...", "cmd/server/main.go:1:1: x\n", ctx)
	want := filepath.Join(ctx, "cmd", "server", "main.go")
	if len(got) != 1 || got[0].File != want || !got[0].Mapped {
		t.Errorf("Locate() = %+v, want one mapped location in %s", got, want)
	}
}

func TestParseStep(t *testing.T) {
	tests := []struct {
		step     string
		stage    string
		hasStage bool
		i, n     int
		cmd      string
	}{
		{"[build 2/3] RUN go build", "build", true, 2, 3, "RUN go build"},
		{"[server] [build 2/3] RUN go build", "build", true, 2, 3, "RUN go build"},
		{"[linux/amd64 build 10/12] RUN x", "build", true, 10, 12, "RUN x"},
		{"[linux/amd64->arm64 2/2] RUN x", "", true, 2, 2, "RUN x"},
		{"[2/2] RUN x", "", true, 2, 2, "RUN x"},
		{"RUN x", "", false, 0, 0, "RUN x"},
		{"[internal] load build definition", "", false, 0, 0, "load build definition"},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			stage, has, i, n, cmd := parseStep(tt.step)
			if stage != tt.stage || has != tt.hasStage || i != tt.i || n != tt.n || cmd != tt.cmd {
				t.Errorf("parseStep(%q) = %q, %v, %d, %d, %q, want %q, %v, %d, %d, %q",
					tt.step, stage, has, i, n, cmd, tt.stage, tt.hasStage, tt.i, tt.n, tt.cmd)
			}
		})
	}
}

func TestFormatLocation(t *testing.T) {
	cwd := t.TempDir()
	outside := filepath.Join(t.TempDir(), "x.go")
	tests := []struct {
		name string
		loc  Location
		want string
	}{
		{"relative to cwd", Location{File: filepath.Join(cwd, "cmd", "server", "handler.go"), Line: 16, Col: 13, Msg: "syntax error", Mapped: true},
			filepath.Join("cmd", "server", "handler.go") + ":16:13: syntax error"},
		{"no column", Location{File: filepath.Join(cwd, "go.mod"), Line: 3, Msg: "unknown directive: foo", Mapped: true},
			"go.mod:3: unknown directive: foo"},
		{"outside cwd stays absolute", Location{File: outside, Line: 1, Col: 2, Msg: "m", Mapped: true},
			outside + ":1:2: m"},
		{"unmapped as printed", Location{File: "./gen/api.go", Line: 1, Col: 1, Msg: "m"},
			"./gen/api.go:1:1: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatLocation(tt.loc, cwd); got != tt.want {
				t.Errorf("FormatLocation() = %q, want %q", got, tt.want)
			}
		})
	}
}

// `go test` prints a failing test's location relative to its package directory; the
// package comes from the block's FAIL line and the module path from go.mod.
func TestLocateGoTest(t *testing.T) {
	d := writeDockerfile(t, "FROM golang:1.26 AS test\nWORKDIR /src\nRUN --mount=type=bind,target=. go test ./...\n")
	ctx := t.TempDir()
	for f, content := range map[string]string{
		"go.mod":                             "module example.com/greeter\n\ngo 1.26\n",
		"internal/greeting/greeting_test.go": "package greeting\n",
		"cmd/server/handler_test.go":         "package main\n",
		"cmd/server/main_test.go":            "package main\n",
		"main_test.go":                       "package greeter\n", // same name at the root
		"root_test.go":                       "package greeter\n",
	} {
		p := filepath.Join(ctx, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logs := "--- FAIL: TestFor (0.00s)\n" +
		"    greeting_test.go:12: For(\"\") = \"x\", want \"y\"\n" +
		"FAIL\n" +
		"FAIL\texample.com/greeter/internal/greeting\t0.004s\n" +
		"ok  \texample.com/greeter/internal/other\t0.002s\n" +
		"--- FAIL: TestHandler (0.00s)\n" +
		"    handler_test.go:7: status 500\n" +
		"    handler_test.go:9: body \"\"\n" +
		"    main_test.go:4: flag not parsed\n" +
		"FAIL\n" +
		"FAIL\texample.com/greeter/cmd/server\t0.010s\n" +
		"--- FAIL: TestRoot (0.00s)\n" +
		"    root_test.go:3: boom\n" +
		"FAIL\texample.com/greeter\t0.001s\n" +
		"--- FAIL: TestElsewhere (0.00s)\n" +
		"    other_test.go:5: not in this module\n" +
		"FAIL\texample.org/vendored/pkg\t0.001s\n" +
		"    dangling_test.go:1: no summary line follows\n"
	got := d.Locate("[test 1/1] RUN --mount=type=bind,target=. go test ./...", logs, ctx)
	want := []struct {
		file   string
		line   int
		mapped bool
	}{
		{filepath.Join(ctx, "internal", "greeting", "greeting_test.go"), 12, true},
		{filepath.Join(ctx, "cmd", "server", "handler_test.go"), 7, true},
		{filepath.Join(ctx, "cmd", "server", "handler_test.go"), 9, true},
		{filepath.Join(ctx, "cmd", "server", "main_test.go"), 4, true},
		{filepath.Join(ctx, "root_test.go"), 3, true},
		{"other_test.go", 5, false},
		{"dangling_test.go", 1, false},
	}
	if len(got) != len(want) {
		t.Fatalf("Locate() found %d locations, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].File != w.file || got[i].Line != w.line || got[i].Mapped != w.mapped {
			t.Errorf("location %d = %s:%d mapped %v, want %s:%d mapped %v", i, got[i].File, got[i].Line, got[i].Mapped, w.file, w.line, w.mapped)
		}
	}
}

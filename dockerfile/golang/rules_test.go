package golang

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
)

// writeDockerfile writes content to a Dockerfile in a fresh directory and parses it.
func writeDockerfile(t *testing.T, content string) *dockerfile.Dockerfile {
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

func TestLint(t *testing.T) {
	const buildMsg = ": RUN go %s without a cache mount on the Go build cache: every one-line change recompiles everything (64 s instead of 1.3 s measured on a 2-core machine)"
	const modMsg = ": RUN go mod download without a cache mount on the Go module cache: every change to go.mod or go.sum downloads every module again"
	type want struct {
		line  int
		stage string
		msg   string // after "path:line"
		fix   string
	}
	build := func(line int, stage, sub, target string) want {
		return want{line, stage, strings.Replace(buildMsg, "%s", sub, 1), "--mount=type=cache,target=" + target}
	}
	mod := func(line int, stage, target string) want {
		return want{line, stage, modMsg, "--mount=type=cache,target=" + target}
	}
	tests := []struct {
		name, content string
		want          []want
	}{
		{"go build without a cache mount",
			"FROM golang:1.26 AS app\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app ./cmd/app\n",
			[]want{build(4, "app", "build", "/root/.cache/go-build")}},
		{"go mod download without a cache mount",
			"FROM golang:1.26\nCOPY go.mod go.sum ./\nRUN go mod download\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
			[]want{mod(3, "stage-0", "/go/pkg/mod")}},
		{"go mod download on a non-golang image",
			"FROM alpine\nRUN apk add go && go mod download\n",
			[]want{mod(2, "stage-0", "/root/go/pkg/mod")}},
		{"GOCACHE set by ENV, mounted",
			"FROM golang:1.26\nENV GOCACHE=/cache\nRUN --mount=type=cache,target=/cache go build ./...\n",
			nil},
		{"GOCACHE set by ENV, default dir mounted",
			"FROM golang:1.26\nENV GOCACHE=/cache\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
			[]want{build(3, "stage-0", "build", "/cache")}},
		{"GOCACHE from an ARG default, inherited through FROM stage, relative mount",
			"FROM golang:1.26 AS base\nARG GOCACHE=/src/.gocache\nWORKDIR /src\nFROM base AS b\nRUN --mount=type=cache,target=.gocache go test ./...\n",
			nil},
		{"GOCACHE set inline",
			"FROM golang:1.26\nRUN --mount=type=cache,target=/root/.cache/go-build GOCACHE=/tmp/c go build ./...\n",
			[]want{build(2, "stage-0", "build", "/tmp/c")}},
		{"cache mount on a parent directory",
			"FROM golang:1.26\nRUN --mount=type=cache,target=/root/.cache go install ./cmd/x\n",
			nil},
		{"sh -c in an && chain, multi-line",
			"FROM golang:1.26 AS t\nRUN apk add git && \\\n    sh -c \"CGO_ENABLED=0 go test ./...\"\n",
			[]want{build(2, "t", "test", "/root/.cache/go-build")}},
		{"exec form",
			"FROM golang:1.26\nRUN [\"go\", \"install\", \"./cmd/x\"]\n",
			[]want{build(2, "stage-0", "install", "/root/.cache/go-build")}},
		{"exec form through sh -c",
			"FROM golang:1.26\nRUN [\"/bin/sh\", \"-ec\", \"cd /src; go build ./...\"]\n",
			[]want{build(2, "stage-0", "build", "/root/.cache/go-build")}},
		{"both in one RUN",
			"FROM golang:1.26\nRUN go mod download && go build ./...\n",
			[]want{build(2, "stage-0", "build", "/root/.cache/go-build"), mod(2, "stage-0", "/go/pkg/mod")}},
		{"GOMODCACHE and GOPATH respected",
			"FROM golang:1.26\nENV GOPATH=/gp\nRUN --mount=type=cache,target=/gp/pkg/mod go mod download\nENV GOMODCACHE=/mc\nRUN --mount=type=cache,target=/gp/pkg/mod go mod download\n",
			[]want{mod(5, "stage-0", "/mc")}},
		{"other go commands and mentions are fine",
			"FROM golang:1.26\nRUN go version && echo 'go build' # go build\nRUN go env GOCACHE\n",
			nil},
		{"heredoc",
			"FROM golang:1.26\nRUN <<EOF\nset -e\ngo build ./...\nEOF\n",
			[]want{build(2, "stage-0", "build", "/root/.cache/go-build")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, tt.content)
			got := Lint(d)
			if len(got) != len(tt.want) {
				t.Fatalf("Lint() = %+v, want %d diagnostics", got, len(tt.want))
			}
			for i, w := range tt.want {
				wantMsg := d.Path + ":" + strconv.Itoa(w.line) + w.msg
				if g := got[i]; g.Line != w.line || g.Stage != w.stage || g.Message != wantMsg || g.Fix != w.fix {
					t.Errorf("Lint()[%d] = %+v, want {Line:%d Stage:%s Message:%s Fix:%s}", i, g, w.line, w.stage, wantMsg, w.fix)
				}
			}
		})
	}
}

func TestLintGuide(t *testing.T) {
	d, err := dockerfile.NewCache().Load("../testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if got := Lint(d); len(got) != 0 {
		t.Errorf("Lint() = %+v, want none", got)
	}
}

// TestLintFollowsTheShell: the lint finds the go commands of a RUN with the walker
// the Go inference uses (dockerfile.WalkRun), so it sees every form that runs one —
// the hand-written tokenizer it replaced missed those after an option that takes a
// value (nice -n 10, exec -a, env -u), inside if, for and functions, and took a
// variable's name for its value.
func TestLintFollowsTheShell(t *testing.T) {
	const (
		defaultCache = "--mount=type=cache,target=/root/.cache/go-build"
		modCache     = "--mount=type=cache,target=/go/pkg/mod"
	)
	tests := []struct {
		name, run string // the RUN instruction after FROM golang:1.26
		wantFix   []string
	}{
		{"nice -n", "RUN nice -n 10 go build ./...", []string{defaultCache}},
		{"exec -a", "RUN exec -a builder go build ./...", []string{defaultCache}},
		{"env -u", "RUN env -u GOFLAGS go test ./...", []string{defaultCache}},
		{"GNU time with options", "RUN /usr/bin/time -f %e go install ./cmd/x", []string{defaultCache}},
		{"command -p", "RUN command -p go build ./...", []string{defaultCache}},
		{"in an if", "RUN if [ -f go.mod ]; then go build ./...; fi", []string{defaultCache}},
		{"in a loop", "RUN for c in server client; do go build ./cmd/$c; done", []string{defaultCache}},
		{"in a function", "RUN build() { go install ./cmd/x; }; build", []string{defaultCache}},
		{"sh reading a here-document", "RUN sh <<EOF\nset -e\ngo mod download\nEOF", []string{modCache}},
		{"behind a command substitution", "RUN echo $(go build ./... && echo ok)", []string{defaultCache}},
		{"export of a variable, expanded", "ENV CACHE=/cache\nRUN --mount=type=cache,target=/cache export GOCACHE=$CACHE && go build ./...", nil},
		{"inline variable, expanded", "ENV CACHE=/cache\nRUN --mount=type=cache,target=/cache GOCACHE=$CACHE go build ./...", nil},
		{"export wrongly mounted", "RUN --mount=type=cache,target=/cache export GOCACHE=/elsewhere && go build ./...", []string{"--mount=type=cache,target=/elsewhere"}},
		{"set -a exports", "RUN --mount=type=cache,target=/c set -a && GOCACHE=/c && go build ./...", nil},
		{"an unexported variable does not reach go", "RUN --mount=type=cache,target=/c GOCACHE=/c; go build ./...", []string{defaultCache}},
		{"a cache directory without a known value is not judged", "ARG CACHEDIR\nRUN GOCACHE=$CACHEDIR go build ./...", nil},
		{"go named in text only", "RUN echo 'go build' && printf '%s\\n' \"go test\" # go install", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, "FROM golang:1.26\n"+tt.run+"\n")
			var got []string
			for _, w := range Lint(d) {
				got = append(got, w.Fix)
			}
			if strings.Join(got, " ") != strings.Join(tt.wantFix, " ") {
				t.Errorf("Lint() fixes = %q, want %q", got, tt.wantFix)
			}
		})
	}
}

// TestLintRules: every warning names its rule.
func TestLintRules(t *testing.T) {
	d := writeDockerfile(t, "FROM golang:1.26\nRUN go mod download && go build ./...\n")
	got := Lint(d)
	if len(got) != 2 || got[0].Rule != RuleGoBuildCacheMount.Name || got[1].Rule != RuleGoModCacheMount.Name {
		t.Errorf("Lint() = %+v, want a %s then a %s warning", got, RuleGoBuildCacheMount.Name, RuleGoModCacheMount.Name)
	}
}

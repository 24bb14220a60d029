package golang

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
)

// lintProject writes a small module (go.mod requiring a module when deps, go.sum,
// cmd/app, a Makefile) and content as its Dockerfile, and lints it with the
// module as the build context.
func lintProject(t *testing.T, content string, deps bool) ([]Warning, string) {
	t.Helper()
	dir := t.TempDir()
	mod := "module example.com/app\n\ngo 1.26\n"
	if deps {
		mod += "\nrequire example.com/dep v1.0.0\n"
	}
	for name, data := range map[string]string{
		"Dockerfile":      content,
		"go.mod":          mod,
		"go.sum":          "",
		"cmd/app/main.go": "package main\n\nfunc main() {}\n",
		"Makefile":        "build:\n\tgo build -o /bin/app ./cmd/app\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "Dockerfile")
	d, err := dockerfile.NewCache().Load(p)
	if err != nil {
		t.Fatalf("Load(%q) error = %v", p, err)
	}
	return Lint(d, dir), p
}

const (
	buildMsg  = "RUN go %s without a cache mount on the Go build cache: every one-line change recompiles everything (64 s instead of 1.3 s measured on a 2-core machine)"
	buildFix  = "--mount=type=cache,target=/root/.cache/go-build"
	modFix    = "--mount=type=cache,target=/go/pkg/mod"
	everyMods = "RUN go mod download without a cache mount on the Go module cache: every change downloads every module again"
	filesMods = "RUN go mod download without a cache mount on the Go module cache: every change to go.mod or go.sum downloads every module again"
)

// lintWant is one expected warning: its line, stage, rule, message after
// "path:line: ", and fix.
type lintWant struct {
	line  int
	stage string
	rule  Rule
	msg   string
	fix   string
}

func checkLint(t *testing.T, got []Warning, path string, want []lintWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Lint() = %+v, want %d warnings", got, len(want))
	}
	for i, w := range want {
		wantMsg := path + ":" + strconv.Itoa(w.line) + ": " + w.msg
		g := got[i]
		if g.Line != w.line || g.Stage != w.stage || g.Rule != w.rule.Name || g.Message != wantMsg || g.Fix != w.fix {
			t.Errorf("Lint()[%d] = %+v,\nwant {Line:%d Stage:%s Rule:%s Message:%s Fix:%s}", i, g, w.line, w.stage, w.rule.Name, wantMsg, w.fix)
		}
		if wantHint := "add " + w.fix + " to that RUN instruction"; w.fix != "" && g.Hint != wantHint {
			t.Errorf("Lint()[%d].Hint = %q, want %q", i, g.Hint, wantHint)
		}
	}
}

func TestLint(t *testing.T) {
	build := func(line int, stage, sub, target string) lintWant {
		return lintWant{line, stage, RuleGoBuildCacheMount, strings.Replace(buildMsg, "%s", sub, 1), "--mount=type=cache,target=" + target}
	}
	mod := func(line int, stage, msg, target string) lintWant {
		return lintWant{line, stage, RuleGoModCacheMount, msg, "--mount=type=cache,target=" + target}
	}
	tests := []struct {
		name, content string
		want          []lintWant
	}{
		{"go build without a cache mount",
			"FROM golang:1.26 AS app\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app ./cmd/app\n",
			[]lintWant{build(4, "app", "build", "/root/.cache/go-build")}},
		{"go mod download without a cache mount",
			"FROM golang:1.26\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
			[]lintWant{mod(3, "stage-0", filesMods, "/go/pkg/mod")}},
		{"go mod download on a non-golang image",
			"FROM alpine\nCOPY go.mod go.sum ./\nRUN apk add go && go mod download\n",
			[]lintWant{mod(3, "stage-0", filesMods, "/root/go/pkg/mod")}},
		{"GOCACHE set by ENV, mounted",
			"FROM golang:1.26\nENV GOCACHE=/cache\nCOPY . .\nRUN --mount=type=cache,target=/cache go build ./...\n",
			nil},
		{"GOCACHE set by ENV, default dir mounted",
			"FROM golang:1.26\nENV GOCACHE=/cache\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
			[]lintWant{build(4, "stage-0", "build", "/cache")}},
		{"GOCACHE from an ARG default, inherited through FROM stage, relative mount",
			"FROM golang:1.26 AS base\nARG GOCACHE=/src/.gocache\nWORKDIR /src\nFROM base AS b\nRUN --mount=type=cache,target=.gocache --mount=type=bind,target=. go test ./...\n",
			nil},
		{"GOCACHE set inline",
			"FROM golang:1.26\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build GOCACHE=/tmp/c go build ./...\n",
			[]lintWant{build(3, "stage-0", "build", "/tmp/c")}},
		{"cache mount on a parent directory",
			"FROM golang:1.26\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache go install ./cmd/x\n",
			nil},
		{"sh -c in an && chain, multi-line",
			"FROM golang:1.26 AS t\nCOPY . .\nRUN apk add git && \\\n    sh -c \"CGO_ENABLED=0 go test ./...\"\n",
			[]lintWant{build(3, "t", "test", "/root/.cache/go-build")}},
		{"exec form",
			"FROM golang:1.26\nCOPY . .\nRUN [\"go\", \"install\", \"./cmd/x\"]\n",
			[]lintWant{build(3, "stage-0", "install", "/root/.cache/go-build")}},
		{"exec form through sh -c",
			"FROM golang:1.26\nCOPY . /src\nRUN [\"/bin/sh\", \"-ec\", \"cd /src; go build ./...\"]\n",
			[]lintWant{build(3, "stage-0", "build", "/root/.cache/go-build")}},
		{"both in one RUN",
			"FROM golang:1.26\nCOPY . .\nRUN go mod download && go build ./...\n",
			[]lintWant{build(3, "stage-0", "build", "/root/.cache/go-build"), mod(3, "stage-0", everyMods, "/go/pkg/mod")}},
		{"GOMODCACHE and GOPATH respected",
			"FROM golang:1.26\nENV GOPATH=/gp\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/gp/pkg/mod go mod download\nENV GOMODCACHE=/mc\nRUN --mount=type=cache,target=/gp/pkg/mod go mod download\n",
			[]lintWant{mod(6, "stage-0", filesMods, "/mc")}},
		{"other go commands and mentions are fine",
			"FROM golang:1.26\nCOPY . .\nRUN go version && echo 'go build' # go build\nRUN go env GOCACHE\n",
			nil},
		{"heredoc",
			"FROM golang:1.26\nCOPY . .\nRUN <<EOF\nset -e\ngo build ./...\nEOF\n",
			[]lintWant{build(3, "stage-0", "build", "/root/.cache/go-build")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, p := lintProject(t, tt.content, false)
			checkLint(t, got, p, tt.want)
		})
	}
}

// TestLintAdviceFitsTheDockerfile: the advice is right for the Dockerfile in front
// of it, or absent (issue 16 §5). Each case was wrong or missing before.
func TestLintAdviceFitsTheDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		deps    bool // go.mod requires a module
		want    []lintWant
	}{
		// go build -a: a cache mount would change nothing (measured 53.4 s vs 52.2 s).
		{name: "go build -a without a cache mount",
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -a -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoBuildAll, "RUN go build -a recompiles every package on every build, whatever the Go build cache holds: a cache mount cannot speed it up while -a is there", ""}}},
		{name: "go build -a with a cache mount",
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -a -installsuffix cgo -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoBuildAll, "RUN go build -a recompiles every package on every build, whatever the Go build cache holds: a cache mount cannot speed it up while -a is there", ""}}},
		{name: "-a in GOFLAGS",
			content: "FROM golang:1.26 AS b\nENV GOFLAGS=-a\nCOPY . .\nRUN go install ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoBuildAll, "RUN go install -a recompiles every package on every build, whatever the Go build cache holds: a cache mount cannot speed it up while -a is there", ""}}},

		// The module cache mounted for go mod download only.
		{name: "modules downloaded into a cache mount the build does not mount", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n",
			want:    []lintWant{{6, "b", RuleGoModCacheMount, "RUN go build without the module cache mount that the go mod download on line 4 fills: the modules are not in the image, so every build downloads them all again (and fails offline)", modFix}}},
		{name: "… in a later stage of the chain", deps: true,
			content: "FROM golang:1.26 AS deps\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod/ go mod download\nFROM deps AS b\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n",
			want:    []lintWant{{7, "b", RuleGoModCacheMount, "RUN go build without the module cache mount that the go mod download on line 4 fills: the modules are not in the image, so every build downloads them all again (and fails offline)", modFix}}},
		{name: "… both mounted", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nCOPY . .\nRUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n"},
		{name: "… a module without requirements downloads nothing",
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n"},
		{name: "modules downloaded into the image are found", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoModCacheMount, filesMods, modFix}}},

		// A dependency warm-up before the sources reruns only when go.mod or go.sum change.
		{name: "a warm-up go install before COPY . .", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download && go install example.com/dep/...\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoModCacheMount, filesMods, modFix}}},
		{name: "a tool installed by version sees nothing of the context",
			content: "FROM golang:1.26 AS b\nRUN go install example.com/tool@v1.2.3\n"},

		// No module step: the build downloads the modules on every change.
		{name: "ADD . and go build without a module step", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nADD . .\nRUN go build -o /app ./cmd/app\n",
			want: []lintWant{
				{4, "b", RuleGoBuildCacheMount, strings.Replace(buildMsg, "%s", "build", 1), buildFix},
				{4, "b", RuleGoModCacheMount, "RUN go build without a cache mount on the Go module cache, and no go mod download before the sources are copied: every change downloads every module go.mod requires again", modFix}}},
		{name: "… a module without requirements",
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nADD . .\nRUN go build -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoBuildCacheMount, strings.Replace(buildMsg, "%s", "build", 1), buildFix}}},

		// Build tools and xx-go.
		{name: "make in a golang stage",
			content: "FROM golang:1.26-alpine AS b\nRUN apk add make\nWORKDIR /src\nCOPY . .\nRUN make build\n",
			want:    []lintWant{{5, "b", RuleGoBuildCacheMount, "RUN make without a cache mount on the Go build cache: if it runs go build, every one-line change recompiles everything (64 s instead of 1.3 s measured on a 2-core machine)", buildFix}}},
		{name: "a build script in a golang stage, mounted",
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/go-build ./scripts/build.sh\n"},
		{name: "make elsewhere is not Go's",
			content: "FROM alpine AS b\nCOPY . .\nRUN make\n"},
		{name: "xx-go build without mounts",
			content: "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\nFROM --platform=$BUILDPLATFORM golang:1.26-alpine AS b\nCOPY --from=xx / /\nARG TARGETPLATFORM\nWORKDIR /src\nCOPY . .\nRUN xx-go build -o /app ./cmd/app && xx-verify /app\n",
			want:    []lintWant{{7, "b", RuleGoBuildCacheMount, strings.Replace(buildMsg, "%s", "build", 1), buildFix}}},

		// When go mod download reruns.
		{name: "go mod download after COPY . .", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN --mount=type=cache,target=/root/.cache/go-build go build -o /app ./cmd/app\n",
			want:    []lintWant{{4, "b", RuleGoModCacheMount, everyMods, modFix}}},
		{name: "go mod download of go.* files", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.* ./\nRUN go mod download\n",
			want:    []lintWant{{4, "b", RuleGoModCacheMount, filesMods, modFix}}},
		{name: "go mod download with bind mounts of go.mod and go.sum", deps: true,
			content: "FROM golang:1.26 AS b\nWORKDIR /src\nRUN --mount=type=bind,source=go.mod,target=go.mod --mount=type=bind,source=go.sum,target=go.sum go mod download\n",
			want:    []lintWant{{3, "b", RuleGoModCacheMount, filesMods, modFix}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, p := lintProject(t, tt.content, tt.deps)
			checkLint(t, got, p, tt.want)
		})
	}
	// The hint for -a says what to drop, and what to add once it is gone.
	got, _ := lintProject(t, "FROM golang:1.26 AS b\nCOPY . .\nRUN go build -a ./cmd/app\n", false)
	if len(got) != 1 || got[0].Hint != "drop -a from that go build, and add --mount=type=cache,target=/root/.cache/go-build to that RUN instruction" {
		t.Errorf("Lint(-a) = %+v, want one warning whose hint drops -a and adds the mount", got)
	}
}

func TestLintGuide(t *testing.T) {
	d, err := dockerfile.NewCache().Load("../testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ctx := goInputsContext(t, nil)
	if got := Lint(d, ctx); len(got) != 0 {
		t.Errorf("Lint() = %+v, want none", got)
	}
}

// TestLintFollowsTheShell: the lint finds the go commands of a RUN with the walker
// the Go inference uses (dockerfile.WalkRun), so it sees every form that runs one —
// the hand-written tokenizer it replaced missed those after an option that takes a
// value (nice -n 10, exec -a, env -u), inside if, for and functions, and took a
// variable's name for its value.
func TestLintFollowsTheShell(t *testing.T) {
	tests := []struct {
		name, run string // the RUN instruction after FROM golang:1.26 and COPY . .
		wantFix   []string
	}{
		{"nice -n", "RUN nice -n 10 go build ./...", []string{buildFix}},
		{"exec -a", "RUN exec -a builder go build ./...", []string{buildFix}},
		{"env -u", "RUN env -u GOFLAGS go test ./...", []string{buildFix}},
		{"GNU time with options", "RUN /usr/bin/time -f %e go install ./cmd/x", []string{buildFix}},
		{"command -p", "RUN command -p go build ./...", []string{buildFix}},
		{"in an if", "RUN if [ -f go.mod ]; then go build ./...; fi", []string{buildFix}},
		{"in a loop", "RUN for c in server client; do go build ./cmd/$c; done", []string{buildFix}},
		{"in a function", "RUN build() { go install ./cmd/x; }; build", []string{buildFix}},
		{"sh reading a here-document", "RUN sh <<EOF\nset -e\ngo mod download\nEOF", []string{modFix}},
		{"behind a command substitution", "RUN echo $(go build ./... && echo ok)", []string{buildFix}},
		{"export of a variable, expanded", "ENV CACHE=/cache\nRUN --mount=type=cache,target=/cache export GOCACHE=$CACHE && go build ./...", nil},
		{"inline variable, expanded", "ENV CACHE=/cache\nRUN --mount=type=cache,target=/cache GOCACHE=$CACHE go build ./...", nil},
		{"export wrongly mounted", "RUN --mount=type=cache,target=/cache export GOCACHE=/elsewhere && go build ./...", []string{"--mount=type=cache,target=/elsewhere"}},
		{"set -a exports", "RUN --mount=type=cache,target=/c set -a && GOCACHE=/c && go build ./...", nil},
		{"an unexported variable does not reach go", "RUN --mount=type=cache,target=/c GOCACHE=/c; go build ./...", []string{buildFix}},
		{"a cache directory without a known value is not judged", "ARG CACHEDIR\nRUN GOCACHE=$CACHEDIR go build ./...", nil},
		{"go named in text only", "RUN echo 'go build' && printf '%s\\n' \"go test\" # go install", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := lintProject(t, "FROM golang:1.26\nCOPY . .\n"+tt.run+"\n", false)
			var fixes []string
			for _, w := range got {
				fixes = append(fixes, w.Fix)
			}
			if strings.Join(fixes, " ") != strings.Join(tt.wantFix, " ") {
				t.Errorf("Lint() fixes = %q, want %q", fixes, tt.wantFix)
			}
		})
	}
}

// TestLintRules: every warning names its rule.
func TestLintRules(t *testing.T) {
	got, _ := lintProject(t, "FROM golang:1.26\nCOPY . .\nRUN go mod download && go build ./...\n", false)
	if len(got) != 2 || got[0].Rule != RuleGoBuildCacheMount.Name || got[1].Rule != RuleGoModCacheMount.Name {
		t.Errorf("Lint() = %+v, want a %s then a %s warning", got, RuleGoBuildCacheMount.Name, RuleGoModCacheMount.Name)
	}
}

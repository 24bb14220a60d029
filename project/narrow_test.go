package project

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/rebuild"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
)

// narrowProject is a module whose server embeds a file, compiles a _linux.go file,
// and whose image gets a file only a COPY names; internal/extra is not imported.
// Target web reads what devloop.yaml's only: lists; target tool runs make.
func narrowProject(t *testing.T) (dir string, ti *targetInputs, stop func()) {
	t.Helper()
	dir = writeProject(t, map[string]string{
		"cmd/server/main.go":            "package main\n\nimport (\n\t_ \"embed\"\n\n\t\"example.com/aff/internal/greeting\"\n)\n\n//go:embed banner.txt\nvar banner string\n\nfunc main() { println(banner, greeting.Text) }\n",
		"cmd/server/banner.txt":         "banner\n",
		"cmd/server/os_linux.go":        "package main\n\nfunc init() {}\n",
		"internal/greeting/greeting.go": "package greeting\n\nconst Text = \"v1\"\n",
		"internal/extra/extra.go":       "package extra\n\nconst Text = \"x\"\n",
		"config/motd.txt":               "motd\n",
		"assets/a.txt":                  "a\n",
		"web/index.html":                "<p>\n",
		"Makefile":                      "all:\n",
		"Dockerfile": `FROM golang:1.26-alpine AS base
WORKDIR /src
ENV CGO_ENABLED=0
FROM base AS build
RUN --mount=type=bind,target=. go build -o /bin/server ./cmd/server
FROM scratch AS server
COPY --from=build /bin/server /
COPY config/motd.txt /etc/motd.txt
FROM base AS tool
RUN --mount=type=bind,target=. make
FROM scratch AS web
COPY web/ /site/
`,
	})
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{
		{Name: "server", Stage: "server"},
		{Name: "tool", Stage: "tool"},
		{Name: "web", Stage: "web", Only: []string{"web"}},
	}
	ti = newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.NewNop())
	return dir, ti, runInputs(ti)
}

// runInputs narrows ti's targets and runs its refreshes, the first at once, until
// stop is called.
func runInputs(ti *targetInputs) (stop func()) {
	ti.narrow = true
	ctx, cancel := context.WithCancel(context.Background())
	refresh := make(chan struct{}, 1)
	refresh <- struct{}{}
	done := make(chan error)
	go func() { done <- ti.run(ctx, refresh) }()
	return func() {
		cancel()
		<-done
	}
}

// serverSubset returns the server target's narrowing and checks that its Dirs hold
// dirs.
func serverSubset(t *testing.T, ti *targetInputs, dirs ...string) *rebuild.Subset {
	t.Helper()
	s, err := ti.subset(context.Background(), "server")
	if err != nil || s == nil {
		t.Fatalf("subset(server) = %v, %v; want the server's inputs", s, err)
	}
	for _, d := range dirs {
		if !slices.Contains(s.Dirs, d) {
			t.Errorf("Dirs = %v, want %s among them", s.Dirs, d)
		}
	}
	return s
}

func TestNarrowingSubset(t *testing.T) {
	_, ti, stop := narrowProject(t)
	defer stop()
	s := serverSubset(t, ti, "cmd/server", "internal/greeting")
	for _, tr := range []string{"config/motd.txt", "go.mod", "go.sum", "cmd/server/banner.txt"} {
		if !slices.Contains(s.Trees, tr) && !slices.Contains(s.Dirs, filepath.ToSlash(filepath.Dir(tr))) {
			t.Errorf("Trees = %v (Dirs %v), want %s sent", s.Trees, s.Dirs, tr)
		}
	}
	if slices.Contains(s.Dirs, ".") || slices.Contains(s.Dirs, "internal/extra") || slices.Contains(s.Dirs, "assets") {
		t.Errorf("Dirs = %v: the root's files, internal/extra or assets sent", s.Dirs)
	}
	if !slices.Contains(s.Exist, ".") {
		t.Errorf("Exist = %v, want the go command's directory .", s.Exist)
	}
	if w, _ := ti.subset(context.Background(), "web"); w == nil || !slices.Equal(w.Trees, []string{"web"}) {
		t.Errorf("subset(web) = %+v, want only: [web]", w)
	}
	if tool, _ := ti.subset(context.Background(), "tool"); tool != nil {
		t.Errorf("subset(tool) = %+v, want nil: make may read anything", tool)
	}
}

// TestNarrowedAffects: a narrowed target is rebuilt only by a change in what it
// reads (or its Dockerfile); a target with unknown inputs by every change.
func TestNarrowedAffects(t *testing.T) {
	_, ti, stop := narrowProject(t)
	defer stop()
	tests := []struct {
		path              string
		server, web, tool bool
	}{
		{"assets/a.txt", false, false, true},
		{"internal/extra/extra.go", false, false, true},
		{"README.md", false, false, true},
		{"cmd/server/banner.txt", true, false, true},
		{"cmd/server/main_test.go", false, false, true},
		{"cmd/server/os_linux.go", true, false, true},
		{"config/motd.txt", true, false, true},
		{"go.mod", true, false, true},
		{"web/index.html", false, true, true},
		{"Dockerfile", true, true, true},
	}
	for _, tt := range tests {
		ti.changed([]string{tt.path}, false)
		for target, want := range map[string]bool{"server": tt.server, "web": tt.web, "tool": tt.tool} {
			if got := ti.affects(target, []string{tt.path}); got != want {
				t.Errorf("affects(%s, %s) = %v, want %v", target, tt.path, got, want)
			}
		}
	}
}

// TestNarrowingFollowsImports: an edit that starts importing a package the server
// did not read (existing, or created in the same save) narrows to inputs that hold
// it — the build must see the package.
func TestNarrowingFollowsImports(t *testing.T) {
	dir, ti, stop := narrowProject(t)
	defer stop()
	if _, err := ti.subset(context.Background(), "server"); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"an existing package", map[string]string{
			"internal/greeting/greeting.go": "package greeting\n\nimport \"example.com/aff/internal/extra\"\n\nconst Text = extra.Text\n",
		}, "internal/extra"},
		{"a package created in the same save", map[string]string{
			"internal/fresh/fresh.go":       "package fresh\n\nconst Text = \"f\"\n",
			"internal/greeting/greeting.go": "package greeting\n\nimport \"example.com/aff/internal/fresh\"\n\nconst Text = fresh.Text\n",
		}, "internal/fresh"},
	}
	for _, s := range steps {
		var paths []string
		for name, content := range s.files {
			write(name, content)
			paths = append(paths, name)
		}
		ti.changed(paths, false)
		if !ti.affects("server", paths) {
			t.Errorf("%s: the server is not affected", s.name)
		}
		sub, err := ti.subset(context.Background(), "server")
		if err != nil || sub == nil || !slices.Contains(sub.Dirs, s.want) {
			t.Errorf("%s: subset = %+v, %v; want %s among its directories", s.name, sub, err, s.want)
		}
		if !ti.affects("server", []string{s.want + "/x.go"}) {
			t.Errorf("%s: a change in %s does not affect the server", s.name, s.want)
		}
	}
}

// TestNarrowingWaits: a build waiting for inputs stops waiting when it is superseded,
// and after narrowWait builds with the whole context.
func TestNarrowingWaits(t *testing.T) {
	ti := newTargetInputs(nil, nil, ocispecs.Platform{}, nil, io.Discard, zap.NewNop())
	ti.narrow = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := ti.subset(ctx, "server"); s != nil || err == nil {
		t.Errorf("subset with no refresh and a cancelled context = %v, %v; want the context's error", s, err)
	}
	synctest.Test(t, func(t *testing.T) {
		ti := newTargetInputs(nil, nil, ocispecs.Platform{}, nil, io.Discard, zap.NewNop())
		ti.narrow = true
		start := time.Now()
		s, err := ti.subset(context.Background(), "server")
		if s != nil || err != nil || time.Since(start) != narrowWait {
			t.Errorf("subset with no refresh = %v, %v after %s; want nil, nil after %s", s, err, time.Since(start), narrowWait)
		}
	})
}

// TestNarrowingHoldsTheWholeSolve: a target gets the packages of the executables it
// exports (affects), but its narrowed context holds what every step of the solve
// reads — the other go build of the same RUN must compile, and a COPY into a build
// stage that nothing exports must find its file — or BuildKit's solve fails.
func TestNarrowingHoldsTheWholeSolve(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"cmd/server/main.go": "package main\n\nfunc main() {}\n",
		"cmd/client/main.go": "package main\n\nfunc main() {}\n",
		"config/app.yaml":    "a: 1\n",
		"assets/a.txt":       "a\n",
		"Dockerfile": `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY . .
COPY config/app.yaml /etc/app.yaml
RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client
FROM scratch AS server
COPY --from=build /out/server /
FROM scratch AS client
COPY --from=build /out/client /
`,
	})
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{{Name: "server", Stage: "server"}, {Name: "client", Stage: "client"}}
	ti := newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.NewNop())
	defer runInputs(ti)()
	s := serverSubset(t, ti, "cmd/server", "cmd/client")
	if !slices.Contains(s.Trees, "config/app.yaml") {
		t.Errorf("Trees = %v, want config/app.yaml among them", s.Trees)
	}
	if slices.Contains(s.Trees, "assets") || slices.Contains(s.Trees, ".") {
		t.Errorf("Trees = %v, want neither assets nor the whole context", s.Trees)
	}
	for path, want := range map[string]bool{
		"cmd/server/main.go": true,
		"cmd/client/main.go": false, // built beside it, but client's
		"config/app.yaml":    true,  // copied beside it; no target claims it (godeps.Affects)
		"assets/a.txt":       false, // not sent
	} {
		ti.changed([]string{path}, false)
		if got := ti.affects("server", []string{path}); got != want {
			t.Errorf("affects(server, %s) = %v, want %v", path, got, want)
		}
	}
}

// TestNarrowingEveryPlatform: a target built for two platforms is sent what each
// platform's build reads: a package only the darwin build imports too.
func TestNarrowingEveryPlatform(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"cmd/server/main.go":     "package main\n\nfunc main() {}\n",
		"cmd/server/x_darwin.go": "package main\n\nimport _ \"example.com/aff/internal/mac\"\n",
		"internal/mac/mac.go":    "package mac\n",
		"Dockerfile": `FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0
RUN --mount=type=bind,target=. GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /
`,
	})
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{{Name: "server", Stage: "server", Platforms: []string{"linux/amd64", "darwin/arm64"}}}
	ti := newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.NewNop())
	defer runInputs(ti)()
	serverSubset(t, ti, "cmd/server", "internal/mac")
}

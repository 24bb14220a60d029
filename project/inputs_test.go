package project

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/godeps"
	"github.com/devloop/devloop/internal/e2etest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// knownInputs is a targetInputs whose first refresh is done.
func knownInputs(sets map[string]*godeps.InputSet) *targetInputs {
	ti := newTargetInputs(nil, nil, ocispecs.Platform{}, nil, nil, zap.NewNop())
	ti.sets, ti.refreshed = sets, true
	return ti
}

// Once the inputs are known, affects answers with them (the decision's cases are
// godeps.TestAffects): a path of the server's only skips the client.
func TestTargetInputsAffects(t *testing.T) {
	server := godeps.NewInputSet()
	server.Add(godeps.Inputs{Dirs: []string{"cmd/server", "internal/shared"}})
	client := godeps.NewInputSet()
	client.Add(godeps.Inputs{Dirs: []string{"cmd/client", "internal/shared"}})
	tests := []struct {
		target string
		paths  []string
		want   bool
	}{
		{"server", []string{"cmd/server/main.go"}, true},
		{"client", []string{"cmd/server/main.go"}, false},
		{"client", []string{"internal/shared/x.go"}, true},
		{"unknown", []string{"cmd/server/main.go"}, true},
	}
	for _, tt := range tests {
		ti := knownInputs(map[string]*godeps.InputSet{"server": server, "client": client})
		ti.changed(tt.paths, false)
		if got := ti.affects(tt.target, tt.paths); got != tt.want {
			t.Errorf("affects(%s, %v) = %v, want %v", tt.target, tt.paths, got, tt.want)
		}
	}
}

// TestTargetInputsFresh: inputs learnt before a change may miss what it did to the
// import graph. The server's main.go starts importing internal/other, which only the
// client used; the next edit, in internal/other, arrives before any refresh after
// that change: it must rebuild the server too.
func TestTargetInputsFresh(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"internal/other/other.go": "package other\n\nconst Text = \"o\"\n",
		"cmd/client/main.go":      "package main\n\nimport \"example.com/aff/internal/other\"\n\nfunc main() { println(other.Text) }\n",
		"cmd/server/main.go":      "package main\n\nfunc main() {}\n",
	})
	content := `FROM golang:1.26-alpine AS base
WORKDIR /src
ENV CGO_ENABLED=0
FROM base AS bs
RUN --mount=type=bind,target=. go build -o /bin/server ./cmd/server
FROM base AS bc
RUN --mount=type=bind,target=. go build -o /bin/client ./cmd/client
FROM scratch AS server
COPY --from=bs /bin/server /
FROM scratch AS client
COPY --from=bc /bin/client /
`
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{{Name: "server", Stage: "server"}, {Name: "client", Stage: "client"}}
	ti := newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	refresh := make(chan struct{})
	done := make(chan error)
	go func() { done <- ti.run(ctx, refresh) }()
	defer func() {
		cancel()
		<-done
	}()

	batch := func(paths ...string) []string {
		ti.changed(paths, false)
		return paths
	}
	if ti.affects("server", batch("internal/other/other.go")) {
		t.Fatalf("internal/other affects the server before it imports it")
	}
	// The edit: the server imports internal/other now.
	if err := os.WriteFile(filepath.Join(dir, "cmd", "server", "main.go"), []byte("package main\n\nimport \"example.com/aff/internal/other\"\n\nfunc main() { println(other.Text) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := batch("cmd/server/main.go")
	if !ti.affects("server", b) || ti.affects("client", b) {
		t.Fatalf("cmd/server/main.go: want the server affected, the client not")
	}
	// No refresh was signalled since: the next batch must not be judged with the
	// inputs from before the new import.
	if !ti.affects("server", batch("internal/other/other.go")) {
		t.Errorf("an edit in internal/other after the server started importing it skips the server")
	}
	// Lost events: the next batch waits for inputs learnt after them, and is judged.
	ti.changed(nil, true)
	if ti.affects("client", batch("cmd/server/main.go")) {
		t.Errorf("after an overflow a server-only edit affects the client")
	}
	ti.mu.Lock()
	_, left := ti.pending[overflowPath]
	ti.mu.Unlock()
	if left {
		t.Errorf("the overflow is still pending after the refresh affects waited for")
	}
}

// TestTargetInputsRefresh runs the real analysis (Dockerfile + go list) on a small
// project: the reproduction of the stale server, and the one-line notice for a
// target whose inputs are unknown, printed once.
func TestTargetInputsRefresh(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"internal/shared/shared.go": "package shared\n\nconst Text = \"v1\"\n",
		"cmd/client/main.go":        "package main\n\nimport \"example.com/aff/internal/shared\"\n\nfunc main() { println(shared.Text) }\n",
		"cmd/server/main.go":        "package main\n\nvar msg = \"dev\"\n\nfunc main() { println(msg) }\n",
		"cmd/server/prod.go":        "//go:build prod\n\npackage main\n\nimport \"example.com/aff/internal/shared\"\n\nfunc init() { msg = shared.Text }\n",
		"Dockerfile": `FROM golang:1.26-alpine AS base
WORKDIR /src
ENV CGO_ENABLED=0
FROM base AS build-server
ARG TAGS=prod
RUN --mount=type=bind,target=. go build -tags $TAGS -o /bin/server ./cmd/server
FROM base AS build-client
ARG EXTRA
RUN --mount=type=bind,target=. go build -tags "$EXTRA" -o /bin/client ./cmd/client
FROM scratch AS server
COPY --from=build-server /bin/server /
FROM scratch AS client
COPY --from=build-client /bin/client /
`,
	})
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{{Name: "server", Stage: "server"}, {Name: "client", Stage: "client"}}
	var out bytes.Buffer
	ti := newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), &out, zap.NewNop())
	ti.refresh(context.Background())
	if !ti.refreshed {
		t.Fatal("refresh did not complete")
	}

	ti.changed([]string{"internal/shared/shared.go"}, false)
	if !ti.affects("server", []string{"internal/shared/shared.go"}) {
		t.Errorf("internal/shared does not affect the server built with -tags prod")
	}
	want := "[devloop] client: inputs unknown (Dockerfile:9: go build -tags \"$EXTRA\" has no value (ARG EXTRA on line 8 has no default and no build arg)): every change rebuilds it\n"
	if out.String() != want {
		t.Errorf("notice =\n%q\nwant\n%q", out.String(), want)
	}
	ti.refresh(context.Background())
	if strings.Count(out.String(), "inputs unknown") != 1 {
		t.Errorf("the notice is repeated on a refresh with the same reason:\n%s", out.String())
	}
	// With the build arg given, the client is known and a server-only edit skips it.
	reloaded := []*config.Target{targets[0], {Name: "client", Stage: "client", BuildArgs: map[string]string{"EXTRA": "x"}}}
	ti.reconfigure(cfg, reloaded)
	ti.refresh(context.Background())
	ti.changed([]string{"cmd/server/prod.go"}, false)
	if ti.affects("client", []string{"cmd/server/prod.go"}) {
		t.Errorf("a server-only edit affects the client")
	}
	ti.refresh(context.Background()) // the next batch waits for inputs that saw the last one
	ti.changed([]string{"internal/shared/shared.go"}, false)
	if !ti.affects("client", []string{"internal/shared/shared.go"}) {
		t.Errorf("internal/shared does not affect the client")
	}
}

// TestTargetInputsDebug: --log-level debug shows, per target, each go build and the
// packages it was resolved to, and the target without a stage name builds the last
// stage (issue 16 §1, §4).
func TestTargetInputsDebug(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"internal/shared/shared.go": "package shared\n\nconst Text = \"v1\"\n",
		"cmd/client/main.go":        "package main\n\nfunc main() {}\n",
		"cmd/server/main.go":        "package main\n\nimport \"example.com/aff/internal/shared\"\n\nfunc main() { println(shared.Text) }\n",
		"Dockerfile": `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0
RUN --mount=type=bind,target=. go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client
FROM scratch
COPY --from=build /out/server /
`,
	})
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	core, logs := observer.New(zap.DebugLevel)
	ti := newTargetInputs(cfg, []*config.Target{{Name: "app", Stage: "app"}}, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.New(core))
	ti.refresh(context.Background())
	resolved := logs.FilterMessage("target inputs: go build resolved").All()
	if len(resolved) != 1 {
		t.Fatalf("resolved builds logged: %v, want the server's only", logs.All())
	}
	f := resolved[0].ContextMap()
	if f["target"] != "app" || f["build"] != "Dockerfile:4: go build -o /out/server ./cmd/server" || fmt.Sprint(f["packages"]) != "[cmd/server internal/shared]" {
		t.Errorf("logged %v, want target app, the server's build and its packages cmd/server, internal/shared", f)
	}
	if got := logs.FilterMessage("target inputs").All(); len(got) != 1 || got[0].ContextMap()["stage"] != "stage-1" {
		t.Errorf("target inputs logged %v, want one line for stage-1", got)
	}
}

// writeProject writes a module example.com/aff with files into a new directory.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/aff\n\ngo 1.26\n"
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// BenchmarkTargetInputsRefresh measures one refresh of the example's two targets:
// the Dockerfile analysis and one go list per target (CGO_ENABLED is set there).
func BenchmarkTargetInputsRefresh(b *testing.B) {
	dir := filepath.Join(e2etest.RepoRoot(), "examples", "greeter")
	cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
	targets := []*config.Target{{Name: "server", Stage: "server"}, {Name: "client", Stage: "client"}}
	ti := newTargetInputs(cfg, targets, ocispecs.Platform{OS: "linux", Architecture: "amd64"}, dockerfile.NewCache(), io.Discard, zap.NewNop())
	for b.Loop() {
		ti.refresh(b.Context())
		if len(ti.sets) != 2 {
			b.Fatalf("inputs known for %d targets, want 2", len(ti.sets))
		}
	}
}

package project

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/rebuild"
)

// releaseDockerfile builds server and client in one stage, the release way.
const releaseDockerfile = `FROM example.com/go:1 AS build
WORKDIR /src
COPY . .
RUN go build -a -o /out/server ./cmd/server
RUN go build -o /out/client ./cmd/client
FROM scratch AS server
COPY --from=build /out/server /server
FROM scratch AS client
COPY --from=build /out/client /client
`

// devProject is a project of the solver stack (stackProject) with targets: their
// dev_transform as given, every one selected.
func devProject(t *testing.T, content string, devTransform map[string]bool) (*Project, *fakeDaemon, *strings.Builder) {
	t.Helper()
	p, d, notices := stackProject(t, content, config.FrontendImage, false, func() (string, error) { return "v0.34.2", nil })
	cfg := *p.cfg
	cfg.Context = filepath.Dir(cfg.Dockerfile)
	cfg.Targets = map[string]*config.Target{}
	for name, on := range devTransform {
		cfg.Targets[name] = &config.Target{Name: name, Stage: name, DevTransform: on}
	}
	p.cfg = &cfg
	p.live.Store(&liveState{cfg: &cfg, targets: cfg.Targets})
	d.configs = map[string]rebuild.ImageConfig{"example.com/go:1": {Env: []string{"GOLANG_VERSION=1.26.1", "GOPATH=/go"}, WorkingDir: "/go"}}
	var sb strings.Builder
	sb.WriteString(notices.String())
	return p, d, &sb
}

func solveTarget(t *testing.T, p *Project, d *fakeDaemon, name string) rebuild.Request {
	t.Helper()
	if _, err := p.solver.Solve(context.Background(), rebuild.Request{Target: name, Context: p.cfg.Context, Dockerfile: p.cfg.Dockerfile}, nil); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reqs[len(d.reqs)-1]
}

// TestDevBuildLayer: a target with dev_transform gets the dev build as its
// Dockerfile source (the file on disk unchanged), with cache mounts locked where two
// such targets share them; one without gets the file; the image configs are asked
// once; what changes is said once, with how to turn it off.
func TestDevBuildLayer(t *testing.T) {
	p, d, _ := devProject(t, releaseDockerfile, map[string]bool{"server": true, "client": true})
	notices := p.notices.(interface{ String() string })

	req := solveTarget(t, p, d, "server")
	src := string(req.DockerfileSource)
	wantRun := "RUN --mount=type=cache,target=/root/.cache/go-build,sharing=locked --mount=type=cache,target=/go/pkg/mod,sharing=locked go build -o /out/server ./cmd/server\n"
	if !strings.Contains(src, wantRun) {
		t.Errorf("server's Dockerfile source =\n%s\nwant the line\n%s", src, wantRun)
	}
	if data, _ := os.ReadFile(p.cfg.Dockerfile); string(data) != releaseDockerfile {
		t.Errorf("the Dockerfile on disk changed:\n%s", data)
	}
	client := solveTarget(t, p, d, "client")
	if string(client.DockerfileSource) != src {
		t.Errorf("client's dev build differs from server's:\n%s", client.DockerfileSource)
	}
	solveTarget(t, p, d, "server")
	if len(d.configsAsked) != 1 || !slices.Equal(d.configsAsked[0], []string{"example.com/go:1"}) {
		t.Errorf("image configs asked %q, want example.com/go:1 once", d.configsAsked)
	}
	got := notices.String()
	for _, line := range []string{
		"[devloop] " + p.cfg.Dockerfile + ":4: dev build adds go build/module cache mounts, drops -a\n",
		"[devloop] " + p.cfg.Dockerfile + ":5: dev build adds go build/module cache mounts\n",
		"dev_transform: false in devloop.yaml (project-wide or per target) builds it as written\n",
	} {
		if strings.Count(got, line) != 1 {
			t.Errorf("notices say %q %d times, want once:\n%s", line, strings.Count(got, line), got)
		}
	}

	// dev_transform turned off for the client (a reload): the file, and the server's
	// mounts are its own.
	cfg := *p.live.Load().cfg
	cfg.Targets = map[string]*config.Target{"server": cfg.Targets["server"], "client": {Name: "client", Stage: "client"}}
	p.live.Store(&liveState{cfg: &cfg, targets: cfg.Targets})
	if req := solveTarget(t, p, d, "client"); req.DockerfileSource != nil {
		t.Errorf("client with dev_transform off gets a Dockerfile source:\n%s", req.DockerfileSource)
	}
	if req := solveTarget(t, p, d, "server"); strings.Contains(string(req.DockerfileSource), "sharing=locked") {
		t.Errorf("server alone with the dev build still locks its caches:\n%s", req.DockerfileSource)
	}
}

// TestDevBuildLayerLeavesAlone: a Dockerfile that mounts its caches, or runs no Go,
// is built from the file and nothing is said; a failed image config lookup is not
// asked again, and the golang image's defaults stand in.
func TestDevBuildLayerLeavesAlone(t *testing.T) {
	for _, content := range []string{
		"FROM golang:1.26 AS build\nRUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build -o /out/x ./...\nFROM scratch AS server\nCOPY --from=build /out/x /x\n",
		"FROM node:22 AS server\nRUN npm ci\n",
	} {
		p, d, _ := devProject(t, content, map[string]bool{"server": true})
		if req := solveTarget(t, p, d, "server"); req.DockerfileSource != nil {
			t.Errorf("%q: Dockerfile source =\n%s\nwant none", content, req.DockerfileSource)
		}
		solveTarget(t, p, d, "server")
		if len(d.configsAsked) != 1 {
			t.Errorf("%q: image configs asked %q, want once (the lookup failed)", content, d.configsAsked)
		}
		if got := p.notices.(interface{ String() string }).String(); got != "" {
			t.Errorf("%q: notices = %q, want none", content, got)
		}
	}
}

// TestDescribeFailureOfADevBuild: a failed step of a dev build is found in the dev
// build that was built (BuildKit names the step with its mount flags), also when the
// Dockerfile was edited since, and its compiler messages are mapped to the host files.
func TestDescribeFailureOfADevBuild(t *testing.T) {
	p, d, _ := devProject(t, releaseDockerfile, map[string]bool{"server": true})
	if err := os.MkdirAll(filepath.Join(p.cfg.Context, "cmd", "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.cfg.Context, "cmd", "server", "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := solveTarget(t, p, d, "server")
	var run string
	for _, l := range strings.Split(string(req.DockerfileSource), "\n") {
		if strings.HasPrefix(l, "RUN --mount") && strings.Contains(l, "./cmd/server") {
			run = l
		}
	}
	// The user edits the Dockerfile while the build fails: the failure is the build's.
	edited := strings.Replace(releaseDockerfile, "WORKDIR /src\n", "WORKDIR /src\nRUN echo edited\n", 1)
	if err := os.WriteFile(p.cfg.Dockerfile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	err := &rebuild.BuildError{
		Target: "server", Step: "[build 4/5] " + run, Logs: "# example.com/shop/cmd/server\ncmd/server/main.go:1:9: undefined: x\n",
		DockerfileSource: req.DockerfileSource, Err: errors.New("exit code: 1"),
	}
	f := p.DescribeFailure(err)
	if len(f.Locations) != 1 || !f.Locations[0].Mapped || f.Locations[0].File != filepath.Join(p.cfg.Context, "cmd", "server", "main.go") || f.Locations[0].Line != 1 {
		t.Errorf("locations = %+v, want cmd/server/main.go:1 on the host", f.Locations)
	}
	// The step is named as the user wrote it: no mount the dev build added, -a kept.
	var written string
	for _, l := range strings.Split(releaseDockerfile, "\n") {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "./cmd/server") {
			written = l
		}
	}
	if want := "[build 4/5] " + written; written == "" || f.Step != want {
		t.Errorf("step = %q, want %q", f.Step, want)
	}
}

// TestDevBuildLayerSaysWhatItKeeps: a stage tree whose module cache another stage
// copies out is built as written, and that is said once, with the line and why.
func TestDevBuildLayerSaysWhatItKeeps(t *testing.T) {
	const content = `FROM example.com/go:1 AS build
WORKDIR /src
COPY . .
RUN go mod download
RUN go build -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /server
COPY --from=build /go/pkg/mod /mod
`
	p, d, _ := devProject(t, content, map[string]bool{"server": true})
	for range 2 {
		if req := solveTarget(t, p, d, "server"); req.DockerfileSource != nil {
			t.Errorf("Dockerfile source =\n%s\nwant none (the build stage is kept)", req.DockerfileSource)
		}
	}
	got := p.notices.(interface{ String() string }).String()
	want := "[devloop] " + p.cfg.Dockerfile + ":8: dev build leaves build as written: COPY --from=build /go/pkg/mod copies Go's cache /go/pkg/mod out of the stage\n"
	if got != want {
		t.Errorf("notices =\n%q\nwant\n%q", got, want)
	}
}

// TestCheckAdviceWithTheDevBuild: the missing cache mount warnings stay; with the
// dev build on for a target they say the fix is for the user's own docker build,
// without it they are the plain advice.
func TestCheckAdviceWithTheDevBuild(t *testing.T) {
	dir := t.TempDir()
	content := "FROM golang:1.26 AS server\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/server .\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		cfg := &config.Config{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile")}
		target := &config.Target{Name: "server", Stage: "server", DevTransform: on}
		cfg.Targets = map[string]*config.Target{"server": target}
		var warn strings.Builder
		if err := Check(cfg, []*config.Target{target}, dockerfile.NewCache(), &warn); err != nil {
			t.Fatalf("dev_transform %v: Check: %v", on, err)
		}
		got := warn.String()
		const own = " for your own docker build (devloop's dev build does it: see dev_transform)\n"
		if !strings.Contains(got, "--mount=type=cache,target=/root/.cache/go-build to that RUN instruction") || strings.Contains(got, own) != on {
			t.Errorf("dev_transform %v: warnings =\n%s\nwant the build cache advice, for the user's own docker build: %v", on, got, on)
		}
	}
}

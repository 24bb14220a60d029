package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// fakeDaemon stands for the BuildKit client under the solver stack: it records the
// requests that reach it, the refs it is asked to resolve, and answers the version.
type fakeDaemon struct {
	version func() (string, error)

	mu       sync.Mutex
	calls    int // DaemonVersion calls
	reqs     []rebuild.Request
	resolved [][]string
	err      error // Solve's error
	rerr     error // Resolve's error
	// unresolvable are the refs Resolve fails for.
	unresolvable map[string]error
	// configs are the image configs ImageConfigs knows; configsAsked the refs it was
	// asked, call by call.
	configs      map[string]rebuild.ImageConfig
	configsAsked [][]string
}

func (f *fakeDaemon) Solve(_ context.Context, req rebuild.Request, _ *rebuild.Printer) (rebuild.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return rebuild.Stats{}, f.err
}

func (f *fakeDaemon) Resolve(_ context.Context, refs []string) (rebuild.Pins, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolved = append(f.resolved, refs)
	if f.rerr != nil {
		return nil, f.rerr
	}
	pins, failed := rebuild.Pins{}, map[string]error{}
	for _, r := range refs {
		if err, ok := f.unresolvable[r]; ok {
			failed[r] = err
			continue
		}
		pins[r] = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	}
	if len(failed) > 0 {
		return pins, &rebuild.ResolveError{Failed: failed}
	}
	return pins, nil
}

func (f *fakeDaemon) ImageConfigs(_ context.Context, refs []string) (map[string]rebuild.ImageConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.configsAsked = append(f.configsAsked, refs)
	out := map[string]rebuild.ImageConfig{}
	var missing []string
	for _, r := range refs {
		if c, ok := f.configs[r]; ok {
			out[r] = c
		} else {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("no config of %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func (f *fakeDaemon) DaemonVersion(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.version()
}

// stackProject is a project with just what the solver stack needs: the Dockerfile,
// the builder.frontend setting, a fake daemon and the notices.
func stackProject(t *testing.T, content, frontend string, pin bool, version func() (string, error)) (*Project, *fakeDaemon, *bytes.Buffer) {
	t.Helper()
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	cfg := &config.Config{Dockerfile: df, Builder: config.Builder{Frontend: frontend}}
	p := &Project{cfg: cfg, dockerfiles: dockerfile.NewCache(), notices: &notices, log: zap.NewNop()}
	p.live.Store(&liveState{cfg: cfg})
	d := &fakeDaemon{version: version}
	if err := p.newSolver(daemon{Solver: d, Resolver: d, imageConfigs: d, version: d.DaemonVersion}, pin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.pinner != nil {
			p.pinner.Close()
		}
	})
	return p, d, &notices
}

// solve runs one request for target through p's stack and returns the frontend image
// the solve runs ("" for none) and whether the built-in frontend stands in for it.
func solve(t *testing.T, p *Project, d *fakeDaemon, target *config.Target) (syntax string, builtin bool) {
	t.Helper()
	_, _ = p.solver.Solve(context.Background(), rebuild.Request{Target: target.Name, Dockerfile: p.cfg.Dockerfile, BuildArgs: target.BuildArgs}, nil)
	d.mu.Lock()
	got := d.reqs[len(d.reqs)-1]
	d.mu.Unlock()
	return p.runningSyntax(got), got.BuiltinFrontend
}

func TestFrontendChoice(t *testing.T) {
	const stable = "# syntax=docker/dockerfile:1\nFROM scratch\n"
	recent := func() (string, error) { return "v0.34.2", nil }
	tests := []struct {
		name, dockerfile, frontend string
		args                       map[string]string
		version                    func() (string, error)
		wantSyntax                 string
		wantBuiltin                bool
	}{
		{"auto, stable channel, recent daemon", stable, config.FrontendAuto, nil, recent, "", true},
		{"image runs the syntax image", stable, config.FrontendImage, nil, recent, "docker/dockerfile:1", false},
		{"no syntax line", "FROM scratch\n", config.FrontendAuto, nil, recent, "", false},
		{"pinned minor is run as written", "# syntax=docker/dockerfile:1.7\nFROM scratch\n", config.FrontendAuto, nil, recent, "docker/dockerfile:1.7", false},
		{"BUILDKIT_SYNTAX wins", stable, config.FrontendAuto, map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1-labs"}, recent, "docker/dockerfile:1-labs", false},
		{"old daemon", stable, config.FrontendAuto, nil, func() (string, error) { return "v0.12.5", nil }, "docker/dockerfile:1", false},
		{"version unknown", stable, config.FrontendAuto, nil, func() (string, error) { return "", errors.New("unavailable") }, "docker/dockerfile:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, d, _ := stackProject(t, tt.dockerfile, tt.frontend, false, tt.version)
			syntax, builtin := solve(t, p, d, &config.Target{Name: "server", BuildArgs: tt.args})
			if syntax != tt.wantSyntax || builtin != tt.wantBuiltin {
				t.Errorf("frontend = (%q, %v), want (%q, %v)", syntax, builtin, tt.wantSyntax, tt.wantBuiltin)
			}
		})
	}
}

// The version is asked once and kept, not kept after a failure, and forgotten when
// a solve finds the daemon gone; the notice is printed once per syntax.
func TestFrontendVersionAndNotice(t *testing.T) {
	fail := true
	p, d, notices := stackProject(t, "# syntax=docker/dockerfile:1\nFROM scratch\n", config.FrontendAuto, false, func() (string, error) {
		if fail {
			return "", errors.New("connection refused")
		}
		return "v0.34.2", nil
	})
	target := &config.Target{Name: "server"}
	build := func() bool {
		_, builtin := solve(t, p, d, target)
		return builtin
	}
	steps := []struct {
		what        string
		before      func()
		wantBuiltin bool
		wantCalls   int
	}{
		{"daemon down: image", nil, false, 1},
		{"daemon back: asked again, built-in", func() { fail = false }, true, 2},
		{"version kept", nil, true, 2},
		{"daemon lost: asked again", func() {
			d.err = &rebuild.UnreachableError{Address: "unix:///x", Err: errors.New("connection reset")}
			build() // with the version kept; its failure forgets it
			d.err = nil
		}, true, 3},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		if got := build(); got != st.wantBuiltin {
			t.Errorf("%s: built-in = %v, want %v", st.what, got, st.wantBuiltin)
		}
		if d.calls != st.wantCalls {
			t.Errorf("%s: version asked %d times, want %d", st.what, d.calls, st.wantCalls)
		}
	}
	if n := strings.Count(notices.String(), "using the daemon's built-in Dockerfile frontend (BuildKit v0.34.2)"); n != 1 {
		t.Errorf("notice printed %d times, want once:\n%s", n, notices.String())
	}
}

// With --pin, a solve gets the digests of the images it pulls: the FROM images, and
// the # syntax image only when it runs (not when the built-in frontend stands in),
// resolved once for the session and said once.
func TestPinsFollowFrontend(t *testing.T) {
	const content = "# syntax=docker/dockerfile:1\nFROM alpine:3.20 AS base\nFROM base\n"
	for _, tt := range []struct {
		frontend string
		want     []string
	}{
		{config.FrontendAuto, []string{"docker.io/library/alpine:3.20"}},
		{config.FrontendImage, []string{"docker.io/docker/dockerfile:1", "docker.io/library/alpine:3.20"}},
	} {
		t.Run(tt.frontend, func(t *testing.T) {
			p, d, notices := stackProject(t, content, tt.frontend, true, func() (string, error) { return "v0.34.2", nil })
			target := &config.Target{Name: "server"}
			solve(t, p, d, target)
			solve(t, p, d, target)
			if len(d.resolved) != 1 || !slices.Equal(d.resolved[0], tt.want) {
				t.Errorf("resolved %q, want once %q", d.resolved, tt.want)
			}
			for i, req := range d.reqs {
				if got := slices.Sorted(maps.Keys(req.Pins)); !slices.Equal(got, tt.want) {
					t.Errorf("solve %d pinned %q, want %q", i+1, got, tt.want)
				}
			}
			if n := strings.Count(notices.String(), "[devloop] pinned "); n != len(tt.want) {
				t.Errorf("pin notices: %d, want %d:\n%s", n, len(tt.want), notices.String())
			}
		})
	}
}

// Pins follow each target's stage chain and build args (issue 16 §7): a stage no
// target needs is not resolved, an ARG-templated FROM is pinned as the build expands
// it, and an image that cannot be pinned leaves the others pinned and is said once,
// in one human line, however many builds and targets there are.
func TestPinsPerTarget(t *testing.T) {
	const content = `ARG GO=1.26
ARG RUNTIME
FROM golang:${GO}-alpine AS build
FROM scratch AS server
COPY --from=build /out/server /
FROM ${RUNTIME} AS image
COPY --from=build /out/server /
FROM debian:12 AS unused
`
	p, d, notices := stackProject(t, content, config.FrontendAuto, true, func() (string, error) { return "v0.34.2", nil })
	d.unresolvable = map[string]error{"registry.example.com/runtime:1": errors.New("pull access denied\nmore detail")}
	server := &config.Target{Name: "server", Stage: "server", BuildArgs: map[string]string{"GO": "1.25"}}
	image := &config.Target{Name: "image", Stage: "image", BuildArgs: map[string]string{"RUNTIME": "registry.example.com/runtime:1"}}
	for range 3 { // three builds of both targets
		for _, tg := range []*config.Target{server, image} {
			_, _ = p.solver.Solve(context.Background(), rebuild.Request{Target: tg.Name, Stage: tg.Stage, Dockerfile: p.cfg.Dockerfile, BuildArgs: tg.BuildArgs}, nil)
		}
	}
	// image's chain runs the build stage with GO's default.
	want := [][]string{{"docker.io/library/golang:1.25-alpine"}, {"docker.io/library/golang:1.26-alpine", "registry.example.com/runtime:1"}}
	if !slices.EqualFunc(d.resolved, want, slices.Equal[[]string]) {
		t.Errorf("resolved %q, want %q (no debian; golang as each target's build args make it)", d.resolved, want)
	}
	for i, req := range d.reqs {
		if got := slices.Sorted(maps.Keys(req.Pins)); i >= 2 && !slices.Equal(got, []string{"docker.io/library/golang:1.25-alpine", "docker.io/library/golang:1.26-alpine"}) {
			t.Errorf("solve %d (%s) pinned %q, want both golang images", i+1, req.Target, got)
		}
	}
	const failLine = "[devloop] cannot pin registry.example.com/runtime:1 for this session (pull access denied): builds resolve it from the registry\n"
	if n := strings.Count(notices.String(), failLine); n != 1 {
		t.Errorf("%q said %d times, want once:\n%s", failLine, n, notices.String())
	}
	if strings.Contains(notices.String(), "more detail") {
		t.Errorf("notices hold more than the first line of the error:\n%s", notices.String())
	}
}

// On a daemon older than BuildKit v0.11 (no Info call; Docker Engine 20.10), which
// drops source policies: devloop says once that base images are resolved on every
// build and once that the frontend image runs, pins nothing, says nothing about
// pinning, and asks the daemon to resolve only once.
func TestOldDaemonNotices(t *testing.T) {
	noInfo := func() (string, error) { return "", rebuild.ErrNoInfo }
	p, d, notices := stackProject(t, "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n", config.FrontendAuto, true, noInfo)
	d.rerr = rebuild.PinSupport("docker://unix:///var/run/docker.sock", "", rebuild.ErrNoInfo)
	target := &config.Target{Name: "server"}
	for range 3 {
		if syntax, builtin := solve(t, p, d, target); syntax != "docker/dockerfile:1" || builtin {
			t.Errorf("frontend = (%q, %v), want the image", syntax, builtin)
		}
	}
	for i, req := range d.reqs {
		if len(req.Pins) != 0 {
			t.Errorf("solve %d got pins %v from a daemon that ignores them", i+1, req.Pins)
		}
	}
	if len(d.resolved) != 1 {
		t.Errorf("resolve asked %d times, want once: the daemon's answer holds", len(d.resolved))
	}
	out := notices.String()
	for _, tt := range []struct {
		line string
		want int
	}{
		{"[devloop] base images are resolved from the registry on every build on this builder (docker://unix:///var/run/docker.sock): BuildKit older than v0.11", 1},
		{"[devloop] # syntax=docker/dockerfile:1: running the frontend image on every build: this builder's built-in Dockerfile frontend cannot stand in for it: BuildKit older than v0.11", 1},
		{"[devloop] pinned ", 0},
		{"using the daemon's built-in Dockerfile frontend", 0},
	} {
		if n := strings.Count(out, tt.line); n != tt.want {
			t.Errorf("%q said %d times, want %d:\n%s", tt.line, n, tt.want, out)
		}
	}
}

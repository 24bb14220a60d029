package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
	"go.uber.org/zap"
)

// frontendProject is a project with just what frontend() needs: the Dockerfile, the
// builder.frontend setting, a fake daemon version and the notices.
func frontendProject(t *testing.T, dockerfile, frontend string, version func() (string, error)) (*project, *bytes.Buffer, *int) {
	t.Helper()
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	var notices bytes.Buffer
	calls := 0
	p := &project{
		cfg:     &config.Config{Dockerfile: df, Builder: config.Builder{Frontend: frontend}},
		log:     zap.NewNop(),
		notices: &notices,
		versionOf: func(context.Context) (string, error) {
			calls++
			return version()
		},
	}
	return p, &notices, &calls
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
			p, _, _ := frontendProject(t, tt.dockerfile, tt.frontend, tt.version)
			syntax, builtin := p.frontend(context.Background(), &config.Target{Name: "server", BuildArgs: tt.args})
			if syntax != tt.wantSyntax || builtin != tt.wantBuiltin {
				t.Errorf("frontend() = (%q, %v), want (%q, %v)", syntax, builtin, tt.wantSyntax, tt.wantBuiltin)
			}
		})
	}
}

// The version is asked once and kept, not kept after a failure, and forgotten when
// the daemon is lost; the notice is printed once per syntax.
func TestFrontendVersionAndNotice(t *testing.T) {
	fail := true
	p, notices, calls := frontendProject(t, "# syntax=docker/dockerfile:1\nFROM scratch\n", config.FrontendAuto, func() (string, error) {
		if fail {
			return "", errors.New("connection refused")
		}
		return "v0.34.2", nil
	})
	target := &config.Target{Name: "server"}
	build := func() bool {
		_, builtin := p.frontend(context.Background(), target)
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
		{"daemon lost: asked again", func() { p.forgetBuilder() }, true, 3},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		if got := build(); got != st.wantBuiltin {
			t.Errorf("%s: built-in = %v, want %v", st.what, got, st.wantBuiltin)
		}
		if *calls != st.wantCalls {
			t.Errorf("%s: version asked %d times, want %d", st.what, *calls, st.wantCalls)
		}
	}
	if n := strings.Count(notices.String(), "using the daemon's built-in Dockerfile frontend (BuildKit v0.34.2)"); n != 1 {
		t.Errorf("notice printed %d times, want once:\n%s", n, notices.String())
	}
}

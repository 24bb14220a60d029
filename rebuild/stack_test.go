package rebuild

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// recordSolver is the bottom of a test stack: it records the requests it gets.
type recordSolver struct {
	reqs []Request
	err  error
}

func (r *recordSolver) Solve(_ context.Context, req Request, _ *Printer) (Stats, error) {
	r.reqs = append(r.reqs, req)
	return Stats{}, r.err
}

type mapResolver Pins

func (m mapResolver) Resolve(_ context.Context, refs []string) (Pins, error) {
	pins := Pins{}
	for _, r := range refs {
		pins[r] = m[r]
	}
	return pins, nil
}

// WithPins gives each request the pins of the images it names, and the pins known
// when the images cannot be told (an unreadable Dockerfile).
func TestWithPins(t *testing.T) {
	const alpine, golang = "docker.io/library/alpine:3.20", "docker.io/library/golang:1.26"
	pinner, err := NewPinner(PinnerOptions{Resolver: mapResolver{alpine: "sha256:aa", golang: "sha256:bb"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pinner.Close()
	images := map[string][]string{"a": {alpine}, "b": {alpine, golang}}
	bottom := &recordSolver{}
	s := WithPins(bottom, pinner, func(req Request) ([]string, error) {
		refs, ok := images[req.Target]
		if !ok {
			return nil, errors.New("read Dockerfile: no such file")
		}
		return refs, nil
	})
	for _, target := range []string{"a", "unreadable", "b"} {
		if _, err := s.Solve(context.Background(), Request{Target: target}, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []int{1, 1, 2} // the unreadable one gets what "a" pinned
	for i, req := range bottom.reqs {
		if len(req.Pins) != want[i] {
			t.Errorf("solve of %s: %d pins %v, want %d", req.Target, len(req.Pins), req.Pins, want[i])
		}
	}
}

// WithBuiltinFrontend says it stands in once per syntax (again after another one),
// leaves requests whose Dockerfile names no image alone, and passes errors through.
func TestWithBuiltinFrontendUsing(t *testing.T) {
	var using []string
	bottom := &recordSolver{}
	s := WithBuiltinFrontend(bottom, FrontendOptions{
		Syntax:        func(req Request) string { return req.Stage }, // the test's syntax goes in Stage
		DaemonVersion: func(context.Context) (string, error) { return "v0.34.2", nil },
		Using:         func(syntax, version string) { using = append(using, fmt.Sprintf("%s@%s", syntax, version)) },
	})
	for _, syntax := range []string{"docker/dockerfile:1", "docker/dockerfile:1", "", "docker/dockerfile", "docker/dockerfile:1"} {
		if _, err := s.Solve(context.Background(), Request{Stage: syntax}, nil); err != nil {
			t.Fatal(err)
		}
	}
	wantUsing := []string{"docker/dockerfile:1@v0.34.2", "docker/dockerfile@v0.34.2", "docker/dockerfile:1@v0.34.2"}
	if fmt.Sprint(using) != fmt.Sprint(wantUsing) {
		t.Errorf("Using calls = %q, want %q", using, wantUsing)
	}
	for i, want := range []bool{true, true, false, true, true} {
		if got := bottom.reqs[i].BuiltinFrontend; got != want {
			t.Errorf("solve %d (%q): BuiltinFrontend = %v, want %v", i+1, bottom.reqs[i].Stage, got, want)
		}
	}
	bottom.err = &BuildError{Target: "x", Err: errors.New("exit code 1")}
	var be *BuildError
	if _, err := s.Solve(context.Background(), Request{}, nil); !errors.As(err, &be) {
		t.Errorf("Solve error = %v, want the *BuildError from below", err)
	}
}

// WithBuiltinFrontend on a daemon whose built-in frontend is too old (or that has no
// Info call, so too old to tell): the image runs, TooOld says why once per syntax,
// Using is never called, a syntax that is a deliberate choice is not remarked on, and
// the daemon's answer is asked once.
func TestWithBuiltinFrontendTooOld(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version string
		err     error
		want    string // in TooOld's why; "" for no call
	}{
		{"no Info call (Docker Engine 20.10)", "", fmt.Errorf("query: %w", ErrNoInfo), "BuildKit older than v0.11 (the daemon has no Info call); it can from BuildKit v0.20"},
		{"BuildKit v0.19", "v0.19.4", nil, "BuildKit v0.19.4; it can from BuildKit v0.20"},
		{"a development build", "v0.0.0+unknown", nil, ""},
		{"no answer", "", errors.New("connection reset"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tooOld []string
			asked := 0
			bottom := &recordSolver{}
			s := WithBuiltinFrontend(bottom, FrontendOptions{
				Syntax:        func(req Request) string { return req.Stage },
				DaemonVersion: func(context.Context) (string, error) { asked++; return tt.version, tt.err },
				Using:         func(syntax, version string) { t.Errorf("Using(%q, %q) on a daemon too old for it", syntax, version) },
				TooOld:        func(syntax, why string) { tooOld = append(tooOld, syntax+": "+why) },
			})
			for _, syntax := range []string{"docker/dockerfile:1", "docker/dockerfile:1", "docker/dockerfile:1.7", "docker/dockerfile:1"} {
				if _, err := s.Solve(context.Background(), Request{Stage: syntax}, nil); err != nil {
					t.Fatal(err)
				}
			}
			for i, req := range bottom.reqs {
				if req.BuiltinFrontend {
					t.Errorf("solve %d: BuiltinFrontend = true on a daemon too old for it", i+1)
				}
			}
			var want []string
			if tt.want != "" {
				want = []string{"docker/dockerfile:1: " + tt.want}
			}
			if fmt.Sprint(tooOld) != fmt.Sprint(want) {
				t.Errorf("TooOld calls = %q, want %q", tooOld, want)
			}
			if wantAsked := map[bool]int{true: 1, false: 3}[tt.want != "" || tt.version != ""]; asked != wantAsked {
				t.Errorf("the daemon was asked its version %d times, want %d", asked, wantAsked)
			}
		})
	}
}

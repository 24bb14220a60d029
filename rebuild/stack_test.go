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

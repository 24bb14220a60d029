package rebuild

import (
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestPinsPolicy(t *testing.T) {
	if p := (Pins{}).policy(); p != nil {
		t.Errorf("empty pins policy = %v, want nil", p)
	}
	d := "sha256:c3e44ffed7af1ace6788d487f10adcf027658ddb9e2dc910c92d2ce92da35ba2"
	pol := Pins{"docker.io/library/golang:1.26-alpine": digestOf(d)}.policy()
	if len(pol.Rules) != 1 {
		t.Fatalf("rules = %v, want 1", pol.Rules)
	}
	r := pol.Rules[0]
	if got, want := r.Selector.Identifier, "docker-image://docker.io/library/golang:1.26-alpine"; got != want {
		t.Errorf("selector = %s, want %s", got, want)
	}
	if got, want := r.Updates.Identifier, "docker-image://docker.io/library/golang:1.26-alpine@"+d; got != want {
		t.Errorf("update = %s, want %s", got, want)
	}
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }

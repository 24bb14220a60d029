package rebuild

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/opencontainers/go-digest"
)

// blockedResolver resolves every ref to a fixed digest once release is closed, or
// fails with err; it records every call.
type blockedResolver struct {
	release chan struct{}
	err     error
	calls   atomic.Int32
	mu      sync.Mutex
	asked   [][]string
}

const testDigest = digest.Digest("sha256:c3e44ffed7af1ace6788d487f10adcf027658ddb9e2dc910c92d2ce92da35ba2")

func (r *blockedResolver) Resolve(ctx context.Context, refs []string) (Pins, error) {
	r.calls.Add(1)
	r.mu.Lock()
	r.asked = append(r.asked, slices.Clone(refs))
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	pins := Pins{}
	for _, ref := range refs {
		pins[ref] = testDigest
	}
	return pins, nil
}

// A build superseded while the pins it waits for are being resolved returns at once
// (no virtual time passes), without cancelling the resolution: the next build gets
// the pins from the same, single resolution.
func TestPinnerCancelledWaiterReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &blockedResolver{release: make(chan struct{})}
		var pinned []string
		p, err := NewPinner(PinnerOptions{Resolver: r, Pinned: func(refs []string, _ Pins) { pinned = append(pinned, refs...) }})
		if err != nil {
			t.Fatal(err)
		}
		refs := []string{"docker.io/library/alpine:3.20", "docker.io/library/golang:1.26-alpine"}

		ctx, supersede := context.WithCancel(t.Context())
		var got Pins
		var returnedAfter time.Duration
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			got = p.Pins(ctx, refs)
			returnedAfter = time.Since(start)
		}()
		synctest.Wait() // the build waits for the resolution
		select {
		case <-done:
			t.Fatal("Pins returned before the resolution ended or the build was cancelled")
		default:
		}
		supersede()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("a cancelled build still waits for the pin resolution")
		}
		if returnedAfter != 0 || len(got) != 0 {
			t.Errorf("cancelled waiter: returned after %v with %v, want at once with no pins", returnedAfter, got)
		}

		// The next build waits for the same resolution, which was not cancelled.
		next := make(chan Pins)
		go func() { next <- p.Pins(t.Context(), refs) }()
		synctest.Wait()
		close(r.release)
		pins := <-next
		if len(pins) != 2 || pins[refs[0]] != testDigest || pins[refs[1]] != testDigest {
			t.Errorf("pins = %v, want both refs pinned", pins)
		}
		if n := r.calls.Load(); n != 1 {
			t.Errorf("resolver called %d times, want 1 (shared by the waiters)", n)
		}
		if !slices.Equal(pinned, refs) {
			t.Errorf("Pinned reported %v, want %v once", pinned, refs)
		}
		// Pinned refs are never resolved again.
		if again := p.Pins(t.Context(), refs[:1]); again[refs[0]] != testDigest || r.calls.Load() != 1 {
			t.Errorf("pinned ref: Pins = %v after %d resolutions, want the pin and no new resolution", again, r.calls.Load())
		}
		p.Close()
	})
}

// A resolution that fails as a whole (the daemon could not be asked) is said once
// per image, the build goes on without the pins, and the next build tries again.
func TestPinnerFailureRetriedByNextBuild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &blockedResolver{release: make(chan struct{}), err: errors.New("registry down")}
		close(r.release)
		var failures []string
		p, _ := NewPinner(PinnerOptions{Resolver: r, Failed: func(ref string, err error, retried bool) {
			failures = append(failures, fmt.Sprintf("%s: %v (retried %v)", ref, err, retried))
		}})
		refs := []string{"docker.io/library/alpine:3.20"}
		if got := p.Pins(t.Context(), refs); len(got) != 0 {
			t.Errorf("Pins after a failed resolution = %v, want none", got)
		}
		if got := p.Pins(t.Context(), refs); len(got) != 0 {
			t.Errorf("Pins after a second failed resolution = %v, want none", got)
		}
		if n := r.calls.Load(); n != 2 {
			t.Errorf("resolver called %d times, want 2 (each build tries again)", n)
		}
		if want := []string{"docker.io/library/alpine:3.20: registry down (retried true)"}; !slices.Equal(failures, want) {
			t.Errorf("Failed heard %q, want once %q", failures, want)
		}
		p.Close()
	})
}

// partialResolver resolves every ref but those in fail, which it reports in a
// *ResolveError; it records every call.
type partialResolver struct {
	fail  map[string]error
	mu    sync.Mutex
	asked [][]string
}

func (r *partialResolver) Resolve(_ context.Context, refs []string) (Pins, error) {
	r.mu.Lock()
	r.asked = append(r.asked, slices.Clone(refs))
	r.mu.Unlock()
	pins, failed := Pins{}, map[string]error{}
	for _, ref := range refs {
		if err, ok := r.fail[ref]; ok {
			failed[ref] = err
			continue
		}
		pins[ref] = testDigest
	}
	if len(failed) > 0 {
		return pins, &ResolveError{Failed: failed}
	}
	return pins, nil
}

// One image that cannot be resolved (issue 16 §7: a private registry disabled
// pinning entirely, and a WARN repeated on every build, once per target) leaves the
// others pinned, is said once, and is not asked for again by later builds.
func TestPinnerOneImageFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		private, public := "registry.example.com/base:1", "docker.io/library/alpine:3.20"
		r := &partialResolver{fail: map[string]error{private: errors.New("pull access denied")}}
		var failures []string
		var pinned []string
		p, _ := NewPinner(PinnerOptions{
			Resolver: r,
			Pinned:   func(refs []string, _ Pins) { pinned = append(pinned, refs...) },
			Failed: func(ref string, err error, retried bool) {
				failures = append(failures, fmt.Sprintf("%s: %v (retried %v)", ref, err, retried))
			},
		})
		refs := []string{private, public}
		for build := 1; build <= 3; build++ { // three builds of two targets
			for range 2 {
				if got := p.Pins(t.Context(), refs); len(got) != 1 || got[public] != testDigest {
					t.Errorf("build %d: Pins = %v, want %s pinned", build, got, public)
				}
			}
		}
		if want := []string{private + ": pull access denied (retried false)"}; !slices.Equal(failures, want) {
			t.Errorf("Failed heard %q, want once %q", failures, want)
		}
		if !slices.Equal(pinned, []string{public}) {
			t.Errorf("Pinned heard %q, want once %s", pinned, public)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.asked) != 1 {
			t.Errorf("resolutions: %q, want one", r.asked)
		}
		p.Close()
	})
}

// A daemon that would not apply pins (BuildKit v0.8 drops source policies): the first
// resolution says so, Ignored is called once (never Failed, never Pinned), and later
// builds, with other images too, get no pins without asking again.
func TestPinnerDaemonIgnoresPins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &blockedResolver{release: make(chan struct{}), err: PinSupport("docker://", "", ErrNoInfo)}
		close(r.release)
		var ignored, failed, pinned int
		p, _ := NewPinner(PinnerOptions{
			Resolver: r,
			Ignored:  func(error) { ignored++ },
			Failed:   func(string, error, bool) { failed++ },
			Pinned:   func([]string, Pins) { pinned++ },
		})
		for _, refs := range [][]string{{"docker.io/library/alpine:3.20"}, {"docker.io/library/alpine:3.20"}, {"docker.io/library/golang:1.26"}} {
			if got := p.Pins(t.Context(), refs); len(got) != 0 {
				t.Errorf("Pins(%v) = %v, want none", refs, got)
			}
		}
		if n := r.calls.Load(); n != 1 {
			t.Errorf("resolver called %d times, want once: the daemon's answer holds for the session", n)
		}
		if ignored != 1 || failed != 0 || pinned != 0 {
			t.Errorf("Ignored, Failed, Pinned called %d, %d, %d times, want 1, 0, 0", ignored, failed, pinned)
		}
		p.Close()
	})
}

// Builds needing different images: one waits for the other's resolution, then
// resolves only what is still missing.
func TestPinnerWaitsThenResolvesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &blockedResolver{release: make(chan struct{})}
		p, _ := NewPinner(PinnerOptions{Resolver: r})
		a, b := "docker.io/library/alpine:3.20", "docker.io/library/golang:1.26-alpine"
		first := make(chan Pins)
		go func() { first <- p.Pins(t.Context(), []string{a}) }()
		synctest.Wait()
		second := make(chan Pins)
		go func() { second <- p.Pins(t.Context(), []string{a, b}) }()
		synctest.Wait()
		close(r.release)
		if got := <-first; got[a] != testDigest {
			t.Errorf("first build's pins = %v, want %s pinned", got, a)
		}
		if got := <-second; got[a] != testDigest || got[b] != testDigest {
			t.Errorf("second build's pins = %v, want both pinned", got)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if want := [][]string{{a}, {b}}; !slices.EqualFunc(r.asked, want, slices.Equal[[]string]) {
			t.Errorf("resolutions asked for %v, want %v", r.asked, want)
		}
		p.Close()
	})
}

// Close ends a resolution in flight without reporting a failure, and later builds
// get the pins known at once.
func TestPinnerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &blockedResolver{release: make(chan struct{})}
		failed := false
		p, _ := NewPinner(PinnerOptions{Resolver: r, Failed: func(string, error, bool) { failed = true }})
		ref := []string{"docker.io/library/alpine:3.20"}
		done := make(chan Pins)
		go func() { done <- p.Pins(t.Context(), ref) }()
		synctest.Wait()
		p.Close()
		if got := <-done; len(got) != 0 {
			t.Errorf("Pins of a build waiting during Close = %v, want none", got)
		}
		if got := p.Pins(t.Context(), ref); len(got) != 0 || r.calls.Load() != 1 {
			t.Errorf("Pins after Close = %v after %d resolutions, want none and no new resolution", got, r.calls.Load())
		}
		if failed {
			t.Error("a resolution stopped by Close was reported as failed")
		}
	})
}

package rebuild

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// Pins maps image references as the Dockerfile frontend names them
// ("docker.io/library/golang:1.26-alpine") to the digest they resolved to.
type Pins map[string]digest.Digest

// normalizeRef names an image as BuildKit's Dockerfile frontend does; references that
// already carry a digest need no pin.
func normalizeRef(s string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", false
	}
	if _, ok := named.(reference.Digested); ok {
		return "", false
	}
	return reference.TagNameOnly(named).String(), true
}

// Resolve asks the daemon (and through it the registry) for the current digest of
// every ref, concurrently, in one gateway session.
//
// Pins are of no use on a daemon that would not apply them: what it answers decides
// ([PinSupport] on its version, then the LLB capability "source.policy" its gateway
// lists), and such a daemon gets an error wrapping [ErrPinsIgnored] before anything is
// resolved.
func (c *Client) Resolve(ctx context.Context, refs []string) (Pins, error) {
	pins := Pins{}
	if len(refs) == 0 {
		return pins, nil
	}
	version, verr := c.DaemonVersion(ctx)
	if err := PinSupport(c.addr, version, verr); err != nil {
		return nil, err
	}
	dgsts := make([]digest.Digest, len(refs))
	noPolicy := false
	_, err := c.bk.Build(ctx, client.SolveOpt{}, "devloop", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		if caps := gw.BuildOpts().LLBCaps; caps.Supports(pb.CapSourcePolicy) != nil {
			noPolicy = true // a clean return: a failed build function costs seconds
			return gateway.NewResult(), nil
		}
		g, gctx := errgroup.WithContext(ctx)
		for i, ref := range refs {
			g.Go(func() error {
				_, dgst, _, err := gw.ResolveImageConfig(gctx, ref, sourceresolver.Opt{
					LogName:  "[devloop] pinning " + ref,
					ImageOpt: &sourceresolver.ResolveImageOpt{ResolveMode: "default"},
				})
				if err != nil {
					return fmt.Errorf("resolve %s: %w", ref, err)
				}
				dgsts[i] = dgst
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return gateway.NewResult(), nil
	}, nil)
	if noPolicy {
		return nil, &PinsIgnoredError{Address: c.addr,
			Reason: fmt.Sprintf("its gateway does not list the LLB capability %s", pb.CapSourcePolicy)}
	}
	if err != nil {
		return nil, fmt.Errorf("pin base images at %s: %w", c.addr, simplifyDialError(err))
	}
	for i, ref := range refs {
		pins[ref] = dgsts[i]
	}
	return pins, nil
}

// Resolver resolves image references to the digests they name now; [*Client] is one.
type Resolver interface {
	Resolve(ctx context.Context, refs []string) (Pins, error)
}

// PinnerOptions configures [NewPinner].
type PinnerOptions struct {
	// Resolver asks the registry. Required.
	Resolver Resolver
	// Pinned, if set, is called once per resolution that succeeded, with the refs it
	// pinned (sorted) and every pin known after it.
	Pinned func(refs []string, pins Pins)
	// Failed, if set, is called when a resolution fails (not when it is stopped by
	// [Pinner.Close]); the refs stay unpinned and the next call to [Pinner.Pins]
	// tries again.
	Failed func(refs []string, err error)
	// Ignored, if set, is called instead of Failed when the resolver says that the
	// daemon would not apply pins (an error wrapping [ErrPinsIgnored]): the Pinner
	// resolves nothing more for the session, so it is called at most once.
	Ignored func(err error)
}

// Pinner keeps the digests of a session's images and resolves the missing ones.
//
// Resolution runs in the background, one at a time, and is shared by every build
// that needs it: a build that waits for it and is cancelled (superseded by newer
// changes) returns at once without cancelling it, so the next build finds the pins
// resolved instead of starting over. A cancelled BuildKit gateway session takes up
// to 5 s to return (client.Build waits that long for the solve to end after its
// build function failed), which is why no build waits for one under its own ctx.
//
// A Pinner is safe for concurrent use. [Pinner.Close] stops a resolution in flight.
type Pinner struct {
	opts PinnerOptions
	wg   sync.WaitGroup // the resolution in flight

	mu      sync.Mutex
	pins    Pins    // never modified: replaced by a new map when refs are pinned
	flight  *flight // the resolution in flight, nil when none
	closed  bool
	ignored bool // the daemon would not apply pins: resolve nothing
}

// flight is one background resolution. refs and cancel are set before it starts,
// err before done is closed.
type flight struct {
	refs   []string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// NewPinner returns a Pinner that knows no pins yet.
func NewPinner(opts PinnerOptions) (*Pinner, error) {
	if opts.Resolver == nil {
		return nil, fmt.Errorf("new pinner: no resolver")
	}
	return &Pinner{opts: opts, pins: Pins{}}, nil
}

// Known returns the pins resolved so far. The map must not be modified.
func (p *Pinner) Known() Pins {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pins
}

// Pins returns the pins known for refs once every ref is pinned, resolving the
// missing ones (see [Pinner]). It returns early, with the pins known so far, when
// ctx ends, when the resolution that covered the missing refs failed, after Close,
// and at once (with none) when the daemon would not apply pins; a solve given fewer
// pins resolves the other images itself. The map must not be modified.
func (p *Pinner) Pins(ctx context.Context, refs []string) Pins {
	for {
		p.mu.Lock()
		missing := p.missing(refs)
		if len(missing) == 0 || p.closed || p.ignored {
			pins := p.pins
			p.mu.Unlock()
			return pins
		}
		f := p.flight
		if f == nil {
			f = p.start(ctx, missing)
		}
		p.mu.Unlock()

		select {
		case <-f.done:
			if f.err != nil && covers(f.refs, missing) {
				return p.Known() // failed for this caller's refs: do not ask again
			}
			// Resolved, or another caller's resolution of other refs: look again.
		case <-ctx.Done():
			return p.Known()
		}
	}
}

// missing returns the refs not pinned yet; p.mu is held.
func (p *Pinner) missing(refs []string) []string {
	var out []string
	for _, r := range refs {
		if _, ok := p.pins[r]; !ok {
			out = append(out, r)
		}
	}
	return out
}

// start resolves refs in the background under a context that keeps ctx's values but
// not its cancellation: only Close stops it. p.mu is held.
func (p *Pinner) start(ctx context.Context, refs []string) *flight {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{refs: refs, cancel: cancel, done: make(chan struct{})}
	p.flight = f
	p.wg.Go(func() {
		defer cancel()
		got, err := p.opts.Resolver.Resolve(rctx, refs)
		p.mu.Lock()
		p.flight = nil
		stopped := p.closed
		var pinned []string
		if err == nil {
			next := maps.Clone(p.pins)
			for _, r := range refs {
				if d, ok := got[r]; ok && d != "" {
					next[r] = d
					pinned = append(pinned, r)
				}
			}
			p.pins = next
			if len(pinned) < len(refs) {
				err = fmt.Errorf("pin base images: the resolver returned no digest for some of %s", strings.Join(refs, ", "))
			}
		}
		ignored := errors.Is(err, ErrPinsIgnored)
		p.ignored = p.ignored || ignored
		pins := p.pins
		f.err = err
		p.mu.Unlock()
		// Report before waking the waiters: what was pinned is said before the
		// build that waited for it goes on.
		if len(pinned) > 0 && p.opts.Pinned != nil {
			slices.Sort(pinned)
			p.opts.Pinned(pinned, pins)
		}
		switch {
		case err == nil || stopped:
		case ignored:
			if p.opts.Ignored != nil {
				p.opts.Ignored(err)
			}
		case p.opts.Failed != nil:
			p.opts.Failed(refs, err)
		}
		close(f.done)
	})
	return f
}

// Close stops a resolution in flight and waits until it has returned; later calls to
// Pins return the pins known. A resolution stopped through a BuildKit gateway session
// can take seconds to return: close the [Client] first, which ends it at once.
func (p *Pinner) Close() {
	p.mu.Lock()
	p.closed = true
	if p.flight != nil {
		p.flight.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// covers reports whether every ref of want is in have.
func covers(have, want []string) bool {
	return !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(have, w) })
}

// policy turns pins into a BuildKit source policy that rewrites every pinned image to
// its digest, so a rebuild makes no registry round trip for it.
func (p Pins) policy() *spb.Policy {
	if len(p) == 0 {
		return nil
	}
	pol := &spb.Policy{Version: 1}
	for _, r := range slices.Sorted(maps.Keys(p)) {
		pol.Rules = append(pol.Rules, &spb.Rule{
			Action:   spb.PolicyAction_CONVERT,
			Selector: &spb.Selector{Identifier: "docker-image://" + r, MatchType: spb.MatchType_EXACT},
			Updates:  &spb.Update{Identifier: "docker-image://" + r + "@" + p[r].String()},
		})
	}
	return pol
}

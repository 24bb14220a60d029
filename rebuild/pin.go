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
// every ref, concurrently, in one gateway session. Each ref is resolved on its own:
// the pins returned hold those that resolved, and when some did not (an image that
// does not exist, a registry that refuses access or cannot be reached from the
// daemon) the error is a [*ResolveError] naming them. Any other error (the session
// itself failed) means nothing was resolved.
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
	errs := make([]error, len(refs))
	noPolicy := false
	_, err := c.bk.Build(ctx, client.SolveOpt{}, "devloop", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		if caps := gw.BuildOpts().LLBCaps; caps.Supports(pb.CapSourcePolicy) != nil {
			noPolicy = true // a clean return: a failed build function costs seconds
			return gateway.NewResult(), nil
		}
		var wg sync.WaitGroup
		for i, ref := range refs {
			wg.Go(func() {
				_, dgsts[i], _, errs[i] = gw.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
					LogName:  "[devloop] pinning " + ref,
					ImageOpt: &sourceresolver.ResolveImageOpt{ResolveMode: "default"},
				})
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
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
	failed := map[string]error{}
	for i, ref := range refs {
		if errs[i] != nil {
			failed[ref] = errs[i]
			continue
		}
		pins[ref] = dgsts[i]
	}
	if len(failed) > 0 {
		return pins, &ResolveError{Failed: failed}
	}
	return pins, nil
}

// ResolveError is [Client.Resolve]'s error when some images could not be resolved.
type ResolveError struct {
	Failed map[string]error // ref → why
}

func (e *ResolveError) Error() string {
	var parts []string
	for _, ref := range slices.Sorted(maps.Keys(e.Failed)) {
		parts = append(parts, fmt.Sprintf("resolve %s: %v", ref, e.Failed[ref]))
	}
	return strings.Join(parts, "; ")
}

// Resolver resolves image references to the digests they name now; [*Client] is one.
// It returns the pins of the refs it resolved; a [*ResolveError] names refs that
// cannot be resolved, any other error means it resolved nothing this time.
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
	// Failed, if set, is called once per ref and session when the ref cannot be
	// pinned, with why (not when a resolution is stopped by [Pinner.Close]). An
	// image the resolver could not resolve ([*ResolveError]: it does not exist, the
	// registry refuses or cannot be reached from the daemon) is not asked for again
	// this session, and retried is false; when the whole resolution failed (the
	// daemon could not be asked), the next call to [Pinner.Pins] tries again and
	// retried is true. Builds resolve an unpinned image themselves.
	Failed func(ref string, err error, retried bool)
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
// Each image is pinned on its own: one that cannot be resolved (a private registry,
// an air-gapped mirror) leaves the others pinned.
//
// A Pinner is safe for concurrent use. [Pinner.Close] stops a resolution in flight.
type Pinner struct {
	opts PinnerOptions
	wg   sync.WaitGroup // the resolution in flight

	mu       sync.Mutex
	pins     Pins             // never modified: replaced by a new map when refs are pinned
	unusable map[string]error // refs the resolver could not resolve: not asked again
	said     map[string]bool  // refs Failed was called for
	flight   *flight          // the resolution in flight, nil when none
	closed   bool
	ignored  bool // the daemon would not apply pins: resolve nothing
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
	return &Pinner{opts: opts, pins: Pins{}, unusable: map[string]error{}, said: map[string]bool{}}, nil
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

// missing returns the refs not pinned yet that may still be; p.mu is held.
func (p *Pinner) missing(refs []string) []string {
	var out []string
	for _, r := range refs {
		_, pinned := p.pins[r]
		if _, unusable := p.unusable[r]; !pinned && !unusable {
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
		var re *ResolveError
		perRef := errors.As(err, &re)
		ignored := errors.Is(err, ErrPinsIgnored)
		p.mu.Lock()
		p.flight = nil
		p.ignored = p.ignored || ignored
		stopped := p.closed
		var pinned []string
		type failure struct {
			ref     string
			err     error
			retried bool
		}
		var failures []failure
		next := maps.Clone(p.pins)
		for _, r := range refs {
			switch d, ok := got[r]; {
			case ok && d != "":
				next[r] = d
				pinned = append(pinned, r)
			case perRef && re.Failed[r] != nil:
				p.unusable[r] = re.Failed[r]
				failures = append(failures, failure{r, re.Failed[r], false})
			case err == nil || perRef:
				p.unusable[r] = errNoDigest
				failures = append(failures, failure{r, errNoDigest, false})
			case ignored: // said once below, not per ref
			default: // the resolution itself failed: the next build asks again
				failures = append(failures, failure{r, err, true})
			}
		}
		p.pins = next
		if perRef {
			err = nil // said per ref; the waiters look at what is missing
		}
		failures = slices.DeleteFunc(failures, func(f failure) bool {
			seen := p.said[f.ref]
			p.said[f.ref] = true
			return seen || stopped
		})
		pins := p.pins
		f.err = err
		p.mu.Unlock()
		// Report before waking the waiters: what was pinned is said before the
		// build that waited for it goes on.
		if len(pinned) > 0 && p.opts.Pinned != nil {
			slices.Sort(pinned)
			p.opts.Pinned(pinned, pins)
		}
		if ignored && !stopped && p.opts.Ignored != nil {
			p.opts.Ignored(err)
		}
		if p.opts.Failed != nil {
			for _, fl := range failures {
				p.opts.Failed(fl.ref, fl.err, fl.retried)
			}
		}
		close(f.done)
	})
	return f
}

// errNoDigest is why a ref the resolver returned without a digest is not pinned.
var errNoDigest = errors.New("the resolver returned no digest")

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

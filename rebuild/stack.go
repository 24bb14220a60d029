package rebuild

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"
)

// Solver solves one Dockerfile target and exports the result into req.Dest, with
// progress to p (see [Client.Solve]). [*Client] is one; [WithPins] and
// [WithBuiltinFrontend] wrap one and set fields of the request on the way, the way
// ko stacks builders:
//
//	WithBuiltinFrontend(WithPins(client, pinner, images), frontendOptions)
//
// The frontend choice goes outside the pins: which images a solve pulls depends on
// whether the frontend image runs.
type Solver interface {
	Solve(ctx context.Context, req Request, p *Printer) (Stats, error)
}

// WithPins returns a Solver that gives every request the digests of the images its
// solve pulls ([Request.Pins]): images names them for the request (the images of the
// stages its target needs and, unless req.BuiltinFrontend, its frontend image; an
// image that cannot be resolved is left to the solve), pinner resolves the ones not
// pinned yet, once for the session ([Pinner.Pins]: the first solve asks the registry,
// later ones reuse the digest, so they make no registry round trip and keep working
// while the registry is down). When images fails (an unreadable Dockerfile) the
// request gets the pins known, and the solve reports the Dockerfile's error. The
// caller owns pinner and closes it after the [Client].
func WithPins(next Solver, pinner *Pinner, images func(Request) ([]string, error)) Solver {
	return &pinning{next: next, pinner: pinner, images: images}
}

type pinning struct {
	next   Solver
	pinner *Pinner
	images func(Request) ([]string, error)
}

func (s *pinning) Solve(ctx context.Context, req Request, p *Printer) (Stats, error) {
	if refs, err := s.images(req); err != nil {
		req.Pins = s.pinner.Known()
	} else {
		req.Pins = s.pinner.Pins(ctx, refs)
	}
	return s.next.Solve(ctx, req, p)
}

// FrontendOptions configures [WithBuiltinFrontend].
type FrontendOptions struct {
	// Syntax returns the frontend image the request's Dockerfile names that the
	// daemon's built-in frontend may stand in for (its `# syntax=` or BUILDKIT_SYNTAX),
	// "" when none may: none is named, the Dockerfile cannot be read, or the user
	// chose the image (devloop.yaml's builder.frontend: image). Required.
	Syntax func(Request) string
	// DaemonVersion asks the daemon for its BuildKit version ([Client.DaemonVersion]).
	// Required.
	DaemonVersion func(context.Context) (string, error)
	// Using, if set, is called when the built-in frontend stands in for syntax for
	// the first time (and again after it stood in for another syntax).
	Using func(syntax, daemonVersion string)
	// TooOld, if set, is called when the built-in frontend could stand in for syntax
	// (the stable channel) but the daemon's is too old, or too old to tell its version
	// (no Info call): once per syntax, with why ("BuildKit older than v0.11 (the
	// daemon has no Info call); it can from BuildKit v0.20").
	TooOld func(syntax, why string)
	// Logger receives debug logs; nil disables logging.
	Logger *zap.Logger
}

// WithBuiltinFrontend returns a Solver that runs a request on the daemon's built-in
// Dockerfile frontend ([Request.BuiltinFrontend]) when it covers the frontend image
// the Dockerfile names ([BuiltinCovers]): that saves starting the frontend image's
// container, about 0.2 s, on every solve. The daemon's version is asked once (not
// under a lock: concurrent solves may both ask; a failed ask is not kept, but a
// daemon without the Info call, [ErrNoInfo], has answered) and kept until a solve
// finds the daemon unreachable ([*UnreachableError]): the daemon that comes back may
// be another version.
func WithBuiltinFrontend(next Solver, opts FrontendOptions) Solver {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &builtinFrontend{next: next, opts: opts}
}

type builtinFrontend struct {
	next Solver
	opts FrontendOptions

	mu        sync.Mutex
	version   string // the daemon's BuildKit version, "" until known
	noInfo    bool   // the daemon has no Info call (ErrNoInfo): an answer, kept as one
	announced string // the syntax Using was last called for
	tooOld    string // the syntax TooOld was last called for
}

func (s *builtinFrontend) Solve(ctx context.Context, req Request, p *Printer) (Stats, error) {
	req.BuiltinFrontend = s.covers(ctx, req)
	stats, err := s.next.Solve(ctx, req, p)
	if ue := (*UnreachableError)(nil); errors.As(err, &ue) {
		s.mu.Lock()
		s.version, s.noInfo = "", false
		s.mu.Unlock()
	}
	return stats, err
}

// covers reports whether the built-in frontend runs req, and says so the first time
// it does for a syntax; when the daemon's is too old for it, it says that once.
func (s *builtinFrontend) covers(ctx context.Context, req Request) bool {
	syntax := s.opts.Syntax(req)
	if syntax == "" || !StableChannel(syntax) {
		return false
	}
	version, err := s.daemonVersion(ctx)
	var why string
	switch {
	case err == nil && builtinNewEnough(version):
		if s.once(&s.announced, syntax) && s.opts.Using != nil {
			s.opts.Using(syntax, version)
		}
		return true
	case errors.Is(err, ErrNoInfo):
		why = ErrNoInfo.Error()
	case err == nil && releaseLine(version) != "":
		why = "BuildKit " + version
	default:
		return false // the version cannot be told: a development build, or no answer
	}
	if s.once(&s.tooOld, syntax) && s.opts.TooOld != nil {
		s.opts.TooOld(syntax, fmt.Sprintf("%s; it can from BuildKit %s", why, minBuiltinVersion))
	}
	return false
}

// once records syntax in *last and reports whether it was not there already.
func (s *builtinFrontend) once(last *string, syntax string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *last == syntax {
		return false
	}
	*last = syntax
	return true
}

// daemonVersion returns the daemon's version, asking it when not known. A daemon
// without the Info call answers ErrNoInfo, which is kept like a version.
func (s *builtinFrontend) daemonVersion(ctx context.Context) (string, error) {
	s.mu.Lock()
	v, noInfo := s.version, s.noInfo
	s.mu.Unlock()
	switch {
	case v != "":
		return v, nil
	case noInfo:
		return "", ErrNoInfo
	}
	v, err := s.opts.DaemonVersion(ctx)
	if err != nil || v == "" {
		s.opts.Logger.Debug("daemon version unknown; running the syntax image", zap.Error(err))
	}
	s.mu.Lock()
	s.version, s.noInfo = v, errors.Is(err, ErrNoInfo)
	if err != nil {
		s.version = ""
	}
	s.mu.Unlock()
	return v, err
}

var _ Solver = (*Client)(nil)

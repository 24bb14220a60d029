package project

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/exporter"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// daemon is what the solver stack needs of the BuildKit client, part by part
// (*rebuild.Client is each of them).
type daemon struct {
	rebuild.Solver
	rebuild.Resolver
	imageConfigs
	version func(ctx context.Context) (string, error) // the daemon's BuildKit version
}

// clientDaemon is the solver stack's daemon for the BuildKit client c.
func clientDaemon(c *rebuild.Client) daemon {
	return daemon{Solver: c, Resolver: c, imageConfigs: c, version: c.DaemonVersion}
}

// newSolver stacks the solver on d: the dev build of the Dockerfile for the targets
// that use it (see devBuild), the pins if pin (resolved once per session), the
// daemon's built-in frontend outside them (it decides whether the frontend image is
// pulled at all).
func (p *Project) newSolver(d daemon, pin bool) error {
	p.devbuild = newDevBuild(d.Solver, d.imageConfigs, p.dockerfiles, func() *config.Config { return p.live.Load().cfg }, p.notices, p.log)
	var s rebuild.Solver = p.devbuild
	if pin {
		pinner, err := rebuild.NewPinner(rebuild.PinnerOptions{
			Resolver: d,
			Pinned: func(refs []string, pins rebuild.Pins) {
				if p.notices == nil {
					return
				}
				for _, r := range refs {
					fmt.Fprintf(p.notices, "[devloop] pinned %s@%s for this session\n", r, pins[r])
				}
			},
			Failed: func(ref string, err error, retried bool) {
				p.log.Debug("cannot pin image", zap.String("image", ref), zap.Bool("retried", retried), zap.Error(err))
				if p.notices == nil {
					return
				}
				reason, _, _ := strings.Cut(err.Error(), "\n")
				if retried {
					fmt.Fprintf(p.notices, "[devloop] cannot pin %s yet (%s): builds resolve it from the registry until it is pinned\n", ref, reason)
					return
				}
				fmt.Fprintf(p.notices, "[devloop] cannot pin %s for this session (%s): builds resolve it from the registry\n", ref, reason)
			},
			Ignored: func(err error) {
				p.log.Debug("not pinning base images", zap.Error(err))
				var pe *rebuild.PinsIgnoredError
				if p.notices != nil && errors.As(err, &pe) {
					fmt.Fprintf(p.notices, "[devloop] base images are resolved from the registry on every build on this builder (%s): %s\n", pe.Address, pe.Reason)
				}
			},
		})
		if err != nil {
			return err
		}
		p.pinner = pinner
		s = rebuild.WithPins(s, pinner, p.images)
	}
	p.solver = rebuild.WithBuiltinFrontend(s, rebuild.FrontendOptions{
		Syntax:        p.builtinSyntax,
		DaemonVersion: d.version,
		Using: func(syntax, version string) {
			if p.notices != nil {
				fmt.Fprintf(p.notices, "[devloop] # syntax=%s: using the daemon's built-in Dockerfile frontend (BuildKit %s); builder.frontend: image runs the image instead\n", syntax, version)
			}
		},
		TooOld: func(syntax, why string) {
			if p.notices != nil {
				fmt.Fprintf(p.notices, "[devloop] # syntax=%s: running the frontend image on every build: this builder's built-in Dockerfile frontend cannot stand in for it: %s\n", syntax, why)
			}
		},
		Logger: p.log,
	})
	return nil
}

// images are the images req's solve pulls, for pinning: those of the stages its
// target's stage needs, with its build args (dockerfile.ImageRefs), and the frontend
// image unless the built-in frontend stands in for it. BuildKit builds the last stage
// when the request names none.
func (p *Project) images(req rebuild.Request) ([]string, error) {
	df, err := p.dockerfiles.Load(req.Dockerfile)
	if err != nil {
		return nil, err
	}
	stage := len(df.Stages) - 1
	if req.Stage != "" {
		s, ok := df.Stage(req.Stage)
		if !ok {
			return nil, fmt.Errorf("images of %s: no stage %q", req.Dockerfile, req.Stage)
		}
		stage = s.Index
	}
	return df.ImageRefs(stage, req.BuildArgs, p.runningSyntax(req)), nil
}

// runningSyntax is the frontend image req's solve runs: "" when the built-in frontend
// stands in for it or none is named.
func (p *Project) runningSyntax(req rebuild.Request) string {
	if req.BuiltinFrontend {
		return ""
	}
	syntax, _ := p.dockerfiles.Syntax(req.Dockerfile, req.BuildArgs)
	return syntax
}

// builtinSyntax is the frontend image the daemon's built-in frontend may stand in for
// (rebuild.FrontendOptions.Syntax): with builder.frontend: auto, as last reloaded, the
// image the Dockerfile (or BUILDKIT_SYNTAX) names. An unreadable Dockerfile has none:
// the solve fails with its error.
func (p *Project) builtinSyntax(req rebuild.Request) string {
	if p.live.Load().cfg.Builder.Frontend != config.FrontendAuto {
		return ""
	}
	syntax, err := p.dockerfiles.Syntax(req.Dockerfile, req.BuildArgs)
	if err != nil {
		return ""
	}
	return syntax
}

// Build implements loop.Builder: it solves the target into a staging directory of
// its exporter. A daemon that cannot be reached is loop.ErrUnavailable.
func (p *Project) Build(ctx context.Context, name string) (loop.Result, error) {
	live := p.live.Load()
	t, ok := live.targets[name]
	if !ok {
		return loop.Result{}, fmt.Errorf("build %s: unknown target", name)
	}
	p.warnPlatform(p.notices, t) // said once: devloop build said it before its first solve
	var only *rebuild.Subset
	if p.narrow && p.inputs != nil {
		var err error
		if only, err = p.inputs.subset(ctx, name); err != nil {
			return loop.Result{}, fmt.Errorf("build %s: %w", name, err)
		}
	}
	st, err := p.exporters[name].Begin()
	if err != nil {
		return loop.Result{}, err
	}
	stats, err := p.solver.Solve(ctx, rebuild.Request{
		Target:     t.Name,
		Stage:      frontendTarget(p.dockerfiles, live.cfg, t),
		Context:    p.cfg.Context,
		Dockerfile: p.cfg.Dockerfile,
		BuildArgs:  t.BuildArgs,
		Excludes:   p.excludes(live.rules),
		Skip:       live.rules.NeverInContext,
		CacheFrom:  t.Cache.From,
		CacheTo:    t.Cache.To,
		Secrets:    secrets(live.cfg),
		Only:       only,
		Stats:      p.stats,
		Platforms:  t.Platforms,
		Dest:       st.Dir(),
	}, p.printer)
	if err != nil {
		_ = st.Discard()
		var ue *rebuild.UnreachableError
		if errors.As(err, &ue) {
			return loop.Result{}, fmt.Errorf("%w: %w", loop.ErrUnavailable, err)
		}
		return loop.Result{}, err
	}
	// Binaries for another platform than the one asked for fail the build: ./bin
	// keeps the last good ones.
	if err := p.checkExecutables(t, st.Dir()); err != nil {
		_ = st.Discard()
		return loop.Result{}, err
	}
	return loop.Result{Staged: &staged{p: p, t: t, st: st}, Solve: stats.Solve, Export: stats.Export}, nil
}

func secrets(cfg *config.Config) map[string]rebuild.Secret {
	if len(cfg.Secrets) == 0 {
		return nil
	}
	out := make(map[string]rebuild.Secret, len(cfg.Secrets))
	for k, s := range cfg.Secrets {
		out[k] = rebuild.Secret{File: s.File, Env: s.Env}
	}
	return out
}

// staged is one target's solved result waiting in its staging directory.
type staged struct {
	p  *Project
	t  *config.Target
	st *exporter.Staging
}

// Commit implements loop.Staged. The exporter records every staged file in the output
// registry before swapping, so the watcher ignores the swap and later solves exclude
// the files.
func (s *staged) Commit() (loop.Swap, error) {
	res, err := s.st.Commit()
	if err != nil {
		return loop.Swap{}, err
	}
	rel := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, f := range paths {
			out[i] = s.p.display(filepath.Join(s.t.Output, filepath.FromSlash(f)))
		}
		return out
	}
	return loop.Swap{Changed: rel(res.Changed), Unchanged: rel(res.Unchanged), Removed: rel(res.Removed), Executables: rel(res.Executables)}, nil
}

// Discard implements loop.Staged.
func (s *staged) Discard() error { return s.st.Discard() }

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/exporter"
	"github.com/devloop/devloop/project"
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/watcher"
	"go.uber.org/zap"
)

// narrowFlagUsage is the help of --narrow-context (build and up).
const narrowFlagUsage = "send each target only the context paths its build reads (Go builds: from go list -deps; targets.NAME.only); false sends the whole context"

// openOptions are what build and up set differently when they open the project.
type openOptions struct {
	progress string         // --progress
	access   project.Access // Share (build) or Hold (up)
	pin      bool           // --pin
	narrow   bool           // --narrow-context
	platform string         // --platform: replaces every target's platforms
	// waits hears a swap waiting for another devloop process, notices what devloop
	// chose for the session (nil: not said).
	waits, notices io.Writer
	// warnings hears what keeps the Dockerfile from building for the targets'
	// platforms, said before the first solve (nil: notices, else the terminal).
	warnings io.Writer
}

// openProject does what build and up share: load devloop.yaml, select the targets,
// check the Dockerfile, connect to BuildKit and open the project. Problems with
// devloop.yaml are exit code 2, an unreachable BuildKit 3 (see connect).
func (a *app) openProject(ctx context.Context, args []string, o openOptions) (*project.Project, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	targets, err := cfg.Select(args)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	var platforms []string
	if o.platform != "" {
		if platforms, err = config.ParsePlatforms(o.platform); err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--platform: %w", err))
		}
	}
	printer, err := rebuild.NewPrinter(a.stderr, o.progress, len(targets) > 1)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--progress: %w", err))
	}
	dfs := dockerfile.NewCache()
	if err := project.Check(cfg, targets, dfs, a.human()); err != nil {
		return nil, withCode(exitUsage, err)
	}
	client, err := a.connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	proj, err := project.Open(project.Options{
		Config: cfg, Targets: targets, Access: o.access, Client: client, Printer: printer,
		Dockerfiles: dfs, Pin: o.pin, Narrow: o.narrow, Waits: o.waits, Notices: o.notices, Platforms: platforms, Logger: a.log,
	})
	if err != nil {
		_ = client.Close()
		return nil, withCode(exitUsage, err)
	}
	warn := cmp.Or(o.warnings, o.notices)
	if warn == nil {
		warn = a.human()
	}
	proj.WarnPlatforms(warn) // what keeps the Dockerfile from building for the targets' platforms
	return proj, nil
}

// What devloop explain (explain.go) reads of the project: the rules and the files
// devloop exported, opened without a lock.

type targetAccess = project.Access

const lookOnly = project.LookOnly

type lookedProject struct {
	p       *project.Project
	rules   *watcher.Rules
	outputs lookedOutputs
}

type lookedOutputs struct{ *exporter.Outputs }

func (o lookedOutputs) hasOrContains(p string) bool { return o.Contains(p) }

func (l *lookedProject) close() { l.p.Close() }

func newProject(cfg *config.Config, targets []*config.Target, log *zap.Logger, access targetAccess, notices io.Writer) (*lookedProject, error) {
	p, err := project.Open(project.Options{Config: cfg, Targets: targets, Access: access, Waits: notices, Logger: log})
	if err != nil {
		return nil, err
	}
	return &lookedProject{p: p, rules: p.Rules(), outputs: lookedOutputs{p.Outputs()}}, nil
}

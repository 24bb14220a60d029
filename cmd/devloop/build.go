package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/rebuild"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func (a *app) buildCommand() *cobra.Command {
	progress := "auto"
	cmd := &cobra.Command{
		Use:   "build [TARGET...]",
		Short: "Build the configured targets once and swap the results into place",
		Long: `Build solves the targets of devloop.yaml (all of them, or the ones named) with
BuildKit, exports them into a staging directory and swaps changed files atomically into
their output directories. Unchanged files are not rewritten.

Exit codes: 0 ok, 1 a build failed, 2 bad usage or devloop.yaml, 3 BuildKit unreachable.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			targets, err := cfg.Select(args)
			if err != nil {
				return withCode(exitUsage, err)
			}
			printer, err := rebuild.NewPrinter(a.stderr, progress, len(targets) > 1)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--progress: %w", err))
			}
			client, err := a.connect(ctx, cfg)
			if err != nil {
				return err
			}
			defer client.Close()
			proj, err := newProject(cfg, targets, a.log)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer proj.close()
			if err := checkDockerfile(cfg, targets, a.human()); err != nil {
				return withCode(exitUsage, err)
			}
			proj.client = client
			proj.printer = printer

			// Status lines wait until the progress display has finished drawing, so the
			// two never interleave on a terminal.
			var out bytes.Buffer
			status := newStatusPrinter(&out, proj)
			ew, closeEvents, err := a.openEvents()
			if err != nil {
				return err
			}
			defer closeEvents()
			emit := status.handle
			if ew != nil {
				stream := newEventStream(ew, proj)
				emit = func(ev loop.Event) { status.handle(ev); stream.loopEvent(ev) }
			}
			names := make([]string, len(targets))
			for i, t := range targets {
				names[i] = t.Name
			}
			l, err := loop.New(loop.Options{Targets: names, Builder: proj, Events: emit, Logger: a.log})
			if err != nil {
				return err
			}
			var g errgroup.Group
			g.Go(func() error { return printer.Run(ctx) })
			ok, err := l.Once(ctx)
			printer.Close()
			_ = g.Wait()
			_, _ = a.human().Write(out.Bytes())
			switch {
			case errors.Is(err, loop.ErrUnavailable):
				return withCode(exitUnreachable, err)
			case err != nil:
				return withCode(exitBuildFailed, err)
			case !ok:
				return withCode(exitBuildFailed, errSilent)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&progress, "progress", progress, "progress output: auto, tty, plain, quiet, rawjson")
	return cmd
}

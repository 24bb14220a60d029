package main

import (
	"bytes"
	"errors"

	"github.com/devloop/devloop/loop"
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
			proj, closeProj, err := a.openProject(ctx, args, progress, shareTargets)
			if err != nil {
				return err
			}
			defer closeProj()
			printer := proj.printer

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
			l, err := loop.New(loop.Options{Targets: proj.targetNames(), Builder: proj, Events: emit, Logger: a.log})
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

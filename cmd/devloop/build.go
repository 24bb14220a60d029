package main

import (
	"bytes"
	"errors"

	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
	"github.com/devloop/devloop/report"
	"github.com/spf13/cobra"
)

func (a *app) buildCommand() *cobra.Command {
	progress, narrow, platform := "auto", true, ""
	cmd := &cobra.Command{
		Use:   "build [TARGET...]",
		Short: "Build the configured targets once and swap the results into place",
		Long: `Build solves the targets of devloop.yaml (all of them, or the ones named) with
BuildKit, exports them into a staging directory and swaps changed files atomically into
their output directories. Unchanged files are not rewritten.

Exit codes: 0 ok, 1 a build failed, 2 bad usage or devloop.yaml, 3 BuildKit unreachable.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Notices (what the dev build changes, …) and status lines wait until the
			// progress display has finished drawing, so the two never interleave on a
			// terminal.
			var notices bytes.Buffer
			proj, err := a.openProject(cmd.Context(), args, openOptions{progress: progress, access: project.Share, narrow: narrow, waits: a.human(), platform: platform, notices: &lockedWriter{w: &notices}, warnings: a.human()})
			if err != nil {
				return err
			}
			defer proj.Close()

			var out bytes.Buffer
			status := report.NewStatus(&out, proj, report.StatusOptions{LogDir: proj.LogDir()})
			ew, closeEvents, err := a.openEvents()
			if err != nil {
				return err
			}
			defer closeEvents()
			emit := status.Event
			if ew != nil {
				stream := report.NewStream(ew, proj)
				emit = func(ev loop.Event) { status.Event(ev); stream.Event(ev) }
			}
			ok, err := proj.Once(cmd.Context(), emit)
			_, _ = a.human().Write(notices.Bytes())
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
	cmd.Flags().BoolVar(&narrow, "narrow-context", narrow, narrowFlagUsage)
	cmd.Flags().StringVar(&platform, "platform", platform, platformUsage)
	return cmd
}

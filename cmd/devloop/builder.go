package main

import (
	"fmt"
	"time"

	"github.com/devloop/devloop/localbuilder"

	"github.com/spf13/cobra"
)

func (a *app) builderCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage the BuildKit daemon devloop starts when no builder is configured",
		Long: `When no builder is configured (no --addr, builder.address or $BUILDKIT_HOST, or
builder.address: auto) and no daemon answers at the default socket, devloop starts
buildkitd itself, with its state, socket, pid file and log under the user's cache
directory (e.g. ~/.cache/devloop/buildkitd), and leaves it running so that the next
session starts warm.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "stop",
		Short: "Stop the BuildKit daemon devloop started (its build cache stays on disk)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := localbuilder.Default(a.log)
			if err != nil {
				return withCode(exitBuildFailed, err)
			}
			pid, ok, err := d.Stop(cmd.Context(), 10*time.Second)
			switch {
			case err != nil:
				return withCode(exitBuildFailed, err)
			case !ok:
				fmt.Fprintf(a.stdout, "no BuildKit daemon started by devloop is running (state directory %s)\n", d.Dir())
			default:
				fmt.Fprintf(a.stdout, "stopped the BuildKit daemon devloop started (pid %d); its cache stays in %s\n", pid, d.Root())
			}
			return nil
		},
	})
	return cmd
}

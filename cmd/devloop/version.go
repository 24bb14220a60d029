package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/devloop/devloop/rebuild"
	"github.com/spf13/cobra"
)

// version is stamped at release time with -ldflags "-X main.version=…".
var version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print devloop's version and the BuildKit versions of client and daemon",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			bk := "unknown"
			if info, ok := debug.ReadBuildInfo(); ok {
				if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
					v = info.Main.Version
				}
				for _, d := range info.Deps {
					if d.Path == "github.com/moby/buildkit" {
						bk = d.Version
					}
				}
			}
			fmt.Fprintf(a.stdout, "devloop %s\nbuildkit client %s\n", v, bk)
			cfg, _ := a.loadConfigOptional()
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			c, err := a.connectRunning(ctx, cfg)
			if err != nil {
				fmt.Fprintf(a.stdout, "buildkit daemon unreachable at %s\n", a.builderAddress(cfg))
				return nil
			}
			defer c.Close()
			dv, err := c.DaemonVersion(ctx)
			if errors.Is(err, rebuild.ErrNoInfo) {
				// Reached, only too old to say its version (Docker Engine 20.10 and
				// other BuildKit before v0.11).
				fmt.Fprintf(a.stdout, "buildkit daemon older than v0.11 (%s): it has no Info call, which reports the version\n", c.Address())
				return nil
			}
			if err != nil {
				return withCode(exitUnreachable, err)
			}
			fmt.Fprintf(a.stdout, "buildkit daemon %s (%s)\n", dv, c.Address())
			return nil
		},
	}
}

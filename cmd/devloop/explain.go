package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/devloop/devloop/internal/ospath"
	"github.com/spf13/cobra"
)

func (a *app) explainCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "explain PATH...",
		Short: "Say whether a path is watched and in the build context, and which rule decided",
		Long: `Explain says, for each path, whether a change to it starts a build, whether it is
sent to BuildKit in the build context, and which rule decided (a .dockerignore line, a
watch.ignore glob, devloop's outputs, devloop.yaml, editor temp files, .git).

It only reads: it takes no lock and works while devloop up or devloop build run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			proj, err := newProject(cfg, nil, a.log, lookOnly, nil)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer proj.close()
			for _, arg := range args {
				abs, err := filepath.Abs(arg)
				if err != nil {
					return withCode(exitUsage, err)
				}
				rel, inside := ospath.Child(cfg.Context, abs)
				if !inside {
					fmt.Fprintf(a.stdout, "%s: outside the build context %s: not watched, not in the context\n", arg, relToCwd(cfg.Context))
					continue
				}
				fi, statErr := os.Stat(abs)
				isDir := statErr == nil && fi.IsDir()
				d := proj.rules.Explain(filepath.ToSlash(rel), isDir)
				inCtx := d.InContext
				rule := d.Rule
				if proj.outputs.hasOrContains(abs) && !isDir {
					inCtx, rule = false, "devloop output (exported by devloop)"
				}
				fmt.Fprintf(a.stdout, "%s: %s, %s — %s\n", arg, yesNo(d.Watched, "watched", "not watched"),
					yesNo(inCtx, "in the build context", "not in the build context"), rule)
			}
			return nil
		},
	}
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

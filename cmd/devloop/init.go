package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/initconfig"
	"github.com/devloop/devloop/project"
	"github.com/spf13/cobra"
)

func (a *app) initCommand() *cobra.Command {
	var dockerfileFlag string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented devloop.yaml proposing targets from the Dockerfile's stages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			df, err := dockerfile.NewCache().Load(dockerfileFlag)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if _, err := os.Stat(a.file); err == nil && !force {
				return withCode(exitUsage, fmt.Errorf("%s already exists; use --force to overwrite it", a.file))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return withCode(exitUsage, err)
			}
			// The build context is the Dockerfile's directory.
			context := filepath.Dir(dockerfileFlag)
			rel, err := filepath.Rel(filepath.Dir(a.file), context)
			if err != nil {
				rel = context
			}
			proposal := initconfig.Propose(df, context)
			content := initconfig.Render(proposal, filepath.ToSlash(rel), filepath.Base(dockerfileFlag))
			if err := os.WriteFile(a.file, []byte(content), 0o644); err != nil {
				return withCode(exitUsage, fmt.Errorf("write %s: %w", a.file, err))
			}
			fmt.Fprintf(a.stdout, "stages in %s:\n", dockerfileFlag)
			for i, s := range df.Stages {
				fmt.Fprintf(a.stdout, "  %-16s FROM %s (line %d)\n", df.StageName(i), s.Base, s.Line)
			}
			if s := proposal.Suggestion; s != nil {
				fmt.Fprintf(a.stdout, "no stage FROM scratch holds what the Dockerfile builds; %s suggests one to add (see its comments)\n", a.file)
			}
			fmt.Fprintf(a.stdout, "wrote %s — review it, then run `devloop build` or `devloop up`\n", a.file)
			// The devloop.yaml written keeps the dev build on (dev_transform's default).
			for _, w := range project.LintWarnings(df, context, true) {
				fmt.Fprint(a.stdout, w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dockerfileFlag, "dockerfile", "Dockerfile", "the Dockerfile to read")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing devloop.yaml")
	return cmd
}

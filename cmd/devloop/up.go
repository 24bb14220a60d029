package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/devloop/devloop/feedback"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
	"github.com/devloop/devloop/report"
	"github.com/devloop/devloop/supervisor"
	"github.com/spf13/cobra"
)

func (a *app) upCommand() *cobra.Command {
	progress := "quiet"
	f := upFlags{pin: true, onlyAffected: true, narrow: true, contextCache: true}
	cmd := &cobra.Command{
		Use:   "up [TARGET...]",
		Short: "Build, run and rebuild on every save until interrupted",
		Long: `Up builds every target (or the ones named), starts the processes configured under
run:, then watches the build context. On each save it rebuilds, swaps the fresh binaries
into place and restarts only the processes whose binary changed. A failed build keeps the
last good binaries and the running processes. Ctrl-C stops everything; a second Ctrl-C
kills at once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if progress == "auto" || progress == "tty" {
				progress = "plain" // a redrawing display does not fit a long-running loop
			}
			return a.up(cmd.Context(), args, progress, f)
		},
	}
	cmd.Flags().StringVar(&progress, "progress", progress, "BuildKit progress output: quiet, plain, rawjson")
	cmd.Flags().BoolVar(&f.onlyAffected, "only-affected", f.onlyAffected, "rebuild only the targets a change can affect (Go targets: from go list -deps); false rebuilds every target on every change")
	cmd.Flags().BoolVar(&f.pin, "pin", f.pin, "resolve base images and the # syntax frontend once, then pin their digests for the session (--pin=false resolves them on every build)")
	cmd.Flags().StringVar(&f.platform, "platform", f.platform, platformUsage)
	cmd.Flags().BoolVar(&f.narrow, "narrow-context", f.narrow, narrowFlagUsage)
	cmd.Flags().BoolVar(&f.contextCache, "context-cache", f.contextCache, "list the build context for BuildKit from what the file watcher knows is unchanged; false walks the whole context on every build")
	return cmd
}

// upFlags are devloop up's switches; each bool false is the "before" of an optimization.
type upFlags struct {
	pin, onlyAffected, narrow, contextCache bool
	platform                                string // --platform
}

// platformUsage is the --platform flag's help, for build and up.
const platformUsage = `platforms to build every selected target for, as docker build --platform ("darwin/arm64", "linux/amd64,linux/arm64", "local": this machine); replaces devloop.yaml's platform keys`

func (a *app) up(ctx context.Context, args []string, progress string, f upFlags) error {
	// Files devloop itself writes (`devloop up > up.log`, `| tee dev.log`, --events
	// FILE) must not look like edits: each line written would otherwise start a build.
	var stdio []*os.File
	for _, w := range []io.Writer{a.stdout, a.stderr} {
		if f, ok := w.(*os.File); ok {
			stdio = append(stdio, f)
		}
	}
	self := feedback.New(feedback.Options{Outputs: stdio, Logger: a.log})
	out := &lockedWriter{w: self.Writer(a.human())}
	proj, err := a.openProject(ctx, args, openOptions{progress: progress, access: project.Hold, pin: f.pin, narrow: f.narrow, platform: f.platform, waits: out, notices: out})
	if err != nil {
		return err
	}
	defer proj.Close()
	ew, closeEvents, err := a.openEvents()
	if err != nil {
		return err
	}
	defer closeEvents()
	var written []string
	if a.events != "" && a.events != "-" {
		if p, err := filepath.Abs(a.events); err == nil {
			written = append(written, p)
		}
	}
	status := report.NewStatus(out, proj, report.StatusOptions{LogDir: proj.LogDir()})
	var stream *report.Stream
	if ew != nil {
		stream = report.NewStream(ew, proj)
	}

	// A second interrupt while shutting down kills every process group at once.
	kill, upDone := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { secondInterrupt(ctx, upDone, kill) })
	err = proj.Up(ctx, project.UpOptions{
		File: a.file, Grammars: configGrammars(), OnlyAffected: f.onlyAffected, ContextCache: f.contextCache,
		Out: out, Color: isTerminal(a.human()), Feedback: self, Written: written, Kill: kill,
		Events: func(ev loop.Event) {
			status.Event(ev)
			if stream != nil {
				stream.Event(ev)
			}
		},
		ProcessEvents: func(ev supervisor.Event) {
			report.ProcessEvent(out, ev)
			if stream != nil {
				stream.ProcessEvent(ev)
			}
		},
	})
	close(upDone)
	wg.Wait()
	return withCode(exitUsage, err)
}

// secondInterrupt closes kill on an interrupt that arrives after ctx ended (on the
// first one) and before done.
func secondInterrupt(ctx context.Context, done <-chan struct{}, kill chan<- struct{}) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-sig:
		close(kill)
	case <-done:
	}
}

// lockedWriter serialises writes from the loop and the supervisors' output prefixers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

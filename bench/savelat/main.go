// Command savelat measures save→serving latency: how long after an edit is written a
// server answers with the edited code, for several reload loops side by side on
// examples/greeter (issue 5).
//
// Each loop runs on a fresh copy of the example. The harness makes N edits to the
// greeting the server answers with — alternating a temp-file-and-rename save and an
// in-place save, the two ways editors write — and polls GET / every 10 ms until the new
// text comes back. A sample is the time from the write returning to the first correct
// answer. Before every edit the loop must be idle (no build running, no output for the
// settle time) and serving the previous text, so samples never overlap.
//
// Loops:
//
//	floor           fsnotify → host `go build -o bin/server ./cmd/server` → SIGTERM, wait → start (no debounce)
//	naive           fsnotify → `buildctl build … --opt target=server --output type=local,dest=.` → restart
//	air             air v1.67.4 with its defaults (1 s delay); only the build command and binary set
//	devloop         `devloop up` with the server (run, probed) and client targets
//	devloop-server  `devloop up` with the server target only
//	devloop-all     `devloop up --only-affected=false` (every target on every change)
//	devloop-nopin   `devloop up --pin=false` (images resolved on every build)
//	devloop-image   `devloop up` with builder.frontend: image (the # syntax image on every build)
//	devloop-debounce50  `devloop up` with watch.debounce: 50ms (the earlier default)
//	devloop-whole   `devloop up --narrow-context=false` (the whole context sent to every target)
//	devloop-walk    `devloop up --narrow-context=false --context-cache=false` (and walked on every build)
//	devloop-debounce0   `devloop up` with watch.debounce: 0s (a build at the first event of a save)
//
// With --extra-files every loop is also measured with that many files the build does
// not read added to its copy (the context-scale run of issue 15; --extra-layout says
// where: data files under assets/, or Go packages the server does not import), and the
// report gives each devloop loop's CPU time per edit in devloop and in buildkitd, its
// ratio to the same loop without extra files, and a save of one of the extra files.
//
// For the devloop loops it also reports the per-phase medians from devloop's status
// lines and makes three saves that must restart nothing: a _test.go file, a file the
// build does not read, and an ignored README.md (which must not even build).
//
// Usage:
//
//	savelat [--n 10] [--rounds 2] [--loops floor,naive,air,devloop,devloop-server] [--json FILE] …
//	savelat --loops floor,devloop,devloop-walk --extra-files 0,10000,50000,100000 --extra-layout assets,package
//
// The naive loop needs BUILDKIT_HOST and buildctl, devloop a BuildKit daemon; `make
// bench` provides both. Every process the harness starts runs in a process group of its
// own and is killed, with everything it started, before the harness moves on or exits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "savelat:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	s := &settings{Progress: os.Stderr}
	fs := flag.NewFlagSet("savelat", flag.ContinueOnError)
	loops := fs.String("loops", strings.Join(loopNames, ","), "comma-separated loops to measure: "+strings.Join(knownLoops(), ", ")+"; "+shapesAlias+" for every shape's")
	jsonPath := fs.String("json", "", "also write the raw samples and results as JSON to this file")
	fs.IntVar(&s.N, "n", 10, "edits per loop")
	fs.IntVar(&s.Rounds, "rounds", 2, "split each loop's edits over this many rounds that take turns (loop A, B, C, A, B, C, …), each on a fresh copy, so a slow minute of a noisy machine does not land on one loop")
	fs.StringVar(&s.Example, "example", "examples/greeter", "the example app to copy")
	fs.StringVar(&s.Devloop, "devloop", "bin/devloop", "the devloop binary (make build writes it)")
	fs.StringVar(&s.Air, "air", defaultAir(), "the air v1.67.4 binary")
	fs.StringVar(&s.Buildctl, "buildctl", "buildctl", "the buildctl binary")
	fs.StringVar(&s.Go, "go", "go", "the go command")
	fs.DurationVar(&s.Settle, "settle", time.Second, "quiet time a loop must show before the next edit")
	fs.DurationVar(&s.PollEvery, "poll", 10*time.Millisecond, "how often to ask the server")
	fs.DurationVar(&s.HTTPTimeout, "http-timeout", 2*time.Second, "timeout of one request")
	fs.DurationVar(&s.EditTimeout, "edit-timeout", time.Minute, "give up on an edit that is not served after this long")
	fs.DurationVar(&s.StartTimeout, "start-timeout", 5*time.Minute, "give up on a loop whose first server does not answer after this long")
	fs.BoolVar(&s.NoopChecks, "noop-checks", true, "make the saves that must restart nothing (devloop loops)")
	fs.StringVar(&s.LogDir, "log-dir", "", "keep each loop's output in DIR/LOOP.log")
	extraFiles := fs.String("extra-files", "0", "context scale: measure every loop with each of these counts of files the build does not read added to the example (comma-separated, e.g. 0,10000,50000,100000)")
	extraLayout := fs.String("extra-layout", layoutAssets, "where the extra files go (comma-separated): "+layoutAssets+" (data files under assets/), "+layoutPackage+" (Go packages the server does not import, under internal/unused/)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if runtime.GOOS != "linux" {
		return errors.New("the benchmark needs Linux (inotify, /proc, process groups)")
	}
	if s.N < 1 {
		return fmt.Errorf("--n %d: want at least 1 edit", s.N)
	}
	if s.Rounds < 1 {
		return fmt.Errorf("--rounds %d: want at least 1", s.Rounds)
	}
	s.Rounds = min(s.Rounds, s.N)
	var err error
	if s.Extra, err = parseExtra(*extraFiles, *extraLayout); err != nil {
		return err
	}
	s.Daemon = os.Getenv("BUILDKIT_HOST")
	for _, l := range strings.Split(*loops, ",") {
		l = strings.TrimSpace(l)
		names := []string{l}
		switch {
		case l == shapesAlias:
			names = shapeLoops()
		case !slices.Contains(knownLoops(), l):
			return fmt.Errorf("--loops: unknown loop %q (known: %s, %s)", l, strings.Join(knownLoops(), ", "), shapesAlias)
		}
		for _, n := range names {
			if !slices.Contains(s.Loops, n) {
				s.Loops = append(s.Loops, n)
			}
		}
	}
	if err := resolvePaths(s); err != nil {
		return err
	}
	if s.LogDir != "" {
		if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
			return fmt.Errorf("--log-dir: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := &report{
		Command:  strings.Join(append([]string{"savelat"}, args...), " "),
		Machine:  describeMachine(s),
		Settings: *s,
	}
	type instance struct {
		loop  string
		extra extraSpec
	}
	var instances []instance
	for _, l := range s.Loops {
		for _, e := range s.Extra {
			if e.Files > 0 && !slices.Contains(scaleLoops, l) {
				continue // the loops the context scale does not compare: measured without extra files only
			}
			instances = append(instances, instance{l, e})
		}
	}
	results := make([]loopResult, len(instances))
	done := 0
	for round, n := range splitEdits(s.N, s.Rounds) {
		rs := *s
		rs.N, rs.round, rs.firstEdit = n, round+1, done
		done += n
		// The saves that must restart nothing are made once, in the last round.
		rs.NoopChecks = s.NoopChecks && round == s.Rounds-1
		for i, in := range instances {
			if ctx.Err() != nil || results[i].Error != "" {
				continue
			}
			label := in.extra.label(in.loop)
			fmt.Fprintf(s.Progress, "%s: round %d/%d: starting on a fresh copy of %s\n", label, round+1, s.Rounds, s.Example)
			results[i] = mergeRound(results[i], measure(ctx, &rs, in.loop, in.extra))
			if results[i].Error != "" {
				fmt.Fprintf(s.Progress, "%s: %s\n", label, results[i].Error)
			}
		}
	}
	failed := 0
	for _, res := range results {
		if res.Error != "" {
			failed++
		}
		if res.Loop != "" {
			rep.Loops = append(rep.Loops, res)
		}
	}
	rep.write(os.Stdout)
	if *jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	switch {
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case failed > 0:
		return fmt.Errorf("%d of %d loops failed", failed, len(instances))
	}
	return nil
}

// resolvePaths makes the example and the binaries absolute: loops run in their copies.
func resolvePaths(s *settings) error {
	abs, err := filepath.Abs(s.Example)
	if err != nil {
		return fmt.Errorf("--example: %w", err)
	}
	s.Example = abs
	if _, err := os.Stat(filepath.Join(abs, greetingFile)); err != nil {
		return fmt.Errorf("--example %s: not the greeter example: %w", abs, err)
	}
	need := map[string]*string{"go": &s.Go}
	for _, l := range s.Loops {
		switch {
		case l == "naive":
			need["buildctl"] = &s.Buildctl
		case l == "air":
			need["air"] = &s.Air
		case strings.HasPrefix(l, "devloop"):
			need["devloop"] = &s.Devloop
		}
	}
	for flagName, p := range need {
		path, err := lookPath(*p)
		if err != nil {
			return fmt.Errorf("--%s: %w", flagName, err)
		}
		*p = path
	}
	return nil
}

// lookPath resolves a command given as a path (made absolute) or a name on PATH.
func lookPath(cmd string) (string, error) {
	if strings.ContainsRune(cmd, filepath.Separator) {
		abs, err := filepath.Abs(cmd)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	return exec.LookPath(cmd)
}

// defaultAir is where bench/run.sh installs air: $DEVLOOP_CACHE/bin/air, else
// ~/.cache/devloop/bin/air.
func defaultAir() string {
	cache := os.Getenv("DEVLOOP_CACHE")
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "air"
		}
		cache = filepath.Join(dir, "devloop")
	}
	return filepath.Join(cache, "bin", "air")
}

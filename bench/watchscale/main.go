// Command watchscale benchmarks devloop's watcher package on a large tree (issue 5): it
// generates 2,000 directories × 50 files plus a node_modules of 50,000 files that the
// tree's .dockerignore excludes, then runs watcher.Watcher on it in this process and
// reports
//
//   - the time from watcher.New to Ready (goal ≤ 2 s),
//   - resident memory: the peak while starting and idling (goal ≤ 150 MB),
//   - CPU time used over an idle window (default 60 s; goal: near zero),
//   - WatchCount, the watches the kernel lists for this process, and how many of those
//     are on directories of the ignored tree (goal: none),
//   - that a change to a source file is reported and one under node_modules is not.
//
// Usage:
//
//	watchscale [--idle 60s] [--dirs 2000] [--files 50] [--ignored-files 50000] [--root DIR] [--json FILE]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/devloop/devloop/watcher"
	"golang.org/x/sync/errgroup"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "watchscale:", err)
		os.Exit(1)
	}
}

// result is everything measured, as printed and as written by --json.
type result struct {
	Command      string        `json:"command"`
	Machine      string        `json:"machine"`
	Spec         treeSpec      `json:"spec"`
	Tree         treeStats     `json:"tree"`
	Generate     time.Duration `json:"generate_ns"`
	Ready        time.Duration `json:"ready_ns"`
	StartupCPU   time.Duration `json:"startup_cpu_ns"`
	StartEvents  int           `json:"start_events"` // events reported before Ready
	WatchCount   int           `json:"watch_count"`
	KernelWatchs int           `json:"kernel_watches"`  // inotify watches in /proc/self/fdinfo
	IgnoredWatch []string      `json:"ignored_watches"` // watched directories under node_modules
	MemBase      memStatus     `json:"mem_base"`        // before the watcher started
	MemReady     memStatus     `json:"mem_ready"`
	MemEnd       memStatus     `json:"mem_end"` // after the idle window; Peak covers start and idle
	Idle         time.Duration `json:"idle_ns"`
	IdleCPU      time.Duration `json:"idle_cpu_ns"`
	IdleEvents   int           `json:"idle_events"`
	SeenSource   bool          `json:"seen_source"` // a source file change was reported
	SeenLatency  time.Duration `json:"seen_latency_ns"`
	SeenIgnored  bool          `json:"seen_ignored"` // a node_modules change was reported (must not)
}

func run(args []string) error {
	fs := flag.NewFlagSet("watchscale", flag.ContinueOnError)
	spec := treeSpec{}
	fs.IntVar(&spec.Dirs, "dirs", 2000, "source directories")
	fs.IntVar(&spec.Files, "files", 50, "files per source directory")
	fs.IntVar(&spec.IgnoredFiles, "ignored-files", 50000, "files under the ignored node_modules")
	idle := fs.Duration("idle", 60*time.Second, "idle window over which CPU use is measured")
	readyTimeout := fs.Duration("ready-timeout", 2*time.Minute, "give up when the watcher is not ready after this long")
	root := fs.String("root", "", "generate the tree in DIR (empty or missing; kept afterwards); default: a temporary directory, removed")
	jsonPath := fs.String("json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if runtime.GOOS != "linux" {
		return errors.New("the benchmark needs Linux (inotify, /proc)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := *root
	if dir == "" {
		tmp, err := os.MkdirTemp("", "devloop-watchscale-")
		if err != nil {
			return fmt.Errorf("create the tree's directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	res := &result{
		Command: strings.Join(append([]string{"watchscale"}, args...), " "),
		Machine: fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), runtime.Version()),
		Spec:    spec,
		Idle:    *idle,
	}
	fmt.Fprintf(os.Stderr, "watchscale: generating %d×%d files + %d ignored in %s\n", spec.Dirs, spec.Files, spec.IgnoredFiles, dir)
	t0 := time.Now()
	if res.Tree, err = generate(dir, spec); err != nil {
		return err
	}
	res.Generate = time.Since(t0)
	ignored, err := dirInodes(filepath.Join(dir, ignoredDirName))
	if err != nil {
		return err
	}
	if err := measure(ctx, dir, *readyTimeout, ignored, res); err != nil {
		return err
	}
	res.write(os.Stdout)
	if *jsonPath != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// measure runs the watcher on dir and fills in res. The watcher's goroutine ends before
// measure returns.
func measure(ctx context.Context, dir string, readyTimeout time.Duration, ignored map[uint64]string, res *result) error {
	runtime.GC()
	debug.FreeOSMemory()
	if err := resetPeak(); err != nil {
		return err
	}
	var err error
	if res.MemBase, err = readMem(); err != nil {
		return err
	}
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}

	t0 := time.Now()
	rules, err := watcher.NewRules(watcher.RulesOptions{Root: dir, Dockerignore: filepath.Join(dir, ".dockerignore")})
	if err != nil {
		return fmt.Errorf("watch rules for %s: %w", dir, err)
	}
	w, err := watcher.New(watcher.Options{Rules: rules})
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	events := make(chan watcher.Event)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(wctx)
	g.Go(func() error { return w.Run(gctx, events) })
	// Stop the watcher (and wait for it) on every return below.
	stopWatcher := func() error {
		cancel()
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("watcher: %w", err)
		}
		return nil
	}
	defer func() { _ = stopWatcher() }()

	rctx, rcancel := context.WithTimeout(gctx, readyTimeout)
	defer rcancel()
wait:
	for {
		select {
		case <-w.Ready():
			break wait
		case <-events:
			res.StartEvents++
		case <-rctx.Done():
			if err := stopWatcher(); err != nil {
				return err
			}
			return fmt.Errorf("watch %s: not ready: %w", dir, context.Cause(rctx))
		}
	}
	res.Ready = time.Since(t0)
	cpu1, err := cpuTime()
	if err != nil {
		return err
	}
	res.StartupCPU = cpu1 - cpu0
	if res.MemReady, err = readMem(); err != nil {
		return err
	}
	res.WatchCount = w.WatchCount()
	inodes, err := inotifyWatches()
	if err != nil {
		return err
	}
	res.KernelWatchs = len(inodes)
	res.IgnoredWatch = []string{}
	for _, ino := range inodes {
		if p, ok := ignored[ino]; ok {
			res.IgnoredWatch = append(res.IgnoredWatch, p)
		}
	}
	fmt.Fprintf(os.Stderr, "watchscale: ready after %.3fs with %d watches; idling %s\n", res.Ready.Seconds(), res.WatchCount, res.Idle)

	idle := time.NewTimer(res.Idle)
	defer idle.Stop()
	for done := false; !done; {
		select {
		case <-idle.C:
			done = true
		case <-events:
			res.IdleEvents++
		case <-gctx.Done():
			if err := stopWatcher(); err != nil {
				return err
			}
			return fmt.Errorf("watch %s: stopped while idle: %w", dir, context.Cause(gctx))
		}
	}
	cpu2, err := cpuTime()
	if err != nil {
		return err
	}
	res.IdleCPU = cpu2 - cpu1

	if err := checkEvents(gctx, dir, events, res); err != nil {
		return err
	}
	if res.MemEnd, err = readMem(); err != nil {
		return err
	}
	return stopWatcher()
}

// checkEvents changes a file under node_modules, then a source file, and reads events
// until the source file's arrives (events come in order): the first must not be
// reported, the second must.
func checkEvents(ctx context.Context, dir string, events <-chan watcher.Event, res *result) error {
	ign, src := ignoredFile(0), srcFile(0, 0)
	if err := os.WriteFile(filepath.Join(dir, ign), []byte("// changed\n"), 0o644); err != nil {
		return fmt.Errorf("change %s: %w", ign, err)
	}
	t0 := time.Now()
	if err := os.WriteFile(filepath.Join(dir, src), []byte("package d00 // changed\n"), 0o644); err != nil {
		return fmt.Errorf("change %s: %w", src, err)
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-events:
			for _, p := range ev.Paths {
				switch {
				case strings.Contains(filepath.ToSlash(p), ignoredDirName+"/"):
					res.SeenIgnored = true
				case strings.HasSuffix(filepath.ToSlash(p), filepath.ToSlash(src)):
					res.SeenSource = true
					res.SeenLatency = time.Since(t0)
				}
			}
			if res.SeenSource {
				return nil
			}
		case <-timeout.C:
			return nil // reported as not seen
		case <-ctx.Done():
			return fmt.Errorf("watch %s: stopped during the event check: %w", dir, context.Cause(ctx))
		}
	}
}

const mb = 1 << 20

// write prints the results as Markdown, ready for BENCHMARKS.md.
func (r *result) write(w io.Writer) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	idlePct := 0.0
	if r.Idle > 0 {
		idlePct = 100 * r.IdleCPU.Seconds() / r.Idle.Seconds()
	}
	fmt.Fprintf(w, "## watch scale\n\n- command: `%s` (%s)\n", r.Command, r.Machine)
	fmt.Fprintf(w, "- tree: %d files in %d directories, plus %d files in %d directories under the ignored %s (generated in %.1fs)\n\n",
		r.Tree.Files, r.Tree.Dirs, r.Tree.IgnoredFiles, r.Tree.IgnoredDirs, ignoredDirName, r.Generate.Seconds())
	fmt.Fprintf(w, "| measure | value | goal | verdict |\n|---|--:|--:|---|\n")
	fmt.Fprintf(w, "| time to Ready | %.3fs (CPU %.2fs) | ≤ 2s | %s |\n", r.Ready.Seconds(), r.StartupCPU.Seconds(), verdict(r.Ready <= 2*time.Second))
	fmt.Fprintf(w, "| peak RSS (start + idle) | %.1f MB (base %.1f MB, at Ready %.1f MB, end %.1f MB) | ≤ 150 MB | %s |\n",
		float64(r.MemEnd.Peak)/mb, float64(r.MemBase.RSS)/mb, float64(r.MemReady.RSS)/mb, float64(r.MemEnd.RSS)/mb, verdict(r.MemEnd.Peak <= 150*mb))
	fmt.Fprintf(w, "| idle CPU over %s | %.3fs (%.2f%% of a core), %d events | near zero (≤ 1%%) | %s |\n",
		r.Idle, r.IdleCPU.Seconds(), idlePct, r.IdleEvents, verdict(idlePct <= 1 && r.IdleEvents == 0))
	fmt.Fprintf(w, "| watches | WatchCount %d, kernel %d, directories outside %s %d | one per directory | %s |\n",
		r.WatchCount, r.KernelWatchs, ignoredDirName, r.Tree.Dirs, verdict(r.KernelWatchs == r.WatchCount && r.WatchCount <= r.Tree.Dirs))
	fmt.Fprintf(w, "| watches under %s | %d | 0 | %s |\n", ignoredDirName, len(r.IgnoredWatch), verdict(len(r.IgnoredWatch) == 0))
	fmt.Fprintf(w, "| source change reported | %v (after %.3fs) | yes | %s |\n", r.SeenSource, r.SeenLatency.Seconds(), verdict(r.SeenSource))
	fmt.Fprintf(w, "| %s change reported | %v | no | %s |\n", ignoredDirName, r.SeenIgnored, verdict(!r.SeenIgnored))
	if r.StartEvents > 0 {
		fmt.Fprintf(w, "\n%d events were reported before Ready.\n", r.StartEvents)
	}
}

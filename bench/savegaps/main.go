// Command savegaps measures how the file events of one save are spread in time, for
// the ways editors and tools write files, through devloop's own watcher. The debounce
// quiet period must be longer than the largest gap inside one save (or one save
// becomes two builds) and is otherwise pure added latency: this picks the default.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devloop/devloop/watcher"
	"golang.org/x/sync/errgroup"
)

type pattern struct {
	name string
	save func(dir string, i int) error
}

func main() {
	n := flag.Int("n", 20, "saves per pattern")
	files := flag.Int("checkout-files", 2000, "files that differ between the two git branches")
	flag.Parse()
	if err := run(*n, *files); err != nil {
		fmt.Fprintln(os.Stderr, "savegaps:", err)
		os.Exit(1)
	}
}

func run(n, checkoutFiles int) error {
	dir, err := os.MkdirTemp("", "devloop-savegaps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := setupRepo(dir, checkoutFiles); err != nil {
		return err
	}
	rules, err := watcher.NewRules(watcher.RulesOptions{Root: dir})
	if err != nil {
		return err
	}
	w, err := watcher.New(watcher.Options{Rules: rules})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan watcher.Event, 4096)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.Run(gctx, events) })
	<-w.Ready()

	patterns := []pattern{
		{"in place (VS Code, Emacs)", func(d string, i int) error {
			return os.WriteFile(filepath.Join(d, "main.go"), []byte(fmt.Sprintf("package main\n\n// %d\nfunc main() {}\n", i)), 0o644)
		}},
		{"temp + rename (JetBrains, vim backupcopy=no)", func(d string, i int) error {
			tmp := filepath.Join(d, "main.go___jb_tmp___")
			if err := os.WriteFile(tmp, []byte(fmt.Sprintf("package main\n\n// r%d\nfunc main() {}\n", i)), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, filepath.Join(d, "main.go"))
		}},
		{"vim default (4913 probe, backup rename, write)", func(d string, i int) error {
			p := filepath.Join(d, "main.go")
			probe := filepath.Join(d, "4913")
			if err := os.WriteFile(probe, nil, 0o644); err != nil {
				return err
			}
			if err := os.Remove(probe); err != nil {
				return err
			}
			if err := os.Rename(p, p+"~"); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(fmt.Sprintf("package main\n\n// v%d\nfunc main() {}\n", i)), 0o644); err != nil {
				return err
			}
			return os.Remove(p + "~")
		}},
		{"gofmt -w", func(d string, i int) error {
			p := filepath.Join(d, "fmt.go")
			if err := os.WriteFile(p, []byte(fmt.Sprintf("package main\nvar  x%d =1\n", i)), 0o644); err != nil {
				return err
			}
			drain(events, 100*time.Millisecond)
			return exec.Command("gofmt", "-w", p).Run()
		}},
		{fmt.Sprintf("git checkout (%d files)", checkoutFiles), func(d string, i int) error {
			branch := "a"
			if i%2 == 1 {
				branch = "b"
			}
			return git(d, "checkout", "-q", branch)
		}},
	}
	fmt.Printf("| save pattern | saves | events per save (median) | spread first→last (median / max) | largest gap between events (median / max) |\n|---|--:|--:|--:|--:|\n")
	for _, p := range patterns {
		var counts []int
		var spreads, gaps []time.Duration
		for i := 0; i < n; i++ {
			drain(events, 150*time.Millisecond)
			if err := p.save(dir, i); err != nil {
				cancel()
				return fmt.Errorf("%s: %w", p.name, err)
			}
			times := collect(events, 500*time.Millisecond)
			if len(times) == 0 {
				continue
			}
			counts = append(counts, len(times))
			spreads = append(spreads, times[len(times)-1].Sub(times[0]))
			var gap time.Duration
			for j := 1; j < len(times); j++ {
				gap = max(gap, times[j].Sub(times[j-1]))
			}
			gaps = append(gaps, gap)
		}
		fmt.Printf("| %s | %d | %d | %s / %s | %s / %s |\n", p.name, len(counts), medianInt(counts),
			ms(median(spreads)), ms(slices.Max(spreads)), ms(median(gaps)), ms(slices.Max(gaps)))
	}
	cancel()
	return g.Wait()
}

// collect returns the arrival times of events until quiet passes with none.
func collect(ch <-chan watcher.Event, quiet time.Duration) []time.Time {
	var times []time.Time
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case <-ch:
			times = append(times, time.Now())
			t.Reset(quiet)
		case <-t.C:
			return times
		}
	}
}

func drain(ch <-chan watcher.Event, quiet time.Duration) { collect(ch, quiet) }

func setupRepo(dir string, files int) error {
	if err := git(dir, "init", "-q", "-b", "a"); err != nil {
		return err
	}
	for _, kv := range [][2]string{{"user.email", "bench@devloop"}, {"user.name", "bench"}} {
		if err := git(dir, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	write := func(tag string) error {
		for i := 0; i < files; i++ {
			p := filepath.Join(dir, "data", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.txt", i))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(tag+strings.Repeat("x", i%100)), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return err
	}
	if err := write("a"); err != nil {
		return err
	}
	if err := git(dir, "add", "-A"); err != nil {
		return err
	}
	if err := git(dir, "commit", "-q", "-m", "a"); err != nil {
		return err
	}
	if err := git(dir, "checkout", "-q", "-b", "b"); err != nil {
		return err
	}
	if err := write("b"); err != nil {
		return err
	}
	if err := git(dir, "commit", "-q", "-am", "b"); err != nil {
		return err
	}
	return git(dir, "checkout", "-q", "a")
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianInt(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

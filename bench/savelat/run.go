package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// settings are the knobs of a run (the command-line flags).
type settings struct {
	N            int           `json:"n"`
	Rounds       int           `json:"rounds"`
	Loops        []string      `json:"loops"`
	Example      string        `json:"example"`
	Devloop      string        `json:"devloop"`
	Air          string        `json:"air"`
	Buildctl     string        `json:"buildctl"`
	Go           string        `json:"go"`
	Settle       time.Duration `json:"settle_ns"`
	PollEvery    time.Duration `json:"poll_every_ns"`
	HTTPTimeout  time.Duration `json:"http_timeout_ns"`
	EditTimeout  time.Duration `json:"edit_timeout_ns"`
	StartTimeout time.Duration `json:"start_timeout_ns"`
	NoopChecks   bool          `json:"noop_checks"`
	LogDir       string        `json:"log_dir,omitempty"`
	// Extra are the context-scale variants every loop is measured with (issue 15):
	// files the build does not read added to each copy.
	Extra []extraSpec `json:"extra,omitempty"`
	// Daemon is the BuildKit address whose daemon's CPU time is measured per edit.
	Daemon    string    `json:"daemon,omitempty"`
	Progress  io.Writer `json:"-"`
	round     int       // 1-based round of the current measure (log file names)
	firstEdit int       // edits made in earlier rounds: save modes keep alternating across rounds
}

// splitEdits spreads n edits over rounds as evenly as possible, earlier rounds first.
func splitEdits(n, rounds int) []int {
	out := make([]int, rounds)
	for i := range out {
		out[i] = n / rounds
		if i < n%rounds {
			out[i]++
		}
	}
	return out
}

// mergeRound adds one round's result of a loop to the rounds before it: samples are
// appended (numbered on), the startup is the slowest seen, the checks and phases come
// from all samples, and an error ends the loop.
func mergeRound(acc, r loopResult) loopResult {
	if acc.Loop == "" {
		return r
	}
	offset := len(acc.Samples)
	for _, s := range r.Samples {
		s.Edit += offset
		acc.Samples = append(acc.Samples, s)
	}
	acc.Startup = max(acc.Startup, r.Startup)
	acc.PeakRSS = max(acc.PeakRSS, r.PeakRSS)
	acc.Summary = summarize(acc.latencies())
	acc.CPU = cpuMedians(acc.Samples)
	if strings.HasPrefix(acc.Loop, "devloop") {
		acc.Phases = phaseMedians(acc.Samples)
	}
	acc.Checks = append(acc.Checks, r.Checks...)
	acc.Error, acc.LastOutput = r.Error, r.LastOutput
	return acc
}

// loopNames are the loops a run measures unless told which, in report order.
var loopNames = []string{"floor", "naive", "air", "devloop", "devloop-server", "devloop-all", "devloop-nopin", "devloop-image", "devloop-debounce50",
	"devloop-whole", "devloop-walk", "devloop-debounce0"}

// shapesAlias names every loop of the Dockerfile shapes (shapeLoops) in --loops.
const shapesAlias = "shapes"

// knownLoops are every loop a run can measure: loopNames, then the shapes'.
func knownLoops() []string { return append(slices.Clone(loopNames), shapeLoops()...) }

// reloader is one loop under test.
type reloader interface {
	// start launches the loop in its copy; its server comes to answer afterwards.
	start(ctx context.Context) error
	// busy reports whether the loop is building or restarting, as far as it tells.
	busy() bool
	// stop ends the loop and every process it started; every wait in it is bounded.
	stop() error
}

// loopEnv is what every loop gets: its fresh copy of the example, its server address,
// the environment for its processes and the log of their output.
type loopEnv struct {
	dir  string
	addr string
	env  []string
	log  *lineLog
}

// sample is one edit's measurement.
type sample struct {
	Edit    int              `json:"edit"`
	Mode    editMode         `json:"mode"`
	Text    string           `json:"text"`
	Latency time.Duration    `json:"latency_ns"`
	Devloop *devloopActivity `json:"devloop,omitempty"`
	// CPU is what devloop and the daemon used from the save until the loop was idle.
	CPU *cpuUse `json:"cpu,omitempty"`
}

// noopCheck is one save that must not restart anything (or not build at all).
type noopCheck struct {
	Name     string          `json:"name"`
	Path     string          `json:"path"`
	Want     string          `json:"want"`
	Pass     bool            `json:"pass"`
	Activity devloopActivity `json:"activity"`
	// Work is the time from the save to devloop's last line about it (0: it said
	// nothing).
	Work time.Duration `json:"work_ns"`
}

// loopResult is everything measured for one loop.
type loopResult struct {
	Loop    string        `json:"loop"` // the loop's label: its name, and its extra files
	Name    string        `json:"name"` // the loop's name
	Extra   extraSpec     `json:"extra"`
	Startup time.Duration `json:"startup_ns"` // loop start → first answer
	Samples []sample      `json:"samples"`
	Summary summary       `json:"summary"`
	Phases  []phaseRow    `json:"phases,omitempty"`
	Checks  []noopCheck   `json:"noop_checks,omitempty"`
	CPU     *cpuUse       `json:"cpu_median,omitempty"` // per edit
	PeakRSS int64         `json:"devloop_peak_rss_bytes,omitempty"`
	Error   string        `json:"error,omitempty"`
	// LastOutput is the loop's last output lines when it failed.
	LastOutput []string `json:"last_output,omitempty"`
}

func (r *loopResult) latencies() []time.Duration {
	out := make([]time.Duration, len(r.Samples))
	for i, s := range r.Samples {
		out[i] = s.Latency
	}
	return out
}

// newReloader builds the named loop.
func newReloader(name string, s *settings, e *loopEnv) (reloader, error) {
	switch name {
	case "floor":
		return &hostLoop{e: e, build: []string{s.Go, "build", "-o", "bin/server", "./cmd/server"}}, nil
	case "naive":
		if os.Getenv("BUILDKIT_HOST") == "" {
			return nil, fmt.Errorf("loop naive: BUILDKIT_HOST is not set")
		}
		return &hostLoop{e: e, build: []string{s.Buildctl, "build", "--frontend", "dockerfile.v0",
			"--local", "context=.", "--local", "dockerfile=.", "--opt", "target=server",
			"--output", "type=local,dest=."}}, nil
	case "air":
		return &procLoop{e: e, argv: []string{s.Air, "-c", ".air.toml"}, config: ".air.toml",
			body: airConfig(e.addr), grace: 10 * time.Second}, nil
	case "devloop", "devloop-server", "devloop-all", "devloop-nopin", "devloop-image", "devloop-debounce50",
		"devloop-whole", "devloop-walk", "devloop-debounce0":
		// devloop-all, devloop-nopin, devloop-image, devloop-debounce50, devloop-whole
		// and devloop-walk are the "before" of six optimizations: every target rebuilt
		// on every change, images resolved on every build, the # syntax frontend image
		// started on every build, the earlier 50 ms debounce default, the whole
		// context sent to every target (issue 15, direction 1), and that whole context
		// walked on every build (direction 2). devloop-debounce0 tries a build at the
		// first event of a burst (direction 3).
		argv := []string{s.Devloop, "up"}
		o := devloopOptions{serverOnly: name == "devloop-server"}
		switch name {
		case "devloop-all":
			argv = append(argv, "--only-affected=false")
		case "devloop-nopin":
			argv = append(argv, "--pin=false")
		case "devloop-image":
			o.frontend = "image"
		case "devloop-debounce50":
			o.debounce = "50ms"
		case "devloop-whole":
			argv = append(argv, "--narrow-context=false")
		case "devloop-walk":
			argv = append(argv, "--narrow-context=false", "--context-cache=false")
		case "devloop-debounce0":
			o.debounce = "0s"
		}
		return devloopLoop(e, argv, o), nil
	}
	if _, written := shapeOf(name); slices.Contains(shapeLoops(), name) {
		return devloopLoop(e, []string{s.Devloop, "up"}, devloopOptions{written: written}), nil
	}
	return nil, fmt.Errorf("unknown loop %q (known: %s)", name, strings.Join(knownLoops(), ", "))
}

// devloopLoop is a `devloop up` loop with devloop.yaml written from o.
func devloopLoop(e *loopEnv, argv []string, o devloopOptions) reloader {
	return &procLoop{e: e, argv: argv, config: "devloop.yaml", body: devloopConfig(e.addr, o), isBusy: devloopBusy,
		grace: 20 * time.Second}
}

// measure runs one loop on a fresh copy of the example, with extra's files added, and
// makes s.N edits.
func measure(ctx context.Context, s *settings, name string, extra extraSpec) (res loopResult) {
	res.Loop, res.Name, res.Extra = extra.label(name), name, extra
	defer func() { res.Summary, res.CPU = summarize(res.latencies()), cpuMedians(res.Samples) }() // also for a partial run
	fail := func(err error, log *lineLog) loopResult {
		res.Error = err.Error()
		if log != nil {
			res.LastOutput = log.tail(20)
		}
		return res
	}
	dir, err := os.MkdirTemp("", "devloop-bench-"+name+"-")
	if err != nil {
		return fail(fmt.Errorf("create the copy for %s: %w", name, err), nil)
	}
	defer os.RemoveAll(dir)
	if err := copyTree(s.Example, dir); err != nil {
		return fail(err, nil)
	}
	sh, _ := shapeOf(name)
	if sh != nil {
		if err := sh.apply(dir); err != nil {
			return fail(err, nil)
		}
	}
	if err := extra.generate(dir); err != nil {
		return fail(err, nil)
	}
	var logCopy io.Writer
	if s.LogDir != "" {
		base := strings.ReplaceAll(res.Loop, " ", "_")
		logName := base + ".log"
		if s.round > 1 {
			logName = fmt.Sprintf("%s.round%d.log", base, s.round)
		}
		f, err := os.Create(filepath.Join(s.LogDir, logName))
		if err != nil {
			return fail(fmt.Errorf("create log: %w", err), nil)
		}
		defer f.Close()
		logCopy = f
	}
	port, err := freePort()
	if err != nil {
		return fail(err, nil)
	}
	e := &loopEnv{
		dir:  dir,
		addr: fmt.Sprintf("127.0.0.1:%d", port),
		env:  append(os.Environ(), "GOFLAGS=-buildvcs=false"),
		log:  newLineLog(logCopy),
	}
	url := "http://" + e.addr + "/"
	r, err := newReloader(name, s, e)
	if err != nil {
		return fail(err, nil)
	}
	edits := &editor{path: filepath.Join(dir, greetingFile)}
	if err := edits.load(); err != nil {
		return fail(err, nil)
	}
	p := newPoller(s.PollEvery, s.HTTPTimeout)

	text := fmt.Sprintf("%s start %08x", name, rand.Uint32())
	if err := edits.set(text, editInPlace); err != nil {
		return fail(err, nil)
	}
	t0 := time.Now()
	if err := r.start(ctx); err != nil {
		_ = r.stop()
		return fail(fmt.Errorf("start %s: %w", name, err), e.log)
	}
	defer func() {
		if err := r.stop(); err != nil && res.Error == "" {
			res.Error = err.Error()
		}
		if got, err := p.get(context.Background(), url); err == nil {
			msg := fmt.Sprintf("%s still answers %q after the loop stopped", url, got)
			res.Error = strings.TrimPrefix(res.Error+"; "+msg, "; ")
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, s.StartTimeout)
	t1, err := p.until(sctx, url, text)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("start %s: %w", name, err), e.log)
	}
	res.Startup = t1.Sub(t0)
	fmt.Fprintf(s.Progress, "%s: serving after %s\n", res.Loop, seconds(res.Startup))
	meter := newCPUMeter(s, r)

	idle := func(want string) error { return waitIdle(ctx, r, e.log, p, url, want, s.Settle) }
	isDevloop := strings.HasPrefix(name, "devloop")
	mark := 0
	for i := range s.N {
		if err := idle(text); err != nil {
			return fail(err, e.log)
		}
		if i > 0 && isDevloop {
			a := parseDevloop(e.log.since(mark))
			res.Samples[i-1].Devloop = &a
			if use, ok := meter.stop(); ok {
				res.Samples[i-1].CPU = &use
			}
		}
		mark = e.log.mark()
		mode := editModes[(s.firstEdit+i)%len(editModes)]
		text = fmt.Sprintf("%s edit %d %08x", name, i+1, rand.Uint32())
		meter.start()
		if err := edits.set(text, mode); err != nil {
			return fail(err, e.log)
		}
		written := time.Now()
		ectx, cancel := context.WithTimeout(ctx, s.EditTimeout)
		served, err := p.until(ectx, url, text)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("edit %d (%s): %w", i+1, mode, err), e.log)
		}
		res.Samples = append(res.Samples, sample{Edit: i + 1, Mode: mode, Text: text, Latency: served.Sub(written)})
		fmt.Fprintf(s.Progress, "%s: edit %d/%d (%s): %s\n", res.Loop, i+1, s.N, mode, seconds(served.Sub(written)))
	}
	if err := idle(text); err != nil {
		return fail(err, e.log)
	}
	if isDevloop && len(res.Samples) > 0 {
		a := parseDevloop(e.log.since(mark))
		res.Samples[len(res.Samples)-1].Devloop = &a
		if use, ok := meter.stop(); ok {
			res.Samples[len(res.Samples)-1].CPU = &use
		}
		res.Phases = phaseMedians(res.Samples)
	}
	// The shapes measure rebuilds only: the saves that must restart nothing are the
	// devloop loops' (every save of a shape without the dev build costs a minute).
	if isDevloop && s.NoopChecks && sh == nil {
		checks, err := noopChecks(ctx, s, res.Loop, extra, r, e, p, url, text)
		res.Checks = checks
		if err != nil {
			return fail(err, e.log)
		}
	}
	res.PeakRSS = peakRSS(meter.devloop)
	return res
}

// noopSave is one save that must restart nothing: the file, its new content, and
// what devloop must (not) do.
type noopSave struct {
	name, path, content, want string
	pass                      func(devloopActivity) bool
}

// noopChecks makes the saves that must not restart the server: a _test.go file and a
// file the build does not read (devloop may build, but the binary stays byte-identical),
// and an ignored file (no build at all).
func noopChecks(ctx context.Context, s *settings, name string, extra extraSpec, r reloader, e *loopEnv, p *poller, url, text string) ([]noopCheck, error) {
	const testFile = "package greeting\n\nimport \"testing\"\n\nfunc TestText(t *testing.T) {\n\tif Text == \"\" {\n\t\tt.Error(\"Text is empty\")\n\t}\n}\n"
	checks := []noopSave{
		{"test file", "internal/greeting/greeting_test.go", testFile, "no restart",
			func(a devloopActivity) bool { return a.Starts["server"] == 0 }},
		{"file the build does not read", "notes.txt", "notes\n", "no restart",
			func(a devloopActivity) bool { return a.Starts["server"] == 0 }},
		{"ignored file", "README.md", "# greeter\n", "no build",
			func(a devloopActivity) bool { return a.Builds == 0 && a.Starts["server"] == 0 }},
	}
	if extra.Files > 0 {
		// One of the extra files, in the middle of the tree (issue 15's goal: no
		// restart, and little work however large the context).
		i := extra.Files / 2
		checks = append(checks, noopSave{"extra file the build does not read", filepath.ToSlash(extra.extraFile(i)), string(extra.content(i, "v2")), "no restart",
			func(a devloopActivity) bool { return a.Starts["server"] == 0 }})
	}
	// A build, if any, starts within the debounce; wait that long before asking for idle.
	observe := max(2*time.Second, 2*s.Settle)
	var out []noopCheck
	for _, c := range checks {
		mark := e.log.mark()
		if err := writeFile(filepath.Join(e.dir, filepath.FromSlash(c.path)), []byte(c.content), editInPlace); err != nil {
			return out, err
		}
		written := time.Now()
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("no-op check %q: %w", c.name, context.Cause(ctx))
		case <-time.After(observe):
		}
		if err := waitIdle(ctx, r, e.log, p, url, text, s.Settle); err != nil {
			return out, fmt.Errorf("no-op check %q: %w", c.name, err)
		}
		reaction := e.log.since(mark)
		a := parseDevloop(reaction)
		var work time.Duration
		if n := len(reaction); n > 0 {
			work = reaction[n-1].At.Sub(written)
		}
		out = append(out, noopCheck{Name: c.name, Path: c.path, Want: c.want, Pass: c.pass(a), Activity: a, Work: work})
		fmt.Fprintf(s.Progress, "%s: no-op check %s (%s): %d build(s), %d restart(s), done after %s\n", name, c.name, c.path, a.Builds, a.Starts["server"], seconds(work))
	}
	return out, nil
}

// idleTimeout bounds the wait for a loop to become idle between edits.
const idleTimeout = 3 * time.Minute

// waitIdle returns once the loop is idle: not busy, no output for settle, and its server
// answers want.
func waitIdle(ctx context.Context, r reloader, log *lineLog, p *poller, url, want string, settle time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, idleTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "not idle yet"
	for {
		if !r.busy() && time.Since(log.lastActivity()) >= settle {
			got, err := p.get(ctx, url)
			if err == nil && got == want {
				return nil
			}
			last = fmt.Sprintf("answer %q (%v)", got, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the loop to settle serving %q: %w (%s)", want, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

// editor rewrites the greeting file.
type editor struct {
	path string
	src  []byte
}

func (ed *editor) load() error {
	b, err := os.ReadFile(ed.path)
	if err != nil {
		return fmt.Errorf("read the greeting: %w", err)
	}
	ed.src = b
	return nil
}

func (ed *editor) set(text string, mode editMode) error {
	b, err := withGreeting(ed.src, text)
	if err != nil {
		return err
	}
	return writeFile(ed.path, b, mode)
}

// copyTree copies the example src into dst, leaving out outputs and state (bin, tmp,
// .devloop) so every loop starts from the same clean tree.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		if d.IsDir() && (rel == "bin" || rel == "tmp" || rel == ".devloop") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copy %s: %w", p, err)
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("copy %s: %w", p, err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("copy %s: %w", p, err)
			}
			if err := os.WriteFile(target, b, fi.Mode().Perm()); err != nil {
				return fmt.Errorf("copy %s: %w", p, err)
			}
		}
		return nil
	})
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// commandOutput returns a command's output on one line, or why there is none.
func commandOutput(timeout time.Duration, argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("unavailable (%s: %v)", strings.Join(argv, " "), err)
	}
	var lines []string
	for _, ln := range strings.Split(string(out), "\n") {
		if f := strings.Fields(ln); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "; ")
}

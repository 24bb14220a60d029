package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// extraSpec is the context-scale dimension of a run (issue 15): how many files the
// build does not read are added to each copy of the example, and where.
type extraSpec struct {
	Files  int    `json:"files"`
	Layout string `json:"layout,omitempty"` // layoutAssets or layoutPackage; "" with no files
}

// Layouts of the extra files.
const (
	// layoutAssets puts data files no build step reads under assets/: a web front
	// end, documents, test data.
	layoutAssets = "assets"
	// layoutPackage puts Go files in packages the server does not import under
	// internal/unused/: the other commands and generated code of a monorepo.
	layoutPackage = "package"
)

// scaleLoops are the loops measured with extra files: devloop, and the "before" of
// directions 1 and 2 (the whole context sent; the whole context walked). The others
// (the floor beside them, the other "befores") are measured without.
var scaleLoops = []string{"devloop", "devloop-whole", "devloop-walk"}

// extraPerDir is how many extra files share a directory.
const extraPerDir = 200

// extraSize is the size of one extra file.
const extraSize = 200

// label names a loop measured with spec: the loop's own name without extra files
// (so the goals between loops apply), "devloop +50k assets" with them.
func (e extraSpec) label(loop string) string {
	if e.Files == 0 {
		return loop
	}
	n := strconv.Itoa(e.Files)
	if e.Files%1000 == 0 {
		n = strconv.Itoa(e.Files/1000) + "k"
	}
	return fmt.Sprintf("%s +%s %s", loop, n, e.Layout)
}

// parseExtra reads --extra-files (counts) and --extra-layout (layouts): one spec per
// count and layout, a single one for 0.
func parseExtra(files, layouts string) ([]extraSpec, error) {
	var ls []string
	for _, l := range strings.Split(layouts, ",") {
		l = strings.TrimSpace(l)
		if l != layoutAssets && l != layoutPackage {
			return nil, fmt.Errorf("--extra-layout: unknown layout %q (known: %s, %s)", l, layoutAssets, layoutPackage)
		}
		ls = append(ls, l)
	}
	var out []extraSpec
	seen := map[extraSpec]bool{}
	for _, f := range strings.Split(files, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--extra-files: %q is not a file count", f)
		}
		for _, l := range ls {
			spec := extraSpec{Files: n, Layout: l}
			if n == 0 {
				spec.Layout = ""
			}
			if !seen[spec] {
				seen[spec] = true
				out = append(out, spec)
			}
		}
	}
	return out, nil
}

// extraFile is the path of extra file i of spec, relative to the copy's root.
func (e extraSpec) extraFile(i int) string {
	d, f := i/extraPerDir, i%extraPerDir
	if e.Layout == layoutPackage {
		return filepath.Join("internal", "unused", fmt.Sprintf("p%04d", d), fmt.Sprintf("f%03d.go", f))
	}
	return filepath.Join("assets", fmt.Sprintf("d%04d", d), fmt.Sprintf("f%03d.txt", f))
}

// content is extra file i's content, extraSize bytes: Go source of package pNNNN
// for the package layout.
func (e extraSpec) content(i int, salt string) []byte {
	var s string
	if e.Layout == layoutPackage {
		s = fmt.Sprintf("package p%04d\n\n// C%03d is generated.\nconst C%03d = %q\n", i/extraPerDir, i%extraPerDir, i%extraPerDir, salt)
	} else {
		s = fmt.Sprintf("extra file %d %s\n", i, salt)
	}
	if len(s) < extraSize {
		pad := strings.Repeat("x", extraSize-len(s)-1) + "\n"
		if e.Layout == layoutPackage {
			pad = "//" + pad[2:]
		}
		s += pad
	}
	return []byte(s)
}

// generate writes spec's files into dir.
func (e extraSpec) generate(dir string) error {
	made := map[string]bool{}
	for i := range e.Files {
		p := filepath.Join(dir, e.extraFile(i))
		if d := filepath.Dir(p); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("generate extra files: %w", err)
			}
			made[d] = true
		}
		if err := os.WriteFile(p, e.content(i, "v1"), 0o644); err != nil {
			return fmt.Errorf("generate extra files: %w", err)
		}
	}
	return nil
}

// clockTicks is the unit of /proc/PID/stat's utime and stime (USER_HZ, 100 on every
// Linux the benchmark runs on).
const clockTicks = 100

// cpuTime is the CPU time (user + system) a process has used so far, its own threads
// only; false when it cannot be read.
func cpuTime(pid int) (time.Duration, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseCPUTime(string(b))
}

// parseCPUTime reads utime and stime (fields 14 and 15) of a /proc/PID/stat line.
func parseCPUTime(s string) (time.Duration, bool) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * time.Second / clockTicks, true
}

// daemonPID finds the process listening on a unix:// BuildKit address: the socket's
// inode from /proc/net/unix, then the process holding it.
func daemonPID(addr string) (int, error) {
	sock, ok := strings.CutPrefix(addr, "unix://")
	if !ok {
		return 0, fmt.Errorf("daemon address %s: not a unix socket", addr)
	}
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	inode := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 8 && fields[7] == sock {
			inode = fields[6]
			break
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("daemon address %s: no listening socket in /proc/net/unix", addr)
	}
	want := "socket:[" + inode + "]"
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, errors.New("daemon address " + addr + ": no process holds its socket")
}

// cpuMeter measures the CPU time of devloop and the daemon between two points.
type cpuMeter struct {
	devloop, daemon int // pids; 0 when unknown
	d0, b0          time.Duration
	ok              bool
}

func (m *cpuMeter) start() {
	var ok1, ok2 bool
	m.d0, ok1 = cpuTime(m.devloop)
	m.b0, ok2 = cpuTime(m.daemon)
	m.ok = ok1 && ok2
}

// stop returns the CPU time each used since start; false if either was unreadable.
func (m *cpuMeter) stop() (cpuUse, bool) {
	d1, ok1 := cpuTime(m.devloop)
	b1, ok2 := cpuTime(m.daemon)
	if !m.ok || !ok1 || !ok2 {
		return cpuUse{}, false
	}
	return cpuUse{Devloop: d1 - m.d0, Daemon: b1 - m.b0}, true
}

// cpuUse is the CPU time devloop and buildkitd used for one edit, from the save until
// the loop was idle again.
type cpuUse struct {
	Devloop time.Duration `json:"devloop_ns"`
	Daemon  time.Duration `json:"buildkitd_ns"`
}

// newCPUMeter measures the CPU time of r's devloop process and of the daemon at
// s.Daemon; a loop that is not devloop measures nothing.
func newCPUMeter(s *settings, r reloader) *cpuMeter {
	m := &cpuMeter{}
	if pl, ok := r.(*procLoop); ok && pl.c != nil && strings.HasPrefix(filepath.Base(pl.argv[0]), "devloop") {
		m.devloop = pl.c.pid()
	}
	if m.devloop != 0 && s.Daemon != "" {
		if pid, err := daemonPID(s.Daemon); err == nil {
			m.daemon = pid
		} else {
			fmt.Fprintf(s.Progress, "savelat: no CPU time of the daemon: %v\n", err)
		}
	}
	return m
}

// cpuMedians is the median CPU use per edit of the samples that measured it.
func cpuMedians(samples []sample) *cpuUse {
	var d, b []float64
	for _, s := range samples {
		if s.CPU != nil {
			d = append(d, s.CPU.Devloop.Seconds())
			b = append(b, s.CPU.Daemon.Seconds())
		}
	}
	md, ok1 := medianFloat(d)
	mb, ok2 := medianFloat(b)
	if !ok1 || !ok2 {
		return nil
	}
	return &cpuUse{Devloop: time.Duration(md * float64(time.Second)), Daemon: time.Duration(mb * float64(time.Second))}
}

// Issue 15's goals for the context-scale run.
const (
	// scaleGoalFiles and scaleGoalRatio: save→serving with this many extra files at
	// most this many times the same loop's without.
	scaleGoalFiles = 50000
	scaleGoalRatio = 1.10
	// unreadGoalFiles and unreadGoalWork: a save of a file the build does not read,
	// in a context this large, restarts nothing and is done within this time.
	unreadGoalFiles = 100000
	unreadGoalWork  = 200 * time.Millisecond
)

// writeScale prints the context-scale table and goals when the run measured loops
// with extra files or their CPU time.
func (r *report) writeScale(w io.Writer) {
	show := false
	for _, l := range r.Loops {
		show = show || l.Extra.Files > 0 || l.CPU != nil
	}
	if !show {
		return
	}
	base := func(name string) *loopResult {
		for i := range r.Loops {
			if l := &r.Loops[i]; l.Name == name && l.Extra.Files == 0 && l.Error == "" && l.Summary.N > 0 {
				return l
			}
		}
		return nil
	}
	fmt.Fprintf(w, "\ncontext scale (extra files the build does not read; CPU time per edit, median, from the save until the loop was idle):\n\n")
	fmt.Fprintf(w, "| loop | extra files | n | median | vs none | devloop CPU | buildkitd CPU | devloop peak RSS |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	var goals []string
	for _, l := range r.Loops {
		extra := "-"
		if l.Extra.Files > 0 {
			extra = fmt.Sprintf("%d (%s)", l.Extra.Files, l.Extra.Layout)
		}
		vs := "-"
		if b := base(l.Name); b != nil && l.Extra.Files > 0 {
			vs = ratio(l.Summary.Median, b.Summary.Median)
			if l.Extra.Files == scaleGoalFiles && strings.HasPrefix(l.Name, "devloop") {
				g := goal{limit: scaleGoalRatio}
				goals = append(goals, fmt.Sprintf("| %s / %s | %s | %s | %s |", l.Loop, b.Loop, vs, g,
					g.verdict(l.Summary.Median.Seconds(), b.Summary.Median.Seconds())))
			}
		}
		dcpu, bcpu := "-", "-"
		if l.CPU != nil {
			dcpu, bcpu = cpuSeconds(l.CPU.Devloop), cpuSeconds(l.CPU.Daemon)
		}
		rss := "-"
		if l.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(l.PeakRSS)/(1<<20))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", l.Loop, extra, l.Summary.N, seconds(l.Summary.Median), vs, dcpu, bcpu, rss)
		for _, c := range l.Checks {
			if l.Extra.Files < unreadGoalFiles || !strings.HasPrefix(c.Name, "extra file") {
				continue
			}
			verdict := "met"
			switch {
			case c.Activity.Starts["server"] > 0:
				verdict = "missed: the server restarted"
			case c.Work > unreadGoalWork:
				verdict = fmt.Sprintf("missed by %.0f%%", (c.Work.Seconds()/unreadGoalWork.Seconds()-1)*100)
			}
			goals = append(goals, fmt.Sprintf("| %s: save of `%s` (%d build(s), %d restart(s)) | done after %s | no restart, ≤ %s | %s |",
				l.Loop, c.Path, c.Activity.Builds, c.Activity.Starts["server"], seconds(c.Work), seconds(unreadGoalWork), verdict))
		}
	}
	if len(goals) > 0 {
		fmt.Fprintf(w, "\n| context-scale goal | value | goal | verdict |\n|---|--:|--:|---|\n%s\n", strings.Join(goals, "\n"))
	}
}

// cpuSeconds formats a CPU time, 0 included.
func cpuSeconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// peakRSS is a process's resident-memory high-water mark (VmHWM in /proc/PID/status)
// in bytes, 0 when it cannot be read.
func peakRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

//go:build linux

package faults

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// Status lines devloop prints (README "Output lines (stable)").
var (
	reStarted     = regexp.MustCompile(`^\[devloop\] build started #(\d+)`)
	reFinished    = regexp.MustCompile(`^\[devloop\] build (ok|failed|cancelled) #(\d+)`)
	reUnavailable = regexp.MustCompile(`^\[devloop\] builder unavailable, retrying in ([0-9.]+)s`)
	reProcStarted = regexp.MustCompile(`^server: started \(pid (\d+)\)`)
	reProcReady   = regexp.MustCompile(`^server: ready \(pid (\d+)\)`)
	reProcStopped = regexp.MustCompile(`^server: stopped \(pid (\d+)\)`)
	reRestarting  = regexp.MustCompile(`^server: restarting in ([0-9.]+)s`)
)

// newProject writes files (relative path → content) into a new temp dir.
func newProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		e2etest.WriteFile(t, filepath.Join(dir, name), files[name])
	}
	return dir
}

// runDevloop runs devloop in dir with extra environment variables and waits for it.
func runDevloop(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return e2etest.Run(t, dir, env, devloopBin, args...)
}

// result is a finished devloop run.
type result = e2etest.Result

// mustBuild runs `devloop build` and fails the test unless it exits 0.
func mustBuild(t *testing.T, dir string, env ...string) result {
	t.Helper()
	r := runDevloop(t, dir, env, "build", "--progress", "quiet")
	if r.Code != 0 {
		t.Fatalf("devloop build in %s: %v", dir, r)
	}
	return r
}

// snapshot maps every file and symlink below dir (slash path relative to dir) to
// "sha256:<hex> <mode>" or "-> <target>"; a missing dir is an empty snapshot.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			if rel == ".devloop" {
				return fs.SkipDir
			}
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			sum, err := fileDigest(path)
			if err != nil {
				return err
			}
			out[rel] = sum + " " + fi.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// diffSnapshots describes how got differs from want, "" if equal.
func diffSnapshots(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		switch g, ok := got[k]; {
		case !ok:
			fmt.Fprintf(&b, "  missing %s\n", k)
		case g != want[k]:
			fmt.Fprintf(&b, "  %s = %s, want %s\n", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "  unexpected %s (%s)\n", k, got[k])
		}
	}
	return b.String()
}

// stagingLeft lists staging dirs left in the project: entries of .devloop/staging and
// .devloop-staging-* dirs anywhere below it.
func stagingLeft(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	ents, err := os.ReadDir(filepath.Join(dir, ".devloop", "staging"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		left = append(left, filepath.Join(".devloop", "staging", e.Name()))
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".devloop-staging-") {
			rel, _ := filepath.Rel(dir, path)
			left = append(left, rel)
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// upProc is a running `devloop up` whose merged stdout and stderr the test reads line
// by line, with the time each line arrived.
type upProc struct {
	t   *testing.T
	cmd *exec.Cmd

	mu     sync.Mutex
	lines  []string
	at     []time.Time
	change chan struct{} // closed and replaced on every new line and at the end
	ended  bool

	exited chan struct{} // closed once the process was waited for
	wg     sync.WaitGroup
}

// startUp starts `devloop up` in dir. Its stdout and stderr are read through separate
// pipes, so that a status line is never cut by a concurrent write to the other stream
// (the Go runtime's scheduler traces write a line in several pieces). The process is
// killed, and the reader goroutines waited for, when the test ends.
func startUp(t *testing.T, dir string, env []string, args ...string) *upProc {
	t.Helper()
	cmd := exec.Command(devloopBin, append([]string{"up"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var readers []*os.File
	for _, w := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		*w = pw
		readers = append(readers, pr)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProc{t: t, cmd: cmd, change: make(chan struct{}), exited: make(chan struct{})}
	open := len(readers)
	for _, pr := range readers {
		p.wg.Go(func() { // reads until every writer (devloop, its children) closed the pipe
			defer pr.Close()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				p.mu.Lock()
				p.lines = append(p.lines, sc.Text())
				p.at = append(p.at, time.Now())
				close(p.change)
				p.change = make(chan struct{})
				p.mu.Unlock()
			}
			p.mu.Lock()
			if open--; open == 0 {
				p.ended = true
			}
			close(p.change)
			p.change = make(chan struct{})
			p.mu.Unlock()
		})
	}
	p.wg.Go(func() {
		_ = cmd.Wait()
		close(p.exited)
	})
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
		}
		<-p.exited
		// Children that outlived devloop would keep the pipes open: the orphan checks
		// report them; do not hang here.
		done := make(chan struct{})
		go func() { p.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			for _, pr := range readers {
				pr.Close()
			}
			<-done
		}
		if t.Failed() {
			t.Logf("devloop up output (last 200 lines):\n%s", p.tail(200))
		}
	})
	return p
}

func (p *upProc) pid() int { return p.cmd.Process.Pid }

// n is the number of lines read so far.
func (p *upProc) n() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *upProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}

// since returns the lines from index from on.
func (p *upProc) since(from int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines[min(from, len(p.lines)):])
}

// count counts the lines from index from on that match re.
func (p *upProc) count(re *regexp.Regexp, from int) int {
	ms, _ := p.matches(re, from)
	return len(ms)
}

// matches returns the submatches and arrival times of the lines from index from on
// that match re.
func (p *upProc) matches(re *regexp.Regexp, from int) ([][]string, []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ms [][]string
	var ts []time.Time
	for i := from; i < len(p.lines); i++ {
		if m := re.FindStringSubmatch(p.lines[i]); m != nil {
			ms = append(ms, m)
			ts = append(ts, p.at[i])
		}
	}
	return ms, ts
}

// waitLine waits for the first line at index ≥ from matching re and returns its index
// and submatches; it fails the test on timeout or if the output ends.
func (p *upProc) waitLine(re *regexp.Regexp, from int, timeout time.Duration) (int, []string) {
	p.t.Helper()
	i, m, err := p.awaitLine(re, from, timeout)
	if err != nil {
		p.t.Fatal(err)
	}
	return i, m
}

// awaitLine is waitLine returning an error instead of failing.
func (p *upProc) awaitLine(re *regexp.Regexp, from int, timeout time.Duration) (int, []string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if m := re.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return i, m, nil
			}
		}
		from = max(from, len(p.lines))
		ended, change := p.ended, p.change
		p.mu.Unlock()
		if ended {
			return 0, nil, fmt.Errorf("devloop up output ended before a line matched %q", re)
		}
		select {
		case <-change:
		case <-deadline.C:
			return 0, nil, fmt.Errorf("timed out after %s waiting for a line matching %q", timeout, re)
		}
	}
}

// waitQuiet waits until every build started from line index from on has finished and
// no new build has started for quiet; it returns the number of builds started.
func (p *upProc) waitQuiet(from int, quiet, timeout time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		started, finished := 0, 0
		var last time.Time
		for i := from; i < len(p.lines); i++ {
			switch {
			case reStarted.MatchString(p.lines[i]):
				started++
				last = p.at[i]
			case reFinished.MatchString(p.lines[i]):
				finished++
				last = p.at[i]
			}
		}
		ended, change := p.ended, p.change
		p.mu.Unlock()
		if started > 0 && started == finished && time.Since(last) >= quiet {
			return started
		}
		if ended {
			p.t.Fatalf("devloop up output ended while waiting for builds to settle")
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("builds did not settle within %s (%d started, %d finished)", timeout, started, finished)
		}
		wait := quiet
		if started > 0 && started == finished {
			wait = quiet - time.Since(last)
		}
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-change:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// waitFirstBuild waits for the first build to end and fails the test unless it
// succeeded.
func (p *upProc) waitFirstBuild(timeout time.Duration) {
	p.t.Helper()
	i, m := p.waitLine(reFinished, 0, timeout)
	if m[1] != "ok" {
		p.t.Fatalf("the first build ended %q, want ok:\n%s", m[1], strings.Join(p.since(0)[:i+1], "\n"))
	}
}

// stop sends sig and waits for devloop to exit, returning its exit code.
func (p *upProc) stop(sig os.Signal, timeout time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal devloop up: %v", err)
	}
	return p.waitExit(timeout)
}

// waitExit waits for devloop to exit and returns its exit code.
func (p *upProc) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("devloop up did not exit within %s", timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// alive reports whether devloop is still running.
func (p *upProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// process is a live process as /proc shows it.
type process struct {
	pid          int
	cmdline, cwd string
	exe          string
}

func (p process) String() string {
	return fmt.Sprintf("pid %d (cwd %s, exe %s): %s", p.pid, p.cwd, p.exe, p.cmdline)
}

// processesUnder lists the live processes other than this one whose working
// directory, executable or command line lies under dir.
func processesUnder(dir string) []process {
	ents, _ := os.ReadDir("/proc")
	var out []process
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		base := filepath.Join("/proc", e.Name())
		if state, _ := procState(pid); state == 'Z' {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(base, "cmdline"))
		p := process{pid: pid, cmdline: strings.TrimSpace(strings.ReplaceAll(string(raw), "\x00", " "))}
		p.cwd, _ = os.Readlink(filepath.Join(base, "cwd"))
		p.exe, _ = os.Readlink(filepath.Join(base, "exe"))
		for _, s := range []string{p.cwd, p.exe, p.cmdline} {
			if strings.Contains(s, dir) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// procState returns the state letter of /proc/PID/stat (R, S, Z, …).
func procState(pid int) (byte, error) {
	f, err := procStatFields(pid)
	if err != nil {
		return 0, err
	}
	return f[0][0], nil
}

// procStatFields returns the fields of /proc/PID/stat after the command name: index
// 0 is the state, 11 utime, 12 stime (man 5 proc numbers them 3, 14, 15).
func procStatFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	return strings.Fields(s[i+1:]), nil
}

// cpuTime is the user+system CPU time a process has used (USER_HZ is 100 on Linux).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	f, err := procStatFields(pid)
	if err != nil {
		t.Fatal(err)
	}
	var ut, st int64
	if _, err := fmt.Sscan(f[11], &ut); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// usage is a process's resource use at one moment.
type usage struct {
	fds, threads int
	rssKB        int64
}

func (u usage) String() string {
	return fmt.Sprintf("%d fds, %d threads, RSS %.1f MB", u.fds, u.threads, float64(u.rssKB)/1024)
}

func resourceUsage(t *testing.T, pid int) usage {
	t.Helper()
	var u usage
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	u.fds = len(fds)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "Threads":
			fmt.Sscan(v, &u.threads)
		case "VmRSS":
			fmt.Sscan(v, &u.rssKB)
		}
	}
	return u
}

// waitGone waits until pid has exited: reaped, or a zombie whose threads have all
// ended and whose files are closed (a zombie leader may still have live threads).
func waitGone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := procState(pid)
		if err != nil {
			return
		}
		if st == 'Z' {
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
			if len(tasks) <= 1 && len(fds) == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still running after %s", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

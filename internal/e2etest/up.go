package e2etest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Status lines devloop prints (README "Output lines (stable)") that Up's waits use.
var (
	BuildStarted  = regexp.MustCompile(`^\[devloop\] build started #(\d+)`)
	BuildFinished = regexp.MustCompile(`^\[devloop\] build (ok|failed|cancelled) #(\d+)`)
)

// logLines is how much of the output a failed test logs.
const logLines = 400

// Up is a running `devloop up`, or a command that runs one, whose stdout and stderr
// the test reads line by line, with the time each line arrived. Lines are indexed
// from 0 in arrival order; methods taking from look at lines from that index on.
//
// Every method is safe while the output grows. The Wait methods fail the test (on
// its goroutine) when their timeout passes or the output ends first; AwaitLine
// returns that as an error instead.
type Up struct {
	t   testing.TB
	cmd *exec.Cmd

	mu     sync.Mutex
	lines  []string
	at     []time.Time
	change chan struct{} // closed and replaced on every new line and at the end
	ended  chan struct{} // closed when every writer closed both pipes

	exited chan struct{} // closed once the process was waited for
	wg     sync.WaitGroup
}

// StartUp starts `bin up args...` in dir, with env added to the environment.
func StartUp(t testing.TB, bin, dir string, env []string, args ...string) *Up {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"up"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return Start(t, cmd)
}

// Start starts cmd, a `devloop up` or a command running one (a shell pipeline), and
// reads its output. Stdout and stderr are read through separate pipes, so that a
// line is never cut by a concurrent write to the other stream (the Go runtime's
// scheduler traces write a line in several pieces); lines of one stream keep their
// order, lines of the two are ordered by arrival. When the test ends the process is
// killed if it still runs, the reader goroutines are waited for, and a failed test
// logs the last 400 lines.
func Start(t testing.TB, cmd *exec.Cmd) *Up {
	t.Helper()
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
		for _, pr := range readers {
			pr.Close()
		}
		t.Fatalf("start %s: %v", cmd, err)
	}
	p := &Up{t: t, cmd: cmd, change: make(chan struct{}), ended: make(chan struct{}), exited: make(chan struct{})}
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
				p.changed()
				p.mu.Unlock()
			}
			p.mu.Lock()
			if open--; open == 0 {
				close(p.ended)
			}
			p.changed()
			p.mu.Unlock()
		})
	}
	p.wg.Go(func() {
		_ = cmd.Wait()
		close(p.exited)
	})
	t.Cleanup(func() {
		if p.Alive() {
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
			t.Logf("devloop up output (last %d lines):\n%s", logLines, p.Tail(logLines))
		}
	})
	return p
}

// changed wakes the waiters; p.mu is held.
func (p *Up) changed() {
	close(p.change)
	p.change = make(chan struct{})
}

// PID is the started process's pid.
func (p *Up) PID() int { return p.cmd.Process.Pid }

// Len is the number of lines read so far.
func (p *Up) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// Output is every line read so far, joined by newlines.
func (p *Up) Output() string {
	return strings.Join(p.Since(0), "\n")
}

// Tail is the last n lines read so far, joined by newlines.
func (p *Up) Tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}

// Since returns the lines from index from on.
func (p *Up) Since(from int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines[min(from, len(p.lines)):])
}

// Count counts the lines read so far that match re.
func (p *Up) Count(re *regexp.Regexp) int {
	ms, _ := p.Matches(re, 0)
	return len(ms)
}

// Matches returns the submatches and arrival times of the lines from index from on
// that match re.
func (p *Up) Matches(re *regexp.Regexp, from int) ([][]string, []time.Time) {
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

// await calls check, with p.mu held, now and whenever a line arrives, the output ends
// or the wait check asked for (after > 0) has passed, until check reports done. It
// returns an error saying what check last saw when timeout passes or the output ends
// first.
func (p *Up) await(timeout time.Duration, check func() (done bool, status string, after time.Duration)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		done, status, after := check()
		change := p.change
		p.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-p.ended:
			p.mu.Lock()
			done, status, _ = check() // the last lines may have settled it
			p.mu.Unlock()
			if done {
				return nil
			}
			return fmt.Errorf("devloop up output ended %s", status)
		default:
		}
		var recheck <-chan time.Time // nil: wait for lines only
		if after > 0 {
			recheck = time.After(after) // collected when unreferenced (Go 1.23)
		}
		select {
		case <-change:
		case <-recheck:
		case <-deadline.C:
			return fmt.Errorf("timed out after %s %s", timeout, status)
		}
	}
}

// WaitLines waits until at least n lines match re and returns the submatches of the
// last one.
func (p *Up) WaitLines(re *regexp.Regexp, n int, timeout time.Duration) []string {
	p.t.Helper()
	var last []string
	err := p.await(timeout, func() (bool, string, time.Duration) {
		seen := 0
		for _, l := range p.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				seen++
				last = m
			}
		}
		return seen >= n, fmt.Sprintf("waiting for %d lines matching %q (%d so far)", n, re, seen), 0
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return last
}

// WaitLine waits for the first line at index ≥ from matching re and returns its index
// and submatches.
func (p *Up) WaitLine(re *regexp.Regexp, from int, timeout time.Duration) (int, []string) {
	p.t.Helper()
	i, m, err := p.AwaitLine(re, from, timeout)
	if err != nil {
		p.t.Fatal(err)
	}
	return i, m
}

// AwaitLine is WaitLine returning an error instead of failing the test.
func (p *Up) AwaitLine(re *regexp.Regexp, from int, timeout time.Duration) (int, []string, error) {
	i, m := -1, []string(nil)
	err := p.await(timeout, func() (bool, string, time.Duration) {
		for ; from < len(p.lines); from++ {
			if m = re.FindStringSubmatch(p.lines[from]); m != nil {
				i = from
				return true, "", 0
			}
		}
		return false, fmt.Sprintf("waiting for a line matching %q", re), 0
	})
	return i, m, err
}

// WaitQuiet waits until every build started from line index from on has finished and
// no build has started or finished for quiet; it returns the number of builds started.
func (p *Up) WaitQuiet(from int, quiet, timeout time.Duration) int {
	p.t.Helper()
	started := 0
	err := p.await(timeout, func() (bool, string, time.Duration) {
		finished := 0
		started = 0
		var last time.Time
		for i := from; i < len(p.lines); i++ {
			switch {
			case BuildStarted.MatchString(p.lines[i]):
				started++
				last = p.at[i]
			case BuildFinished.MatchString(p.lines[i]):
				finished++
				last = p.at[i]
			}
		}
		status := fmt.Sprintf("waiting for builds to settle (%d started, %d finished)", started, finished)
		if started == 0 || started != finished {
			return false, status, 0
		}
		left := quiet - time.Since(last)
		return left <= 0, status, max(left, time.Millisecond)
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return started
}

// WaitFirstBuild waits for the first build to end and fails the test unless it
// succeeded.
func (p *Up) WaitFirstBuild(timeout time.Duration) {
	p.t.Helper()
	i, m := p.WaitLine(BuildFinished, 0, timeout)
	if m[1] != "ok" {
		p.t.Fatalf("the first build ended %q, want ok:\n%s", m[1], strings.Join(p.Since(0)[:i+1], "\n"))
	}
}

// Stop sends sig to the started process, waits for it to exit and returns its exit
// code.
func (p *Up) Stop(sig os.Signal, timeout time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal devloop up: %v", err)
	}
	return p.WaitExit(timeout)
}

// WaitExit waits for the started process to exit and returns its exit code.
func (p *Up) WaitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("devloop up did not exit within %s", timeout)
	}
	return p.cmd.ProcessState.ExitCode()
}

// Alive reports whether the started process still runs.
func (p *Up) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Ended is closed once the output has ended: every process writing it (devloop, the
// commands it is piped through, children it left) closed it.
func (p *Up) Ended() <-chan struct{} { return p.ended }

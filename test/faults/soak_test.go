//go:build e2e && linux

package faults

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

var (
	reSched     = regexp.MustCompile(`^SCHED \d+ms:`)
	reSchedG    = regexp.MustCompile(`^\s+G\d+: status=(\d+)`)
	reGoroutine = regexp.MustCompile(`^goroutine [1-9]\d* .*\]:$`) // 0 is an idle thread, not a goroutine
)

// goroutines waits for a complete scheduler trace (GODEBUG=schedtrace,scheddetail)
// that starts after line index from and counts the live goroutines it lists
// (status 6 is Gdead: a free slot, not a goroutine).
func goroutines(t *testing.T, up *e2etest.Up, from int) int {
	t.Helper()
	start, _ := up.WaitLine(reSched, from, time.Minute)
	end, _ := up.WaitLine(reSched, start+1, time.Minute)
	n := 0
	for _, l := range up.Since(start + 1)[:end-start-1] {
		if m := reSchedG.FindStringSubmatch(l); m != nil && m[1] != "6" {
			n++
		}
	}
	return n
}

// soakSample is devloop's and the daemon's resource use at one moment.
type soakSample struct {
	devloop    usage
	goroutines int
	daemon     usage
}

// idleUsage samples pid's resources every 100ms for window and returns the lowest
// open-file and thread counts seen: the daemon keeps connections and streams of a
// finished build open for a few seconds (its fd count saws between 20 and 26 right
// after builds and settles at the low end when idle).
func idleUsage(t *testing.T, pid int, window time.Duration) usage {
	t.Helper()
	low := resourceUsage(t, pid)
	for end := time.Now().Add(window); time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
		u := resourceUsage(t, pid)
		low.fds, low.threads, low.rssKB = min(low.fds, u.fds), min(low.threads, u.threads), u.rssKB
	}
	return low
}

// TestResourceSoak rebuilds the Go example N times through `devloop up` (fault 8: CI
// 30, full 1,000), each rebuild restarting the server, and compares devloop's open
// files, threads, RSS and live goroutines, and the daemon's open files and threads,
// after a warm-up and at the end against fixed bounds. At the end a goroutine dump
// (SIGQUIT) must show no BuildKit session goroutine left: every solve's session was
// closed.
func TestResourceSoak(t *testing.T) {
	tb := privateTestbed(t)
	n := scaled(t, 30, 1000)
	warm := max(5, n/10)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	// devloop traces its scheduler; the server must not inherit that.
	dir := e2etest.ExampleProject(t, serverYAML(port, "      env: {GODEBUG: \"\", GOTRACEBACK: \"\"}\n"))
	up := startUp(t, dir, append(tb.env(), "GODEBUG=schedtrace=1000,scheddetail=1", "GOTRACEBACK=all"))
	up.WaitFirstBuild(10 * time.Minute)

	sample := func() soakSample {
		from := up.Len()
		g := goroutines(t, up, from)
		return soakSample{devloop: resourceUsage(t, up.PID()), goroutines: g, daemon: idleUsage(t, tb.daemonPID(t), 3*time.Second)}
	}
	var first soakSample
	start := time.Now()
	for i := 1; i <= n; i++ {
		from := up.Len()
		e2etest.SetGreeting(t, dir, fmt.Sprintf("soak %d", i))
		_, m := up.WaitLine(reOKOrFailed, from, 2*time.Minute)
		if m[1] != "ok" {
			t.Fatalf("rebuild %d failed:\n%s", i, strings.Join(up.Since(from), "\n"))
		}
		if i == warm {
			first = sample()
		}
	}
	elapsed := time.Since(start)
	e2etest.WaitServes(t, url, fmt.Sprintf("soak %d", n), time.Minute)
	last := sample()
	t.Logf("%d rebuilds in %s (%s each)", n, elapsed.Round(time.Second), (elapsed / time.Duration(n)).Round(time.Millisecond))
	t.Logf("devloop after %d rebuilds: %v, %d goroutines; after %d: %v, %d goroutines",
		warm, first.devloop, first.goroutines, n, last.devloop, last.goroutines)
	t.Logf("buildkitd after %d rebuilds: %v; after %d: %v", warm, first.daemon, n, last.daemon)

	bounds := []struct {
		what        string
		first, last int64
		limit       int64
	}{
		{"devloop open files", int64(first.devloop.fds), int64(last.devloop.fds), 5},
		{"devloop threads", int64(first.devloop.threads), int64(last.devloop.threads), 5},
		{"devloop RSS (KB)", first.devloop.rssKB, last.devloop.rssKB, 30 << 10},
		{"devloop goroutines", int64(first.goroutines), int64(last.goroutines), 5},
		{"buildkitd open files", int64(first.daemon.fds), int64(last.daemon.fds), 10},
		{"buildkitd threads", int64(first.daemon.threads), int64(last.daemon.threads), 10},
	}
	for _, b := range bounds {
		if b.last-b.first > b.limit {
			t.Errorf("%s grew from %d to %d over %d rebuilds, want at most +%d", b.what, b.first, b.last, n-warm, b.limit)
		}
	}

	// A goroutine dump of the idle devloop: no BuildKit session may be left open.
	from := up.Len()
	if code := up.Stop(syscall.SIGQUIT, time.Minute); code != 2 {
		t.Errorf("devloop exit code after SIGQUIT = %d, want 2 (Go's goroutine dump)", code)
	}
	<-up.Ended() // the whole dump
	dump := up.Since(from)
	total, session := 0, 0
	for i, l := range dump {
		if !reGoroutine.MatchString(l) {
			continue
		}
		total++
		for _, s := range dump[i+1:] {
			if s == "" {
				break
			}
			if strings.Contains(s, "moby/buildkit/session") {
				session++
				break
			}
		}
	}
	if total == 0 {
		t.Fatalf("no goroutine dump after SIGQUIT:\n%s", strings.Join(dump, "\n"))
	}
	if session > 0 {
		t.Errorf("%d of %d goroutines are in BuildKit's session package after %d builds finished: sessions left open", session, total, n)
	}
	t.Logf("goroutine dump at the end: %d goroutines, %d in BuildKit sessions", total, session)
	if left := processesUnder(dir); len(left) > 0 {
		t.Errorf("processes left after devloop died of SIGQUIT: %v", left)
	}
}

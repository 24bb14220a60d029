//go:build e2e && linux

package faults

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// Status lines devloop prints (README "Output lines (stable)").
var (
	reStarted     = e2etest.BuildStarted
	reFinished    = e2etest.BuildFinished
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

// startUp starts `devloop up args...` in dir with env added to the environment (the
// harness: e2etest.Up).
func startUp(t *testing.T, dir string, env []string, args ...string) *e2etest.Up {
	t.Helper()
	return e2etest.StartUp(t, devloopBin, dir, env, args...)
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
	e2etest.Eventually(t, timeout, 20*time.Millisecond, func() (bool, string) {
		st, err := procState(pid)
		if err != nil {
			return true, ""
		}
		if st == 'Z' {
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
			fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
			if len(tasks) <= 1 && len(fds) == 0 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("pid %d still running (state %c)", pid, st)
	})
}

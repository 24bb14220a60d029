//go:build e2e && linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestUpOwnOutput: devloop's output, written into the project by the commands it is
// piped through, never feeds its own watch set. The server serves, builds stop once it
// is up although every line devloop prints changes a file of the build context, and a
// real edit is still built and served.
func TestUpOwnOutput(t *testing.T) {
	e2etest.RequireBuildKit(t)
	const guardBuilds = 3 // feedback.DefaultBuilds
	tests := []struct {
		name   string
		script string // run by sh in the project; $DEVLOOP is devloop; devloop's output ends on stdout
		log    string // the file devloop's output goes to
		before string // its content before devloop starts
		holds  string // what it holds once the server is up
		// maxBuilds bounds the builds started until the server is up and the output
		// quiet; guard: the builds beyond the first were started by log, and the
		// message naming it was printed.
		maxBuilds int
		guard     bool
	}{
		{name: "tee", holds: "server: ready", script: `"$DEVLOOP" up 2>&1 | tee dev.log`, log: "dev.log", maxBuilds: 1},
		{name: "tee -a", holds: "server: ready", script: `"$DEVLOOP" up 2>&1 | tee -a dev.log`, log: "dev.log", before: "[devloop] an older run\n", maxBuilds: 1},
		{name: "tee then cat", holds: "server: ready", script: `"$DEVLOOP" up 2>&1 | tee dev.log | cat`, log: "dev.log", maxBuilds: 1},
		{name: "cat then tee", holds: "server: ready", script: `"$DEVLOOP" up 2>&1 | cat | tee dev.log`, log: "dev.log", maxBuilds: 1},
		{name: "stderr to a file", holds: "build finished", script: `"$DEVLOOP" --log-level debug up 2>dev.err`, log: "dev.err", maxBuilds: 1},
		{
			// Opens the file only for each line: no process holds it open, so only the
			// echo guard can tell.
			name:      "a writer that reopens the file per line",
			script:    `"$DEVLOOP" up 2>&1 | while IFS= read -r l; do printf '%s\n' "$l" >>dev.log; printf '%s\n' "$l"; done`,
			log:       "dev.log",
			holds:     "server: ready",
			maxBuilds: 1 + guardBuilds,
			guard:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, url := serverProject(t)
			if tt.before != "" {
				e2etest.WriteFile(t, filepath.Join(dir, tt.log), tt.before)
			}
			cmd := exec.Command("sh", "-c", tt.script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "DEVLOOP="+devloopBin)
			up := e2etest.Start(t, cmd)
			stopDevloop(t, up, cmd)

			e2etest.WaitServes(t, url, "hello from greeter", 5*time.Minute)
			up.WaitLines(regexp.MustCompile(`^server: ready`), 1, time.Minute)
			// Every line printed changes the log. Without the fix each one starts a
			// build that cancels the last: the builds never stop.
			n := up.WaitQuiet(0, 3*time.Second, time.Minute)
			if n > tt.maxBuilds {
				t.Errorf("%d builds started with no edit, want ≤ %d", n, tt.maxBuilds)
			}
			logBuilds := 0
			reLog := regexp.MustCompile(`changed: .*\b` + regexp.QuoteMeta(tt.log) + `\b`)
			for _, l := range strings.Split(up.Output(), "\n") {
				if reStarted.MatchString(l) && reLog.MatchString(l) {
					logBuilds++
				}
			}
			msg := fmt.Sprintf(`%s only repeats what devloop prints and started %d builds in a row: devloop now ignores it (not watched, not in the build context); to say so in devloop.yaml: watch: {ignore: [%q]}`, tt.log, guardBuilds, tt.log)
			t.Logf("%d builds started with no edit, %d of them for %s", n, logBuilds, tt.log)
			switch {
			case !tt.guard && logBuilds > 0:
				t.Errorf("%d builds were started for %s, want none", logBuilds, tt.log)
			case tt.guard && logBuilds > 0 && !strings.Contains(up.Output(), msg):
				t.Errorf("%d builds were started for %s, and the output lacks %q", logBuilds, tt.log, msg)
			}
			if data, err := os.ReadFile(filepath.Join(dir, tt.log)); err != nil || !strings.Contains(string(data), tt.holds) {
				t.Errorf("%s = %q (err %v), want devloop's output (%q) in it", tt.log, data, err, tt.holds)
			}

			// Watching still works: an edit is built and served.
			e2etest.SetGreeting(t, dir, "hello after "+tt.name)
			e2etest.WaitServes(t, url, "hello after "+tt.name, 2*time.Minute)
		})
	}
}

// stopDevloop interrupts the devloop that cmd runs (not the commands it is piped
// through: they must see the end of its output) when the test ends, and waits for the
// output to end.
func stopDevloop(t *testing.T, up *e2etest.Up, cmd *exec.Cmd) {
	t.Helper()
	t.Cleanup(func() {
		if pid := findProcess(cmd.Process.Pid, devloopBin); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGINT)
		}
		select {
		case <-up.Ended():
		case <-time.After(30 * time.Second):
			t.Errorf("devloop up did not end within 30s of SIGINT")
		}
	})
}

// findProcess returns the pid of root or of one of its children that runs exe; 0 when
// there is none.
func findProcess(root int, exe string) int {
	pids := []int{root}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(root) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); err == nil && link == exe {
			return pid
		}
	}
	return 0
}

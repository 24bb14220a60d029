//go:build e2e && linux

package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// testbed is a private instance of hack/testbed (its own registry and buildkitd), so
// that the daemon and registry can be killed without disturbing anyone else's builds.
// It is started once per test binary and stopped by TestMain.
type testbed struct {
	dir      string // DEVLOOP_TESTBED_DIR
	port     int    // registry port asked for
	addr     string // BUILDKIT_HOST
	registry string // host:port
}

var (
	tbMu     sync.Mutex
	tbCur    *testbed
	tbFailed bool // the private testbed did not come up; later tests fail at once
)

// privateTestbed returns the package's private testbed, starting it on first use
// (a few seconds; its build cache starts cold).
func privateTestbed(t *testing.T) *testbed {
	t.Helper()
	e2etest.RequireBuildKit(t)
	tbMu.Lock()
	defer tbMu.Unlock()
	if tbFailed {
		t.Fatal("the private testbed failed to start (see the first test that used it)")
	}
	if tbCur != nil {
		return tbCur
	}
	dir, err := os.MkdirTemp("", "devloop-faults-testbed-")
	if err != nil {
		t.Fatal(err)
	}
	tb := &testbed{dir: dir, port: registryPort(t)}
	tbCur = tb // stopped by TestMain even if it fails to come up
	tbFailed = true
	tb.up(t)
	tbFailed = false
	t.Logf("private testbed in %s: BUILDKIT_HOST=%s registry=%s", tb.dir, tb.addr, tb.registry)
	return tb
}

// restoreAfter makes sure the daemon and the registry are up again when t ends,
// whatever t killed, so that later tests find a working testbed.
func (tb *testbed) restoreAfter(t *testing.T) {
	t.Cleanup(func() { tb.up(t) })
}

// registryPort picks a free port below the kernel's ephemeral range (32768 and up), so
// that no outgoing connection can take it while the registry is down and it can be
// restarted on the same port, which the running daemon's mirror config names.
func registryPort(t *testing.T) int {
	t.Helper()
	for port := 20000 + os.Getpid()%10000; port < 32000; port++ {
		if portFree(port) {
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000 for the private registry")
	return 0
}

// env is the environment devloop needs to use the private testbed.
func (tb *testbed) env() []string { return []string{"BUILDKIT_HOST=" + tb.addr} }

func (tb *testbed) scriptEnv() []string {
	// No Docker Engine: the shared testbed's owns the default bridge.
	return append(os.Environ(), "DEVLOOP_TESTBED_DIR="+tb.dir, "DEVLOOP_REGISTRY_PORT="+strconv.Itoa(tb.port), "DEVLOOP_TESTBED_DOCKER=0")
}

// up runs hack/testbed/up.sh: it starts whatever of the registry and the daemon is not
// running (re-pushing the images into a new registry) and waits until the daemon
// answers.
func (tb *testbed) up(t *testing.T) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot, "hack", "testbed", "up.sh"), "--env")
	cmd.Env = tb.scriptEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/testbed/up.sh (private, %s): %v\n%s%s", tb.dir, err, stdout.String(), stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "export ")
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "BUILDKIT_HOST":
			tb.addr = v
		case "DEVLOOP_TESTBED_REGISTRY":
			tb.registry = v
		}
	}
	if tb.addr == "" || tb.registry == "" {
		t.Fatalf("hack/testbed/up.sh printed no BUILDKIT_HOST or registry:\n%s", stdout.String())
	}
}

func (tb *testbed) pid(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tb.dir, name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s.pid: %v", name, err)
	}
	return pid
}

// daemonPID is buildkitd's pid.
func (tb *testbed) daemonPID(t *testing.T) int { return tb.pid(t, "buildkitd") }

// kill sends sig to the testbed's buildkitd or registry, waits until it is gone and
// removes its pid file, so that up.sh starts a new one even if the dead process
// lingers as a zombie.
func (tb *testbed) kill(t *testing.T, name string, sig syscall.Signal) {
	t.Helper()
	pid := tb.pid(t, name)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill %s (pid %d): %v", name, pid, err)
	}
	waitGone(t, pid, 30*time.Second)
	if err := os.Remove(filepath.Join(tb.dir, name+".pid")); err != nil {
		t.Fatal(err)
	}
}

// registryDown reports whether nothing answers on the registry's address.
func (tb *testbed) registryDown() bool {
	c, err := net.DialTimeout("tcp", tb.registry, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// stopPrivateTestbed stops the private testbed, if one was started, and removes its
// state.
func stopPrivateTestbed() error {
	tbMu.Lock()
	defer tbMu.Unlock()
	tb := tbCur
	if tb == nil {
		return nil
	}
	tbCur = nil
	cmd := exec.Command("bash", filepath.Join(repoRoot, "hack", "testbed", "down.sh"))
	cmd.Env = tb.scriptEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("stop private testbed %s: %w\n%s", tb.dir, err, out)
	}
	// The daemon's state holds overlay snapshots; anything still mounted stays.
	err := os.RemoveAll(tb.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove private testbed state %s: %w", tb.dir, err)
	}
	return nil
}

//go:build linux

package faults

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	// devloopBin is the devloop binary under test, built once by TestMain.
	devloopBin string
	// repoRoot is the root of the devloop module.
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "devloop-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	devloopBin = filepath.Join(dir, "devloop")
	build := exec.Command("go", "build", "-o", devloopBin, "github.com/devloop/devloop/cmd/devloop")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: build devloop:", err)
		return 1
	}
	code := m.Run()
	if err := stopPrivateTestbed(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// requireBuildKit fails (never skips) when no daemon is configured.
func requireBuildKit(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("BUILDKIT_HOST")
	if addr == "" {
		t.Fatal("BUILDKIT_HOST is not set: fault tests need a real buildkitd; run them with `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	return addr
}

// scaled returns the CI count, or the full count when DEVLOOP_FAULTS_SCALE=full.
func scaled(t *testing.T, ci, full int) int {
	t.Helper()
	switch s := os.Getenv("DEVLOOP_FAULTS_SCALE"); s {
	case "", "ci":
		return ci
	case "full":
		return full
	default:
		t.Fatalf("DEVLOOP_FAULTS_SCALE=%q: want \"ci\" (default) or \"full\"", s)
		return 0
	}
}

// scaledDuration is scaled for time windows.
func scaledDuration(t *testing.T, ci, full time.Duration) time.Duration {
	t.Helper()
	return time.Duration(scaled(t, int(ci), int(full)))
}

// newRand returns the test's random source, seeded from DEVLOOP_FAULTS_SEED or the
// clock; the seed is logged so that a failing run can be repeated.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DEVLOOP_FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DEVLOOP_FAULTS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d (repeat with DEVLOOP_FAULTS_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

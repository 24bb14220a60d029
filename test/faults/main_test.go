//go:build e2e && linux

package faults

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
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
	repoRoot = e2etest.RepoRoot()
	bin, cleanup, err := e2etest.BuildDevloop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer cleanup()
	devloopBin = bin
	code := m.Run()
	if err := stopPrivateTestbed(); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
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

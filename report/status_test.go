package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/loop"
)

// While the daemon is down, every retry says so, but the hints on how to start one are
// printed once per outage, not once per attempt; a build that fails because the daemon
// is gone prints no failure block of its own.
func TestStatusPrinterUnavailable(t *testing.T) {
	down := fmt.Errorf("%w: cannot reach BuildKit at unix:///run/buildkit/buildkitd.sock: connection refused\n  start one: sudo buildkitd &", loop.ErrUnavailable)
	var out bytes.Buffer
	s := NewStatus(&out, nil, StatusOptions{})
	attempt := func(id, n int) {
		s.Event(loop.BuildStarted{ID: id, Targets: []string{"server"}})
		s.Event(loop.TargetFinished{ID: id, Target: "server", Err: down})
		s.Event(loop.BuildFinished{ID: id, Targets: []string{"server"}, Failed: []string{"server"}})
		s.Event(loop.BuilderUnavailable{Err: down, RetryIn: time.Second, Attempt: n})
	}
	for id := 1; id <= 3; id++ {
		attempt(id, id)
	}
	// The daemon is back; a later outage shows the hints again.
	s.Event(loop.BuildStarted{ID: 4, Targets: []string{"server"}})
	s.Event(loop.TargetFinished{ID: 4, Target: "server", OK: true, Changed: []string{"bin/server"}})
	s.Event(loop.BuildFinished{ID: 4, OK: true, Targets: []string{"server"}})
	attempt(5, 1)

	got := out.String()
	tests := []struct {
		what string
		sub  string
		want int
	}{
		{"hint lines", "start one: sudo buildkitd", 2},
		{"full first reports", "[devloop] builder unavailable, retrying in 1.00s:", 2},
		{"one-line repeats", "[devloop] builder still unavailable (attempt ", 2},
		{"attempt 3 numbered", "(attempt 3)", 1},
		{"end lines", "[devloop] build failed #", 4},
	}
	for _, tt := range tests {
		if n := strings.Count(got, tt.sub); n != tt.want {
			t.Errorf("%s: %q appears %d times, want %d; output:\n%s", tt.what, tt.sub, n, tt.want, got)
		}
	}
}

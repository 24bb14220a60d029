package e2etest

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		err := Poll(time.Second, 100*time.Millisecond, func() (bool, string) {
			calls++
			return calls == 3, ""
		})
		if err != nil || calls != 3 {
			t.Errorf("Poll() = %v after %d calls, want nil after 3", err, calls)
		}
		if got := time.Since(start); got != 200*time.Millisecond {
			t.Errorf("Poll() returned after %s, want 200ms (two intervals)", got)
		}
	})
}

func TestPollTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		err := Poll(250*time.Millisecond, 100*time.Millisecond, func() (bool, string) {
			calls++
			return false, fmt.Sprintf("seen %d", calls)
		})
		// Calls at 0, 100, 200 and, at the deadline, 250ms: the last status is reported.
		if err == nil || !strings.Contains(err.Error(), "not within 250ms: seen 4") {
			t.Errorf("Poll() = %v, want the timeout and the last status (seen 4)", err)
		}
		if got := time.Since(start); got != 250*time.Millisecond {
			t.Errorf("Poll() gave up after %s, want 250ms", got)
		}
	})
}

func TestPollChecksOnceWithoutTime(t *testing.T) {
	calls := 0
	if err := Poll(0, time.Hour, func() (bool, string) { calls++; return true, "" }); err != nil || calls != 1 {
		t.Errorf("Poll(0, …) = %v after %d calls, want nil after 1", err, calls)
	}
}

package e2etest

import (
	"fmt"
	"testing"
	"time"
)

// Poll calls cond every interval until it reports done, and returns nil then; once
// timeout has passed since the first call it returns an error holding cond's last
// status (what it saw, for the failure message). It is for waiting on real processes,
// files and servers; logic of devloop's own that depends on time is tested with
// testing/synctest instead.
func Poll(timeout, interval time.Duration, cond func() (done bool, status string)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, status := cond()
		if done {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("not within %s: %s", timeout, status)
		}
		time.Sleep(min(interval, left))
	}
}

// Eventually is Poll that fails the test on timeout. cond runs on the test's
// goroutine, so it may fail the test itself (a process that died will never answer).
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() (done bool, status string)) {
	t.Helper()
	if err := Poll(timeout, interval, cond); err != nil {
		t.Fatal(err)
	}
}

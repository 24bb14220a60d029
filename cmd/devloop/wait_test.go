package main

import (
	"bytes"
	"io"
	"testing"
)

// TestWaitNotices: a swap waiting for another devloop process is said once per target.
func TestWaitNotices(t *testing.T) {
	var out bytes.Buffer
	n := newWaitNotices(func() io.Writer { return &out })
	server, client := n.hook("server"), n.hook("client")
	server("devloop up (pid 42)")
	server("devloop up (pid 42)")
	client("devloop build (pid 43)")
	want := "[devloop] waiting for devloop up (pid 42) to finish exporting server…\n" +
		"[devloop] waiting for devloop build (pid 43) to finish exporting client…\n"
	if got := out.String(); got != want {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

package watcher

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestWatchLimitError(t *testing.T) {
	cur := "unknown"
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
		cur = strings.TrimSpace(string(b))
	}
	err := watchLimitError("/ctx/src", fmt.Errorf("add: %w", syscall.ENOSPC))
	if err == nil {
		t.Fatal("watchLimitError(ENOSPC) = nil, want an error")
	}
	for _, want := range []string{
		"/ctx/src", "fs.inotify.max_user_watches = " + cur, "sudo sysctl fs.inotify.max_user_watches=", "/etc/sysctl.d/",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("watchLimitError() = %q, want it to contain %q", err, want)
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("watchLimitError() = %v, want it to wrap ENOSPC", err)
	}
	if err := watchLimitError("/ctx/src", syscall.EACCES); err != nil {
		t.Errorf("watchLimitError(EACCES) = %v, want nil", err)
	}
	if err := instanceLimitError(syscall.EMFILE); err == nil || !strings.Contains(err.Error(), "fs.inotify.max_user_instances") {
		t.Errorf("instanceLimitError(EMFILE) = %v, want an error naming fs.inotify.max_user_instances", err)
	}
}

func TestLimitFix(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		t.Skipf("read max_user_watches: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		min  int
		want int
	}{
		{min: n + 1, want: n + 1}, // below the minimum: suggest the minimum
		{min: n, want: 2 * n},     // at or above it: suggest twice the current value
	}
	for _, tt := range tests {
		cur, fix := limitFix("max_user_watches", tt.min)
		if cur != strconv.Itoa(n) {
			t.Errorf("limitFix(%d) current = %q, want %d", tt.min, cur, n)
		}
		want := fmt.Sprintf("sudo sysctl fs.inotify.max_user_watches=%d`", tt.want)
		if !strings.Contains(fix, want) {
			t.Errorf("limitFix(%d) fix = %q, want it to contain %q", tt.min, fix, want)
		}
	}
}

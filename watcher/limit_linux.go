package watcher

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// watchLimitError explains an inotify_add_watch failure caused by the
// per-user watch limit, or returns nil if err is something else.
func watchLimitError(dir string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) {
		return nil
	}
	cur, fix := limitFix("max_user_watches", 524288)
	return fmt.Errorf("watch directory %s: inotify watch limit reached (fs.inotify.max_user_watches = %s); %s, "+
		"or exclude large directories in .dockerignore or watch.ignore: %w", dir, cur, fix, err)
}

// instanceLimitError explains an inotify_init failure caused by the per-user
// instance limit, or returns nil if err is something else.
func instanceLimitError(err error) error {
	if !errors.Is(err, syscall.EMFILE) {
		return nil
	}
	cur, fix := limitFix("max_user_instances", 512)
	return fmt.Errorf("start inotify: instance limit reached (fs.inotify.max_user_instances = %s); %s: %w", cur, fix, err)
}

// limitFix reads the current value of fs.inotify.<name> and says how to raise
// it to at least min (twice the current value if that is already reached).
func limitFix(name string, min int) (current, fix string) {
	current = "unknown"
	want := min
	if b, err := os.ReadFile("/proc/sys/fs/inotify/" + name); err == nil {
		current = strings.TrimSpace(string(b))
		if n, err := strconv.Atoi(current); err == nil && n >= min {
			want = 2 * n
		}
	}
	key := "fs.inotify." + name
	fix = fmt.Sprintf("raise it with `sudo sysctl %s=%d` and keep it across reboots with "+
		"`echo %s=%d | sudo tee -a /etc/sysctl.d/90-devloop.conf`", key, want, key, want)
	return current, fix
}

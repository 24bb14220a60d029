package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memStatus is this process's resident memory, from /proc/self/status.
type memStatus struct {
	RSS  int64 `json:"rss_bytes"`  // VmRSS
	Peak int64 `json:"peak_bytes"` // VmHWM: the high-water mark since start (or the last reset)
}

func readMem() (memStatus, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return memStatus{}, fmt.Errorf("read memory status: %w", err)
	}
	return parseStatus(string(b))
}

// parseStatus reads VmRSS and VmHWM ("VmRSS:\t   12345 kB") from a /proc/PID/status text.
func parseStatus(s string) (memStatus, error) {
	var m memStatus
	found := 0
	for _, line := range strings.Split(s, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("parse %s: unexpected value %q", key, value)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("parse memory status: VmRSS or VmHWM missing")
	}
	return m, nil
}

// resetPeak resets VmHWM to the current RSS (Linux ≥ 4.0), so the peak measures only
// what follows, not the tree generation before it.
func resetPeak() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}

// inotifyWatches returns the inode of every inotify watch this process holds, as
// /proc/self/fdinfo lists them for each inotify descriptor.
func inotifyWatches() ([]uint64, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list file descriptors: %w", err)
	}
	var out []uint64
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || target != "anon_inode:inotify" {
			continue
		}
		f, err := os.Open(filepath.Join("/proc/self/fdinfo", fd.Name()))
		if err != nil {
			return nil, fmt.Errorf("read inotify watches: %w", err)
		}
		inodes, err := parseFdinfo(bufio.NewScanner(f))
		_ = f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, inodes...)
	}
	return out, nil
}

// parseFdinfo reads the "inotify wd:1 ino:a2b sdev:800021 mask:…" lines of an inotify
// descriptor's fdinfo; ino is hexadecimal.
func parseFdinfo(sc *bufio.Scanner) ([]uint64, error) {
	var out []uint64
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "inotify ") {
			continue
		}
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, "ino:"); ok {
				ino, err := strconv.ParseUint(v, 16, 64)
				if err != nil {
					return nil, fmt.Errorf("parse inotify fdinfo %q: %w", line, err)
				}
				out = append(out, ino)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read inotify fdinfo: %w", err)
	}
	return out, nil
}

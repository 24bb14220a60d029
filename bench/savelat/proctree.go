package main

import (
	"os"
	"strconv"
	"strings"
)

// procInfo identifies a process: pid plus start time (pids are reused), with its parent
// and process group.
type procInfo struct {
	PID, PPID, PGID int
	Start           uint64 // clock ticks after boot
	State           string // R, S, D, Z (zombie) …
}

// readProc reads /proc/PID/stat; false if the process is gone (or there is no /proc).
func readProc(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	return parseStat(string(b))
}

// parseStat parses a /proc/PID/stat line: "pid (comm) state ppid pgrp ... starttime ...";
// comm may hold spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(s string) (procInfo, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procInfo{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procInfo{}, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procInfo{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procInfo{}, false
	}
	return procInfo{PID: pid, PPID: ppid, PGID: pgid, Start: start, State: f[0]}, true
}

// processTree returns root and all its descendants as /proc shows them now (only root
// where there is no /proc).
func processTree(root int) []procInfo {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]procInfo{}
	var tree []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProc(pid)
		if !ok {
			continue
		}
		if pid == root {
			tree = append(tree, p)
		}
		children[p.PPID] = append(children[p.PPID], p)
	}
	if len(tree) == 0 {
		return []procInfo{{PID: root, PGID: root}}
	}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i].PID]...)
	}
	return tree
}

// running reports whether p is still the same, not yet exited process.
func running(p procInfo) bool {
	now, ok := readProc(p.PID)
	return ok && now.Start == p.Start && now.State != "Z"
}

package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// setPdeathsig makes the kernel SIGKILL the child when the thread that forked it
// exits, i.e. when devloop dies (Run keeps that thread alive, see the package doc).
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// onlyZombies reports whether every process in group pgid is a zombie. A zombie
// whose parent never reaps it (an orphan under an init that does not reap) keeps
// kill(-pgid, 0) succeeding forever although nothing of it runs any more.
func onlyZombies(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(data[i+1:])
		if len(f) < 3 || string(f[2]) != strconv.Itoa(pgid) {
			continue
		}
		if s := string(f[0]); s != "Z" && s != "X" {
			return false
		}
	}
	return true
}

// canFindRuns: processes are found by their environment in /proc (see Options.RunFile).
const canFindRuns = true

// processesWithEnv lists the processes (other than this one) whose environment holds
// the entry KEY=VALUE exactly. Processes whose environment cannot be read (another
// user's, a kernel thread, one that exited meanwhile) are skipped.
func processesWithEnv(entry string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	want := []byte(entry)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for kv := range bytes.SplitSeq(data, []byte{0}) {
			if bytes.Equal(kv, want) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

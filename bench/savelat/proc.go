package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a process the harness started in a process group of its own, with stdout
// and stderr going into a lineLog.
type child struct {
	name   string
	cmd    *exec.Cmd
	out    *os.File      // read end of the output pipe
	exited chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, set before exited is closed
	read   chan struct{} // closed when the output pipe reached EOF
}

// startChild starts argv in dir with env and feeds its output to log. Its lifetime
// ends in stop, which every caller defers.
func startChild(dir string, env []string, log *lineLog, argv ...string) (*child, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = newGroupAttr()
	if err := cmd.Start(); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("start %s in %s: %w", strings.Join(argv, " "), dir, err)
	}
	_ = w.Close() // the child and its descendants hold the write end now
	c := &child{name: argv[0], cmd: cmd, out: r, exited: make(chan struct{}), read: make(chan struct{})}
	// Both goroutines end by themselves: Wait when the process exits (stop makes sure it
	// does), the reader at EOF or when stop closes the pipe.
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	go func() {
		log.readLines(r)
		close(c.read)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop ends the process and everything it started: SIGTERM to its process group, then
// after grace SIGKILL to every process group and process of the tree as it was before
// the signal (reloaders put the servers they run into groups of their own). It returns
// once the process is gone and its output is read; every wait is bounded.
func (c *child) stop(grace time.Duration) error {
	tree := processTree(c.pid())
	var errs []error
	if err := signalGroup(c.pid(), syscall.SIGTERM); err != nil && !isGone(err) {
		errs = append(errs, fmt.Errorf("stop %s (pid %d): %w", c.name, c.pid(), err))
	}
	select {
	case <-c.exited:
	case <-time.After(grace):
	}
	killTree(tree)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		errs = append(errs, fmt.Errorf("stop %s (pid %d): still running 10s after SIGKILL", c.name, c.pid()))
	}
	if left := awaitExit(tree, 5*time.Second); len(left) > 0 {
		errs = append(errs, fmt.Errorf("stop %s (pid %d): processes %v still running 5s after SIGKILL", c.name, c.pid(), left))
	}
	// A descendant that escaped the kill would keep the pipe open: stop reading then.
	select {
	case <-c.read:
	case <-time.After(5 * time.Second):
		errs = append(errs, fmt.Errorf("stop %s (pid %d): output still open 5s after the kill", c.name, c.pid()))
	}
	_ = c.out.Close()
	return errors.Join(errs...)
}

// killTree sends SIGKILL to each process of tree that still is the same process (same
// start time), and to its process group.
func killTree(tree []procInfo) {
	own := ownGroup()
	for _, p := range tree {
		if !running(p) {
			continue
		}
		if p.PGID != own {
			_ = signalGroup(p.PGID, syscall.SIGKILL)
		}
		_ = signalPID(p.PID, syscall.SIGKILL)
	}
}

// awaitExit waits up to timeout for every process of tree to exit (SIGKILL is delivered
// asynchronously) and returns the pids still running then.
func awaitExit(tree []procInfo, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		for _, p := range tree {
			if running(p) {
				left = append(left, p.PID)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isGone(err error) bool { return errors.Is(err, syscall.ESRCH) }

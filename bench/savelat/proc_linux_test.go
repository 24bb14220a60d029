package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestMain doubles as a reloader for TestChildStopKillsTree: with BENCH_HELPER=reloader
// the test binary starts a "server" (sleep) in a process group of its own, the way air
// and devloop do, prints its pid and waits.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_HELPER") == "reloader" {
		srv := exec.Command("sleep", "300")
		srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := srv.Start(); err != nil {
			fmt.Println("helper:", err)
			os.Exit(2)
		}
		fmt.Printf("server pid %d\n", srv.Process.Pid)
		_ = srv.Wait()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// gone reports whether pid has exited (no /proc entry, or a zombie).
func gone(pid int) bool {
	p, ok := readProc(pid)
	return !ok || p.State == "Z"
}

func TestChildStopKillsTree(t *testing.T) {
	log := newLineLog(nil)
	env := append(os.Environ(), "BENCH_HELPER=reloader")
	c, err := startChild(t.TempDir(), env, log, os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) for the helper to report its server.
	server := 0
	err = e2etest.Poll(10*time.Second, 10*time.Millisecond, func() (bool, string) {
		for _, l := range log.since(0) {
			if _, err := fmt.Sscanf(l.Text, "server pid %d", &server); err == nil {
				return true, ""
			}
		}
		return false, "no server pid"
	})
	if err != nil {
		_ = c.stop(time.Second)
		t.Fatalf("helper did not report its server; output: %q", log.tail(5))
	}
	if err := c.stop(100 * time.Millisecond); err != nil {
		t.Errorf("stop() error = %v", err)
	}
	if !gone(c.pid()) {
		t.Errorf("reloader (pid %d) still running after stop()", c.pid())
	}
	if !gone(server) {
		_ = syscall.Kill(server, syscall.SIGKILL)
		t.Errorf("its server (pid %d, own process group) still running after stop()", server)
	}
}

func TestProcessTreeHasSelf(t *testing.T) {
	tree := processTree(os.Getpid())
	if len(tree) == 0 || tree[0].PID != os.Getpid() {
		t.Fatalf("processTree(self) = %+v, want the test process first", tree)
	}
	if tree[0].PPID != os.Getppid() {
		t.Errorf("processTree(self)[0].PPID = %d, want %d", tree[0].PPID, os.Getppid())
	}
}

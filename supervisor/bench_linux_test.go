package supervisor

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// What a stop adds per scan for strays: every process's environment read once.
func BenchmarkStrayScan(b *testing.B) {
	pids, err := processes()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := processesWithEnv(RunIDEnv + "=bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pids)), "processes")
}

// What a ready probe's success adds: the listening sockets and the holder, here
// devloop itself, found only after the run's processes (none) were looked at.
func BenchmarkFindHolder(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	for b.Loop() {
		h, err := findHolder(addr, 0, RunIDEnv+"=bench")
		if err != nil || h.state != heldByOther || h.pid != os.Getpid() {
			b.Fatalf("findHolder = %+v, %v", h, err)
		}
	}
}

// The common case: a process of the run (here devloop's own process group) holds it.
func BenchmarkFindHolderRun(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	pgid := syscall.Getpgrp()
	for b.Loop() {
		h, err := findHolder(addr, pgid, RunIDEnv+"=bench")
		if err != nil || h.state != heldByRun {
			b.Fatalf("findHolder = %+v, %v", h, err)
		}
	}
}

func BenchmarkReadListeners(b *testing.B) {
	for b.Loop() {
		if _, err := readListeners(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDumpListeners(b *testing.B) {
	for b.Loop() {
		if _, err := listeners(); err != nil {
			b.Fatal(err)
		}
	}
}

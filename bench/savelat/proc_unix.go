//go:build unix

package main

import "syscall"

// newGroupAttr puts a child into a process group of its own, so that it and what it
// starts can be signalled together.
func newGroupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(pgid int, sig syscall.Signal) error { return syscall.Kill(-pgid, sig) }

func signalPID(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func ownGroup() int { return syscall.Getpgrp() }

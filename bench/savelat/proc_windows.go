package main

import (
	"errors"
	"syscall"
)

var errNoGroups = errors.New("process groups are not supported on windows")

func newGroupAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return errNoGroups }

func signalPID(int, syscall.Signal) error { return errNoGroups }

func ownGroup() int { return -1 }

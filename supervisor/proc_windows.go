package supervisor

import (
	"errors"
	"net/netip"
	"os"
	"syscall"
)

func platformSupported() error {
	return errors.New("running processes is not supported on windows")
}

// The functions below are never called: New fails first.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return platformSupported() }

func groupGone(int) bool { return true }

func killPID(int) error { return platformSupported() }

func signalPID(int, syscall.Signal) error { return platformSupported() }

func procOf(pid int) (procID, int, error) { return procID{pid: pid, start: 0}, 0, platformSupported() }

func running(procID) bool { return false }

const canFindRuns = false

func processesWithEnv(string) ([]int, error) { return nil, platformSupported() }

func exitedAlready(int) bool { return true }

func findHolder(netip.AddrPort, int, string) (holder, error) { return holder{}, platformSupported() }

func exitSignal(*os.ProcessState) string { return "" }

func signalName(sig syscall.Signal) string { return sig.String() }

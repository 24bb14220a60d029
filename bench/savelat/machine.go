package main

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// machineInfo says where and with what a run was measured.
type machineInfo struct {
	Date     string `json:"date"`
	NProc    int    `json:"nproc"`
	CPU      string `json:"cpu"`
	Memory   string `json:"memory"`
	Kernel   string `json:"kernel"`
	LoadAvg  string `json:"loadavg"`
	Go       string `json:"go"`
	BuildKit string `json:"buildkit"`  // buildctl's version
	Daemon   string `json:"buildkitd"` // the daemon's, from buildctl debug info
	Air      string `json:"air,omitempty"`
	Devloop  string `json:"devloop,omitempty"`
}

func describeMachine(s *settings) machineInfo {
	m := machineInfo{
		Date:    time.Now().UTC().Format(time.RFC3339),
		NProc:   runtime.NumCPU(),
		CPU:     procField("/proc/cpuinfo", "model name"),
		Memory:  procField("/proc/meminfo", "MemTotal"),
		Kernel:  readTrimmed("/proc/sys/kernel/osrelease"),
		LoadAvg: readTrimmed("/proc/loadavg"),
		Go:      commandOutput(10*time.Second, s.Go, "version"),
	}
	for _, l := range s.Loops {
		switch {
		case l == "naive" || strings.HasPrefix(l, "devloop"):
			m.BuildKit = commandOutput(10*time.Second, s.Buildctl, "--version")
			m.Daemon = commandOutput(10*time.Second, s.Buildctl, "debug", "info")
		}
		switch {
		case l == "air":
			m.Air = strings.TrimSpace(lastField(commandOutput(10*time.Second, s.Air, "-v")))
		case strings.HasPrefix(l, "devloop"):
			m.Devloop = commandOutput(20*time.Second, s.Devloop, "version")
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// lastField is the text after the last "; " (air -v prints a banner, then its version).
func lastField(s string) string {
	if i := strings.LastIndex(s, "; "); i >= 0 {
		return s[i+2:]
	}
	return s
}

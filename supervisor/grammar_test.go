package supervisor

import (
	"strings"
	"testing"
)

func TestParseSignal(t *testing.T) {
	tests := []struct{ in, want, errHas string }{
		{"SIGTERM", "SIGTERM", ""},
		{"term", "SIGTERM", ""},
		{"SigInt", "SIGINT", ""},
		{"QUIT", "SIGQUIT", ""},
		{"sighup", "SIGHUP", ""},
		{"KILL", "SIGKILL", ""},
		{"usr1", "SIGUSR1", ""},
		{"SIGUSR2", "SIGUSR2", ""},
		{"SIGSTOP", "", `unsupported signal "SIGSTOP": want one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2`},
		{"15", "", "unsupported signal"}, // names only
		{"SIGSIGTERM", "", "unsupported signal"},
		{"", "", "unsupported signal"},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		switch {
		case tt.errHas == "" && (err != nil || got != tt.want):
			t.Errorf("ParseSignal(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
			t.Errorf("ParseSignal(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.errHas)
		}
	}
	for _, name := range StopSignals() {
		if _, sig, err := parseSignal(name); err != nil || sig == 0 {
			t.Errorf("parseSignal(%q) = %v, %v; want a signal", name, sig, err)
		}
	}
}

// TestCheckReady covers the ready URL grammar devloop.yaml is checked with; the
// prober uses the same (TestNewProber).
func TestCheckReady(t *testing.T) {
	tests := []struct{ ready, errHas string }{
		{"http://127.0.0.1:3000/healthz?full=1", ""},
		{"https://localhost", ""},
		{"tcp://127.0.0.1:5432", ""},
		{"tcp://127.0.0.1:5432/", ""},
		{"tcp://localhost", `invalid ready URL "tcp://localhost": tcp address must be host:port; want http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH or tcp://HOST:PORT`},
		{"tcp://localhost:5432/db", "without a path or query"},
		{"tcp://localhost:5432?x=1", "without a path or query"},
		{"http://:8080/", "missing host"},
		{"http://localhost:99999/", "not a number from 0 to 65535"},
		{"ftp://x", `unsupported scheme "ftp"`},
		{"", `unsupported scheme ""`},
	}
	for _, tt := range tests {
		err := CheckReady(tt.ready)
		if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("CheckReady(%q) = %v, want %q", tt.ready, err, tt.errHas)
		}
	}
}

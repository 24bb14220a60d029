package supervisor

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestNewProber(t *testing.T) {
	tests := []struct {
		ready   string
		wantErr string
	}{
		{"http://127.0.0.1:8080/healthz", ""},
		{"https://localhost:8443", ""},
		{"tcp://localhost:5432", ""},
		{"tcp://localhost", "host:port"},
		{"tcp://:5432", "missing host"}, // as devloop.yaml always refused it
		{"ftp://localhost:21", `unsupported scheme "ftp"`},
		{"localhost:8080", "unsupported scheme"},
		{"http://", "missing host"},
		{"http://[::1", "ready"},
		{"tcp://localhost:99999", "port"},
	}
	for _, tt := range tests {
		_, err := newProber(tt.ready)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("newProber(%q) error = %v, want nil", tt.ready, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("newProber(%q) error = %v, want one containing %q", tt.ready, err, tt.wantErr)
		}
	}
}

func TestProberOnce(t *testing.T) {
	status500 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer status500.Close()
	redirect := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/nowhere", http.StatusFound))
	defer redirect.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // self-signed certificate
	defer tlsSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := closedAddr(t)

	tests := []struct {
		ready string
		want  bool
	}{
		{status500.URL, true},
		{redirect.URL, true},
		{tlsSrv.URL, true},
		{"tcp://" + ln.Addr().String(), true},
		{"http://" + closed, false},
		{"tcp://" + closed, false},
	}
	for _, tt := range tests {
		p, err := newProber(tt.ready)
		if err != nil {
			t.Fatalf("newProber(%q) error = %v", tt.ready, err)
		}
		addr, err := p.once(context.Background())
		if got := err == nil; got != tt.want {
			t.Errorf("once(%q) answered = %v (error %v), want %v", tt.ready, got, err, tt.want)
		}
		// The address connected to is what the listener lookup needs.
		if want := netip.MustParseAddrPort(p.addr); err == nil && addr != want {
			t.Errorf("once(%q) connected to %v, want %v", tt.ready, addr, want)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

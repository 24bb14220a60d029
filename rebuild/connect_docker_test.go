package rebuild

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	apitypes "github.com/moby/buildkit/api/types"
	"google.golang.org/grpc"
)

// fakeControl is the part of BuildKit's control API that Connect and DaemonVersion use.
type fakeControl struct {
	controlapi.UnimplementedControlServer
}

func (fakeControl) ListWorkers(context.Context, *controlapi.ListWorkersRequest) (*controlapi.ListWorkersResponse, error) {
	return &controlapi.ListWorkersResponse{Record: []*apitypes.WorkerRecord{{ID: "fake-worker"}}}, nil
}

func (fakeControl) Info(context.Context, *controlapi.InfoRequest) (*controlapi.InfoResponse, error) {
	return &controlapi.InfoResponse{BuildkitVersion: &apitypes.BuildkitVersion{Version: "v0.0.0-fake-engine"}}, nil
}

// upgrade is one upgrade request the fake engine received.
type upgrade struct {
	method, path, host string
	header             http.Header
}

// fakeEngine is a Docker Engine API that accepts POST /grpc and /session with
// Connection: Upgrade / Upgrade: h2c, answers 101 and serves BuildKit's control API
// (gRPC over h2c) on the upgraded /grpc connections, like dockerd does.
type fakeEngine struct {
	mu       sync.Mutex
	upgrades []upgrade
	status   int // answer instead of 101 when set
	conns    chan net.Conn
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.upgrades = append(f.upgrades, upgrade{method: r.Method, path: r.URL.Path, host: r.Host, header: r.Header.Clone()})
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, "page not found", status)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "h2c" || r.Header.Get("Connection") != "Upgrade" {
		http.Error(w, "not an upgrade request", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	if err := rw.Flush(); err != nil {
		_ = conn.Close()
		return
	}
	if r.URL.Path != "/grpc" {
		_ = conn.Close() // sessions are not served; the request is what the test checks
		return
	}
	f.conns <- &bufferedConn{Conn: conn, r: rw.Reader}
}

func (f *fakeEngine) seen() []upgrade {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.upgrades)
}

// chanListener hands the upgraded connections to a gRPC server.
type chanListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.UnixAddr{Name: "fake-engine", Net: "unix"} }

// startFakeEngine serves a fake engine on a unix socket (or, with tls, on a TLS TCP
// port) and returns it with its address and, for TLS, the server certificate.
func startFakeEngine(t *testing.T, useTLS bool) (*fakeEngine, *httptest.Server, string) {
	t.Helper()
	f := &fakeEngine{conns: make(chan net.Conn)}
	srv := httptest.NewUnstartedServer(f)
	host := ""
	if !useTLS {
		sock := filepath.Join(shortTempDir(t), "docker.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener = l
		srv.Start()
		host = "unix://" + sock
	} else {
		srv.StartTLS()
		host = "tcp://" + srv.Listener.Addr().String()
	}
	gs := grpc.NewServer()
	controlapi.RegisterControlServer(gs, fakeControl{})
	lis := &chanListener{conns: f.conns, closed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = gs.Serve(lis) })
	t.Cleanup(func() {
		srv.Close()
		gs.Stop()
		wg.Wait()
	})
	return f, srv, host
}

// shortTempDir is a temp dir with a path short enough for a unix socket.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// noDockerEnv clears the docker CLI settings the engine resolution reads.
func noDockerEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

// TestConnectDockerEngine connects through a fake Docker Engine the way buildx's
// docker driver does: the address forms reach it, the upgrade request is right, and
// gRPC runs over the upgraded connection.
func TestConnectDockerEngine(t *testing.T) {
	f, _, host := startFakeEngine(t, false)
	tests := []struct {
		name, addr, dockerHost string
	}{
		{"explicit engine", "docker://" + host, ""},
		{"DOCKER_HOST", "docker://", host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noDockerEnv(t)
			t.Setenv("DOCKER_HOST", tt.dockerHost)
			before := len(f.seen())
			c, err := Connect(context.Background(), Options{Address: tt.addr})
			if err != nil {
				t.Fatalf("Connect(%s) = %v, want a connection through the fake engine", tt.addr, err)
			}
			defer c.Close()
			if got, want := c.Address(), "docker://"+host; got != want {
				t.Errorf("Address() = %q, want %q", got, want)
			}
			v, err := c.DaemonVersion(context.Background())
			if err != nil || v != "v0.0.0-fake-engine" {
				t.Errorf("DaemonVersion() = %q, %v, want the fake engine's version", v, err)
			}
			seen := f.seen()[before:]
			if len(seen) == 0 {
				t.Fatal("the fake engine received no request")
			}
			u := seen[0]
			if u.method != http.MethodPost || u.path != "/grpc" || u.header.Get("Upgrade") != "h2c" ||
				u.header.Get("Connection") != "Upgrade" || u.host != dockerLocalHost {
				t.Errorf("upgrade request = %s %s Host %s Upgrade %q Connection %q, want POST /grpc Host %s Upgrade h2c Connection Upgrade",
					u.method, u.path, u.host, u.header.Get("Upgrade"), u.header.Get("Connection"), dockerLocalHost)
			}
		})
	}
}

// TestDockerEngineSession: sessions go to POST /session with BuildKit's session
// headers, like the Docker client's DialHijack.
func TestDockerEngineSession(t *testing.T) {
	noDockerEnv(t)
	f, _, host := startFakeEngine(t, false)
	eng, err := resolveDockerEngine(host, false)
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string][]string{"X-Docker-Expose-Session-Uuid": {"abc"}, "x-docker-expose-session-name": {"devloop"}}
	conn, err := eng.dialHijack(context.Background(), "/session", "h2c", meta)
	if err != nil {
		t.Fatalf("dialHijack(/session) = %v", err)
	}
	_ = conn.Close()
	seen := f.seen()
	if len(seen) != 1 {
		t.Fatalf("the engine received %d requests, want 1", len(seen))
	}
	u := seen[0]
	if u.path != "/session" || u.header.Get("X-Docker-Expose-Session-Uuid") != "abc" ||
		u.header.Get("X-Docker-Expose-Session-Name") != "devloop" || u.header.Get("Upgrade") != "h2c" {
		t.Errorf("session request = %s with headers %v, want /session with the session headers and Upgrade: h2c", u.path, u.header)
	}
}

// TestDockerEngineRefusesUpgrade: an engine without BuildKit answers 404; the error
// names the engine, the path and the status, and the hint says what to check.
func TestDockerEngineRefusesUpgrade(t *testing.T) {
	noDockerEnv(t)
	f, _, host := startFakeEngine(t, false)
	f.mu.Lock()
	f.status = http.StatusNotFound
	f.mu.Unlock()
	_, err := Connect(context.Background(), Options{Address: "docker://" + host, ConnectTimeout: 2 * time.Second})
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Connect() = %v, want an *UnreachableError", err)
	}
	for _, want := range []string{"docker://" + host, "/grpc", "404", "daemon.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Connect() error lacks %q:\n%v", want, err)
		}
	}
}

// TestDockerEngineTLS: DOCKER_HOST=tcp:// with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
// (ca.pem) speaks TLS to the engine, as the docker CLI does.
func TestDockerEngineTLS(t *testing.T) {
	noDockerEnv(t)
	_, srv, host := startFakeEngine(t, true)
	certs := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(certs, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", host)
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	t.Setenv("DOCKER_CERT_PATH", certs)
	c, err := Connect(context.Background(), Options{Address: "docker://"})
	if err != nil {
		t.Fatalf("Connect(docker:// with DOCKER_TLS_VERIFY) = %v, want a TLS connection to the fake engine", err)
	}
	_ = c.Close()
}

// TestResolveDockerEngine covers where docker:// finds the engine.
func TestResolveDockerEngine(t *testing.T) {
	writeContext := func(t *testing.T, name, host string) string {
		dir := t.TempDir()
		sum := sha256.Sum256([]byte(name))
		meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
		if err := os.MkdirAll(meta, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(`{"Name":"`+name+`","Endpoints":{"docker":{"Host":"`+host+`"}}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"`+name+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name         string
		host         string
		env          map[string]string
		context      [2]string // name, host of the current docker context
		insecure     bool
		want, errHas string
	}{
		{name: "default socket", want: "unix:///var/run/docker.sock"},
		{name: "explicit unix", host: "unix:///tmp/d.sock", want: "unix:///tmp/d.sock"},
		{name: "DOCKER_HOST", env: map[string]string{"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, want: "unix:///run/user/1000/docker.sock"},
		{name: "explicit beats DOCKER_HOST", host: "unix:///a.sock", env: map[string]string{"DOCKER_HOST": "unix:///b.sock"}, want: "unix:///a.sock"},
		{name: "current docker context", context: [2]string{"colima", "unix:///home/u/.colima/default/docker.sock"}, want: "unix:///home/u/.colima/default/docker.sock"},
		{name: "DOCKER_HOST beats the context", env: map[string]string{"DOCKER_HOST": "unix:///b.sock"}, context: [2]string{"colima", "unix:///c.sock"}, want: "unix:///b.sock"},
		{name: "loopback tcp", host: "tcp://127.0.0.1:2375", want: "tcp://127.0.0.1:2375"},
		{name: "remote plain tcp refused", host: "tcp://203.0.113.7:2375", errHas: "clear text"},
		{name: "remote plain tcp insecure", host: "tcp://203.0.113.7:2375", insecure: true, want: "tcp://203.0.113.7:2375"},
		{name: "ssh unsupported", host: "ssh://me@host", errHas: "docker-container://"},
		{name: "missing TLS files", host: "tcp://203.0.113.7:2376", env: map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/nonexistent"}, errHas: "ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noDockerEnv(t)
			if tt.context[0] != "" {
				t.Setenv("DOCKER_CONFIG", writeContext(t, tt.context[0], tt.context[1]))
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			eng, err := resolveDockerEngine(tt.host, tt.insecure)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("resolveDockerEngine(%q) = %v, want an error containing %q", tt.host, err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveDockerEngine(%q) = %v", tt.host, err)
			}
			if eng.display != tt.want {
				t.Errorf("resolveDockerEngine(%q) = %s, want %s", tt.host, eng.display, tt.want)
			}
		})
	}
}

// TestBufferedConn: bytes read ahead with the 101 response are not lost.
func TestBufferedConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = b.Write([]byte("HTTP/1.1 101 Switching Protocols\r\n\r\nPRI * h2")) }()
	br := bufio.NewReader(a)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("ReadResponse() = %v, %v", resp, err)
	}
	c := &bufferedConn{Conn: a, r: br}
	buf := make([]byte, 8)
	n, err := c.Read(buf)
	if got, want := string(buf[:n]), "PRI * h2"; err != nil || got != want {
		t.Errorf("Read() = %q, %v, want %q", got, err, want)
	}
}

package rebuild

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestResolveEndpoint covers which addresses are accepted and which are refused
// before anything is dialled.
func TestResolveEndpoint(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name     string
		opts     Options
		errHas   string // empty: accepted
		wantTLS  bool
		wantAddr string
	}{
		{name: "unix", opts: Options{Address: "unix:///run/buildkit/buildkitd.sock"}},
		{name: "unix without path", opts: Options{Address: "unix://"}, errHas: "missing socket path"},
		{name: "tcp loopback plain", opts: Options{Address: "tcp://127.0.0.1:1234"}},
		{name: "tcp localhost plain", opts: Options{Address: "tcp://localhost:1234"}},
		{name: "tcp ipv6 loopback plain", opts: Options{Address: "tcp://[::1]:1234"}},
		{name: "tcp remote plain refused", opts: Options{Address: "tcp://10.1.2.3:1234"}, errHas: "clear text"},
		{name: "tcp remote hostname plain refused", opts: Options{Address: "tcp://buildkit.example.com:1234"}, errHas: "builder.insecure: true"},
		{name: "tcp remote plain insecure", opts: Options{Address: "tcp://10.1.2.3:1234", Insecure: true}},
		{name: "tcp without port", opts: Options{Address: "tcp://10.1.2.3"}, errHas: "tcp://HOST:PORT"},
		{name: "tcp with a path", opts: Options{Address: "tcp://127.0.0.1:1234/buildkit"}, errHas: "tcp://HOST:PORT"},
		{name: "tcp with a trailing slash", opts: Options{Address: "tcp://127.0.0.1:1234/"}},
		{name: "tcp remote TLS with system roots", opts: Options{Address: "tcp://10.1.2.3:1234", TLS: &TLS{}}, wantTLS: true},
		{name: "tcp TLS missing CA", opts: Options{Address: "tcp://10.1.2.3:1234", TLS: &TLS{CA: missing}}, errHas: "builder.tls.ca"},
		{name: "tcp TLS cert without key", opts: Options{Address: "tcp://10.1.2.3:1234", TLS: &TLS{Cert: missing}}, errHas: "cert and key"},
		{name: "docker-container", opts: Options{Address: "docker-container://buildx_buildkit_default0"}},
		{name: "docker-container without name", opts: Options{Address: "docker-container://"}, errHas: "missing name"},
		{name: "kube-pod", opts: Options{Address: "kube-pod://buildkitd-0?namespace=ci"}},
		{name: "docker engine", opts: Options{Address: "docker://unix:///var/run/docker.sock"}, wantAddr: "docker://unix:///var/run/docker.sock"},
		{name: "unsupported scheme", opts: Options{Address: "ftp://x"}, errHas: "unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noDockerEnv(t)
			ep, err := resolveEndpoint(tt.opts, zap.NewNop())
			if tt.errHas != "" {
				var ee *EndpointError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("resolveEndpoint(%s) = %v, want an *EndpointError containing %q", tt.opts.Address, err, tt.errHas)
				}
				if !strings.Contains(err.Error(), tt.opts.Address) {
					t.Errorf("error %q does not name the address %s", err, tt.opts.Address)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveEndpoint(%s) = %v, want it accepted", tt.opts.Address, err)
			}
			if ep.tls != tt.wantTLS {
				t.Errorf("resolveEndpoint(%s).tls = %v, want %v", tt.opts.Address, ep.tls, tt.wantTLS)
			}
			want := tt.wantAddr
			if want == "" {
				want = tt.opts.Address
			}
			if ep.display != want {
				t.Errorf("resolveEndpoint(%s).display = %q, want %q", tt.opts.Address, ep.display, want)
			}
		})
	}
}

// TestCheckAddress: the address grammar devloop.yaml's builder.address is checked
// with is the one Connect uses; it checks the form only.
func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr   string
		errHas string // empty: accepted
	}{
		{"unix:///run/buildkit/buildkitd.sock", ""},
		{"tcp://buildkit.example.com:1234", ""}, // plain text to a remote: Connect refuses it, not the grammar
		{"tcp://[::1]:1234/", ""},
		{"docker-container://buildx_buildkit_default0", ""},
		{"kube-pod://buildkitd-0?namespace=ci", ""},
		{"docker://", ""},
		{"docker://no-such-context", ""},
		{"unix://", "missing socket path"},
		{"unix:relative.sock", "missing socket path"},
		{"tcp://localhost", "tcp://HOST:PORT"},
		{"tcp://:1234", "tcp://HOST:PORT"},
		{"tcp://localhost:1234/x", "tcp://HOST:PORT"},
		{"kube-pod://", "missing name"},
		{"http://localhost:1234", `unsupported scheme "http": want unix://PATH, tcp://HOST:PORT, docker-container://NAME, kube-pod://NAME or docker://`},
		{"auto", `unsupported scheme ""`}, // devloop's own keyword, for its caller to handle
		{"localhost:1234", `unsupported scheme "localhost"`},
		{"tcp://[::1", "missing ']'"},
	}
	for _, tt := range tests {
		err := CheckAddress(tt.addr)
		if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("CheckAddress(%q) = %v, want %q", tt.addr, err, tt.errHas)
		}
	}
}

// TestConnectHelpers: docker-container:// and kube-pod:// go through BuildKit's
// connection helpers, which run `docker exec` / `kubectl exec` with buildctl
// dial-stdio; fake docker and kubectl on PATH record the call and fail, and the error
// names the address.
func TestConnectHelpers(t *testing.T) {
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "calls")
	for _, name := range []string{"docker", "kubectl"} {
		script := "#!/bin/sh\necho \"" + name + " $*\" >> " + record + "\necho 'no such container' >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	tests := []struct {
		addr, wantCall, wantHint string
	}{
		{"docker-container://buildx_buildkit_ci0", "docker exec -i buildx_buildkit_ci0 buildctl dial-stdio", "docker buildx inspect --bootstrap"},
		{"docker-container://bk?context=remote", "docker --context=remote exec -i bk buildctl dial-stdio", "docker ps --filter name=bk"},
		{"kube-pod://buildkitd-0?namespace=ci", "kubectl --context= --namespace=ci exec --container= -i buildkitd-0 -- buildctl dial-stdio", "kube-pod://POD?context="},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			_ = os.Remove(record)
			_, err := Connect(context.Background(), Options{Address: tt.addr, ConnectTimeout: 5 * time.Second})
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("Connect(%s) = %v, want an *UnreachableError", tt.addr, err)
			}
			for _, want := range []string{"cannot reach BuildKit at " + tt.addr, tt.wantHint} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Connect(%s) error lacks %q:\n%v", tt.addr, want, err)
				}
			}
			calls, _ := os.ReadFile(record)
			if !strings.Contains(string(calls), tt.wantCall) {
				t.Errorf("helper calls = %q, want %q", calls, tt.wantCall)
			}
		})
	}
}

// TestUnreachableHints: the hints match the kind of address and failure.
func TestUnreachableHints(t *testing.T) {
	tests := []struct {
		addr, err string
		tls       bool
		want      string
	}{
		{"unix:///run/buildkit/buildkitd.sock", "dial unix: no such file or directory", false, "sudo buildkitd"},
		{"unix:///x.sock", "connection refused", false, "BUILDKIT_HOST"},
		{"tcp://h:1234", "remote error: tls: certificate required", true, "signed by the CA it trusts"},
		{"tcp://h:1234", "remote error: tls: unknown certificate authority", true, "rejected devloop's client certificate"},
		{"tcp://h:1234", "tls: failed to verify certificate: x509: certificate signed by unknown authority", true, "builder.tls.ca"},
		{"tcp://h:1234", "x509: certificate is valid for a.example, not h", true, "server_name"},
		{"tcp://h:1234", "error reading server preface: EOF", false, "requires TLS"},
		{"tcp://h:1234", "tls: first record does not look like a TLS handshake", true, "does not speak TLS"},
		{"tcp://h:1234", "connection refused", false, "listening"},
		{"docker-container://bk", "exit status 1", false, "docker exec -i bk buildctl dial-stdio"},
		{"kube-pod://p", "exit status 1", false, "kubectl exec -i p"},
		{"docker://unix:///var/run/docker.sock", "connection refused", false, "docker group"},
	}
	for _, tt := range tests {
		e := &UnreachableError{Address: tt.addr, Err: errors.New(tt.err), tls: tt.tls}
		if got := e.Error(); !strings.Contains(got, tt.want) || !strings.HasPrefix(got, "cannot reach BuildKit at "+tt.addr+": "+tt.err) {
			t.Errorf("UnreachableError{%s, %q}.Error() = %q, want it to start with the address and error and contain %q", tt.addr, tt.err, got, tt.want)
		}
	}
}

// TestSimplifyDialError: gRPC's wrapping and a connection helper's boilerplate go;
// what failed stays.
func TestSimplifyDialError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial unix /x.sock: connect: no such file or directory"`,
			"dial unix /x.sock: connect: no such file or directory"},
		{`failed to list workers: Unavailable: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`,
			"tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{`failed to list workers: Unavailable: connection error: desc = "error reading server preface: command [docker exec -i foo buildctl dial-stdio] has exited with exit status 1, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=line one\nCannot connect to the Docker daemon. Is the docker daemon running?\n"`,
			"command [docker exec -i foo buildctl dial-stdio] has exited with exit status 1: Cannot connect to the Docker daemon. Is the docker daemon running?"},
		{"failed to list workers: something else", "failed to list workers: something else"},
		// Quotes that belong to the message stay (BuildKit v0.8 on a cache.to type it
		// lacks), at either end or both.
		{`failed to solve: rpc error: code = Unknown desc = unknown cache exporter: "registry"`,
			`unknown cache exporter: "registry"`},
		{`rpc error: code = Unknown desc = "dockerfile" not found`, `"dockerfile" not found`},
		{`rpc error: code = Unknown desc = "a" is not "b"`, `"a" is not "b"`},
		// Quoted as a whole without escaping: the quotes go.
		{`rpc error: code = Unavailable desc = "no such host"`, "no such host"},
	}
	for _, tt := range tests {
		if got := simplifyDialError(errors.New(tt.in)).Error(); got != tt.want {
			t.Errorf("simplifyDialError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

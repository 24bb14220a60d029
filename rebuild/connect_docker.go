package rebuild

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

// defaultDockerHost is where the Docker Engine listens unless told otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

// dockerLocalHost is the Host header the docker CLI sends over a unix socket.
const dockerLocalHost = "api.moby.localhost"

// dockerEngine is a Docker Engine API endpoint whose built-in BuildKit devloop uses
// the way buildx's docker driver does: gRPC over a POST /grpc upgraded to h2c, and
// sessions over POST /session.
type dockerEngine struct {
	network, addr string // for net.Dial
	host          string // HTTP Host header
	tls           *tls.Config
	display       string // unix:///var/run/docker.sock, tcp://host:2376
}

// resolveDockerEngine finds the engine for a docker:// address whose remainder is
// host: that host if set, else $DOCKER_HOST, else the current docker context's
// endpoint, else the default socket.
func resolveDockerEngine(host string, insecure bool) (*dockerEngine, error) {
	var ctxTLSDir string
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		h, tlsDir, err := dockerContextHost()
		if err != nil {
			return nil, err
		}
		host, ctxTLSDir = h, tlsDir
	}
	if host == "" {
		host = defaultDockerHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	switch u.Scheme {
	case "unix":
		path := u.Host + u.Path
		if path == "" {
			return nil, fmt.Errorf("docker host %q: missing socket path", host)
		}
		return &dockerEngine{network: "unix", addr: path, host: dockerLocalHost, display: "unix://" + path}, nil
	case "tcp":
		if u.Hostname() == "" || u.Port() == "" {
			return nil, fmt.Errorf("docker host %q: want tcp://HOST:PORT", host)
		}
		eng := &dockerEngine{network: "tcp", addr: u.Host, host: u.Host, display: "tcp://" + u.Host}
		certDir := ctxTLSDir
		if certDir == "" && os.Getenv("DOCKER_TLS_VERIFY") != "" {
			certDir = os.Getenv("DOCKER_CERT_PATH")
			if certDir == "" {
				certDir = dockerConfigDir()
			}
		}
		if certDir != "" {
			if eng.tls, err = dockerTLS(certDir, u.Hostname()); err != nil {
				return nil, err
			}
		} else if !insecure && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("docker host %s: %w", host, errPlainRemote)
		}
		return eng, nil
	case "ssh":
		return nil, fmt.Errorf("docker host %q: ssh:// is not supported for docker://; use docker-container://NAME "+
			"(it runs the docker CLI, which handles ssh) or forward the engine's socket (ssh -L)", host)
	default:
		return nil, fmt.Errorf("docker host %q: unsupported scheme (want unix:// or tcp://)", host)
	}
}

// dockerConfigDir is the docker CLI's configuration directory.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker")
}

// dockerContextHost returns the docker endpoint of the current docker context
// ($DOCKER_CONTEXT, else config.json's currentContext) and the directory holding its
// TLS material, if any. The "default" context, or none, yields "".
func dockerContextHost() (host, tlsDir string, err error) {
	dir := dockerConfigDir()
	name := os.Getenv("DOCKER_CONTEXT")
	if name == "" {
		data, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			return "", "", nil // no docker CLI configuration: the default context
		}
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return "", "", fmt.Errorf("read docker config %s: %w", filepath.Join(dir, "config.json"), err)
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return "", "", nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return "", "", fmt.Errorf("docker context %q: %w", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host string `json:"Host"`
		} `json:"Endpoints"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return "", "", fmt.Errorf("docker context %q: read %s: %w", name, metaPath, err)
	}
	host = meta.Endpoints["docker"].Host
	if host == "" {
		return "", "", fmt.Errorf("docker context %q: %s has no docker endpoint", name, metaPath)
	}
	if d := filepath.Join(dir, "contexts", "tls", id, "docker"); pathExists(filepath.Join(d, "ca.pem")) {
		tlsDir = d
	}
	return host, tlsDir, nil
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// dockerTLS loads ca.pem and, if present, cert.pem + key.pem from dir, as the docker
// CLI does for DOCKER_TLS_VERIFY.
func dockerTLS(dir, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("docker TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("docker TLS: %s holds no PEM certificate", filepath.Join(dir, "ca.pem"))
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if pathExists(certFile) || pathExists(keyFile) {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("docker TLS: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// clientOpts makes BuildKit's client talk to the engine: every gRPC connection is a
// fresh POST /grpc upgraded to h2c, every session a POST /session.
func (e *dockerEngine) clientOpts() []client.ClientOpt {
	return []client.ClientOpt{
		client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return e.dialHijack(ctx, "/grpc", "h2c", nil)
		}),
		client.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return e.dialHijack(ctx, "/session", proto, meta)
		}),
	}
}

// dialHijack connects to the engine, asks it to switch the connection at path to
// proto (like the Docker client's DialHijack) and returns the upgraded connection.
// ctx bounds the connection set-up only.
func (e *dockerEngine) dialHijack(ctx context.Context, path, proto string, meta map[string][]string) (_ net.Conn, retErr error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, e.network, e.addr)
	if err != nil {
		return nil, fmt.Errorf("dial Docker Engine at %s: %w", e.display, err)
	}
	defer func() {
		if retErr != nil {
			_ = conn.Close()
		}
	}()
	if tc, ok := conn.(*net.TCPConn); ok {
		// Long builds may be silent for minutes; keep-alives stop middleboxes from
		// dropping the connection.
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(30 * time.Second)
	}
	// Unblock the handshake below if ctx ends while it waits.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if e.tls != nil {
		tc := tls.Client(conn, e.tls.Clone())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake with Docker Engine at %s: %w", e.display, err)
		}
		conn = tc
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.host+path, nil)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: %w", path, e.display, err)
	}
	for k, v := range meta {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", proto)
	req.Header.Set("User-Agent", "devloop")
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: %w", path, e.display, ctxErr(ctx, err))
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: %w", path, e.display, ctxErr(ctx, err))
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: answered %s, want 101 Switching Protocols: %s",
			path, e.display, resp.Status, strings.TrimSpace(string(body)))
	}
	if !stop() {
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: %w", path, e.display, context.Cause(ctx))
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("upgrade %s at Docker Engine %s: %w", path, e.display, err)
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// ctxErr prefers ctx's cause over the I/O error its cancellation provoked.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// bufferedConn is a connection whose first bytes were read ahead with the HTTP
// response.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the connection when the underlying one supports it.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("close write: not supported")
}

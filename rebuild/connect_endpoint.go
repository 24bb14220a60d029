package rebuild

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"go.uber.org/zap"

	// Connection helpers for docker-container:// and kube-pod:// register themselves
	// with BuildKit's connhelper registry, which client.New consults.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
)

// endpoint is a resolved address: what to hand to client.New and how to name it.
type endpoint struct {
	target  string // client.New's address
	display string // shown in messages and by Client.Address
	opts    []client.ClientOpt
	tls     bool
	// diagnose, if set, explains a failure to connect better than gRPC's error.
	diagnose func(context.Context) error
}

// errPlainRemote explains why a plain-text tcp:// builder on another host is refused.
var errPlainRemote = errors.New("refusing a plain-text connection to a remote builder: " +
	"without TLS the build context, the results and build secrets cross the network in clear text, " +
	"and anyone who can reach the port can run builds (as root, on a rootful daemon); " +
	"configure mutual TLS with builder.tls {ca, cert, key} (buildkitd --tlscacert/--tlscert/--tlskey), " +
	"or set builder.insecure: true if the network is trusted")

// CheckAddress reports why addr is not a BuildKit address devloop can connect to, or
// nil: unix://PATH, tcp://HOST:PORT, docker-container://NAME, kube-pod://NAME or
// docker://[CONTEXT or HOST]. It checks the form only: whether the TLS files exist,
// a plain-text remote is allowed or a Docker context exists, Connect finds out.
func CheckAddress(addr string) error {
	_, err := parseAddress(addr)
	return err
}

// parseAddress is the address grammar: the one parser of builder addresses.
func parseAddress(addr string) (*url.URL, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "unix":
		if u.Host+u.Path == "" {
			return nil, errors.New("missing socket path (unix:///path/to/buildkitd.sock)")
		}
	case "tcp":
		if u.Hostname() == "" || u.Port() == "" || u.Path != "" && u.Path != "/" {
			return nil, errors.New("want tcp://HOST:PORT")
		}
	case "docker-container", "kube-pod":
		if u.Hostname() == "" {
			return nil, fmt.Errorf("missing name (%s://NAME)", u.Scheme)
		}
		// client.New finds the registered connection helper by scheme.
	case "docker":
	default:
		return nil, fmt.Errorf("unsupported scheme %q: want unix://PATH, tcp://HOST:PORT, docker-container://NAME, kube-pod://NAME or docker://", u.Scheme)
	}
	return u, nil
}

func resolveEndpoint(opts Options, log *zap.Logger) (endpoint, error) {
	addr := opts.Address
	u, err := parseAddress(addr)
	if err != nil {
		return endpoint{}, &EndpointError{Address: addr, Err: err}
	}
	ep := endpoint{target: addr, display: addr}
	if opts.TLS != nil && u.Scheme != "tcp" {
		log.Warn("builder.tls applies to tcp:// addresses only; ignoring it", zap.String("address", addr))
	}
	switch u.Scheme {
	case "tcp":
		if opts.TLS == nil {
			if !opts.Insecure && !isLoopback(u.Hostname()) {
				return endpoint{}, &EndpointError{Address: addr, Err: errPlainRemote}
			}
			break
		}
		topts, tcfg, err := tlsOptions(opts.TLS, u.Hostname())
		if err != nil {
			return endpoint{}, &EndpointError{Address: addr, Err: err}
		}
		ep.opts, ep.tls = topts, true
		ep.diagnose = func(ctx context.Context) error { return diagnoseTLS(ctx, u.Host, tcfg) }
	case "docker":
		eng, err := resolveDockerEngine(strings.TrimPrefix(addr, "docker://"), opts.Insecure)
		if err != nil {
			return endpoint{}, &EndpointError{Address: addr, Err: err}
		}
		ep.target, ep.display, ep.tls = "", "docker://"+eng.display, eng.tls != nil
		ep.opts = eng.clientOpts()
	}
	return ep, nil
}

// isLoopback reports whether host names the local machine without a DNS lookup.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsOptions checks the TLS material up front (so that a wrong path is reported as
// such, not as an unreachable daemon) and returns BuildKit's client options for it
// and an equivalent tls.Config for diagnosing a failed connection.
func tlsOptions(t *TLS, host string) ([]client.ClientOpt, *tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, nil, &FieldError{Field: "builder.tls.ca", Err: err}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, &FieldError{Field: "builder.tls.ca", Err: fmt.Errorf("%s: no PEM certificate found", t.CA)}
		}
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, nil, &FieldError{Field: "builder.tls", Err: errors.New("cert and key must be set together")}
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, nil, &FieldError{Field: "builder.tls.cert", Err: fmt.Errorf("%s / key %s: %w", t.Cert, t.Key, err)}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var opts []client.ClientOpt
	if t.CA != "" {
		opts = append(opts, client.WithServerConfig(t.ServerName, t.CA))
	} else {
		opts = append(opts, client.WithServerConfigSystem(t.ServerName))
	}
	if t.Cert != "" {
		opts = append(opts, client.WithCredentials(t.Cert, t.Key))
	}
	return opts, cfg, nil
}

// diagnoseTLS finds out why a TLS connection to hostport failed. gRPC often reports
// only the symptom ("broken pipe", "EOF") of the daemon rejecting the client
// certificate, as TLS 1.3 sends that verdict after the client's handshake is done:
// this handshake reads on until the daemon's alert arrives. It returns nil when it
// learns nothing.
func diagnoseTLS(ctx context.Context, hostport string, cfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Op == "dial" {
			return nil // not a TLS problem
		}
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	// A daemon that accepted the certificate waits for the client's HTTP/2 preface.
	if _, err := conn.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "tls:") {
		return err
	}
	return nil
}

// unreachableHints says what to check for a failure to reach addr.
func unreachableHints(addr string, err error, usedTLS bool) []string {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	scheme, rest, _ := strings.Cut(addr, "://")
	switch scheme {
	case "tcp":
		return tcpHints(msg, usedTLS)
	case "docker-container":
		name, _, _ := strings.Cut(rest, "?")
		return []string{
			"devloop runs `docker exec -i " + name + " buildctl dial-stdio`: docker must be on PATH and the container running (`docker ps --filter name=" + name + "`)",
			"a buildx builder's container is buildx_buildkit_<builder>0; `docker buildx inspect --bootstrap <builder>` starts it",
		}
	case "kube-pod":
		name, _, _ := strings.Cut(rest, "?")
		return []string{
			"devloop runs `kubectl exec -i " + name + " -- buildctl dial-stdio`: kubectl must be on PATH and the pod running with buildkitd",
			"choose the cluster and namespace with kube-pod://POD?context=CTX&namespace=NS&container=C",
		}
	case "docker":
		hints := []string{
			"is the Docker Engine running there, and may you use its socket (docker group)? " +
				"devloop uses $DOCKER_HOST, else the current docker context, else unix:///var/run/docker.sock",
		}
		if strings.Contains(msg, "/grpc") {
			hints = append(hints, "the engine does not serve BuildKit at /grpc: Docker 23 and later do unless "+
				`"features": {"buildkit": false} is set in daemon.json`)
		}
		return hints
	}
	return []string{
		"start a daemon:  sudo buildkitd --addr " + addr + " &   (in the devloop repo: hack/testbed/up.sh)",
		"or let devloop start one: remove --addr, builder.address and $BUILDKIT_HOST (or set builder.address: auto)",
		"or point devloop at a running one: --addr, builder.address in devloop.yaml, or $BUILDKIT_HOST",
		"(a buildx builder works too: --addr docker-container://buildx_buildkit_<name>0; Docker Engine: --addr docker://)",
	}
}

func tcpHints(msg string, usedTLS bool) []string {
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority"):
		return []string{"devloop does not trust the daemon's certificate: builder.tls.ca must be the CA that signed buildkitd's --tlscert"}
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "certificate is not valid for"):
		return []string{"the daemon's certificate does not name this host: set builder.tls.server_name to a name it holds"}
	case strings.Contains(msg, "certificate required"):
		// Go's TLS client sends no certificate at all when the configured one is not
		// signed by a CA the daemon asks for, so this also means "wrong CA".
		return []string{"the daemon requires a client certificate signed by the CA it trusts (buildkitd --tlscacert): " +
			"set builder.tls.cert and key to one (a certificate from another CA is not even sent)"}
	case strings.Contains(msg, "unknown certificate authority"), strings.Contains(msg, "bad certificate"),
		strings.Contains(msg, "certificate"):
		return []string{"the daemon rejected devloop's client certificate: builder.tls.cert and key must be signed by the CA the daemon trusts (buildkitd --tlscacert)"}
	case !usedTLS && (strings.Contains(msg, "EOF") || strings.Contains(msg, "preface") || strings.Contains(msg, "frame")):
		return []string{"the daemon closed the connection: it probably requires TLS; set builder.tls {ca, cert, key}"}
	case usedTLS && (strings.Contains(msg, "first record does not look like a TLS handshake") || strings.Contains(msg, "oversized record")):
		return []string{"the daemon does not speak TLS: remove builder.tls, or start buildkitd with --tlscacert/--tlscert/--tlskey"}
	}
	return []string{"is buildkitd listening there (buildkitd --addr tcp://0.0.0.0:PORT) and is the port reachable from this machine?"}
}

package rebuild

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// Options configure [Connect].
type Options struct {
	// Address of the daemon: unix://PATH, tcp://HOST:PORT, docker-container://NAME,
	// kube-pod://NAME or docker:// (the Docker Engine's built-in BuildKit, see
	// [Connect]). Required: the caller picks it (devloop's builder address auto is
	// package localbuilder).
	Address string
	// TLS, when set, enables mutual TLS for tcp:// addresses.
	TLS *TLS
	// Insecure permits a plain tcp:// address (or a docker:// engine on plain tcp://)
	// on a host other than the loopback interface. Without it such addresses are
	// refused: see [EndpointError].
	Insecure bool
	// ConnectTimeout bounds the check that the daemon answers. Zero means 5s.
	ConnectTimeout time.Duration
	Logger         *zap.Logger
}

// TLS holds the client side of a mutual-TLS connection (like buildctl's --tlscacert,
// --tlscert, --tlskey, --tlsservername). An empty CA means the system's roots.
type TLS struct {
	CA, Cert, Key, ServerName string
}

// Client is one long-lived connection to a BuildKit daemon. It is safe for concurrent
// use: solves of several targets share it.
type Client struct {
	bk       *client.Client
	addr     string
	log      *zap.Logger
	platform ocispecs.Platform // the first worker's default platform
	// calls are the solves still tearing down after their caller returned (see
	// cancellable).
	calls sync.WaitGroup
}

// EndpointError says that an address cannot be used as given: an unsupported scheme,
// unreadable TLS material, or a plain-text tcp:// connection to a remote host that was
// not explicitly allowed. No connection was attempted.
type EndpointError struct {
	Address string
	Err     error
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("BuildKit address %s: %v", e.Address, e.Err)
}

func (e *EndpointError) Unwrap() error { return e.Err }

// FieldError is a problem with one devloop.yaml value that only shows when it is
// used, such as TLS material that cannot be read. Field is its key path
// ("builder.tls.ca"), so the caller can point at it in the file.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// UnreachableError says that no BuildKit daemon answered at Address. Its message ends
// with hints for the kind of address (and TLS failure) at hand.
type UnreachableError struct {
	Address string
	Err     error
	// tls records whether the connection used TLS, for the hints.
	tls bool
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot reach BuildKit at %s: %v", e.Address, e.Err)
	for _, h := range unreachableHints(e.Address, e.Err, e.tls) {
		b.WriteString("\n  ")
		b.WriteString(h)
	}
	return b.String()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Connect dials the daemon and checks that it answers (it lists the daemon's workers).
// An address that cannot be used is an [*EndpointError]; any failure to reach the
// daemon is an [*UnreachableError] naming the address tried.
//
// Addresses:
//   - unix:///path/to/buildkitd.sock
//   - tcp://HOST:PORT, with Options.TLS for mutual TLS; plain text only on loopback
//     unless Options.Insecure
//   - docker-container://NAME[?context=CTX] runs `docker exec -i NAME buildctl dial-stdio`
//     (a buildx builder's container is buildx_buildkit_<builder>0)
//   - kube-pod://POD[?namespace=NS&context=CTX&container=C] runs
//     `kubectl exec -i POD -- buildctl dial-stdio`
//   - docker:// uses the Docker Engine's built-in BuildKit like buildx's docker driver:
//     the engine is $DOCKER_HOST, else the current docker context's endpoint, else
//     unix:///var/run/docker.sock; docker://unix:///PATH or docker://tcp://HOST:PORT
//     name it explicitly. Plain tcp:// engines follow the tcp:// rule; DOCKER_TLS_VERIFY
//     and DOCKER_CERT_PATH enable TLS as for the docker CLI.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("rebuild")
	if opts.Address == "" {
		return nil, &EndpointError{Address: opts.Address, Err: errors.New("no address given")}
	}
	ep, err := resolveEndpoint(opts, log)
	if err != nil {
		return nil, err
	}
	bk, err := client.New(ctx, ep.target, append(ep.opts, watchSolveOpt())...)
	if err != nil {
		return nil, &UnreachableError{Address: ep.display, Err: err, tls: ep.tls}
	}
	timeout := opts.ConnectTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	workers, err := bk.ListWorkers(pctx)
	if err != nil {
		_ = bk.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to BuildKit at %s: %w", ep.display, context.Cause(ctx))
		}
		err = simplifyDialError(err)
		if ep.diagnose != nil {
			if derr := ep.diagnose(ctx); derr != nil {
				err = derr
			}
		}
		return nil, &UnreachableError{Address: ep.display, Err: err, tls: ep.tls}
	}
	if len(workers) == 0 {
		_ = bk.Close()
		return nil, &UnreachableError{Address: ep.display, Err: errors.New("the daemon answers but has no workers")}
	}
	log.Debug("connected", zap.String("address", ep.display), zap.Int("workers", len(workers)))
	c := &Client{bk: bk, addr: ep.display, log: log}
	if ps := workers[0].Platforms; len(ps) > 0 {
		c.platform = platforms.Normalize(ps[0])
	}
	return c, nil
}

// simplifyDialError strips gRPC's status wrapping so the message says what failed.
func simplifyDialError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	msg = unquoteDesc(msg)
	msg = strings.TrimPrefix(msg, "connection error: ")
	msg = strings.TrimPrefix(msg, "transport: Error while dialing: ")
	msg = strings.TrimPrefix(msg, "transport: authentication handshake failed: ")
	msg = strings.TrimPrefix(msg, "error reading server preface: ")
	return errors.New(condenseHelperError(msg))
}

// unquoteDesc undoes the quoting of a gRPC description that is quoted as a whole
// (connection errors are, with %q). A message that merely starts or ends with a quoted
// word, such as `unknown cache exporter: "registry"`, is left as it is.
func unquoteDesc(msg string) string {
	if u, err := strconv.Unquote(msg); err == nil {
		return u
	}
	// Quoted without escaping (some layers do): a quote at each end and none inside.
	if len(msg) >= 2 && msg[0] == '"' && msg[len(msg)-1] == '"' && !strings.Contains(msg[1:len(msg)-1], `"`) {
		return msg[1 : len(msg)-1]
	}
	return msg
}

// condenseHelperError shortens the error of a connection helper's command (docker
// exec, kubectl exec): its generic advice goes, and of the command's stderr only the
// last line stays, which is where docker and kubectl say what went wrong.
func condenseHelperError(msg string) string {
	head, stderr, ok := strings.Cut(msg, "stderr=")
	if !ok || !strings.HasPrefix(head, "command [") {
		return msg
	}
	if i := strings.Index(head, ", make sure the URL is valid"); i >= 0 {
		head = head[:i]
	}
	head = strings.TrimRight(head, ": ")
	// The command's output arrives with its newlines escaped or not, depending on
	// how many layers quoted it.
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(stderr, `\n`, "\n")), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return head + ": " + last
	}
	return head
}

// Address is the address this client is connected to (for docker://, the engine's
// resolved address, e.g. docker://unix:///var/run/docker.sock).
func (c *Client) Address() string { return c.addr }

// DaemonVersion reports the daemon's BuildKit version. A daemon that has no Info call
// was reached all the same: it is older than BuildKit v0.11, and the error wraps
// [ErrNoInfo].
func (c *Client) DaemonVersion(ctx context.Context) (string, error) {
	info, err := c.bk.Info(ctx)
	if grpcerrors.Code(err) == codes.Unimplemented {
		return "", fmt.Errorf("query BuildKit version at %s: %w", c.addr, ErrNoInfo)
	}
	if err != nil {
		return "", fmt.Errorf("query BuildKit version at %s: %w", c.addr, err)
	}
	return info.BuildkitVersion.Version, nil
}

// Platform is the platform the daemon builds for when a solve names none: the
// default platform of its first worker, as BuildKit's Dockerfile frontend takes it
// (TARGETPLATFORM, and the platform of every stage whose FROM gives none). Zero when
// the worker reports no platform.
func (c *Client) Platform() ocispecs.Platform { return c.platform }

// Close releases the connection and waits for the solves cancelled callers left
// tearing down, which closing the connection ends.
func (c *Client) Close() error {
	err := c.bk.Close()
	c.calls.Wait()
	return err
}

package rebuild

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"go.uber.org/zap"
)

// DefaultAddress is where a rootful buildkitd listens unless told otherwise.
const DefaultAddress = "unix:///run/buildkit/buildkitd.sock"

// Options configure [Connect].
type Options struct {
	// Address of the daemon, as buildctl's --addr: unix://, tcp://, docker-container://, …
	Address string
	// TLS, when set, enables mutual TLS for tcp:// addresses.
	TLS *TLS
	// ConnectTimeout bounds the check that the daemon answers. Zero means 5s.
	ConnectTimeout time.Duration
	Logger         *zap.Logger
}

// TLS holds the client side of a mutual-TLS connection (like buildctl's --tlscacert,
// --tlscert, --tlskey, --tlsservername).
type TLS struct {
	CA, Cert, Key, ServerName string
}

// Client is one long-lived connection to a BuildKit daemon. It is safe for concurrent
// use: solves of several targets share it.
type Client struct {
	bk   *client.Client
	addr string
	log  *zap.Logger
}

// UnreachableError says that no BuildKit daemon answered at Address.
type UnreachableError struct {
	Address string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach BuildKit at %s: %v\n"+
		"  start a daemon:  sudo buildkitd --addr %s &   (in the devloop repo: hack/testbed/up.sh)\n"+
		"  or point devloop at a running one: --addr, builder.address in devloop.yaml, or $BUILDKIT_HOST\n"+
		"  (a buildx builder works too: --addr docker-container://buildx_buildkit_<name>0)",
		e.Address, e.Err, e.Address)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Connect dials the daemon and checks that it answers (it lists the daemon's workers).
// Any failure is an [*UnreachableError] naming the address tried.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("rebuild")
	addr := opts.Address
	if addr == "" {
		addr = DefaultAddress
	}
	var copts []client.ClientOpt
	if t := opts.TLS; t != nil {
		if t.CA != "" || t.ServerName != "" {
			copts = append(copts, client.WithServerConfig(t.ServerName, t.CA))
		}
		if t.Cert != "" || t.Key != "" {
			copts = append(copts, client.WithCredentials(t.Cert, t.Key))
		}
	}
	bk, err := client.New(ctx, addr, copts...)
	if err != nil {
		return nil, &UnreachableError{Address: addr, Err: err}
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
			return nil, fmt.Errorf("connect to BuildKit at %s: %w", addr, context.Cause(ctx))
		}
		return nil, &UnreachableError{Address: addr, Err: simplifyDialError(err)}
	}
	if len(workers) == 0 {
		_ = bk.Close()
		return nil, &UnreachableError{Address: addr, Err: errors.New("the daemon answers but has no workers")}
	}
	log.Debug("connected", zap.String("address", addr), zap.Int("workers", len(workers)))
	return &Client{bk: bk, addr: addr, log: log}, nil
}

// simplifyDialError strips gRPC's status wrapping so the message says what failed.
func simplifyDialError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	msg = strings.Trim(msg, `"`)
	msg = strings.TrimPrefix(msg, "connection error: ")
	msg = strings.TrimPrefix(msg, "transport: Error while dialing: ")
	return errors.New(msg)
}

// Address is the address this client is connected to.
func (c *Client) Address() string { return c.addr }

// DaemonVersion reports the daemon's BuildKit version.
func (c *Client) DaemonVersion(ctx context.Context) (string, error) {
	info, err := c.bk.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("query BuildKit version at %s: %w", c.addr, err)
	}
	return info.BuildkitVersion.Version, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.bk.Close() }

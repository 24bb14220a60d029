package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// defaultAddrEnv replaces the well-known sockets that builder address auto probes
// before starting a daemon. It is a test hook (the e2e tests point it at a socket
// that does not exist); it is documented in the README.
const defaultAddrEnv = "DEVLOOP_DEFAULT_BUILDKIT_ADDR"

// builderState is where the daemon devloop starts keeps its files:
// os.UserCacheDir()/devloop/buildkitd.
type builderState struct{ dir string }

func newBuilderState() (builderState, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return builderState{}, fmt.Errorf("locate the state directory of devloop's builder: %w", err)
	}
	return builderState{dir: filepath.Join(cache, "devloop", "buildkitd")}, nil
}

func (s builderState) root() string    { return filepath.Join(s.dir, "root") }
func (s builderState) socket() string  { return filepath.Join(s.dir, "buildkitd.sock") }
func (s builderState) address() string { return "unix://" + s.socket() }

// maxSocketPath is the shortest limit for a unix socket path among the unix systems
// (macOS: 104 bytes including the terminating NUL).
const maxSocketPath = 103

// builderArgs returns the command that starts buildkitd for state s: directly as root,
// under rootlesskit otherwise. An error says which prerequisite is missing.
func builderArgs(s builderState, euid int, lookPath func(string) (string, error)) ([]string, error) {
	bkd, err := lookPath("buildkitd")
	if err != nil {
		return nil, errors.New("buildkitd is not on PATH")
	}
	if _, err := lookPath("runc"); err != nil {
		return nil, errors.New("runc is not on PATH (BuildKit's OCI worker runs build steps with it)")
	}
	if len(s.socket()) > maxSocketPath {
		return nil, fmt.Errorf("its socket path %s is longer than unix sockets allow (%d bytes); set XDG_CACHE_HOME to a shorter directory", s.socket(), maxSocketPath)
	}
	args := []string{bkd,
		"--addr", s.address(),
		"--root", s.root(),
		"--otel-socket-path", filepath.Join(s.dir, "otel-grpc.sock"),
		"--oci-worker=true", "--containerd-worker=false",
	}
	if euid == 0 {
		return args, nil
	}
	var missing []string
	for _, bin := range []string{"rootlesskit", "newuidmap", "newgidmap"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("devloop is not running as root, and rootless BuildKit needs %s on PATH (packages rootlesskit and uidmap) and a range for your user in /etc/subuid and /etc/subgid",
			strings.Join(missing, ", "))
	}
	rk, _ := lookPath("rootlesskit")
	return append([]string{rk}, args...), nil
}

// defaultAddresses are the sockets a daemon started by hand or by a service manager
// listens on: the rootful one, and for other users the rootless one.
func defaultAddresses(euid int) []string {
	if a := os.Getenv(defaultAddrEnv); a != "" {
		return []string{a}
	}
	addrs := []string{rebuild.DefaultAddress}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" && euid != 0 {
		addrs = append(addrs, "unix://"+filepath.Join(rt, "buildkit", "buildkitd.sock"))
	}
	return addrs
}

// connectAuto implements builder address auto: a daemon at a default socket, else
// the daemon devloop started earlier, else (when start is set) a new one.
func (a *app) connectAuto(ctx context.Context, opts rebuild.Options, start bool) (*rebuild.Client, error) {
	euid := os.Geteuid()
	defaults := defaultAddresses(euid)
	for _, addr := range defaults {
		if c := a.tryConnect(ctx, opts, addr); c != nil {
			return c, nil
		}
	}
	st, err := newBuilderState()
	if err != nil {
		return nil, err
	}
	if c := a.tryConnect(ctx, opts, st.address()); c != nil {
		return c, nil
	}
	var why error
	if start {
		var args []string
		if args, why = builderArgs(st, euid, exec.LookPath); why == nil {
			c, err := a.startBuilder(ctx, opts, st, args)
			if err == nil || ctx.Err() != nil {
				return c, err
			}
			why = err
		}
	} else {
		why = errors.New("not starting one for this command")
	}
	return nil, &noBuilderError{tried: append(defaults, st.address()), why: why}
}

// tryConnect returns a client for addr, or nil when nothing answers there. A unix
// socket that does not exist is not dialled.
func (a *app) tryConnect(ctx context.Context, opts rebuild.Options, addr string) *rebuild.Client {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		if _, err := os.Stat(p); err != nil {
			return nil
		}
	}
	opts.Address = addr
	opts.TLS = nil // the probed addresses are local sockets
	opts.ConnectTimeout = 2 * time.Second
	c, err := rebuild.Connect(ctx, opts)
	if err != nil {
		a.log.Debug("no builder", zap.String("address", addr), zap.Error(err))
		return nil
	}
	return c
}

// waitForBuilder polls addr until the daemon answers, exited reports that the
// process is gone, or timeout passes.
func (a *app) waitForBuilder(ctx context.Context, opts rebuild.Options, addr string, timeout time.Duration, exited func() error) (*rebuild.Client, error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if c := a.tryConnect(ctx, opts, addr); c != nil {
			return c, nil
		}
		if err := exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("it did not answer at %s within %s", addr, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// noBuilderError is the one message shown when no daemon answers and devloop could
// not start one: what was tried, why nothing was started, and every way to get one.
type noBuilderError struct {
	tried []string
	why   error
}

func (e *noBuilderError) Error() string {
	return fmt.Sprintf(`no BuildKit daemon: nothing answers at %s, and devloop did not start one: %v
  ways to get a builder:
  - install BuildKit (buildkitd and runc on PATH, https://github.com/moby/buildkit/releases) and run devloop as root,
    or rootless with rootlesskit: devloop then starts buildkitd itself and leaves it running (devloop builder stop)
  - start one yourself:   sudo buildkitd &    (it listens on %s)
  - a Docker Engine 23+:  --addr docker://
  - a buildx builder:     --addr docker-container://buildx_buildkit_<builder>0
  - a remote daemon:      builder.address: tcp://HOST:1234 with builder.tls {ca, cert, key}
  - a Kubernetes pod:     --addr kube-pod://POD
  set the address with --addr, builder.address in devloop.yaml, or $BUILDKIT_HOST (the README's "Builders" section has examples)`,
		strings.Join(e.tried, ", "), e.why, rebuild.DefaultAddress)
}

func (e *noBuilderError) Unwrap() error { return e.why }

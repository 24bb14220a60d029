package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/localbuilder"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// autoAddress means: use a daemon at the default socket, else the one devloop
// started earlier, else start one (package localbuilder).
const autoAddress = config.AddressAuto

// builderAddress picks the daemon address: flag > devloop.yaml > $BUILDKIT_HOST > auto.
func (a *app) builderAddress(cfg *config.Config) string {
	switch {
	case a.addr != "":
		return a.addr
	case cfg != nil && cfg.Builder.Address != "":
		return cfg.Builder.Address
	case os.Getenv("BUILDKIT_HOST") != "":
		return os.Getenv("BUILDKIT_HOST")
	default:
		return autoAddress
	}
}

// connect dials the builder, starting a local one when the address is auto and none
// runs. An address that cannot be used is exit code 2, an unreachable daemon 3.
func (a *app) connect(ctx context.Context, cfg *config.Config) (*rebuild.Client, error) {
	return a.dial(ctx, cfg, mayStartDaemon)
}

// connectRunning is connect without starting a daemon: for commands that only report
// (devloop version).
func (a *app) connectRunning(ctx context.Context, cfg *config.Config) (*rebuild.Client, error) {
	return a.dial(ctx, cfg, runningOnly)
}

// Whether dial may start a daemon for the auto address.
const (
	mayStartDaemon = true
	runningOnly    = false
)

func (a *app) dial(ctx context.Context, cfg *config.Config, start bool) (*rebuild.Client, error) {
	if cfg == nil {
		cfg = &config.Config{}
	}
	opts := rebuild.Options{Address: a.builderAddress(cfg), Insecure: cfg.Builder.Insecure, Logger: a.log}
	if t := cfg.Builder.TLS; t != nil {
		opts.TLS = &rebuild.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key, ServerName: t.ServerName}
	}
	var (
		c   *rebuild.Client
		err error
	)
	if opts.Address == autoAddress {
		c, err = a.connectAuto(ctx, opts, start)
	} else {
		c, err = rebuild.Connect(ctx, opts)
	}
	var ee *rebuild.EndpointError
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &ee):
		return nil, withCode(exitUsage, a.atConfigValue(cfg, ee))
	default:
		return nil, withCode(exitUnreachable, err)
	}
}

// atConfigValue positions an unusable-address error at the devloop.yaml value it came
// from: a TLS file, or builder.address when neither --addr nor $BUILDKIT_HOST chose it.
func (a *app) atConfigValue(cfg *config.Config, ee *rebuild.EndpointError) error {
	var fe *rebuild.FieldError
	switch {
	case cfg.File == "":
	case errors.As(ee.Err, &fe):
		return cfg.ErrorAt(fe.Field, "%v (BuildKit address %s)", fe.Err, ee.Address)
	case a.addr == "" && cfg.Builder.Address != "" && cfg.Builder.Address == ee.Address:
		return cfg.ErrorAt("builder.address", "%s: %v", ee.Address, ee.Err)
	}
	return ee
}

// connectAuto implements builder address auto with the local daemon devloop manages:
// the probe connects with the BuildKit client and keeps the client that answered.
func (a *app) connectAuto(ctx context.Context, opts rebuild.Options, start bool) (*rebuild.Client, error) {
	d, err := localbuilder.Default(a.log)
	if err != nil {
		return nil, err
	}
	var c *rebuild.Client
	probe := func(ctx context.Context, addr string) bool {
		o := opts
		o.Address, o.TLS, o.ConnectTimeout = addr, nil, 2*time.Second // local sockets
		cl, err := rebuild.Connect(ctx, o)
		if err != nil {
			a.log.Debug("no builder", zap.String("address", addr), zap.Error(err))
			return false
		}
		c = cl
		return true
	}
	found, err := d.Connect(ctx, probe, start)
	if err != nil {
		return nil, err
	}
	if found.Started {
		fmt.Fprintf(a.stderr, "[devloop] started a BuildKit daemon for this and later sessions: pid %d, %s\n"+
			"[devloop]   state and log in %s; `devloop builder stop` stops it\n", found.PID, found.Address, d.Dir())
	}
	return c, nil
}

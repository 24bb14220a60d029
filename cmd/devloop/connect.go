package main

import (
	"context"
	"os"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/rebuild"
)

// builderAddress picks the daemon address: flag > devloop.yaml > $BUILDKIT_HOST > default.
func (a *app) builderAddress(cfg *config.Config) string {
	switch {
	case a.addr != "":
		return a.addr
	case cfg != nil && cfg.Builder.Address != "":
		return cfg.Builder.Address
	case os.Getenv("BUILDKIT_HOST") != "":
		return os.Getenv("BUILDKIT_HOST")
	default:
		return rebuild.DefaultAddress
	}
}

// connect dials the builder; an unreachable daemon is exit code 3.
func (a *app) connect(ctx context.Context, cfg *config.Config) (*rebuild.Client, error) {
	opts := rebuild.Options{Address: a.builderAddress(cfg), Logger: a.log}
	if cfg == nil {
		cfg = &config.Config{}
	}
	if t := cfg.Builder.TLS; t != nil {
		opts.TLS = &rebuild.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key, ServerName: t.ServerName}
	}
	c, err := rebuild.Connect(ctx, opts)
	if err != nil {
		return nil, withCode(exitUnreachable, err)
	}
	return c, nil
}

//go:build windows

package main

import (
	"context"
	"errors"
	"time"

	"github.com/devloop/devloop/rebuild"
)

var errNoAutoBuilder = errors.New("starting a local BuildKit daemon is not supported on Windows; start buildkitd yourself or use --addr")

func (a *app) startBuilder(context.Context, rebuild.Options, builderState, []string) (*rebuild.Client, error) {
	return nil, errNoAutoBuilder
}

func stopBuilder(context.Context, builderState, time.Duration) (int, bool, error) {
	return 0, false, errNoAutoBuilder
}

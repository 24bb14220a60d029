//go:build windows

package localbuilder

import (
	"context"
	"errors"
	"time"
)

var errUnsupported = errors.New("starting a local BuildKit daemon is not supported on Windows; start buildkitd yourself or use --addr")

func (d Daemon) start(context.Context, Probe, []string) (Found, error) {
	return Found{}, errUnsupported
}

// Running reports no daemon: devloop never starts one on Windows.
func (d Daemon) Running() (int, bool) { return 0, false }

// Stop reports that devloop starts no daemon on Windows.
func (d Daemon) Stop(context.Context, time.Duration) (int, bool, error) {
	return 0, false, errUnsupported
}

package supervisor

import (
	"fmt"
	"time"
)

// Defaults for zero fields of [Backoff].
const (
	defaultBackoffInitial = 250 * time.Millisecond
	defaultBackoffMax     = 10 * time.Second
	defaultBackoffReset   = 10 * time.Second
)

// Backoff sets the delay before restarting a process that exited on its own. The
// delay starts at Initial and doubles after every exit up to Max; a process that
// ran for at least Reset starts over at Initial, and so does every [Supervisor.Restart].
// Zero fields take the defaults: Initial 250ms, Max 10s (at least Initial), Reset 10s.
type Backoff struct {
	Initial, Max, Reset time.Duration
}

// withDefaults fills zero fields and validates the result.
func (b Backoff) withDefaults() (Backoff, error) {
	if b.Initial == 0 {
		b.Initial = defaultBackoffInitial
	}
	if b.Max == 0 {
		b.Max = max(defaultBackoffMax, b.Initial)
	}
	if b.Reset == 0 {
		b.Reset = defaultBackoffReset
	}
	switch {
	case b.Initial < 0 || b.Max < 0 || b.Reset < 0:
		return b, fmt.Errorf("backoff durations must not be negative, got initial %s, max %s, reset %s", b.Initial, b.Max, b.Reset)
	case b.Max < b.Initial:
		return b, fmt.Errorf("backoff max %s is less than initial %s", b.Max, b.Initial)
	}
	return b, nil
}

// next returns the delay before restarting a process that ran for ran, given the
// previous delay (0 if there was none since the last reset).
func (b Backoff) next(prev, ran time.Duration) time.Duration {
	switch {
	case prev <= 0 || ran >= b.Reset:
		return b.Initial
	case prev > b.Max/2:
		return b.Max
	default:
		return prev * 2
	}
}

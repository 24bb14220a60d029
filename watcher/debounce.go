package watcher

import (
	"context"
	"maps"
	"slices"
	"time"
)

// Batch is one debounced burst of changes.
type Batch struct {
	// Paths are the changed paths of the burst, sorted and without duplicates.
	Paths []string
	// Overflow means some events of the burst were lost: build everything.
	Overflow bool
	// First and Last are when the burst's first and last events arrived.
	First, Last time.Time
}

// Debounce collects events from in and emits one merged Batch per burst: after
// quiet with no new event, or at the latest maxWait after the first event of
// the burst, whichever comes first. With quiet <= 0 a batch is emitted as soon
// as in has no more immediately available events; maxWait <= 0 means no cap.
// Events with neither paths nor overflow are ignored.
//
// Debounce returns nil when ctx is done (dropping the pending batch) or when in
// is closed (after emitting the pending batch).
func Debounce(ctx context.Context, quiet, maxWait time.Duration, in <-chan Event, out chan<- Batch) error {
	t := Timing{Quiet: quiet, MaxWait: maxWait}
	return DebounceFunc(ctx, func() Timing { return t }, in, out)
}

// Timing is what [Debounce] waits for: Quiet is the quiet period that ends a burst,
// MaxWait the longest a burst is held after its first event.
type Timing struct {
	Quiet, MaxWait time.Duration
}

// DebounceFunc is [Debounce] with a timing that may change while it runs (a reloaded
// watch.debounce): timing is called for every event, and what it returns applies from
// that event on.
func DebounceFunc(ctx context.Context, timing func() Timing, in <-chan Event, out chan<- Batch) error {
	var (
		cur            *burst
		quietT, maxT   *time.Timer
		quietC, maxC   <-chan time.Time
		quiet, maxWait time.Duration
	)
	add := func(ev Event) {
		if len(ev.Paths) == 0 && !ev.Overflow {
			return
		}
		t := timing()
		quiet, maxWait = t.Quiet, t.MaxWait
		now := time.Now()
		if cur == nil {
			cur = &burst{first: now, paths: make(map[string]struct{})}
			if maxWait > 0 {
				maxT, maxC = resetTimer(maxT, maxWait)
			}
		}
		cur.last = now
		cur.overflow = cur.overflow || ev.Overflow
		for _, p := range ev.Paths {
			cur.paths[p] = struct{}{}
		}
		if quiet > 0 {
			quietT, quietC = resetTimer(quietT, quiet)
		}
	}
	// flush emits the pending batch; false means ctx is done.
	flush := func() bool {
		if cur == nil {
			return true
		}
		if quietT != nil {
			quietT.Stop()
		}
		if maxT != nil {
			maxT.Stop()
		}
		quietC, maxC = nil, nil
		b := cur.batch()
		cur = nil
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-in:
			if !ok {
				flush()
				return nil
			}
			add(ev)
			if quiet > 0 {
				continue
			}
			// No quiet period: take what is already queued, then emit.
			for cur != nil {
				if maxWait > 0 && time.Since(cur.first) >= maxWait {
					if !flush() {
						return nil
					}
					break
				}
				select {
				case ev, ok := <-in:
					if !ok {
						flush()
						return nil
					}
					add(ev)
				default:
					if !flush() {
						return nil
					}
				}
			}
		case <-quietC:
			if !flush() {
				return nil
			}
		case <-maxC:
			if !flush() {
				return nil
			}
		}
	}
}

// resetTimer (re)arms t, creating it if needed. Since Go 1.23 a reset timer
// never delivers a stale value.
func resetTimer(t *time.Timer, d time.Duration) (*time.Timer, <-chan time.Time) {
	if t == nil {
		t = time.NewTimer(d)
	} else {
		t.Reset(d)
	}
	return t, t.C
}

type burst struct {
	paths       map[string]struct{}
	overflow    bool
	first, last time.Time
}

func (b *burst) batch() Batch {
	return Batch{Paths: slices.Sorted(maps.Keys(b.paths)), Overflow: b.overflow, First: b.first, Last: b.last}
}

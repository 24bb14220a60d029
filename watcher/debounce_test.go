package watcher

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const ms = time.Millisecond

type sendAt struct {
	at time.Duration
	ev Event
}

// gotBatch is a Batch with times relative to the start of the test.
type gotBatch struct {
	Paths       []string
	Overflow    bool
	First, Last time.Duration
	Emitted     time.Duration
}

func ev(paths ...string) Event { return Event{Paths: paths} }

// stream sends one event with a fresh path every interval, n times, from start.
func stream(start, interval time.Duration, n int) []sendAt {
	var s []sendAt
	for i := range n {
		s = append(s, sendAt{at: start + time.Duration(i)*interval, ev: ev(fmt.Sprintf("f%02d", i))})
	}
	return s
}

func paths(from, to int) []string {
	var p []string
	for i := from; i <= to; i++ {
		p = append(p, fmt.Sprintf("f%02d", i))
	}
	return p
}

func TestDebounce(t *testing.T) {
	tests := []struct {
		name           string
		quiet, maxWait time.Duration
		events         []sendAt
		closeAt        time.Duration // close in at this time; 0: never
		want           []gotBatch
	}{
		{
			name: "single event emitted after quiet", quiet: 100 * ms, maxWait: time.Second,
			events: []sendAt{{10 * ms, ev("a.go")}},
			want:   []gotBatch{{Paths: []string{"a.go"}, First: 10 * ms, Last: 10 * ms, Emitted: 110 * ms}},
		},
		{
			name: "burst within quiet merged, sorted, deduped", quiet: 100 * ms, maxWait: time.Second,
			events: []sendAt{{0, ev("b.go")}, {60 * ms, ev("a.go", "b.go")}, {120 * ms, ev("c.go", "a.go")}},
			want:   []gotBatch{{Paths: []string{"a.go", "b.go", "c.go"}, First: 0, Last: 120 * ms, Emitted: 220 * ms}},
		},
		{
			name: "separate bursts", quiet: 100 * ms, maxWait: time.Second,
			events: []sendAt{{0, ev("a.go")}, {150 * ms, ev("b.go")}},
			want: []gotBatch{
				{Paths: []string{"a.go"}, First: 0, Last: 0, Emitted: 100 * ms},
				{Paths: []string{"b.go"}, First: 150 * ms, Last: 150 * ms, Emitted: 250 * ms},
			},
		},
		{
			name: "steady stream every quiet/2 capped by maxWait", quiet: 100 * ms, maxWait: 275 * ms,
			events: stream(0, 50*ms, 20),
			want: []gotBatch{
				{Paths: paths(0, 5), First: 0, Last: 250 * ms, Emitted: 275 * ms},
				{Paths: paths(6, 11), First: 300 * ms, Last: 550 * ms, Emitted: 575 * ms},
				{Paths: paths(12, 17), First: 600 * ms, Last: 850 * ms, Emitted: 875 * ms},
				{Paths: paths(18, 19), First: 900 * ms, Last: 950 * ms, Emitted: 1050 * ms},
			},
		},
		{
			name: "no maxWait: steady stream is one batch", quiet: 100 * ms, maxWait: 0,
			events: stream(0, 50*ms, 20),
			want:   []gotBatch{{Paths: paths(0, 19), First: 0, Last: 950 * ms, Emitted: 1050 * ms}},
		},
		{
			name: "overflow propagates", quiet: 100 * ms, maxWait: time.Second,
			events: []sendAt{{0, ev("a.go")}, {10 * ms, Event{Overflow: true}}, {300 * ms, Event{Overflow: true}}},
			want: []gotBatch{
				{Paths: []string{"a.go"}, Overflow: true, First: 0, Last: 10 * ms, Emitted: 110 * ms},
				{Overflow: true, First: 300 * ms, Last: 300 * ms, Emitted: 400 * ms},
			},
		},
		{
			name: "empty events ignored", quiet: 100 * ms, maxWait: time.Second,
			events: []sendAt{{0, Event{}}, {50 * ms, ev("a.go")}, {100 * ms, Event{}}},
			want:   []gotBatch{{Paths: []string{"a.go"}, First: 50 * ms, Last: 50 * ms, Emitted: 150 * ms}},
		},
		{
			name: "closing in flushes at once", quiet: 100 * ms, maxWait: time.Second,
			events:  []sendAt{{0, ev("a.go")}, {20 * ms, ev("b.go")}},
			closeAt: 30 * ms,
			want:    []gotBatch{{Paths: []string{"a.go", "b.go"}, First: 0, Last: 20 * ms, Emitted: 30 * ms}},
		},
		{
			name: "zero quiet emits at once", quiet: 0, maxWait: time.Second,
			events: []sendAt{{0, ev("a.go")}, {10 * ms, ev("b.go")}},
			want: []gotBatch{
				{Paths: []string{"a.go"}, First: 0, Last: 0, Emitted: 0},
				{Paths: []string{"b.go"}, First: 10 * ms, Last: 10 * ms, Emitted: 10 * ms},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := startDebounce(tt.quiet, tt.maxWait)
				start := time.Now()
				for _, s := range tt.events {
					time.Sleep(s.at - time.Since(start))
					d.in <- s.ev
				}
				if tt.closeAt > 0 {
					time.Sleep(tt.closeAt - time.Since(start))
					close(d.in)
					synctest.Wait()
					select {
					case err := <-d.done:
						d.returned = true
						if err != nil {
							t.Errorf("Debounce() = %v after in closed, want nil", err)
						}
					default:
						t.Errorf("Debounce still running after in closed")
					}
				}
				time.Sleep(10 * time.Second)
				if err := d.stop(); err != nil {
					t.Errorf("Debounce() = %v, want nil", err)
				}
				got := d.relative(start)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("batches = %+v\nwant %+v", got, tt.want)
				}
			})
		})
	}
}

func TestDebounceZeroQuietDrainsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		in := make(chan Event, 3)
		in <- ev("c.go")
		in <- ev("a.go")
		in <- Event{Overflow: true}
		out := make(chan Batch, 2)
		done := make(chan error, 1)
		go func() { done <- Debounce(ctx, 0, time.Second, in, out) }()
		synctest.Wait()
		select {
		case b := <-out:
			want := Batch{Paths: []string{"a.go", "c.go"}, Overflow: true, First: b.First, Last: b.Last}
			if !reflect.DeepEqual(b, want) {
				t.Errorf("batch = %+v, want %+v", b, want)
			}
		default:
			t.Errorf("no batch emitted for the queued events")
		}
		if n := len(out); n != 0 {
			t.Errorf("%d more batches emitted, want the queued events in one batch", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Debounce() = %v, want nil", err)
		}
	})
}

func TestDebounceCancel(t *testing.T) {
	tests := []struct {
		name string
		send Event // sent before cancelling
		wait time.Duration
	}{
		{"idle", Event{}, 0},
		{"pending burst", ev("a.go"), 10 * ms},
		{"blocked on send", ev("a.go"), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				in := make(chan Event)
				out := make(chan Batch) // nobody receives
				done := make(chan error, 1)
				go func() { done <- Debounce(ctx, 100*ms, time.Second, in, out) }()
				in <- tt.send
				time.Sleep(tt.wait)
				cancel()
				synctest.Wait()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Debounce() = %v, want nil", err)
					}
				default:
					t.Fatalf("Debounce still running after cancel")
				}
			})
		})
	}
}

type debounceRun struct {
	in       chan Event
	done     chan error
	returned bool // done was consumed
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the collector

	mu      sync.Mutex
	batches []Batch
	emitted []time.Time
}

// startDebounce runs Debounce with a collector that timestamps each batch.
func startDebounce(quiet, maxWait time.Duration) *debounceRun {
	ctx, cancel := context.WithCancel(context.Background())
	d := &debounceRun{in: make(chan Event), done: make(chan error, 1), cancel: cancel}
	out := make(chan Batch)
	go func() { d.done <- Debounce(ctx, quiet, maxWait, d.in, out) }()
	d.wg.Go(func() {
		for {
			select {
			case b := <-out:
				d.mu.Lock()
				d.batches = append(d.batches, b)
				d.emitted = append(d.emitted, time.Now())
				d.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	})
	return d
}

// stop cancels the run and returns Debounce's result (nil if it was
// consumed already).
func (d *debounceRun) stop() error {
	d.cancel()
	d.wg.Wait()
	if d.returned {
		return nil
	}
	return <-d.done
}

func (d *debounceRun) relative(start time.Time) []gotBatch {
	d.mu.Lock()
	defer d.mu.Unlock()
	var got []gotBatch
	for i, b := range d.batches {
		got = append(got, gotBatch{
			Paths: b.Paths, Overflow: b.Overflow,
			First: b.First.Sub(start), Last: b.Last.Sub(start), Emitted: d.emitted[i].Sub(start),
		})
	}
	return got
}

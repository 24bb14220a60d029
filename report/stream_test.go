package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
)

// A loop event's line is the event's own JSON object with "kind" replaced by the
// envelope (v, type, and time unless the event has its own), written directly.
func TestLoopEventLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	now := time.Date(2026, 7, 8, 9, 10, 11, 12, time.UTC)
	events := []loop.Event{
		loop.ChangeDetected{Paths: []string{"a.go"}, Overflow: true, Time: at},
		loop.BuildStarted{ID: 3, Targets: []string{"server"}, Skipped: []string{"client"}, Reason: loop.ReasonRetry, Time: at},
		loop.TargetFinished{ID: 3, Target: "server", Err: errors.New("boom <&>"), Solve: time.Second},
		loop.TargetFinished{ID: 3, Target: "client", OK: true, Changed: []string{"bin/client"}},
		loop.BuildFinished{ID: 3, OK: true, Wait: time.Millisecond, Targets: []string{"server"}},
		loop.BuildSuperseded{ID: 4},
		loop.Restarted{ID: 3, Target: "server", Duration: time.Second, Err: errors.New("exec")},
		loop.BuilderUnavailable{Err: loop.ErrUnavailable, RetryIn: 2 * time.Second, Attempt: 3},
		loop.Skipped{Paths: []string{"README.md"}},
	}
	for _, ev := range events {
		var buf bytes.Buffer
		s := NewStream(&buf, &project.Project{})
		s.now = func() time.Time { return now }
		s.Event(ev)
		line := buf.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Errorf("%s: wrote %q, want one line", ev.Kind(), line)
		}
		if n := strings.Count(line, `"time":`); n != 1 {
			t.Errorf("%s: line %s has %d time fields, want 1", ev.Kind(), line, n)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%s: line %q: %v", ev.Kind(), line, err)
		}
		// What the stream always wrote: the event's object, "kind" out, the envelope in.
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		delete(want, "kind")
		want["v"], want["type"] = float64(Version), ev.Kind()
		if _, ok := want["time"]; !ok {
			want["time"] = now.Format(time.RFC3339Nano)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: line %s\nkeys %v, want %v", ev.Kind(), line, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		e2etest.ValidateEvents(t, line)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/loop"
)

// eventShapes is docs/events.md as data: for every type, its required fields and their
// JSON kinds ("string", "number", "bool", "array", "object"). Optional fields are
// listed with a leading "?".
var eventShapes = map[string]map[string]string{
	"change_detected":         {"paths": "array", "?overflow": "bool"},
	"build_started":           {"id": "number", "targets": "array", "reason": "string", "?skipped": "array", "?paths": "array"},
	"target_finished":         {"id": "number", "target": "string", "ok": "bool", "solve_ns": "number", "export_ns": "number", "swap_ns": "number", "?changed": "array", "?unchanged": "array", "?removed": "array", "?error": "string", "?step": "string", "?locations": "array"},
	"build_finished":          {"id": "number", "ok": "bool", "duration_ns": "number", "wait_ns": "number", "solve_ns": "number", "export_ns": "number", "swap_ns": "number", "restart_ns": "number", "targets": "array", "?superseded": "bool", "?canceled": "bool", "?failed": "array", "?paths": "array"},
	"build_superseded":        {"id": "number"},
	"restarted":               {"id": "number", "target": "string", "duration_ns": "number", "?error": "string"},
	"builder_unavailable":     {"retry_in_ns": "number", "attempt": "number", "?error": "string"},
	"skipped":                 {"paths": "array"},
	"process_started":         {"target": "string", "pid": "number"},
	"process_exited":          {"target": "string", "pid": "number", "exit_code": "number", "?signal": "string", "?error": "string"},
	"process_restarting":      {"target": "string", "pid": "number", "?delay_ns": "number", "?error": "string"},
	"process_stopped":         {"target": "string", "pid": "number", "?exit_code": "number", "?signal": "string", "?error": "string"},
	"ready":                   {"target": "string", "pid": "number"},
	"process_leftover_killed": {"target": "string", "pid": "number"},
	"process_stop_timeout":    {"target": "string", "pid": "number", "signal": "string", "stop_timeout_ns": "number"},
	"process_port_in_use":     {"target": "string", "port": "number", "ready": "string", "?holder_pid": "number", "?holder_command": "string"},
}

var locationShape = map[string]string{"file": "string", "line": "number", "col": "number", "message": "string", "mapped": "bool"}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// checkShape reports fields missing, of the wrong kind, or not documented.
func checkShape(t *testing.T, where string, obj map[string]any, shape map[string]string) {
	t.Helper()
	known := map[string]bool{"v": true, "type": true, "time": true}
	for k, kind := range shape {
		opt := strings.HasPrefix(k, "?")
		k = strings.TrimPrefix(k, "?")
		known[k] = true
		v, ok := obj[k]
		if !ok {
			if !opt {
				t.Errorf("%s: missing field %q", where, k)
			}
			continue
		}
		if got := jsonKind(v); got != kind {
			t.Errorf("%s: field %q is %s, want %s", where, k, got, kind)
		}
	}
	for k := range obj {
		if !known[k] {
			t.Errorf("%s: undocumented field %q", where, k)
		}
	}
}

// validateEvents checks every line of an NDJSON event stream against docs/events.md
// and returns the events.
func validateEvents(t *testing.T, data string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Errorf("event line %d is not JSON: %v: %s", n, err, sc.Text())
			continue
		}
		where := "event line " + sc.Text()
		if v, _ := obj["v"].(float64); v != eventsVersion {
			t.Errorf("%s: v = %v, want %d", where, obj["v"], eventsVersion)
		}
		if ts, _ := obj["time"].(string); ts == "" {
			t.Errorf("%s: no time", where)
		}
		typ, _ := obj["type"].(string)
		shape, ok := eventShapes[typ]
		if !ok {
			t.Errorf("%s: undocumented type %q", where, typ)
			continue
		}
		checkShape(t, where, obj, shape)
		if locs, ok := obj["locations"].([]any); ok {
			for _, l := range locs {
				lm, _ := l.(map[string]any)
				checkShape(t, where+" location", lm, locationShape)
			}
		}
		events = append(events, obj)
	}
	if len(events) == 0 {
		t.Errorf("no events in stream")
	}
	return events
}

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
		s := newEventStream(&buf, &project{})
		s.now = func() time.Time { return now }
		s.loopEvent(ev)
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
		want["v"], want["type"] = float64(eventsVersion), ev.Kind()
		if _, ok := want["time"]; !ok {
			want["time"] = now.Format(time.RFC3339Nano)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: line %s\nkeys %v, want %v", ev.Kind(), line, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		validateEvents(t, line)
	}
}

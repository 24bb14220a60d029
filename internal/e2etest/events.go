package e2etest

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// eventsVersion is the stream's schema version, "v" in docs/events.md.
const eventsVersion = 1

// eventShapes is docs/events.md as data: for every type, its required fields and their
// JSON kinds ("string", "number", "bool", "array", "object"). Optional fields are
// listed with a leading "?".
var eventShapes = map[string]map[string]string{
	"change_detected":         {"paths": "array", "?overflow": "bool"},
	"build_started":           {"id": "number", "targets": "array", "reason": "string", "?skipped": "array", "?paths": "array"},
	"target_finished":         {"id": "number", "target": "string", "ok": "bool", "solve_ns": "number", "export_ns": "number", "swap_ns": "number", "?changed": "array", "?unchanged": "array", "?removed": "array", "?executables": "array", "?error": "string", "?step": "string", "?locations": "array"},
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
func checkShape(t testing.TB, where string, obj map[string]any, shape map[string]string) {
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

// ValidateEvents checks every line of an NDJSON event stream (devloop's --events)
// against docs/events.md and returns the events; a stream without events fails too.
func ValidateEvents(t testing.TB, data string) []map[string]any {
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

package loop

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is one step of the loop's progress, delivered to Options.Events. Every
// event marshals to a JSON object whose first field "kind" is its Kind (see
// [MarshalEvent]); durations are integer nanoseconds (fields ending in _ns), errors are
// strings ("error").
type Event interface {
	// Kind is the event's snake_case name.
	Kind() string
}

// Reason says why a build started.
type Reason string

// Reasons for BuildStarted.
const (
	ReasonInitial Reason = "initial" // first build of Run, or Once
	ReasonChange  Reason = "change"  // files changed
	ReasonRetry   Reason = "retry"   // retry after the builder was unavailable
)

// ChangeDetected is a debounced batch of changes received by the loop.
type ChangeDetected struct {
	Paths    []string  `json:"paths"`
	Overflow bool      `json:"overflow,omitempty"`
	Time     time.Time `json:"time"` // when the loop received the batch
}

// BuildStarted opens build ID.
type BuildStarted struct {
	ID      int       `json:"id"`
	Targets []string  `json:"targets"`           // targets being built
	Skipped []string  `json:"skipped,omitempty"` // targets the changes do not affect
	Paths   []string  `json:"paths,omitempty"`   // changed paths the build covers
	Reason  Reason    `json:"reason"`
	Time    time.Time `json:"time"`
}

// TargetFinished reports one target of build ID. A failed solve is reported as soon
// as it fails; a successful one after its output was committed.
type TargetFinished struct {
	ID        int           `json:"id"`
	Target    string        `json:"target"`
	OK        bool          `json:"ok"`
	Err       error         `json:"-"` // solve or commit error; JSON "error"
	Solve     time.Duration `json:"solve_ns"`
	Export    time.Duration `json:"export_ns"`
	Swap      time.Duration `json:"swap_ns"`
	Changed   []string      `json:"changed,omitempty"`
	Unchanged []string      `json:"unchanged,omitempty"`
	Removed   []string      `json:"removed,omitempty"`
	// Executables are the files of Changed with an execute bit.
	Executables []string `json:"executables,omitempty"`
}

// BuildFinished closes build ID; every BuildStarted is followed by one.
type BuildFinished struct {
	ID         int           `json:"id"`
	OK         bool          `json:"ok"`                   // every target built and committed
	Superseded bool          `json:"superseded,omitempty"` // cancelled by newer changes; nothing committed
	Canceled   bool          `json:"canceled,omitempty"`   // interrupted by shutdown
	Duration   time.Duration `json:"duration_ns"`          // start to end, restarts included
	Wait       time.Duration `json:"wait_ns"`              // build start − first change it covers
	Solve      time.Duration `json:"solve_ns"`             // slowest target
	Export     time.Duration `json:"export_ns"`            // slowest target
	Swap       time.Duration `json:"swap_ns"`              // all commits
	Restart    time.Duration `json:"restart_ns"`           // all restarts
	Targets    []string      `json:"targets"`
	Failed     []string      `json:"failed,omitempty"`
	Paths      []string      `json:"paths,omitempty"`
}

// BuildSuperseded reports that build ID is being cancelled because newer changes
// arrived; its BuildFinished follows once the cancellation completes.
type BuildSuperseded struct {
	ID int `json:"id"`
}

// Restarted reports the (re)start of a target's process after build ID. A restart
// that shutdown interrupts is not reported (whatever error the Restarter returned):
// the build's BuildFinished says Canceled.
type Restarted struct {
	ID       int           `json:"id"`
	Target   string        `json:"target"`
	Duration time.Duration `json:"duration_ns"`
	Err      error         `json:"-"` // JSON "error"
}

// BuilderUnavailable reports that the builder could not be reached; the same
// changes are retried after RetryIn, or at once when a new change arrives.
type BuilderUnavailable struct {
	Err     error         `json:"-"` // JSON "error"
	RetryIn time.Duration `json:"retry_in_ns"`
	// Attempt counts the failed attempts since the builder was last reached (1 for
	// the first of an outage).
	Attempt int `json:"attempt"`
}

// Skipped reports changes that affect no target: no build runs.
type Skipped struct {
	Paths []string `json:"paths"`
}

// Kind implements Event.
func (ChangeDetected) Kind() string { return "change_detected" }

// Kind implements Event.
func (BuildStarted) Kind() string { return "build_started" }

// Kind implements Event.
func (TargetFinished) Kind() string { return "target_finished" }

// Kind implements Event.
func (BuildFinished) Kind() string { return "build_finished" }

// Kind implements Event.
func (BuildSuperseded) Kind() string { return "build_superseded" }

// Kind implements Event.
func (Restarted) Kind() string { return "restarted" }

// Kind implements Event.
func (BuilderUnavailable) Kind() string { return "builder_unavailable" }

// Kind implements Event.
func (Skipped) Kind() string { return "skipped" }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e ChangeDetected) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e BuildStarted) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e TargetFinished) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e BuildFinished) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e BuildSuperseded) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e Restarted) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e BuilderUnavailable) MarshalJSON() ([]byte, error) { return marshal(e) }

// MarshalJSON implements [json.Marshaler] (see [Event]).
func (e Skipped) MarshalJSON() ([]byte, error) { return marshal(e) }

// marshal is an event's own JSON object: "kind" first.
func marshal(ev Event) ([]byte, error) {
	return MarshalEvent(struct {
		Kind string `json:"kind"`
	}{ev.Kind()}, ev)
}

// MarshalEvent writes ev as one JSON object: the members of head, then ev's fields,
// then "error" when ev carries one, then the members of each of tail. head and tail are
// values that encoding/json writes as objects, such as structs and maps; a nil one
// adds nothing. An event's own JSON has {"kind": Kind()} as its head; a stream that
// names events its own way passes its own head instead.
func MarshalEvent(head any, ev Event, tail ...any) ([]byte, error) {
	fields, evErr := plain(ev)
	parts := []any{head, fields}
	if evErr != nil {
		parts = append(parts, struct {
			Err string `json:"error"`
		}{evErr.Error()})
	}
	out := []byte("{}")
	for _, p := range append(parts, tail...) {
		if p == nil {
			continue
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("marshal %s event: %w", ev.Kind(), err)
		}
		if string(b) == "null" { // a nil map or pointer
			continue
		}
		if len(b) < 2 || b[0] != '{' {
			return nil, fmt.Errorf("marshal %s event: %T is not a JSON object", ev.Kind(), p)
		}
		out = appendMembers(out, b)
	}
	return out, nil
}

// plain returns ev as a value of a type with ev's fields and no methods, so that
// encoding it does not call MarshalJSON again, and the error ev carries.
func plain(ev Event) (fields any, err error) {
	switch e := ev.(type) {
	case ChangeDetected:
		type plain ChangeDetected
		return plain(e), nil
	case BuildStarted:
		type plain BuildStarted
		return plain(e), nil
	case TargetFinished:
		type plain TargetFinished
		return plain(e), e.Err
	case BuildFinished:
		type plain BuildFinished
		return plain(e), nil
	case BuildSuperseded:
		type plain BuildSuperseded
		return plain(e), nil
	case Restarted:
		type plain Restarted
		return plain(e), e.Err
	case BuilderUnavailable:
		type plain BuilderUnavailable
		return plain(e), e.Err
	case Skipped:
		type plain Skipped
		return plain(e), nil
	}
	return ev, nil // not one of loop's: encoded as it is
}

// appendMembers appends the members of the JSON object obj to the JSON object dst.
func appendMembers(dst, obj []byte) []byte {
	members := obj[1 : len(obj)-1]
	if len(members) == 0 {
		return dst
	}
	dst = dst[:len(dst)-1] // its closing brace
	if len(dst) > 1 {
		dst = append(dst, ',')
	}
	return append(append(dst, members...), '}')
}

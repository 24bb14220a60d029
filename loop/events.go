package loop

import (
	"encoding/json"
	"time"
)

// Event is one step of the loop's progress, delivered to Options.Events. Every
// event marshals to a JSON object whose "kind" field is its Kind; durations are
// integer nanoseconds (fields ending in _ns), errors are strings.
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

// Restarted reports the (re)start of a target's process after build ID.
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

// MarshalJSON adds the "kind" field.
func (e ChangeDetected) MarshalJSON() ([]byte, error) {
	type plain ChangeDetected
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
	}{e.Kind(), plain(e)})
}

// MarshalJSON adds the "kind" field.
func (e BuildStarted) MarshalJSON() ([]byte, error) {
	type plain BuildStarted
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
	}{e.Kind(), plain(e)})
}

// MarshalJSON adds the "kind" field and renders Err as "error".
func (e TargetFinished) MarshalJSON() ([]byte, error) {
	type plain TargetFinished
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
		Err string `json:"error,omitempty"`
	}{e.Kind(), plain(e), errString(e.Err)})
}

// MarshalJSON adds the "kind" field.
func (e BuildFinished) MarshalJSON() ([]byte, error) {
	type plain BuildFinished
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
	}{e.Kind(), plain(e)})
}

// MarshalJSON adds the "kind" field.
func (e BuildSuperseded) MarshalJSON() ([]byte, error) {
	type plain BuildSuperseded
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
	}{e.Kind(), plain(e)})
}

// MarshalJSON adds the "kind" field and renders Err as "error".
func (e Restarted) MarshalJSON() ([]byte, error) {
	type plain Restarted
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
		Err string `json:"error,omitempty"`
	}{e.Kind(), plain(e), errString(e.Err)})
}

// MarshalJSON adds the "kind" field and renders Err as "error".
func (e BuilderUnavailable) MarshalJSON() ([]byte, error) {
	type plain BuilderUnavailable
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
		Err string `json:"error,omitempty"`
	}{e.Kind(), plain(e), errString(e.Err)})
}

// MarshalJSON adds the "kind" field.
func (e Skipped) MarshalJSON() ([]byte, error) {
	type plain Skipped
	return json.Marshal(struct {
		Kind string `json:"kind"`
		plain
	}{e.Kind(), plain(e)})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

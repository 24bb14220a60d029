package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/supervisor"
)

// Version is the schema version of the NDJSON event stream (docs/events.md).
const Version = 1

// Stream writes the NDJSON event stream (docs/events.md): one JSON object per line for
// every loop and process event. It is safe for concurrent use.
type Stream struct {
	mu       sync.Mutex
	w        io.Writer
	describe Describer
	now      func() time.Time
}

// NewStream returns a Stream writing to w; d describes failed targets.
func NewStream(w io.Writer, d Describer) *Stream {
	return &Stream{w: w, describe: d, now: time.Now}
}

// envelope starts every line of the stream (docs/events.md).
type envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	Time string `json:"time,omitempty"` // left out for an event that has its own
}

// Event writes a loop event: the envelope, the event's own fields, and where a
// failed target failed.
func (s *Stream) Event(ev loop.Event) {
	head := envelope{V: Version, Type: ev.Kind()}
	switch ev.(type) {
	case loop.ChangeDetected, loop.BuildStarted: // they carry their own time
	default:
		head.Time = s.now().UTC().Format(time.RFC3339Nano)
	}
	var failure map[string]any
	if tf, ok := ev.(loop.TargetFinished); ok && !tf.OK {
		failure = failureFields(s.describe.DescribeFailure(tf.Err))
	}
	line, err := loop.MarshalEvent(head, ev, failure)
	s.writeLine(line, err)
}

// ProcessEvent writes a supervisor event.
func (s *Stream) ProcessEvent(ev supervisor.Event) {
	fields := map[string]any{"target": ev.Name, "pid": ev.PID}
	typ := "process_" + string(ev.Kind)
	switch ev.Kind {
	case supervisor.EventExited:
		fields["exit_code"] = ev.ExitCode
		if ev.Signal != "" {
			fields["signal"] = ev.Signal
		}
	case supervisor.EventRestarting:
		fields["delay_ns"] = ev.Delay.Nanoseconds()
	case supervisor.EventReady:
		typ = "ready"
	case supervisor.EventStopTimeout:
		fields["signal"] = ev.Signal
		fields["stop_timeout_ns"] = ev.Delay.Nanoseconds()
	case supervisor.EventPortInUse:
		delete(fields, "pid") // no process of the target is concerned
		fields["port"] = ev.Port
		fields["ready"] = ev.Ready
		if ev.HolderPID > 0 {
			fields["holder_pid"] = ev.HolderPID
			fields["holder_command"] = ev.HolderCommand
		}
	}
	if ev.Err != nil {
		fields["error"] = ev.Err.Error()
	}
	s.write(typ, fields)
}

func (s *Stream) write(typ string, fields map[string]any) {
	fields["v"] = Version
	fields["type"] = typ
	if _, ok := fields["time"]; !ok {
		fields["time"] = s.now().UTC().Format(time.RFC3339Nano)
	}
	line, err := json.Marshal(fields)
	s.writeLine(line, err)
}

// writeLine writes one line of the stream, or an error line if the event could not be
// encoded.
func (s *Stream) writeLine(line []byte, err error) {
	if err != nil {
		line = []byte(fmt.Sprintf(`{"v":%d,"type":"error","error":%q}`, Version, err.Error()))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(append(line, '\n'))
}

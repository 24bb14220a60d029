package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"github.com/devloop/devloop/supervisor"
)

// The process events issue 11 added: the human line and the NDJSON object (checked
// against docs/events.md's shapes).
func TestProcessEventOutput(t *testing.T) {
	tests := []struct {
		ev    supervisor.Event
		human string
		typ   string
	}{
		{
			supervisor.Event{Kind: supervisor.EventStopTimeout, Name: "server", PID: 42, Signal: "SIGTERM", Delay: 2 * time.Second},
			"server: did not stop within 2s of SIGTERM (stop_timeout): sending SIGKILL to pid 42 and what it started\n",
			"process_stop_timeout",
		},
		{
			supervisor.Event{Kind: supervisor.EventPortInUse, Name: "server", Port: 3111, Ready: "http://127.0.0.1:3111/", HolderPID: 4242, HolderCommand: "python3 -m http.server 3111"},
			"server: port 3111 (ready: http://127.0.0.1:3111/) is already in use by pid 4242 (python3 -m http.server 3111); server cannot bind it and is not reported ready while that process answers\n",
			"process_port_in_use",
		},
		{
			supervisor.Event{Kind: supervisor.EventPortInUse, Name: "api", Port: 8080, Ready: "tcp://localhost:8080"},
			"api: port 8080 (ready: tcp://localhost:8080) is already in use by another process (devloop cannot tell which); api cannot bind it and is not reported ready while that process answers\n",
			"process_port_in_use",
		},
	}
	for _, tt := range tests {
		var human bytes.Buffer
		ProcessEvent(&human, tt.ev)
		if human.String() != tt.human {
			t.Errorf("ProcessEvent(%s) = %q, want %q", tt.ev.Kind, human.String(), tt.human)
		}
		var stream bytes.Buffer
		NewStream(&stream, nil).ProcessEvent(tt.ev)
		events := e2etest.ValidateEvents(t, stream.String())
		if len(events) != 1 || events[0]["type"] != tt.typ {
			t.Errorf("ProcessEvent(%s) wrote %s, want one %s event", tt.ev.Kind, stream.String(), tt.typ)
		}
		if tt.ev.Kind == supervisor.EventPortInUse && (tt.ev.HolderPID > 0) != strings.Contains(stream.String(), `"holder_pid":4242`) {
			t.Errorf("ProcessEvent(%s) = %s, want holder_pid exactly when the holder is known", tt.ev.Kind, stream.String())
		}
	}
}

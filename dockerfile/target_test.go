package dockerfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestTargetStage: what a devloop target's stage may be, and what BuildKit is sent
// for it. The reproduction: `FROM … AS builder` then a bare `FROM scratch`,
// and a target "app" without a stage key, built the unknown stage "app".
func TestTargetStage(t *testing.T) {
	d := writeDockerfile(t, "FROM golang:1.26-alpine AS builder\nRUN go build -o /app .\nFROM scratch\nCOPY --from=builder /app /\nFROM alpine AS Tools\nFROM scratch\nCOPY --from=0 /app /\n")
	tests := []struct {
		ref       TargetRef
		wantIndex int
		wantFront string
		wantErr   string // substring of a *StageError
	}{
		// stage omitted: a stage named like the target, else the last one.
		{ref: TargetRef{Stage: "app", Defaulted: true}, wantIndex: 3, wantFront: ""},
		{ref: TargetRef{Stage: "builder", Defaulted: true}, wantIndex: 0, wantFront: "builder"},
		{ref: TargetRef{Stage: "tools", Defaulted: true}, wantIndex: 2, wantFront: "tools"},
		// stage given: a name (as spelled), the last stage by index or by "".
		{ref: TargetRef{Stage: "TOOLS"}, wantIndex: 2, wantFront: "TOOLS"},
		{ref: TargetRef{Stage: "stage-3"}, wantIndex: 3, wantFront: ""},
		{ref: TargetRef{Stage: ""}, wantIndex: 3, wantFront: ""},
		{ref: TargetRef{Stage: "stage-2"}, wantIndex: 2, wantFront: "tools"}, // BuildKit lowercases stage names,
		// What BuildKit cannot build, or the Dockerfile does not have.
		{ref: TargetRef{Stage: "stage-1"}, wantErr: `stage "stage-1" is unnamed and not the last in ` + d.Path + " (FROM on line 3): BuildKit builds an unnamed stage only when it is the last; name it"},
		{ref: TargetRef{Stage: "app"}, wantErr: `stage "app" not found in ` + d.Path + "; its stages are: builder, tools, stage-3"},
		{ref: TargetRef{Stage: "#3"}, wantErr: `its stages are: builder, tools, stage-3 (an unnamed stage is "stage-N"`},
		{ref: TargetRef{Stage: "stage-4"}, wantErr: `stage "stage-4" not found`},
	}
	for _, tt := range tests {
		got, err := d.TargetStage(tt.ref)
		if tt.wantErr != "" {
			var se *StageError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("TargetStage(%+v) = %+v, %v, want a StageError containing %q", tt.ref, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Index != tt.wantIndex || got.Frontend != tt.wantFront {
			t.Errorf("TargetStage(%+v) = %+v, %v, want index %d, frontend %q", tt.ref, got, err, tt.wantIndex, tt.wantFront)
		}
	}

	// One stage: it is the last, whatever its name.
	one := writeDockerfile(t, "FROM scratch\nCOPY a /\n")
	if got, err := one.TargetStage(TargetRef{Stage: "app", Defaulted: true}); err != nil || got != (Target{Index: 0}) {
		t.Errorf("single stage: TargetStage = %+v, %v, want stage 0 sent as no target", got, err)
	}
	var se *StageError
	if _, err := one.TargetStage(TargetRef{Stage: "app"}); !errors.As(err, &se) || !reflect.DeepEqual(se.Stages, []string{"stage-0"}) {
		t.Errorf("single stage, stage app given: error %v, want a StageError listing stage-0", err)
	}
}

package dockerfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLookup: the one stage lookup accepts, for each place a stage is named, what
// BuildKit's Dockerfile frontend accepts there.
func TestLookup(t *testing.T) {
	d := writeDockerfile(t, "FROM alpine AS Base\nFROM later AS first\nFROM base AS second\nFROM golang\nFROM scratch AS later\n")
	tests := []struct {
		ref  string
		kind RefKind
		at   int
		want int
	}{
		{"base", RefTarget, 0, 0}, // case-insensitive
		{"LATER", RefTarget, 0, 4},
		{"1", RefTarget, 0, -1},       // a target is a name,
		{"stage-3", RefTarget, 0, 3},  // or a stage by index, as progress names it,
		{"stage-9", RefTarget, 0, -1}, // (one it has)
		{"#3", RefTarget, 0, -1},
		{"", RefTarget, 0, 4}, // or none: the last stage
		{"base", RefFrom, 2, 0},
		{"later", RefFrom, 1, -1}, // a later stage: FROM names an image
		{"first", RefFrom, 1, -1}, // itself
		{"2", RefFrom, 3, -1},
		{"second", RefCopyFrom, 0, 2},
		{"later", RefCopyFrom, 0, 4},
		{"3", RefCopyFrom, 0, 3}, // COPY --from takes an index
		{"5", RefCopyFrom, 0, -1},
		{"-1", RefCopyFrom, 0, -1},
		{"stage-3", RefCopyFrom, 0, -1},
		{"alpine", RefCopyFrom, 0, -1},
		{"second", RefMountFrom, 0, 2},
		{"3", RefMountFrom, 0, -1}, // RUN --mount from= does not
		{"stage-3", RefStep, 0, 3}, // progress names unnamed stages stage-N
		{"first", RefStep, 0, 1},
		{"3", RefStep, 0, -1},
	}
	for _, tt := range tests {
		if got := d.Lookup(tt.ref, tt.kind, tt.at); got != tt.want {
			t.Errorf("Lookup(%q, %d, %d) = %d, want %d", tt.ref, tt.kind, tt.at, got, tt.want)
		}
	}
	// The stage chain follows the same rule: "first" is built FROM the image
	// "later", not the stage, so its only step after the pull is numbered 2.
	if refs := d.ImageRefs(1, nil, ""); !reflect.DeepEqual(refs, []string{"docker.io/library/later:latest"}) {
		t.Errorf("ImageRefs(first) = %v, want the image later", refs)
	}
	if refs := d.ImageRefs(2, nil, ""); !reflect.DeepEqual(refs, []string{"docker.io/library/alpine:latest"}) {
		t.Errorf("ImageRefs(second) = %v, want alpine, the image of the stage Base", refs)
	}
	if got := d.stages[1].root; got != "later" {
		t.Errorf("root of the stage built FROM a later stage's name = %q, want the image later", got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("FROM alpine AS gen\nFROM scratch\nFROM scratch AS out\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	d, problems := c.Check(p, []TargetRef{{Stage: "out"}, {Stage: "nope"}, {Stage: "GEN"}, {Stage: "nope"}, {Stage: "nope", Defaulted: true}})
	if d == nil || len(problems) != 2 {
		t.Fatalf("Check() = %v, %v, want the Dockerfile and 2 problems", d, problems)
	}
	for i, wantIndex := range []int{1, 3} {
		var se *StageError
		if !errors.As(problems[i], &se) || se.Stage != "nope" || se.Index != wantIndex || !reflect.DeepEqual(se.Stages, []string{"gen", "out"}) {
			t.Errorf("problem %d = %#v, want a StageError for nope at %d listing gen, out", i, problems[i], wantIndex)
		}
	}
	if want := `stage "nope" not found in ` + p + "; its stages are: gen, out"; problems[0].Error() != want {
		t.Errorf("StageError = %q, want %q", problems[0], want)
	}

	missing := filepath.Join(dir, "Missing")
	d, problems = c.Check(missing, []TargetRef{{Stage: "out"}})
	if d != nil || len(problems) != 1 || !errors.Is(problems[0], fs.ErrNotExist) || !strings.HasPrefix(problems[0].Error(), "stat "+missing) {
		t.Errorf("Check(missing) = %v, %v, want only os.Stat's error", d, problems)
	}

	bad := filepath.Join(dir, "Bad")
	if err := os.WriteFile(bad, []byte("FROM alpine\nFORM x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, problems = c.Check(bad, []TargetRef{{Stage: "out"}}); d != nil || problems != nil {
		t.Errorf("Check(syntax error) = %v, %v, want nothing: BuildKit reports it", d, problems)
	}
}

func TestDescribeFailure(t *testing.T) {
	d := writeDockerfile(t, locateDockerfile)
	ctx := locateContext(t)
	const step = "[vet 1/1] RUN --mount=type=bind,target=. go vet ./..."
	logs := "# example.com/greeter/cmd/server\nvet: ./cmd/server/handler.go:16:13: unreachable code\r\nexit status 1\n"

	f := DescribeFailure(d, step, logs, ctx)
	if f.Step != step || len(f.Locations) != 1 || f.Locations[0].File != filepath.Join(ctx, "cmd", "server", "handler.go") || !f.Locations[0].Mapped {
		t.Errorf("DescribeFailure() = %+v, want the step and one mapped location", f)
	}
	if want := []string{"# example.com/greeter/cmd/server", "exit status 1"}; !reflect.DeepEqual(f.Other, want) {
		t.Errorf("Other = %q, want %q", f.Other, want)
	}

	f = DescribeFailure(nil, step, logs, ctx)
	if len(f.Locations) != 0 || len(f.Other) != 3 {
		t.Errorf("DescribeFailure(nil Dockerfile) = %+v, want every line in Other", f)
	}
	if f = DescribeFailure(d, step, "", ctx); f.Step != step || f.Locations != nil || f.Other != nil {
		t.Errorf("DescribeFailure(no logs) = %+v, want the step only", f)
	}
}

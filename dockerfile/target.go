package dockerfile

import (
	"fmt"
	"strings"
)

// Target is the stage a devloop target builds, resolved against the Dockerfile.
type Target struct {
	Index int // the stage, in Stages
	// Frontend is the Dockerfile frontend's "target" option that builds the stage:
	// its name ("" for the last stage when it has none: BuildKit builds the last
	// stage when no target is given). It is also what the build's TARGETSTAGE is.
	Frontend string
}

// TargetRef is a target's stage as devloop.yaml gives it.
type TargetRef struct {
	// Stage is targets.NAME.stage: a stage name, "stage-N" for the stage N by
	// index, or "" for the last stage (see RefTarget). When devloop.yaml has no
	// stage key it is the target's name, and Defaulted is true.
	Stage     string
	Defaulted bool
}

// TargetStage resolves ref, the stage a devloop target builds:
//   - stage given (Defaulted false): the stage [Dockerfile.Lookup] finds for it
//     (RefTarget: a name, "stage-N", or "" for the last stage);
//   - stage omitted (Defaulted true, Stage the target's name): the stage of that
//     name if the Dockerfile has one, else the last stage, which is what docker
//     build builds without --target.
//
// The error is a [*StageError]: no such stage, or an unnamed stage that is not the
// last (BuildKit's target option takes a name, and builds the last stage without
// one: any other unnamed stage cannot be built on its own).
func (d *Dockerfile) TargetStage(ref TargetRef) (Target, error) {
	i := d.Lookup(ref.Stage, RefTarget, 0)
	if i < 0 && ref.Defaulted {
		i = len(d.Stages) - 1
	}
	last := len(d.Stages) - 1
	switch {
	case i < 0:
		return Target{}, &StageError{Dockerfile: d.Path, Stage: ref.Stage, Stages: d.stageNames()}
	case d.Stages[i].Name != "":
		// The name as the user spelled it when it names the stage (stage names
		// compare case-insensitively): what docker build --target would send.
		name := d.Stages[i].Name
		if strings.EqualFold(ref.Stage, name) {
			name = ref.Stage
		}
		return Target{Index: i, Frontend: name}, nil
	case i == last:
		return Target{Index: i}, nil
	}
	return Target{}, &StageError{Dockerfile: d.Path, Stage: ref.Stage, Stages: d.stageNames(), Line: d.Stages[i].Line}
}

// stageNames lists the stages as a target may name them: their names, and
// "stage-N" for the last stage when it has none (the only unnamed stage a build
// can target).
func (d *Dockerfile) stageNames() []string {
	var names []string
	for i, s := range d.Stages {
		switch {
		case s.Name != "":
			names = append(names, s.Name)
		case i == len(d.Stages)-1:
			names = append(names, d.StageName(i))
		}
	}
	return names
}

// StageError says that a build targets a stage it cannot build: one the Dockerfile
// does not have, or an unnamed stage that is not the last.
type StageError struct {
	Dockerfile string // its path
	Stage      string // the stage asked for
	// Index is the position of Stage in the refs given to Check; 0 from
	// [Dockerfile.TargetStage].
	Index int
	// Stages are the stages a target can name, in order: the named ones, and
	// "stage-N" for the last stage when it is unnamed.
	Stages []string
	// Line is, when Stage names an unnamed stage that is not the last, the line of
	// its FROM; 0 otherwise.
	Line int
}

func (e *StageError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("stage %q is unnamed and not the last in %s (FROM on line %d): BuildKit builds an unnamed stage only when it is the last; name it (FROM … AS name) and set stage to that name",
			e.Stage, e.Dockerfile, e.Line)
	}
	msg := fmt.Sprintf("stage %q not found in %s; its stages are: %s", e.Stage, e.Dockerfile, strings.Join(e.Stages, ", "))
	if strings.HasPrefix(e.Stage, "#") {
		msg += ` (an unnamed stage is "stage-N", N its 0-based index; the last one is also built when stage is left out)`
	}
	return msg
}

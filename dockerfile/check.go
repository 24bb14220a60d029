package dockerfile

import (
	"fmt"
	"os"
	"strings"
)

// StageError says that a build targets a stage the Dockerfile does not have.
type StageError struct {
	Dockerfile string   // its path
	Stage      string   // the stage asked for
	Index      int      // the position of Stage in the stages given to Check
	Stages     []string // the names of the stages it has, in order (unnamed ones left out)
}

func (e *StageError) Error() string {
	return fmt.Sprintf("stage %q not found in %s; its stages are: %s", e.Stage, e.Dockerfile, strings.Join(e.Stages, ", "))
}

// Check reports what the Dockerfile at path tells, before any build, about building
// each of stages (as targets, see RefTarget). It returns the parsed Dockerfile (nil
// when it does not parse) and the problems, in this order:
//   - the file cannot be found: the error of os.Stat (an *fs.PathError), alone;
//   - a stage it does not have: a [*StageError] each, in the order of stages.
//
// A Dockerfile that does not parse is no problem here: BuildKit reports the syntax
// error, with its line, when it builds.
func (c *Cache) Check(path string, stages []string) (*Dockerfile, []error) {
	df, err := c.Load(path)
	if err != nil {
		if _, serr := os.Stat(path); serr != nil {
			return nil, []error{serr}
		}
		return nil, nil
	}
	var problems []error
	for i, s := range stages {
		if _, ok := df.Stage(s); ok {
			continue
		}
		names := []string{}
		for _, st := range df.Stages {
			if st.Name != "" {
				names = append(names, st.Name)
			}
		}
		problems = append(problems, &StageError{Dockerfile: path, Stage: s, Index: i, Stages: names})
	}
	return df, problems
}

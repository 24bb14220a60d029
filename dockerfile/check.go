package dockerfile

import (
	"errors"
	"os"
)

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
		if _, err := df.TargetStage(TargetRef{Stage: s}); err != nil {
			if se := (*StageError)(nil); errors.As(err, &se) {
				se.Index = i
			}
			problems = append(problems, err)
		}
	}
	return df, problems
}

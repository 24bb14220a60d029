package dockerfile

import (
	"errors"
	"os"
)

// Check reports what the Dockerfile at path tells, before any build, about building
// each of targets (see [Dockerfile.TargetStage]). It returns the parsed Dockerfile
// (nil when it does not parse) and the problems, in this order:
//   - the file cannot be found: the error of os.Stat (an *fs.PathError), alone;
//   - a stage a target cannot build: a [*StageError] each, in the order of targets
//     (Index its position).
//
// A Dockerfile that does not parse is no problem here: BuildKit reports the syntax
// error, with its line, when it builds.
func (c *Cache) Check(path string, targets []TargetRef) (*Dockerfile, []error) {
	df, err := c.Load(path)
	if err != nil {
		if _, serr := os.Stat(path); serr != nil {
			return nil, []error{serr}
		}
		return nil, nil
	}
	var problems []error
	for i, ref := range targets {
		if _, err := df.TargetStage(ref); err != nil {
			if se := (*StageError)(nil); errors.As(err, &se) {
				se.Index = i
			}
			problems = append(problems, err)
		}
	}
	return df, problems
}

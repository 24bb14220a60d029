package config

import (
	"strconv"
	"strings"
)

// Error is one problem found in a config file. Line and Col are 1-based; zero
// means unknown (for example when the file is empty). Field is the dotted key
// path of the offending value, such as "targets.server.run.stop_timeout" or
// "watch.ignore[2]", and is empty for problems not tied to a key.
type Error struct {
	File      string
	Line, Col int
	Field     string
	Msg       string
}

// Error formats the problem as "file:line:col: field: msg", leaving out the
// parts that are unknown.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, ordered by position.
// Parse and Load return it as their error; use errors.As to get at the
// individual problems.
type Errors []Error

// Error returns one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

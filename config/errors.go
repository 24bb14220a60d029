package config

import (
	"fmt"
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

// Pos is a 1-based line and column in a config file; zero means unknown.
type Pos struct{ Line, Col int }

// fieldPos is where one key path is written: its key and its value (the same
// for list items).
type fieldPos struct{ Key, Value Pos }

// Set reports whether the file sets field, a dotted key path as in
// [Error.Field] ("targets.server.stage", "cache.from[1]"). A field the file
// does not set holds its default.
func (c *Config) Set(field string) bool {
	_, ok := c.pos[field]
	return ok
}

// ErrorAt returns the problem msg about field's value, found after parsing
// (a stage the Dockerfile lacks, a file that does not exist), positioned like
// the problems Parse reports: at the value when the file sets field, else at
// the key of the nearest enclosing mapping the file sets ("targets.server"
// for a defaulted "targets.server.stage"), else at the top-level mapping.
// Field is kept as given. A Config not made by Parse has no positions.
func (c *Config) ErrorAt(field, format string, args ...any) Error {
	e := Error{File: c.File, Field: field, Msg: fmt.Sprintf(format, args...)}
	if fp, ok := c.pos[field]; ok {
		e.Line, e.Col = fp.Value.Line, fp.Value.Col
		return e
	}
	for p := parentField(field); ; p = parentField(p) {
		if fp, ok := c.pos[p]; ok {
			e.Line, e.Col = fp.Key.Line, fp.Key.Col
			return e
		}
		if p == "" {
			return e
		}
	}
}

// parentField strips the last key or list index from a dotted key path.
func parentField(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}

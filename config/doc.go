// Package config loads and validates devloop.yaml.
//
// Parsing is strict: the file is decoded into a YAML node tree and walked by
// hand, so unknown keys, duplicate keys, wrong types and invalid values are all
// reported, together, as an [Errors] value whose lines look like
//
//	devloop.yaml:7:5: targets.server.stag: unknown key (did you mean "stage"?)
//
// A value whose grammar belongs to the package that uses it — a cache spec, a
// builder address, a ready URL, a stop signal — is checked with that package's
// parser, passed in as [Grammars]: config imports none of those packages, and
// devloop.yaml accepts exactly what they will.
//
// Relative paths are resolved and defaults applied, so every path in a
// returned [Config] is absolute and every field holds its effective value.
// The JSON Schema in schema/devloop.schema.json describes the same format for
// editors; a test keeps the two in sync.
package config

package main

import (
	"errors"

	"github.com/devloop/devloop/rebuild"
)

// failureFields describes a failed target for the event stream.
func (p *project) failureFields(err error) map[string]any {
	var be *rebuild.BuildError
	if !errors.As(err, &be) {
		return nil
	}
	return map[string]any{"step": be.Step}
}

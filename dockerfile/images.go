package dockerfile

import (
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// ImageRefs lists the images a solve of the Dockerfile pulls — its FROM images
// (stages built from earlier stages, scratch and bases whose build args have no
// default left out) and the frontend image syntax (see [Cache.Syntax]; "" when none
// runs) — normalised the way BuildKit's Dockerfile frontend names them
// ("docker.io/library/golang:1.26-alpine"), sorted, without duplicates. References
// that carry a digest need no pin and are left out.
func (d *Dockerfile) ImageRefs(syntax string) []string {
	var refs []string
	for i, s := range d.Stages {
		if s.Scratch || strings.Contains(s.Base, "$") || d.Lookup(s.Base, RefFrom, i) >= 0 {
			continue
		}
		if ref, ok := normalizeRef(s.Base); ok {
			refs = append(refs, ref)
		}
	}
	if syntax != "" {
		if ref, ok := normalizeRef(syntax); ok {
			refs = append(refs, ref)
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// normalizeRef names an image as BuildKit's Dockerfile frontend does; false for a
// reference that carries a digest, or none at all.
func normalizeRef(s string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", false
	}
	if _, ok := named.(reference.Digested); ok {
		return "", false
	}
	return reference.TagNameOnly(named).String(), true
}

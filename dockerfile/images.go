package dockerfile

import (
	"maps"
	"slices"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// ImageRefs lists the images a solve of stage (an index in Stages) with the build
// args args pulls, as BuildKit's Dockerfile frontend, which builds only the stages
// the target needs, pulls them: the FROM images of the stages in its chain — its
// FROM chain, the stages its COPY --from and RUN --mount from= name, and theirs in
// turn — the images COPY --from and --mount from= name directly, and the frontend
// image syntax ("" when none runs). A FROM is expanded with the global ARGs, a build
// arg replacing a declared ARG's default (`FROM golang:${GO_VERSION}-alpine`); COPY
// --from and mount sources with the stage's ARGs too. Names are normalised the way
// BuildKit names them ("docker.io/library/golang:1.26-alpine"), sorted, without
// duplicates; scratch, references that carry a digest (they need no pin) and ones
// that do not expand (an ARG without a value: the build fails on it) are left out.
func (d *Dockerfile) ImageRefs(stage int, args map[string]string, syntax string) []string {
	metaArgs, stages, err := d.Instructions()
	if err != nil || stage < 0 || stage >= len(stages) {
		return sortedRefs(nil, syntax)
	}
	lex := d.NewLex()
	expand := func(word string, env map[string]string) (string, bool) {
		res, err := lex.ProcessWordWithMatches(word, envMap(env))
		if err != nil || len(res.Unmatched) > 0 || res.Result == "" {
			return "", false
		}
		return res.Result, true
	}
	// declare sets the ARGs of c in env: a build arg, else the default, else
	// (in a stage) the global value.
	declare := func(c *instructions.ArgCommand, env, global map[string]string) {
		for _, kv := range c.Args {
			switch v, given := args[kv.Key]; {
			case given:
				env[kv.Key] = v
			case kv.Value != nil:
				if v, ok := expand(*kv.Value, env); ok {
					env[kv.Key] = v
				}
			default:
				if v, ok := global[kv.Key]; ok {
					env[kv.Key] = v
				}
			}
		}
	}
	global := map[string]string{}
	for _, c := range metaArgs {
		declare(c, global, nil)
	}

	var refs []string
	image := func(name string) {
		if ref, ok := normalizeRef(name); ok && name != "scratch" {
			refs = append(refs, ref)
		}
	}
	seen := make([]bool, len(stages))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		st := stages[i]
		if base, ok := expand(st.BaseName, global); ok {
			if j := d.Lookup(base, RefFrom, i); j >= 0 {
				visit(j)
			} else {
				image(base)
			}
		}
		env := maps.Clone(global)
		for _, cmd := range st.Commands {
			var froms []string
			switch c := cmd.(type) {
			case *instructions.ArgCommand:
				declare(c, env, global)
			case *instructions.CopyCommand:
				if c.From != "" {
					froms = append(froms, c.From)
				}
			case *instructions.RunCommand:
				_ = c.Expand(func(w string) (string, error) {
					v, _ := expand(w, env)
					return v, nil
				})
				for _, m := range instructions.GetMounts(c) {
					if m.From != "" {
						froms = append(froms, m.From)
					}
				}
			}
			for _, from := range froms {
				name, ok := expand(from, env)
				if !ok {
					continue
				}
				kind := RefCopyFrom
				if _, isRun := cmd.(*instructions.RunCommand); isRun {
					kind = RefMountFrom
				}
				if j := d.Lookup(name, kind, i); j >= 0 {
					visit(j)
				} else {
					image(name)
				}
			}
		}
	}
	visit(stage)
	return sortedRefs(refs, syntax)
}

// sortedRefs adds the frontend image syntax to refs, sorts them and drops
// duplicates.
func sortedRefs(refs []string, syntax string) []string {
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

package rebuild

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// Pins maps image references as the Dockerfile frontend names them
// ("docker.io/library/golang:1.26-alpine") to the digest they resolved to.
type Pins map[string]digest.Digest

// ImageRefs lists the images a solve of the Dockerfile pulls — its FROM images (stages
// built from other stages and scratch left out) and the frontend image syntax (see
// [Syntax]; "" when none runs) — normalised the way BuildKit names them.
func ImageRefs(dockerfile, syntax string) ([]string, error) {
	df, err := ParseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for i, s := range df.Stages {
		if s.Scratch || strings.Contains(s.Base, "$") || df.isStage(s.Base, i) {
			continue
		}
		if ref, ok := normalizeRef(s.Base); ok {
			set[ref] = true
		}
	}
	if syntax != "" {
		if ref, ok := normalizeRef(syntax); ok {
			set[ref] = true
		}
	}
	refs := make([]string, 0, len(set))
	for r := range set {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	return refs, nil
}

// isStage reports whether name is an earlier stage of the Dockerfile.
func (d *Dockerfile) isStage(name string, before int) bool {
	for j := 0; j < before; j++ {
		if d.Stages[j].Name != "" && strings.EqualFold(d.Stages[j].Name, name) {
			return true
		}
	}
	return false
}

// normalizeRef names an image as BuildKit's Dockerfile frontend does; references that
// already carry a digest need no pin.
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

// Resolve asks the daemon (and through it the registry) for the current digest of
// every ref, concurrently, in one gateway session.
func (c *Client) Resolve(ctx context.Context, refs []string) (Pins, error) {
	pins := Pins{}
	if len(refs) == 0 {
		return pins, nil
	}
	dgsts := make([]digest.Digest, len(refs))
	_, err := c.bk.Build(ctx, client.SolveOpt{}, "devloop", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		g, gctx := errgroup.WithContext(ctx)
		for i, ref := range refs {
			g.Go(func() error {
				_, dgst, _, err := gw.ResolveImageConfig(gctx, ref, sourceresolver.Opt{
					LogName:  "[devloop] pinning " + ref,
					ImageOpt: &sourceresolver.ResolveImageOpt{ResolveMode: "default"},
				})
				if err != nil {
					return fmt.Errorf("resolve %s: %w", ref, err)
				}
				dgsts[i] = dgst
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("pin base images at %s: %w", c.addr, simplifyDialError(err))
	}
	for i, ref := range refs {
		pins[ref] = dgsts[i]
	}
	return pins, nil
}

// policy turns pins into a BuildKit source policy that rewrites every pinned image to
// its digest, so a rebuild makes no registry round trip for it.
func (p Pins) policy() *spb.Policy {
	if len(p) == 0 {
		return nil
	}
	refs := make([]string, 0, len(p))
	for r := range p {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	pol := &spb.Policy{Version: 1}
	for _, r := range refs {
		pol.Rules = append(pol.Rules, &spb.Rule{
			Action:   spb.PolicyAction_CONVERT,
			Selector: &spb.Selector{Identifier: "docker-image://" + r, MatchType: spb.MatchType_EXACT},
			Updates:  &spb.Update{Identifier: "docker-image://" + r + "@" + p[r].String()},
		})
	}
	return pol
}

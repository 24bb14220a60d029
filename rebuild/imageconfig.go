package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageConfig is what an image's config says of the state a stage built FROM it
// starts in (the "config" of its OCI image config).
type ImageConfig struct {
	Env        []string // "KEY=value"
	User       string
	WorkingDir string
}

// ImageConfigs asks the daemon (and through it the registry) for the config of
// every ref (as a Dockerfile's FROM writes it: "golang:1.26"), for the daemon's
// platform, concurrently, in one gateway session. The
// map holds the configs resolved, by ref as given; the error, if any, names every ref
// that failed and why (an [*UnreachableError] when the daemon cannot be reached).
func (c *Client) ImageConfigs(ctx context.Context, refs []string) (map[string]ImageConfig, error) {
	out := map[string]ImageConfig{}
	if len(refs) == 0 {
		return out, nil
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	_, err := c.bk.Build(ctx, client.SolveOpt{}, "devloop", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		var wg sync.WaitGroup
		for _, ref := range refs {
			wg.Go(func() {
				opt := sourceresolver.Opt{
					LogName:  "[devloop] reading the image config of " + ref,
					ImageOpt: &sourceresolver.ResolveImageOpt{ResolveMode: "default"},
				}
				if c.platform.OS != "" {
					opt.ImageOpt.Platform = &c.platform
				}
				var img ocispecs.Image
				named, err := reference.ParseNormalizedNamed(ref)
				if err == nil {
					var dt []byte
					_, _, dt, err = gw.ResolveImageConfig(ctx, reference.TagNameOnly(named).String(), opt)
					if err == nil {
						err = json.Unmarshal(dt, &img)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("image config of %s: %w", ref, err))
					return
				}
				out[ref] = ImageConfig{Env: img.Config.Env, User: img.Config.User, WorkingDir: img.Config.WorkingDir}
			})
		}
		wg.Wait()
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		if isUnavailable(err) {
			return out, &UnreachableError{Address: c.addr, Err: simplifyDialError(err)}
		}
		return out, fmt.Errorf("read image configs at %s: %w", c.addr, simplifyDialError(err))
	}
	return out, errors.Join(errs...)
}

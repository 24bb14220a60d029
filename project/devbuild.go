package project

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// imageConfigs looks up base images' configs (*rebuild.Client is one).
type imageConfigs interface {
	ImageConfigs(ctx context.Context, refs []string) (map[string]rebuild.ImageConfig, error)
}

// devBuild is the layer of the solver stack that builds the dev build of the
// Dockerfile (golang.DevBuild: Go build and module cache mounts on every RUN of its Go
// stages, -a dropped) for the targets whose dev_transform is on, as the request's
// Dockerfile source: the file on disk never changes. The base images' configs (a Go
// toolchain, GOPATH, USER, WORKDIR) are asked of the daemon once per image and
// session; an image whose config cannot be had counts as unknown
// (golang.DevOptions.Images). What the dev build changes is said once per line on
// notices, with how to turn it off; a Dockerfile the dev build cannot handle is built
// as written, which is said once too.
type devBuild struct {
	next        rebuild.Solver
	images      imageConfigs
	dockerfiles *dockerfile.Cache
	live        func() *config.Config
	notices     io.Writer // nil: not said
	log         *zap.Logger

	mu    sync.Mutex
	known map[string]dockerfile.Image // configs had, by FROM reference
	asked map[string]bool             // references asked, had or not
	said  map[string]bool             // lines said
	memo  devMemo
}

// devMemo is the last dev build made, and what it was made of.
type devMemo struct {
	df      *dockerfile.Dockerfile
	key     string // context, targets, and how many image configs were known
	dev     *golang.Dev
	err     error
	present bool
}

func newDevBuild(next rebuild.Solver, images imageConfigs, dockerfiles *dockerfile.Cache, live func() *config.Config, notices io.Writer, log *zap.Logger) *devBuild {
	return &devBuild{next: next, images: images, dockerfiles: dockerfiles, live: live, notices: notices, log: log,
		known: map[string]dockerfile.Image{}, asked: map[string]bool{}, said: map[string]bool{}}
}

// Solve implements rebuild.Solver: req gets the dev build as its Dockerfile source
// when its target uses one.
func (s *devBuild) Solve(ctx context.Context, req rebuild.Request, p *rebuild.Printer) (rebuild.Stats, error) {
	req.DockerfileSource = s.source(ctx, req)
	return s.next.Solve(ctx, req, p)
}

// source is the dev build req's target builds; nil for the Dockerfile as written:
// its dev_transform is off, the Dockerfile cannot be read or parsed (the solve says
// why), or the dev build changes nothing.
func (s *devBuild) source(ctx context.Context, req rebuild.Request) []byte {
	cfg := s.live()
	if t, ok := cfg.Targets[req.Target]; !ok || !t.DevTransform {
		return nil
	}
	d, err := s.dockerfiles.Load(req.Dockerfile)
	if err != nil {
		return nil
	}
	// Every build that uses the dev build, for sharing=locked: the same text for
	// all of them, so that their common stages stay one solve's.
	var stages []string
	var mine []int
	for _, name := range cfg.TargetNames() {
		if t := cfg.Targets[name]; t.DevTransform {
			if name == req.Target {
				mine = append(mine, len(stages))
			}
			stages = append(stages, t.Stage)
		}
	}
	dev, err := s.make(ctx, d, req.Context, stages)
	if err != nil {
		s.say(fmt.Sprintf("[devloop] %s: no dev build (%v): building it as written", ospath.DisplayCwd(req.Dockerfile), err))
		return nil
	}
	s.announce(req.Dockerfile, dev, mine)
	if bytes.Equal(dev.Source, d.Source()) {
		return nil
	}
	return dev.Source
}

// make returns the dev build of d, made again only when d, the context, the targets
// or the image configs known changed.
func (s *devBuild) make(ctx context.Context, d *dockerfile.Dockerfile, buildContext string, stages []string) (*golang.Dev, error) {
	images := s.imageConfigs(ctx, d.BaseImages())
	key := fmt.Sprintf("%s\x00%s\x00%d", buildContext, strings.Join(stages, "\x00"), len(images))
	s.mu.Lock()
	if m := s.memo; m.present && m.df == d && m.key == key {
		s.mu.Unlock()
		return m.dev, m.err
	}
	s.mu.Unlock()
	dev, err := golang.DevBuild(d, golang.DevOptions{Context: buildContext, Images: images, Targets: stages})
	s.mu.Lock()
	s.memo = devMemo{df: d, key: key, dev: dev, err: err, present: true}
	s.mu.Unlock()
	return dev, err
}

// asWritten is the Dockerfile as written that source, a dev build this layer made,
// was made of; nil when source is not the last dev build made (the Dockerfile or the
// targets changed since).
func (s *devBuild) asWritten(source []byte) *dockerfile.Dockerfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.memo; m.present && m.dev != nil && bytes.Equal(m.dev.Source, source) {
		return m.df
	}
	return nil
}

// imageConfigs returns the configs known of refs, asking the daemon for those not
// asked yet. A failed lookup is logged and not asked again this session, unless it
// failed because ctx ended (a build superseded meanwhile).
func (s *devBuild) imageConfigs(ctx context.Context, refs []string) map[string]dockerfile.Image {
	s.mu.Lock()
	var missing []string
	for _, r := range refs {
		if !s.asked[r] {
			missing = append(missing, r)
		}
	}
	s.mu.Unlock()
	if len(missing) > 0 {
		got, err := s.images.ImageConfigs(ctx, missing)
		if err != nil {
			s.log.Debug("cannot read base image configs; the dev build takes them as unknown", zap.Strings("refs", missing), zap.Error(err))
		}
		s.mu.Lock()
		for _, r := range missing {
			if c, ok := got[r]; ok {
				s.known[r] = dockerfile.Image{Env: c.Env, User: c.User, WorkingDir: c.WorkingDir}
			}
			s.asked[r] = s.asked[r] || ctx.Err() == nil
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]dockerfile.Image, len(refs))
	for _, r := range refs {
		if c, ok := s.known[r]; ok {
			out[r] = c
		}
	}
	return out
}

// announce says, once per line, what the dev build changes for the builds mine (in
// golang.DevOptions.Targets) and what it leaves as written, then how to turn it off.
func (s *devBuild) announce(path string, dev *golang.Dev, mine []int) {
	name := ospath.DisplayCwd(path)
	changed := false
	for _, c := range dev.Changes {
		if slices.ContainsFunc(c.Targets, func(k int) bool { return slices.Contains(mine, k) }) {
			s.say(fmt.Sprintf("[devloop] %s:%d: dev build %s", name, c.Line, c.Summary()))
			changed = true
		}
	}
	for _, k := range dev.Kept {
		s.say(fmt.Sprintf("[devloop] %s:%d: dev build leaves %s as written: %s", name, k.Line, strings.Join(k.Stages, ", "), k.Why))
	}
	if changed {
		s.say(fmt.Sprintf("[devloop] dev build: %s on disk is not changed; dev_transform: false in devloop.yaml (project-wide or per target) builds it as written", name))
	}
}

// say writes line on notices unless it was said before.
func (s *devBuild) say(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.said[line] || s.notices == nil {
		return
	}
	s.said[line] = true
	fmt.Fprintln(s.notices, line)
}

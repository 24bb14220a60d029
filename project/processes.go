package project

import (
	"context"
	"fmt"
	"sync"

	"github.com/devloop/devloop/supervisor"
	"go.uber.org/zap"
)

// processes runs one supervisor per target with run: (it is the loop's Restarter)
// and replaces one with another built from new run settings: the old one stops its
// process (stop signal, grace period), the new one starts the new command if the
// target's process was running.
type processes struct {
	replaceCh chan replaceRequest
	log       *zap.Logger

	mu      sync.Mutex
	sups    supervisors
	started map[string]bool
	locks   map[string]*sync.Mutex // per target: a restart and a replacement never overlap
}

type replaceRequest struct {
	name  string
	sup   *supervisor.Supervisor
	reply chan struct{}
}

func newProcesses(sups supervisors, log *zap.Logger) *processes {
	p := &processes{replaceCh: make(chan replaceRequest), log: log, sups: sups, started: map[string]bool{}, locks: map[string]*sync.Mutex{}}
	for name := range sups {
		p.locks[name] = &sync.Mutex{}
	}
	return p
}

// run runs every supervisor until ctx is done, and the replacements asked for.
func (p *processes) run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	runs := map[string]running{}
	start := func(name string, s *supervisor.Supervisor) {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		runs[name] = running{cancel, done}
		wg.Go(func() {
			defer close(done)
			if err := s.Run(sctx); err != nil {
				p.log.Error("supervisor", zap.String("target", name), zap.Error(err))
			}
		})
	}
	p.mu.Lock()
	for name, s := range p.sups {
		start(name, s)
	}
	p.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-p.replaceCh:
			if old, ok := runs[req.name]; ok {
				old.cancel()
				<-old.done // its process group is gone
			}
			p.mu.Lock()
			p.sups[req.name] = req.sup
			p.mu.Unlock()
			start(req.name, req.sup)
			close(req.reply)
		}
	}
}

// replace swaps the target's supervisor for s, restarting its process under s if it
// was running.
func (p *processes) replace(ctx context.Context, name string, s *supervisor.Supervisor) error {
	lock := p.lock(name)
	if lock == nil {
		return fmt.Errorf("replace supervisor %s: the target has no process", name)
	}
	lock.Lock()
	defer lock.Unlock()
	req := replaceRequest{name: name, sup: s, reply: make(chan struct{})}
	select {
	case p.replaceCh <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req.reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	started := p.started[name]
	p.mu.Unlock()
	if !started {
		return nil // the loop starts it after its first successful build
	}
	return s.Restart(ctx)
}

// Restart implements loop.Restarter.
func (p *processes) Restart(ctx context.Context, target string) error {
	lock := p.lock(target)
	if lock == nil {
		return nil
	}
	lock.Lock()
	defer lock.Unlock()
	p.mu.Lock()
	s := p.sups[target]
	p.mu.Unlock()
	if err := s.Restart(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.started[target] = true
	p.mu.Unlock()
	return nil
}

// Kill SIGKILLs every process group at once (a second Ctrl-C).
func (p *processes) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sups {
		s.Kill()
	}
}

func (p *processes) lock(name string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.locks[name]
}

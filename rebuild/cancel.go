package rebuild

import (
	"context"
	"sync"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"google.golang.org/grpc"
)

// A solve cancelled before the daemon has created its job takes 5 s to return from
// BuildKit's client: after the Solve RPC returns, client.Solve waits for the Status
// stream, which the daemon holds open for up to 6 s waiting for a job that will never
// exist (solver.Jobs.Get), until the client's 5 s status-inactivity timeout ends it.
// Measured on BuildKit v0.34.2: 5.03 s per cancellation in the first ~0.1 s of a solve,
// ~0.03 s later on. So a cancelled call returns as soon as its Solve RPC has returned
// (the daemon is done with the solve and the export: nothing more is written into the
// destination) and the rest of BuildKit's teardown finishes in the background, tracked
// by Client.calls and ended by Close.

// solveRPCKey is the context key of a call's rpcDone.
type solveRPCKey struct{}

// rpcDone is closed when the call's Control.Solve RPC has returned.
type rpcDone struct {
	once sync.Once
	ch   chan struct{}
}

func (d *rpcDone) close() { d.once.Do(func() { close(d.ch) }) }

// watchSolveRPC is a gRPC interceptor that closes the rpcDone a context carries when
// the Control.Solve RPC made with it returns.
func watchSolveRPC(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if method == controlapi.Control_Solve_FullMethodName {
		if d, ok := ctx.Value(solveRPCKey{}).(*rpcDone); ok {
			d.close()
		}
	}
	return err
}

// watchSolveOpt installs watchSolveRPC on a client connection.
func watchSolveOpt() client.ClientOpt {
	return client.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(watchSolveRPC))
}

// callOutcome is the result of a call run by cancellable.
type callOutcome struct {
	err error
	// abandoned means ctx ended and the call still runs its teardown in the
	// background: nothing it shares (progress, trackers) may be read.
	abandoned bool
}

// relay runs what a call reports to its caller (progress to the printer, the
// tracker) only while the caller waits for it.
type relay struct {
	mu     sync.Mutex
	closed bool
}

// do runs f unless the caller stopped waiting.
func (r *relay) do(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		f()
	}
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// cancellable runs call (a bk.Solve or bk.Build, given a context that carries its
// rpcDone) and waits for it; once ctx has ended it waits only until the call's Solve
// RPC has returned. The call then goes on in the background, tracked by c.calls, and
// what it reports through rel is dropped.
func (c *Client) cancellable(ctx context.Context, call func(ctx context.Context, rel *relay) error) callOutcome {
	d := &rpcDone{ch: make(chan struct{})}
	rel := &relay{}
	done := make(chan error, 1) // never blocks: the call returns even when abandoned
	c.calls.Go(func() { done <- call(context.WithValue(ctx, solveRPCKey{}, d), rel) })
	select {
	case err := <-done:
		return callOutcome{err: err}
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return callOutcome{err: err}
	case <-d.ch:
		rel.close()
		return callOutcome{err: context.Cause(ctx), abandoned: true}
	}
}

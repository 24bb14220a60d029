package rebuild

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"

	controlapi "github.com/moby/buildkit/api/services/control"
	apitypes "github.com/moby/buildkit/api/types"
	"google.golang.org/grpc"
)

// oldControl is the control API of a BuildKit older than v0.11: workers, no Info.
type oldControl struct {
	controlapi.UnimplementedControlServer
}

func (oldControl) ListWorkers(context.Context, *controlapi.ListWorkersRequest) (*controlapi.ListWorkersResponse, error) {
	return &controlapi.ListWorkersResponse{Record: []*apitypes.WorkerRecord{{ID: "old-worker"}}}, nil
}

// TestDaemonVersionWithoutInfo: a daemon without the Info call was reached; it is only
// older than v0.11. Connect succeeds and DaemonVersion says so with ErrNoInfo, which
// PinSupport turns into "no pinning".
func TestDaemonVersionWithoutInfo(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "buildkitd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	controlapi.RegisterControlServer(gs, oldControl{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = gs.Serve(l) })
	t.Cleanup(func() { gs.Stop(); wg.Wait() })

	c, err := Connect(context.Background(), Options{Address: "unix://" + sock})
	if err != nil {
		t.Fatalf("Connect() = %v, want a connection: the daemon answers", err)
	}
	defer c.Close()
	v, err := c.DaemonVersion(context.Background())
	if !errors.Is(err, ErrNoInfo) || v != "" {
		t.Fatalf("DaemonVersion() = %q, %v, want ErrNoInfo", v, err)
	}
	if perr := PinSupport(c.Address(), v, err); !errors.Is(perr, ErrPinsIgnored) || !errors.Is(perr, ErrNoInfo) {
		t.Errorf("PinSupport after ErrNoInfo = %v, want ErrPinsIgnored resting on ErrNoInfo", perr)
	}
}

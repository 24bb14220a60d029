package rebuild

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/opencontainers/go-digest"
)

// ProgressModes are the values --progress accepts (those of docker buildx build).
var ProgressModes = []string{"auto", "tty", "plain", "quiet", "rawjson"}

// Printer shows the progress of one or more concurrent solves in a single BuildKit
// progressui display, so it looks exactly like `docker buildx build` (with several
// targets, step names get a "[target] " prefix as in `docker buildx bake`).
// A nil *Printer discards progress.
type Printer struct {
	disp   progressui.Display
	ch     chan *client.SolveStatus
	prefix bool
}

// NewPrinter creates a printer writing to w in mode (one of [ProgressModes]). With
// prefix, vertex names are prefixed by the target name.
func NewPrinter(w io.Writer, mode string, prefix bool) (*Printer, error) {
	valid := false
	for _, m := range ProgressModes {
		valid = valid || m == mode
	}
	if !valid {
		return nil, fmt.Errorf("invalid progress mode %q (want one of %v)", mode, ProgressModes)
	}
	d, err := progressui.NewDisplay(w, progressui.DisplayMode(mode))
	if err != nil {
		return nil, fmt.Errorf("progress display %q: %w", mode, err)
	}
	return &Printer{disp: d, ch: make(chan *client.SolveStatus, 64), prefix: prefix}, nil
}

// Run draws the display until [Printer.Close] is called and everything sent has been
// shown, or until ctx is done.
func (p *Printer) Run(ctx context.Context) error {
	_, err := p.disp.UpdateFrom(ctx, p.ch)
	return err
}

// Close says no more solves will report; Run returns once the display is flushed.
func (p *Printer) Close() { close(p.ch) }

func (p *Printer) send(ctx context.Context, target string, ss *client.SolveStatus) {
	if p == nil {
		return
	}
	if p.prefix && target != "" {
		ss = prefixed(target, ss)
	}
	select {
	case p.ch <- ss:
	case <-ctx.Done():
	}
}

// prefixed returns ss as the shared display shows target's part of it: vertex names
// get a "[target] " prefix and every digest (vertices, their inputs, statuses, logs,
// warnings, progress groups) is made unique per target. Without that, vertices that
// two targets' solves share collide in the display, and one target's steps vanish:
// BuildKit v0.8 gives its "exporting to client" vertex the same digest in every solve.
func prefixed(target string, ss *client.SolveStatus) *client.SolveStatus {
	key := func(d digest.Digest) digest.Digest {
		if d == "" {
			return d
		}
		return digest.FromString(target + "\x00" + d.String())
	}
	out := &client.SolveStatus{
		Vertexes: make([]*client.Vertex, len(ss.Vertexes)),
		Statuses: make([]*client.VertexStatus, len(ss.Statuses)),
		Logs:     make([]*client.VertexLog, len(ss.Logs)),
		Warnings: make([]*client.VertexWarning, len(ss.Warnings)),
	}
	for i, v := range ss.Vertexes {
		cp := *v
		cp.Name = "[" + target + "] " + v.Name
		cp.Digest = key(v.Digest)
		if v.Inputs != nil {
			cp.Inputs = make([]digest.Digest, len(v.Inputs))
			for j, in := range v.Inputs {
				cp.Inputs[j] = key(in)
			}
		}
		if g := v.ProgressGroup; g != nil {
			cp.ProgressGroup = &pb.ProgressGroup{Id: target + "/" + g.Id, Name: g.Name, Weak: g.Weak}
		}
		out.Vertexes[i] = &cp
	}
	for i, st := range ss.Statuses {
		cp := *st
		cp.Vertex = key(st.Vertex)
		out.Statuses[i] = &cp
	}
	for i, l := range ss.Logs {
		cp := *l
		cp.Vertex = key(l.Vertex)
		out.Logs[i] = &cp
	}
	for i, w := range ss.Warnings {
		cp := *w
		cp.Vertex = key(w.Vertex)
		out.Warnings[i] = &cp
	}
	return out
}

package rebuild

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
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

func prefixed(target string, ss *client.SolveStatus) *client.SolveStatus {
	out := *ss
	out.Vertexes = make([]*client.Vertex, len(ss.Vertexes))
	for i, v := range ss.Vertexes {
		cp := *v
		cp.Name = "[" + target + "] " + v.Name
		out.Vertexes[i] = &cp
	}
	return &out
}

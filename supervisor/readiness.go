package supervisor

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"time"

	"go.uber.org/zap"
)

const (
	// portCheckTimeout bounds the connection attempt that checks, before a start,
	// whether something already answers on the ready port.
	portCheckTimeout = 250 * time.Millisecond
	// otherHolderInterval is the pause between probes while another process holds
	// the ready port: finding a holder reads every process's file descriptors.
	otherHolderInterval = 500 * time.Millisecond
)

// holderState says whose process holds a listening socket.
type holderState int

const (
	heldUnknown holderState = iota // no listening socket found, or its holder could not be read
	heldByRun                      // a process of this run: in the process group or carrying the run id
	heldByOther                    // a process outside this run
)

// holder is the process found holding the socket that answers on the ready port.
type holder struct {
	state   holderState
	pid     int    // 0 when unknown
	command string // its command line, "" when unknown
}

// probeReport is what a start's probe tells Run's goroutine.
type probeReport struct {
	seq   uint64  // the start it is about
	ready bool    // the process answered (see probe)
	other *holder // or: a process outside this run answered, the first time for it
}

// holderOf finds who holds the socket a connection to addr reached; pgid is the
// process group of the current start, 0 if there is none.
func (s *Supervisor) holderOf(addr netip.AddrPort, pgid int) holder {
	h, err := findHolder(addr, pgid, s.runEntry)
	if err != nil {
		s.log.Debug("cannot find the ready port's holder", zap.Stringer("addr", addr), zap.Error(err))
	}
	return h
}

// checkPort runs before each start with a ready probe: it connects to the ready
// address and, when something already answers there, reports it (EventPortInUse,
// once per holder until the port is seen free again). It returns whether the port
// was free. The start goes on either way (see the package doc).
func (s *Supervisor) checkPort(ctx context.Context) bool {
	if s.prober == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, portCheckTimeout)
	defer cancel()
	addr, err := s.prober.dial(ctx)
	if err != nil {
		s.busy = nil
		return true
	}
	s.reportPortInUse(s.holderOf(addr, 0))
	return false
}

// reportPortInUse emits EventPortInUse for h unless it was the last holder reported.
func (s *Supervisor) reportPortInUse(h holder) {
	if s.busy != nil && s.busy.pid == h.pid {
		return
	}
	s.busy = &h
	s.emit(Event{Kind: EventPortInUse, Port: s.prober.port, Ready: s.opts.Ready, HolderPID: h.pid, HolderCommand: h.command})
}

// probe polls the ready address of start p until p answers, and tells Run's
// goroutine, which checks that p is still alive before it reports ready. An answer
// counts when the listening socket that took it is held by a process of this run
// (Linux, /proc). When the holder cannot be found (another platform, another user's
// process, no socket in devloop's network namespace) it counts only if the port was
// free when p started, or has refused a connection since, so that it came from a
// socket opened after the start. An answer from a process outside the run never
// counts; its holder is reported once. portFree says whether the port was free when
// p started.
func (s *Supervisor) probe(ctx context.Context, p *proc, portFree bool) {
	t := time.NewTimer(0)
	defer t.Stop()
	reported := -1 // pid of the last other holder reported
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := probeInterval
		addr, err := s.prober.once(ctx)
		switch {
		case err != nil:
			portFree = portFree || errors.Is(err, syscall.ECONNREFUSED)
		case ctx.Err() != nil:
			return
		default:
			h := s.holderOf(addr, p.pid)
			switch {
			case answerCounts(h, portFree):
				s.sendReport(ctx, probeReport{seq: p.seq, ready: true})
				return
			case h.state == heldByOther:
				if h.pid != reported {
					reported = h.pid
					s.sendReport(ctx, probeReport{seq: p.seq, other: &h})
				}
				wait = otherHolderInterval
			}
		}
		t.Reset(wait)
	}
}

// answerCounts says whether an answer from a socket held by h shows that the
// started process is ready; portFree says whether the port was free when it started
// or has refused a connection since.
func answerCounts(h holder, portFree bool) bool {
	return h.state == heldByRun || (h.state == heldUnknown && portFree)
}

func (s *Supervisor) sendReport(ctx context.Context, r probeReport) {
	select {
	case s.probed <- r:
	case <-ctx.Done():
	}
}

// handleReport acts on a probe's report in Run's goroutine; cur is the current
// process, nil if none.
func (s *Supervisor) handleReport(cur *proc, r probeReport) {
	if cur == nil || cur.seq != r.seq {
		return // about a process that is gone
	}
	switch {
	case r.other != nil:
		s.reportPortInUse(*r.other)
	case r.ready && len(cur.exited) == 0 && !exitedAlready(cur.pid):
		s.emit(Event{Kind: EventReady, PID: cur.pid})
	default:
		s.log.Debug("the ready probe answered, but the process has exited", zap.Int("pid", cur.pid))
	}
}

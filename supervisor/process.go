package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

const (
	pollInterval = 20 * time.Millisecond // how often a stop checks whether the group is gone
	killWait     = 3 * time.Second       // how long after SIGKILL a stop waits for the group
	drainWait    = time.Second           // how long after the group is gone a stop waits for output EOF
)

// proc is one started process, owned by Run's goroutine.
type proc struct {
	pid       int // also the process group ID
	seq       uint64
	started   time.Time
	exited    chan waitResult    // capacity 1: the leader's exit status, from its waiter
	result    *waitResult        // the leader's exit status once received
	killed    bool               // Kill was called: SIGKILL and no restart
	stopProbe context.CancelFunc // nil without a ready probe
	stdout    *os.File           // read ends of the output pipes
	stderr    *os.File
	outDone   chan struct{} // closed when the stdout reader is done
	errDone   chan struct{} // closed when the stderr reader is done
}

// waitResult is how the process group leader ended.
type waitResult struct {
	code   int    // -1 if killed by a signal
	signal string // "" unless killed by a signal
}

// start starts the process with its output readers, its waiter and, if configured,
// its ready probe, all tracked by wg, and emits EventStarted. portFree says whether
// the ready port was free just before (see checkPort).
func (s *Supervisor) start(ctx context.Context, wg *sync.WaitGroup, seq uint64, portFree bool) (*proc, error) {
	path := s.path
	if path == "" {
		var err error
		if path, err = exec.LookPath(s.opts.Command[0]); err != nil {
			return nil, fmt.Errorf("start %s: %w", s.opts.Name, err)
		}
	} else {
		path = programPath(path)
	}
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: stdout pipe: %w", s.opts.Name, err)
	}
	stderr, stderrW, err := os.Pipe()
	if err != nil {
		_, _ = stdout.Close(), stdoutW.Close()
		return nil, fmt.Errorf("start %s: stderr pipe: %w", s.opts.Name, err)
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        s.opts.Command,
		Env:         s.env,
		Dir:         s.opts.Dir,
		Stdout:      stdoutW,
		Stderr:      stderrW,
		SysProcAttr: sysProcAttr(),
	}
	err = cmd.Start()
	_, _ = stdoutW.Close(), stderrW.Close() // the child holds its own copies
	if err != nil {
		_, _ = stdout.Close(), stderr.Close()
		return nil, fmt.Errorf("start %s: %w", s.opts.Name, s.execFormatError(path, err))
	}
	p := &proc{
		pid:     cmd.Process.Pid,
		seq:     seq,
		started: time.Now(),
		exited:  make(chan waitResult, 1),
		stdout:  stdout,
		stderr:  stderr,
		outDone: make(chan struct{}),
		errDone: make(chan struct{}),
	}
	wg.Go(func() {
		defer close(p.outDone)
		defer stdout.Close()
		copyLines(s.stdout, s.prefix, stdout)
	})
	wg.Go(func() {
		defer close(p.errDone)
		defer stderr.Close()
		copyLines(s.stderr, s.prefix, stderr)
	})
	// The only send on a channel of capacity 1 cannot block; it must not be skipped
	// on ctx.Done either, since terminate waits for it.
	wg.Go(func() { p.exited <- wait(cmd) })
	if s.prober != nil {
		pctx, cancel := context.WithCancel(ctx)
		p.stopProbe = cancel
		wg.Go(func() { s.probe(pctx, p, portFree) })
	}
	s.log.Debug("started", zap.Int("pid", p.pid), zap.String("path", path))
	s.emit(Event{Kind: EventStarted, PID: p.pid})
	return p, nil
}

// wait reaps the process group leader.
func wait(cmd *exec.Cmd) waitResult {
	_ = cmd.Wait() // the status is in ProcessState; an *exec.ExitError adds nothing
	if cmd.ProcessState == nil {
		return waitResult{code: -1}
	}
	return waitResult{code: cmd.ProcessState.ExitCode(), signal: exitSignal(cmd.ProcessState)}
}

// terminate ends p's whole process group, and the processes of this run that left
// it (see strays), and returns the leader's exit status: it sends the stop signal
// (SIGKILL after Kill) to the group unless it is already gone and to each stray,
// SIGKILLs them all after the stop timeout (EventStopTimeout) or on Kill, and waits
// until the leader is reaped and no live member or stray is left. It then waits for
// the output readers, so the last lines are written before the caller reports the
// stop.
func (s *Supervisor) terminate(p *proc) waitResult {
	if p.stopProbe != nil {
		p.stopProbe()
	}
	begin := time.Now()
	grace := time.NewTimer(s.opts.StopTimeout)
	defer grace.Stop()
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	st := &strays{s: s, pgid: p.pid, sig: s.stop, sent: map[procID]syscall.Signal{}}
	var giveUp <-chan time.Time
	kill := func() {
		grace.Stop()
		s.signal(p, syscall.SIGKILL)
		st.sig = syscall.SIGKILL
		st.scan()
		giveUp = time.After(killWait)
	}
	// Strays are looked for (a read of every process's environment) once the group is
	// gone, or at the first poll if it takes longer, so that a quick stop costs one look.
	gone := func() bool { return p.result != nil && groupGone(p.pid) && st.scan() == 0 }
	switch {
	case p.killed:
		kill()
	case p.result == nil || !groupGone(p.pid):
		s.signal(p, s.stop)
	}
	polled := false
wait:
	for !gone() {
		select {
		case r := <-p.exited:
			p.result = &r
		case <-poll.C:
			if !polled {
				polled = true
				st.scan()
			}
		case <-grace.C:
			s.log.Debug("process group did not stop in time, sending SIGKILL", zap.Int("pgid", p.pid),
				zap.String("signal", s.opts.StopSignal), zap.Duration("stop_timeout", s.opts.StopTimeout))
			s.emit(Event{Kind: EventStopTimeout, PID: p.pid, Signal: s.opts.StopSignal, Delay: s.opts.StopTimeout})
			kill()
		case <-s.kill:
			if giveUp == nil {
				kill()
			}
		case <-giveUp:
			s.log.Warn("process group still alive after SIGKILL, no longer waiting", zap.Int("pgid", p.pid),
				zap.Bool("leader_reaped", p.result != nil), zap.Ints("strays", st.alive), zap.Duration("waited", time.Since(begin)))
			break wait
		}
	}
	if len(st.sent) > 0 {
		s.log.Info("stopped processes of the run that had left its process group", zap.Int("pgid", p.pid), zap.Ints("pids", st.pids()))
	}
	s.drain(p)
	s.log.Debug("stopped", zap.Int("pid", p.pid), zap.Duration("took", time.Since(begin)))
	if p.result == nil {
		return waitResult{code: -1}
	}
	return *p.result
}

// procID identifies a process across pid reuse: its pid and its start time (in
// clock ticks after boot).
type procID struct {
	pid   int
	start uint64
}

// strays finds, during one stop, the processes of this run outside the stopped
// process group: those that called setsid or setpgid, daemons that double-forked.
// They carry the run id (RunIDEnv) but get no signal sent to the group. Finding them
// needs /proc (Linux); elsewhere there are none and they survive a stop (see the
// package doc).
type strays struct {
	s     *Supervisor
	pgid  int
	sig   syscall.Signal            // what scan sends to a stray
	sent  map[procID]syscall.Signal // every stray found, with what it was sent last
	alive []int                     // the strays the last scan found running
}

// scan looks for new strays, sends every stray that still runs st.sig unless it got
// it already, and returns how many still run. A stray found once counts until it is
// a zombie or gone, not only until its environment is (see running).
func (st *strays) scan() int {
	if !canFindRuns {
		return 0
	}
	pids, err := processesWithEnv(st.s.runEntry)
	if err != nil {
		st.s.log.Warn("cannot look for processes that left the process group", zap.Error(err))
	}
	for _, pid := range pids {
		// A member of the group is signalled through the group.
		id, pgrp, err := procOf(pid)
		if _, known := st.sent[id]; err == nil && pgrp != st.pgid && !known {
			st.sent[id] = 0 // found, sent nothing yet
		}
	}
	st.alive = st.alive[:0]
	for id, sent := range st.sent {
		if !running(id) {
			continue
		}
		st.alive = append(st.alive, id.pid)
		if sent != st.sig {
			st.sent[id] = st.sig
			if err := signalPID(id.pid, st.sig); err != nil {
				st.s.log.Warn("signal a process that left the process group", zap.Int("pid", id.pid), zap.Error(err))
			}
		}
	}
	return len(st.alive)
}

// pids returns the pids of every stray found.
func (st *strays) pids() []int {
	pids := make([]int, 0, len(st.sent))
	for id := range st.sent {
		pids = append(pids, id.pid)
	}
	slices.Sort(pids)
	return pids
}

// drain waits for both output readers to reach EOF. A process outside the group
// (one that called setsid) may still hold the pipes: after drainWait the read ends
// are closed, which ends the readers.
func (s *Supervisor) drain(p *proc) {
	t := time.NewTimer(drainWait)
	defer t.Stop()
	for _, done := range []chan struct{}{p.outDone, p.errDone} {
		select {
		case <-done:
		case <-t.C:
			s.log.Debug("output still open after the process group ended, closing it", zap.Int("pid", p.pid))
			_, _ = p.stdout.Close(), p.stderr.Close()
			<-p.outDone
			<-p.errDone
			return
		}
	}
}

// signal sends sig to p's process group; failures other than a missing group are
// logged, as the stop goes on regardless.
func (s *Supervisor) signal(p *proc, sig syscall.Signal) {
	if err := signalGroup(p.pid, sig); err != nil {
		s.log.Warn("signal process group", zap.Int("pgid", p.pid), zap.String("signal", signalName(sig)), zap.Error(err))
	}
}

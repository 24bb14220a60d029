package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// defaultStopTimeout is the grace period when Options.StopTimeout is zero.
const defaultStopTimeout = 5 * time.Second

// Options configures a [Supervisor].
type Options struct {
	// Name is the target name, shown in the output prefix "NAME | ".
	Name string
	// Command is the argv. A Command[0] containing a slash (or, on Windows, a
	// backslash) is resolved against Dir, anything else through PATH, at every start
	// (the binary is swapped by rename). On Windows a path finds the file with one of
	// PATHEXT's extensions, as exec.LookPath does: bin/server starts bin/server.exe.
	Command []string
	// Env holds extra KEY=VALUE pairs appended to devloop's environment.
	Env []string
	// Dir is the absolute working directory.
	Dir string
	// StopSignal names the signal sent to the whole process group to stop it, as
	// [ParseSignal] reads it ("SIGTERM", "int"); "" means SIGTERM.
	StopSignal string
	// StopTimeout is how long a stopping group may take before it is SIGKILLed;
	// 0 means 5s.
	StopTimeout time.Duration
	// Ready is "", or an http://, https:// or tcp://host:port URL polled after each
	// start until the started process answers, at which point EventReady is emitted
	// (see the package doc for what counts as its answer).
	Ready string
	// Stdout and Stderr receive the process output, one prefixed line per Write;
	// nil discards it. A writer shared by several supervisors (or used for both)
	// must be safe for concurrent use.
	Stdout, Stderr io.Writer
	// PrefixWidth pads the name in the prefix to this width, to align the output of
	// several processes.
	PrefixWidth int
	// Color colours the prefix with a colour derived from Name, unless $NO_COLOR is
	// set and not empty (https://no-color.org, as BuildKit's progress display does).
	Color bool
	// Events, if set, is called synchronously from Run's goroutine; it must not block.
	Events func(Event)
	// DescribeExecutable, if set, says what the file at path is, such as "Mach-O
	// executable for darwin/arm64" (package execfile's Info.String): a start the
	// kernel refuses as no executable for this machine (ENOEXEC) is then an
	// [*ExecFormatError] that names it next to this machine's platform.
	DescribeExecutable func(path string) (string, error)
	// Logger may be nil.
	Logger *zap.Logger
	// Backoff sets the delays before restarting a process that exited on its own.
	Backoff Backoff
	// RunFile, if set, is where the supervisor records the id of its run, which every
	// process it starts carries in RunIDEnv (and passes on to its children). Run
	// first kills the processes carrying the id a previous supervisor recorded there:
	// what survived a SIGKILL or crash of that supervisor (Pdeathsig reaches only the
	// direct child). Run removes the file after a clean stop. Only one supervisor may
	// use a RunFile at a time. Finding the processes needs Linux's /proc; elsewhere
	// RunFile is ignored. (Every stop also ends the processes carrying this run's id,
	// RunFile or not; see the package doc.)
	RunFile string
}

// EventKind says what happened to the process.
type EventKind string

// Event kinds, in the order they can occur for one process.
const (
	EventStarted    EventKind = "started"    // a process was started (PID)
	EventReady      EventKind = "ready"      // it answered the ready probe, once per start
	EventExited     EventKind = "exited"     // it exited on its own (ExitCode, Signal)
	EventRestarting EventKind = "restarting" // it is restarted after Delay (Err: a failed start)
	EventStopped    EventKind = "stopped"    // devloop stopped it and its process group is gone
	// EventStopTimeout reports that the process (PID) did not stop within the stop
	// timeout (Delay) of the stop signal (Signal): its process group, and the run's
	// processes that left it, are SIGKILLed now.
	EventStopTimeout EventKind = "stop_timeout"
	// EventPortInUse reports that a process outside this start answers on the ready
	// URL's port (Port, Ready): found before a start, or answering the probe after
	// it. HolderPID and HolderCommand name it when it can be found (Linux), else
	// HolderPID is 0. Reported once per holder until the port is seen free.
	EventPortInUse EventKind = "port_in_use"
	// EventLeftover reports a process left by an earlier run that did not stop cleanly
	// (see Options.RunFile), killed before the first start (PID).
	EventLeftover EventKind = "leftover_killed"
)

// Event reports a change in the supervised process.
type Event struct {
	Kind EventKind
	Name string
	PID  int
	// ExitCode is the exit status for EventExited and EventStopped, -1 if the
	// process was killed by a signal.
	ExitCode int
	// Signal names the signal that killed the process ("SIGKILL"), if any.
	Signal string
	// Err is why the last start failed, for EventRestarting.
	Err error
	// Delay is the wait before the restart, for EventRestarting, and the stop
	// timeout, for EventStopTimeout.
	Delay time.Duration
	// Port and Ready are the ready URL's port and the URL, for EventPortInUse.
	Port  int
	Ready string
	// HolderPID and HolderCommand name the process holding the port, for
	// EventPortInUse; 0 and "" when it cannot be found.
	HolderPID     int
	HolderCommand string
	Time          time.Time
}

// Supervisor runs one target's process. Create it with [New].
type Supervisor struct {
	opts    Options
	path    string // Command[0] if it names a path, resolved against Dir
	env     []string
	stdout  io.Writer
	stderr  io.Writer
	prefix  []byte
	stop    syscall.Signal // Options.StopSignal
	prober  *prober        // nil without a ready probe
	backoff Backoff
	log     *zap.Logger
	runID   string // carried by every process of this run as RunIDEnv
	// runEntry is RunIDEnv=runID, the environment entry that marks this run's processes.
	runEntry string
	// busy is the holder last reported with EventPortInUse, nil after the port was
	// seen free; owned by Run's goroutine.
	busy *holder

	restart chan restartRequest
	kill    chan struct{}    // capacity 1: a pending Kill
	probed  chan probeReport // from the current start's probe
	running atomic.Bool      // Run was called
	done    chan struct{}    // closed when Run returns
}

// restartRequest asks Run's goroutine to restart the process.
type restartRequest struct {
	cancelled <-chan struct{} // the caller's ctx.Done(): do not start once closed
	reply     chan error      // capacity 1
}

// errCancelled is replied to a Restart whose context ended while the old process
// was being stopped; Restart returns the context's error instead.
var errCancelled = errors.New("restart cancelled")

// New validates opts and returns a Supervisor. The process is not started until
// the first [Supervisor.Restart].
func New(opts Options) (*Supervisor, error) {
	if err := platformSupported(); err != nil {
		return nil, fmt.Errorf("supervisor %s: %w", opts.Name, err)
	}
	s, err := newSupervisor(opts)
	if err != nil {
		return nil, fmt.Errorf("supervisor %s: %w", opts.Name, err)
	}
	return s, nil
}

func newSupervisor(opts Options) (*Supervisor, error) {
	if opts.Name == "" {
		return nil, errors.New("name is empty")
	}
	if len(opts.Command) == 0 || opts.Command[0] == "" {
		return nil, errors.New("command is empty")
	}
	if !filepath.IsAbs(opts.Dir) {
		return nil, fmt.Errorf("dir %q is not absolute", opts.Dir)
	}
	for _, kv := range opts.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("env %q is not KEY=VALUE", kv)
		}
	}
	if opts.StopSignal == "" {
		opts.StopSignal = "SIGTERM"
	}
	stopName, stop, err := parseSignal(opts.StopSignal)
	if err != nil {
		return nil, err
	}
	opts.StopSignal = stopName
	switch {
	case opts.StopTimeout < 0:
		return nil, fmt.Errorf("stop timeout %s is negative", opts.StopTimeout)
	case opts.StopTimeout == 0:
		opts.StopTimeout = defaultStopTimeout
	}
	b, err := opts.Backoff.withDefaults()
	if err != nil {
		return nil, err
	}
	runID := newRunID()
	s := &Supervisor{
		opts:     opts,
		runID:    runID,
		runEntry: RunIDEnv + "=" + runID,
		env:      append(append(os.Environ(), opts.Env...), RunIDEnv+"="+runID),
		stdout:   opts.Stdout,
		stderr:   opts.Stderr,
		prefix:   prefix(opts.Name, opts.PrefixWidth, opts.Color && os.Getenv("NO_COLOR") == ""),
		stop:     stop,
		backoff:  b,
		log:      opts.Logger,
		restart:  make(chan restartRequest),
		kill:     make(chan struct{}, 1),
		probed:   make(chan probeReport),
		done:     make(chan struct{}),
	}
	if strings.ContainsRune(opts.Command[0], '/') || strings.ContainsRune(opts.Command[0], filepath.Separator) {
		s.path = opts.Command[0]
		if !filepath.IsAbs(s.path) {
			s.path = filepath.Join(opts.Dir, s.path)
		}
	}
	if opts.Ready != "" {
		if s.prober, err = newProber(opts.Ready); err != nil {
			return nil, err
		}
	}
	if s.stdout == nil {
		s.stdout = io.Discard
	}
	if s.stderr == nil {
		s.stderr = io.Discard
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.Named("supervisor").With(zap.String("target", opts.Name))
	return s, nil
}

// Run owns the process until ctx is done, then stops it (stop signal to the group,
// SIGKILL after the stop timeout, wait until the group is gone) and returns nil.
// Run does not start the process: the first Restart does. Run may be called once.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("run %s: already called", s.opts.Name)
	}
	defer close(s.done)
	// Children are forked from this goroutine's OS thread, which must outlive them
	// for Pdeathsig (see the package doc).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	s.killLeftovers()
	var wg sync.WaitGroup // the current process's waiter, output readers and probe
	defer wg.Wait()
	var (
		cur   *proc         // the running process, nil if none
		delay time.Duration // the last backoff delay, 0 after a reset
		seq   uint64        // numbers starts, to match ready reports
		timer *time.Timer   // pending restart after an exit, nil if none
	)
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
	defer stopTimer()
	start := func() (*proc, error) {
		seq++
		return s.start(ctx, &wg, seq, s.checkPort(ctx))
	}
	for {
		var exited <-chan waitResult
		if cur != nil {
			exited = cur.exited
		}
		var retry <-chan time.Time
		if timer != nil {
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				s.emitStopped(cur, s.terminate(cur))
			}
			s.forgetRun()
			return nil

		case req := <-s.restart:
			stopTimer()
			delay = 0
			if cur != nil {
				s.emitStopped(cur, s.terminate(cur))
				cur = nil
			}
			select {
			case <-req.cancelled:
				req.reply <- errCancelled // never blocks: capacity 1
				continue
			default:
			}
			if ctx.Err() != nil {
				req.reply <- fmt.Errorf("restart %s: supervisor is shutting down", s.opts.Name)
				continue
			}
			p, err := start()
			req.reply <- err
			cur = p

		case <-s.kill:
			stopTimer() // a killed process stays down until the next Restart
			if cur != nil {
				cur.killed = true
				s.signal(cur, syscall.SIGKILL)
			}

		case res := <-exited:
			p := cur
			cur = nil
			p.result = &res
			ran := time.Since(p.started)
			res = s.terminate(p) // leftover group members and output
			if p.killed {
				s.emitStopped(p, res)
				continue
			}
			s.emit(Event{Kind: EventExited, PID: p.pid, ExitCode: res.code, Signal: res.signal})
			delay = s.backoff.next(delay, ran)
			s.emit(Event{Kind: EventRestarting, PID: p.pid, Delay: delay})
			timer = time.NewTimer(delay)

		case <-retry:
			timer = nil
			p, err := start()
			if err != nil {
				delay = s.backoff.next(delay, 0)
				s.emit(Event{Kind: EventRestarting, Err: err, Delay: delay})
				timer = time.NewTimer(delay)
				continue
			}
			cur = p

		case r := <-s.probed:
			s.handleReport(cur, r)
		}
	}
}

// Restart stops the current process, if any, waits until its process group is
// gone, and starts a new one. It returns once the new process has started (not
// necessarily ready), or with ctx's error; a ctx that ends while the old process
// is stopping leaves no process running. Before Run is called Restart waits for it;
// after Run has returned it fails. Safe for concurrent use.
func (s *Supervisor) Restart(ctx context.Context) error {
	req := restartRequest{cancelled: ctx.Done(), reply: make(chan error, 1)}
	select {
	case s.restart <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return fmt.Errorf("restart %s: supervisor is not running", s.opts.Name)
	}
	select {
	case err := <-req.reply:
		if errors.Is(err, errCancelled) {
			return ctx.Err()
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill SIGKILLs the process group at once, also when a stop is already waiting for
// the stop timeout. The process is not restarted until the next Restart. Kill
// does not wait; it is safe from any goroutine and a no-op without a process.
func (s *Supervisor) Kill() {
	select {
	case s.kill <- struct{}{}:
	default: // a kill is already pending
	}
}

// emit reports ev to Options.Events.
func (s *Supervisor) emit(ev Event) {
	if s.opts.Events == nil {
		return
	}
	ev.Name = s.opts.Name
	ev.Time = time.Now()
	s.opts.Events(ev)
}

func (s *Supervisor) emitStopped(p *proc, res waitResult) {
	s.emit(Event{Kind: EventStopped, PID: p.pid, ExitCode: res.code, Signal: res.signal})
}

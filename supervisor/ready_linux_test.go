package supervisor

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devloop/devloop/internal/e2etest"
)

// foreign is a server outside any supervisor (the test binary as helper "foreign"),
// listening on addr; it counts the requests it answered.
type foreign struct {
	cmd      *exec.Cmd
	requests atomic.Int64
	done     chan struct{}
}

func startForeign(t *testing.T, addr string) *foreign {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &foreign{cmd: exec.Command(exe), done: make(chan struct{})}
	f.cmd.Env = append(os.Environ(), "SUPERVISOR_HELPER=foreign", "HELPER_ADDR="+addr)
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.stop)
	listening := make(chan struct{})
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			switch sc.Text() {
			case "listening":
				close(listening)
			case "request":
				f.requests.Add(1)
			}
		}
	}()
	select {
	case <-listening:
	case <-f.done:
		t.Fatalf("the foreign server on %s ended before listening", addr)
	case <-time.After(waitLimit):
		t.Fatalf("the foreign server on %s did not listen within %v", addr, waitLimit)
	}
	return f
}

func (f *foreign) stop() {
	_ = f.cmd.Process.Kill()
	_ = f.cmd.Wait()
}

func (f *foreign) pid() int { return f.cmd.Process.Pid }

func eventsOf(h *harness, kind EventKind) []Event {
	return slices.DeleteFunc(h.events(), func(ev Event) bool { return ev.Kind != kind })
}

// checkHolder fails unless ev is a port-in-use event naming f on addr's port.
func checkHolder(t *testing.T, ev Event, f *foreign, addr, ready string) {
	t.Helper()
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	if ev.Port != port || ev.Ready != ready || ev.HolderPID != f.pid() || !strings.Contains(ev.HolderCommand, filepath.Base(f.cmd.Path)) {
		t.Errorf("port in use event = %+v, want port %d, ready %s, holder pid %d running %s", ev, port, ready, f.pid(), f.cmd.Path)
	}
}

// Another process already listens on the ready port when the process starts, and
// the process, alive, waits for the port (it retries binding). Its probe is answered
// by the other process: that is not ready. The holder is named before the start,
// once. When the holder goes away and the process binds, it is ready.
func TestReadyNotClaimedForAnotherProcessListener(t *testing.T) {
	addr := closedAddr(t)
	other := startForeign(t, addr)
	ready := "http://" + addr + "/"
	h := newHarness(t, "serve-retry", func(o *Options) {
		o.Env = append(o.Env, "HELPER_ADDR="+addr)
		o.Ready = ready
	})
	h.restart()
	h.waitFor("3 probes answered by the other process", func() bool { return other.requests.Load() >= 3 })
	if got := h.kinds(); !slices.Equal(got, []EventKind{EventPortInUse, EventStarted}) {
		t.Fatalf("event kinds while another process holds the port = %v, want [port_in_use started]", got)
	}
	checkHolder(t, h.events()[0], other, addr, ready)

	other.stop()
	h.waitOutput(h.stdout, "srv | bound\n")
	h.waitEvents(EventReady, 1)
	if ev := eventsOf(h, EventReady)[0]; ev.PID != startedPID(h) {
		t.Errorf("ready event = %+v, want pid %d", ev, startedPID(h))
	}
	if n := h.count(EventPortInUse); n != 1 {
		t.Errorf("port in use events = %d, want 1 for one holder", n)
	}
}

// The port is free at the start, then another process binds it before the process
// does (here: the process never listens). Its answers are not ready either, and its
// holder is named once it answers.
func TestReadyNotClaimedForListenerAfterStart(t *testing.T) {
	addr := closedAddr(t)
	ready := "tcp://" + addr
	h := newHarness(t, "sleep", func(o *Options) { o.Ready = ready })
	h.restart()
	other := startForeign(t, addr)
	h.waitEvents(EventPortInUse, 1)
	checkHolder(t, eventsOf(h, EventPortInUse)[0], other, addr, ready)
	h.stop()
	if n := h.count(EventReady); n != 0 {
		t.Errorf("ready events = %d for a process that never listened, want 0", n)
	}
}

// A process that answers the probe and exits at once is not reported ready: Run's
// goroutine is held (by the event hook) until the process has exited (is waitable:
// a zombie main thread whose other threads still exit has not), so the probe's
// report and the exit are both pending, in either order.
func TestReadyNotClaimedForExitedProcess(t *testing.T) {
	addr := closedAddr(t)
	h := newHarness(t, "answer-once", func(o *Options) {
		o.Env = append(o.Env, "HELPER_ADDR="+addr)
		o.Ready = "http://" + addr + "/"
		o.Backoff = Backoff{Initial: 5 * time.Millisecond, Max: 5 * time.Millisecond, Reset: time.Hour}
	})
	var stuck atomic.Int64
	var stopping atomic.Bool // the last start is never probed: do not wait for it
	h.setOnEvent(func(ev Event) {
		if ev.Kind != EventStarted {
			return
		}
		err := e2etest.Poll(waitLimit, time.Millisecond, func() (bool, string) {
			return exitedAlready(ev.PID) || stopping.Load(), "" // not the test's goroutine: no Fatal here
		})
		if err != nil {
			stuck.Store(int64(ev.PID))
		}
	})
	h.restart()
	h.waitEvents(EventExited, 8)
	stopping.Store(true)
	h.stop()
	if pid := stuck.Load(); pid != 0 {
		t.Fatalf("pid %d did not answer and exit within %v", pid, waitLimit)
	}
	for _, ev := range h.events() {
		if ev.Kind == EventExited && ev.ExitCode != 0 {
			t.Fatalf("exit event %+v, want exit code 0 (it answered once)", ev)
		}
	}
	if n := h.count(EventReady); n != 0 {
		t.Errorf("ready events = %d for processes that had exited, want 0 (events %v)", n, h.kinds())
	}
}

func TestParseListeners(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 632 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0C1F 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0C1F 0100007F:89D0 01 00000000:00000000 02:000004B3 00000000     0        0 85647 2 0000000000000000 20 4 31 16 -1
`
	const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0C1F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 78 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 79 1 0000000000000000 100 0 0 10 0
`
	got, err := parseListeners(strings.NewReader(tcp))
	if err != nil {
		t.Fatal(err)
	}
	got6, err := parseListeners(strings.NewReader(tcp6))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, got6...)
	// /proc prints each 32-bit word in host byte order: these samples are little-endian.
	want := []listener{
		{netip.MustParseAddrPort("0.0.0.0:2024"), 632},
		{netip.MustParseAddrPort("127.0.0.1:3103"), 41},
		{netip.MustParseAddrPort("[::]:3103"), 77},
		{netip.MustParseAddrPort("[::1]:8080"), 78},
		{netip.MustParseAddrPort("127.0.0.1:9090"), 79}, // ::ffff:127.0.0.1, unmapped
	}
	if !littleEndian() {
		t.Skip("the samples are of a little-endian machine") // the parse above still ran
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseListeners() = %v, want %v (only LISTEN entries)", got, want)
	}

	if _, err := parseListeners(strings.NewReader("header\n 0: 0100007F 00000000:0000 0A a b c d e f 1\n")); err == nil {
		t.Errorf("parseListeners(no port) error = nil, want one")
	}
}

func littleEndian() bool {
	ls, err := parseListeners(strings.NewReader("h\n 0: 0100007F:0001 00000000:0000 0A 0 0 0 0 0 0 1\n"))
	return err == nil && len(ls) == 1 && ls[0].addr.Addr() == netip.MustParseAddr("127.0.0.1")
}

func TestListenersFor(t *testing.T) {
	ls := []listener{
		{netip.MustParseAddrPort("0.0.0.0:80"), 1},
		{netip.MustParseAddrPort("127.0.0.1:80"), 2},
		{netip.MustParseAddrPort("[::]:443"), 3},
		{netip.MustParseAddrPort("10.0.0.5:443"), 4},
		{netip.MustParseAddrPort("[::1]:8080"), 5},
		{netip.MustParseAddrPort("0.0.0.0:8080"), 6},
	}
	tests := []struct {
		addr string
		want []uint64
	}{
		{"127.0.0.1:80", []uint64{2}}, // the exact address wins over the wildcard
		{"127.0.0.2:80", []uint64{1}}, // the wildcard takes the rest
		{"[::ffff:127.0.0.1]:80", []uint64{2}},
		{"127.0.0.1:443", []uint64{3}}, // an IPv6 wildcard takes IPv4 too
		{"10.0.0.5:443", []uint64{4}},
		{"[::1]:8080", []uint64{5}},
		{"127.0.0.1:8080", []uint64{6}}, // not [::1]'s
		{"[::1]:80", nil},               // an IPv4 wildcard takes no IPv6
		{"127.0.0.1:9999", nil},
	}
	for _, tt := range tests {
		got := slices.Sorted(func(yield func(uint64) bool) {
			for n := range listenersFor(netip.MustParseAddrPort(tt.addr), ls) {
				if !yield(n) {
					return
				}
			}
		})
		if !slices.Equal(got, tt.want) {
			t.Errorf("listenersFor(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// findHolder on real sockets: a listener of another process, of devloop itself, and
// none.
func TestFindHolder(t *testing.T) {
	addr := closedAddr(t)
	other := startForeign(t, addr)
	ap := netip.MustParseAddrPort(addr)
	h, err := findHolder(ap, 0, RunIDEnv+"=no-such-run")
	if err != nil {
		t.Fatal(err)
	}
	if h.state != heldByOther || h.pid != other.pid() || !strings.HasPrefix(h.command, other.cmd.Path) {
		t.Errorf("findHolder(another process's listener) = %+v, want held by other, pid %d, command %s", h, other.pid(), other.cmd.Path)
	}
	// The other process's group counts as the run's.
	pgid, err := unix.Getpgid(other.pid())
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := findHolder(ap, pgid, ""); h.state != heldByRun || h.pid != other.pid() {
		t.Errorf("findHolder(listener in process group %d) = %+v, want held by the run", pgid, h)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self := ln.Addr().(*net.TCPAddr).AddrPort()
	if h, _ := findHolder(self, 0, ""); h.state != heldByOther || h.pid != os.Getpid() {
		t.Errorf("findHolder(devloop's own listener) = %+v, want held by other, pid %d", h, os.Getpid())
	}
	if h, _ := findHolder(netip.MustParseAddrPort(closedAddr(t)), 0, ""); h.state != heldUnknown {
		t.Errorf("findHolder(closed port) = %+v, want unknown", h)
	}
}

func TestAnswerCounts(t *testing.T) {
	tests := []struct {
		state    holderState
		portFree bool
		want     bool
	}{
		{heldByRun, false, true}, // proof wins over the port's history
		{heldByRun, true, true},
		{heldByOther, true, false}, // proof wins over the port's history
		{heldByOther, false, false},
		{heldUnknown, true, true}, // no proof: the port was free since the start
		{heldUnknown, false, false},
	}
	for _, tt := range tests {
		if got := answerCounts(holder{state: tt.state}, tt.portFree); got != tt.want {
			t.Errorf("answerCounts(state %d, port free %v) = %v, want %v", tt.state, tt.portFree, got, tt.want)
		}
	}
}

// The netlink dump and /proc/net/tcp{,6} list the same real listening sockets, with
// the same inodes: IPv4, IPv6 and an IPv6 wildcard.
func TestListenerSources(t *testing.T) {
	var want []netip.AddrPort
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "[::]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("no listener on %s: %v", addr, err) // a machine without IPv6
			continue
		}
		defer ln.Close()
		want = append(want, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	if len(want) == 0 {
		t.Fatal("no listener could be opened")
	}
	v4, err := dumpListeners(unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := dumpListeners(unix.AF_INET6)
	if err != nil {
		t.Fatal(err)
	}
	viaProc, err := readListeners()
	if err != nil {
		t.Fatal(err)
	}
	inode := func(ls []listener, a netip.AddrPort) uint64 {
		for _, l := range ls {
			if l.addr == netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) {
				return l.inode
			}
		}
		return 0
	}
	for _, a := range want {
		n, p := inode(append(v4, v6...), a), inode(viaProc, a)
		if n == 0 || n != p {
			t.Errorf("listener %v: inode %d from netlink, %d from /proc, want the same, not 0", a, n, p)
		}
	}
}

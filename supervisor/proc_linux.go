package supervisor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setPdeathsig makes the kernel SIGKILL the child when the thread that forked it
// exits, i.e. when devloop dies (Run keeps that thread alive, see the package doc).
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// onlyZombies reports whether every process in group pgid is a zombie. A zombie
// whose parent never reaps it (an orphan under an init that does not reap) keeps
// kill(-pgid, 0) succeeding forever although nothing of it runs any more.
func onlyZombies(pgid int) bool {
	pids, err := processes()
	if err != nil {
		return false
	}
	for _, pid := range pids {
		st, err := readStat(pid)
		if err == nil && st.pgrp == pgid && !st.dead() {
			return false
		}
	}
	return true
}

// procStat is what the supervisor reads of a process's status.
type procStat struct {
	state byte // R, S, D, Z, X, ...
	pgrp  int
	start uint64
}

// dead reports whether the process is a zombie or being reaped.
func (s procStat) dead() bool { return s.state == 'Z' || s.state == 'X' }

// readStat reads /proc/PID/stat: "pid (comm) state ppid pgrp session tty_nr tpgid
// flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
// num_threads itrealvalue starttime ...", where comm may hold spaces and parentheses.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(data[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 20", pid, len(f))
	}
	pgrp, err1 := strconv.Atoi(string(f[2]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return procStat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

// running reports whether the process started as id still runs: it exists, has
// the same start time (its pid was not reused) and is not a zombie. A process that
// is exiting runs until it is a zombie: it may still hold files, a listening socket
// among them, after its memory (and so its environment) is gone.
func running(id procID) bool {
	st, err := readStat(id.pid)
	return err == nil && st.start == id.start && !st.dead()
}

// canFindRuns: processes are found by their environment in /proc (see Options.RunFile).
const canFindRuns = true

// processes lists the pids in /proc.
func processes() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// hasEnv reports whether pid's environment holds the entry KEY=VALUE exactly. One
// whose environment cannot be read (another user's, a kernel thread, a zombie, one
// that exited meanwhile) does not.
func hasEnv(pid int, entry []byte) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for kv := range bytes.SplitSeq(data, []byte{0}) {
		if len(kv) > 0 && bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// processesWithEnv lists the processes (other than this one) whose environment holds
// the entry KEY=VALUE exactly (see hasEnv).
func processesWithEnv(entry string) ([]int, error) {
	all, err := processes()
	if err != nil {
		return nil, err
	}
	want := []byte(entry)
	self := os.Getpid()
	var pids []int
	for _, pid := range all {
		if pid != self && hasEnv(pid, want) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// procOf returns pid's identity and process group.
func procOf(pid int) (procID, int, error) {
	st, err := readStat(pid)
	return procID{pid: pid, start: st.start}, st.pgrp, err
}

// exitedAlready reports whether process pid, a child of devloop, has exited, reaped
// or not, without reaping it. A process whose main thread is a zombie while other
// threads still run (or still exit) has not exited yet.
func exitedAlready(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	// ECHILD: already reaped. Without a state change the kernel leaves si_signo 0.
	return errors.Is(err, unix.ECHILD) || (err == nil && info.Signo == int32(unix.SIGCHLD))
}

// tcpListenState is the LISTEN state in /proc/net/tcp's st column.
const tcpListenState = "0A"

// listener is one LISTEN entry of /proc/net/tcp or tcp6.
type listener struct {
	addr  netip.AddrPort // unmapped: an IPv4-mapped IPv6 address is shown as IPv4
	inode uint64
}

// listeners returns the listening TCP sockets of devloop's network namespace: from
// netlink (sock_diag), or where that is refused (a seccomp profile, a kernel
// without it) from /proc/net/tcp{,6}.
func listeners() ([]listener, error) {
	v4, err := dumpListeners(unix.AF_INET)
	if err == nil {
		var v6 []listener
		if v6, err = dumpListeners(unix.AF_INET6); err == nil || errors.Is(err, unix.EAFNOSUPPORT) {
			return append(v4, v6...), nil
		}
	}
	ls, perr := readListeners()
	if perr != nil {
		return nil, errors.Join(err, perr)
	}
	return ls, nil
}

// readListeners returns the listening TCP sockets of devloop's network namespace,
// from /proc/net/tcp and /proc/net/tcp6 (a kernel without IPv6 has no tcp6).
func readListeners() ([]listener, error) {
	var all []listener
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) && name == "/proc/net/tcp6" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read listening sockets: %w", err)
		}
		ls, err := parseListeners(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read listening sockets from %s: %w", name, err)
		}
		all = append(all, ls...)
	}
	return all, nil
}

// parseListeners parses the LISTEN entries of a /proc/net/tcp{,6} table:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	 0: 0100007F:0C1F 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41 ...
//
// The address is the in-memory (network order) bytes printed as 32-bit words in host
// byte order, the port a plain hexadecimal number.
func parseListeners(r io.Reader) ([]listener, error) {
	var ls []listener
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 10 || f[3] != tcpListenState {
			continue
		}
		addr, err := parseSocketAddr(f[1])
		if err != nil {
			return nil, err
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("inode %q: %w", f[9], err)
		}
		ls = append(ls, listener{addr: addr, inode: inode})
	}
	return ls, sc.Err()
}

// parseSocketAddr parses "0100007F:0C1F" (IPv4) or 32 hex digits and a port (IPv6).
func parseSocketAddr(s string) (netip.AddrPort, error) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || (len(hexIP) != 8 && len(hexIP) != 32) {
		return netip.AddrPort{}, fmt.Errorf("socket address %q: want HEXIP:HEXPORT", s)
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("socket address %q: %w", s, err)
	}
	for i := 0; i < len(raw); i += 4 { // each word back to its in-memory bytes
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// socketInodes returns the inodes of the sockets pid holds open, or nil if its file
// descriptors cannot be read.
func socketInodes(pid int) map[uint64]bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	inodes := map[uint64]bool{}
	for _, e := range entries {
		target, err := os.Readlink(dir + e.Name())
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(target, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes
}

// maxCommand is the longest command line commandLine returns in full.
const maxCommand = 200

// commandLine returns pid's command line, its arguments joined by spaces and cut
// after maxCommand bytes, or "" if it cannot be read.
func commandLine(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	cmd := strings.Join(strings.Fields(string(bytes.ReplaceAll(data, []byte{0}, []byte{' '}))), " ")
	if len(cmd) > maxCommand {
		cmd = strings.ToValidUTF8(cmd[:maxCommand], "") + "…"
	}
	return cmd
}

// findHolder says who holds the socket listening where a connection to addr lands:
// a process of the run (in process group pgid, if not 0, or carrying runEntry in its
// environment), or another process (devloop itself included). It is unknown when no such socket is listed in
// devloop's network namespace, or when its holder's file descriptors cannot be read
// (another user's process, without root).
func findHolder(addr netip.AddrPort, pgid int, runEntry string) (holder, error) {
	ls, err := listeners()
	if err != nil {
		return holder{}, err
	}
	inodes := listenersFor(addr, ls)
	if len(inodes) == 0 {
		return holder{}, nil
	}
	pids, err := processes()
	if err != nil {
		return holder{}, err
	}
	holds := func(pid int) bool {
		for n := range socketInodes(pid) {
			if inodes[n] {
				return true
			}
		}
		return false
	}
	// The process group first: a getpgid each, and the usual holder.
	others := pids[:0:0]
	for _, pid := range pids {
		if g, err := unix.Getpgid(pid); err != nil || pgid <= 0 || g != pgid {
			others = append(others, pid)
		} else if holds(pid) {
			return holder{state: heldByRun, pid: pid, command: commandLine(pid)}, nil
		}
	}
	// Then the run's processes that left the group, and everyone else: a process of
	// the run that shares the socket wins over another holder.
	entry := []byte(runEntry)
	var other holder
	for _, pid := range others {
		if !holds(pid) {
			continue
		}
		if hasEnv(pid, entry) {
			return holder{state: heldByRun, pid: pid, command: commandLine(pid)}, nil
		}
		if other.pid == 0 {
			other = holder{state: heldByOther, pid: pid, command: commandLine(pid)}
		}
	}
	return other, nil
}

// listenersFor returns the inodes of the listening sockets in ls that a connection to
// addr reaches: those bound to its IP exactly, or if there are none, the wildcard
// ones (an IPv6 wildcard also takes IPv4 unless it is IPV6_V6ONLY, which /proc does
// not show), as the kernel looks them up.
func listenersFor(addr netip.AddrPort, ls []listener) map[uint64]bool {
	ip := addr.Addr().Unmap().WithZone("")
	exact, wildcard := map[uint64]bool{}, map[uint64]bool{}
	for _, l := range ls {
		if l.addr.Port() != addr.Port() {
			continue
		}
		switch a := l.addr.Addr(); {
		case a == ip:
			exact[l.inode] = true
		case a.IsUnspecified() && (a.Is6() || ip.Is4()):
			wildcard[l.inode] = true
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return wildcard
}

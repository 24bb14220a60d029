package supervisor

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sizes and offsets of the sock_diag structures (linux/inet_diag.h):
//
//	struct inet_diag_sockid { __be16 sport, dport; __be32 src[4], dst[4]; __u32 if; __u32 cookie[2]; }  // 48 bytes
//	struct inet_diag_req_v2 { __u8 family, protocol, ext, pad; __u32 states; struct inet_diag_sockid id; } // 56 bytes
//	struct inet_diag_msg    { __u8 family, state, timer, retrans; struct inet_diag_sockid id;
//	                          __u32 expires, rqueue, wqueue, uid, inode; }                                 // 72 bytes
const (
	inetDiagReqLen = 56
	inetDiagMsgLen = 72
	tcpListen      = 10 // TCP_LISTEN in the kernel's state numbering
)

// dumpListeners asks the kernel over netlink (NETLINK_SOCK_DIAG) for the TCP sockets
// of one address family in the LISTEN state. Unlike reading /proc/net/tcp, which
// walks every established connection too, a LISTEN-only dump walks only the
// listening sockets.
func dumpListeners(family uint8) ([]listener, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer unix.Close(fd)
	req := make([]byte, unix.NLMSG_HDRLEN+inetDiagReqLen)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	body := req[unix.NLMSG_HDRLEN:]
	body[0], body[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(body[4:], 1<<tcpListen)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("sendto(NETLINK_SOCK_DIAG)", err)
	}
	var ls []listener
	buf := make([]byte, 32<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, os.NewSyscallError("recvfrom(NETLINK_SOCK_DIAG)", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sock_diag answer: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return ls, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
						return nil, os.NewSyscallError("sock_diag", syscall.Errno(-errno))
					}
				}
				return nil, fmt.Errorf("sock_diag: error message without an error number")
			case unix.SOCK_DIAG_BY_FAMILY:
				l, ok := parseDiagMsg(m.Data)
				if !ok {
					return nil, fmt.Errorf("sock_diag: message of %d bytes, want at least %d", len(m.Data), inetDiagMsgLen)
				}
				ls = append(ls, l)
			}
		}
	}
}

// parseDiagMsg reads the local address and inode of an inet_diag_msg.
func parseDiagMsg(b []byte) (listener, bool) {
	if len(b) < inetDiagMsgLen {
		return listener{}, false
	}
	port := binary.BigEndian.Uint16(b[4:])
	var ip netip.Addr
	if b[0] == unix.AF_INET {
		ip = netip.AddrFrom4([4]byte(b[8:12]))
	} else {
		ip = netip.AddrFrom16([16]byte(b[8:24]))
	}
	inode := uint64(binary.NativeEndian.Uint32(b[68:]))
	return listener{addr: netip.AddrPortFrom(ip.Unmap(), port), inode: inode}, true
}

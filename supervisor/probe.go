package supervisor

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"sync"
	"time"
)

const (
	probeInterval = 50 * time.Millisecond // pause between readiness attempts
	probeTimeout  = time.Second           // limit of one readiness attempt
)

// prober checks whether a process answers on its ready URL.
type prober struct {
	url    string // http(s) URL, or "" for a TCP probe
	addr   string // host:port the probe connects to
	port   int    // addr's port
	client *http.Client
}

// newProber makes the prober of a ready URL (see [CheckReady]).
func newProber(ready string) (*prober, error) {
	r, err := parseReady(ready)
	if err != nil {
		return nil, err
	}
	p := &prober{addr: r.addr, port: r.port}
	if !r.http {
		return p, nil
	}
	p.url = ready
	p.client = &http.Client{
		Transport: &http.Transport{
			Proxy:             nil, // a probe of a local dev server must not go through HTTP_PROXY
			DisableKeepAlives: true,
			// Any answer counts, so a self-signed development certificate must too.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // liveness only, nothing is trusted
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p, nil
}

// once makes one attempt: any HTTP response, whatever its status, or an accepted
// TCP connection counts as answering. It returns the address it connected to.
func (p *prober) once(ctx context.Context) (netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if p.client == nil {
		return p.dial(ctx)
	}
	var (
		mu     sync.Mutex
		remote netip.AddrPort
	)
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		remote = remoteAddr(info.Conn)
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, p.url, nil)
	if err != nil {
		return netip.AddrPort{}, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return netip.AddrPort{}, err
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	return remote, nil
}

// dial opens and closes a TCP connection to the probe's host:port and returns the
// address it connected to.
func (p *prober) dial(ctx context.Context) (netip.AddrPort, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer conn.Close()
	return remoteAddr(conn), nil
}

// remoteAddr returns the address conn is connected to, or the zero AddrPort.
func remoteAddr(conn net.Conn) netip.AddrPort {
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

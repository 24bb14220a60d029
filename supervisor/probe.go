package supervisor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

const (
	probeInterval = 50 * time.Millisecond // pause between readiness attempts
	probeTimeout  = time.Second           // limit of one readiness attempt
)

// prober checks whether a process answers on its ready URL.
type prober struct {
	url    string // http(s) URL, or "" for a TCP probe
	addr   string // host:port for a TCP probe
	client *http.Client
}

// newProber parses ready: an http://, https:// or tcp://host:port URL.
func newProber(ready string) (*prober, error) {
	u, err := url.Parse(ready)
	if err != nil {
		return nil, fmt.Errorf("ready %q: %w", ready, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tcp" {
		return nil, fmt.Errorf("ready %q: unsupported scheme %q, want http, https or tcp", ready, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ready %q: missing host", ready)
	}
	switch u.Scheme {
	case "http", "https":
		return &prober{url: ready, client: &http.Client{
			Transport: &http.Transport{
				Proxy:             nil, // a probe of a local dev server must not go through HTTP_PROXY
				DisableKeepAlives: true,
				// Any answer counts, so a self-signed development certificate must too.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // liveness only, nothing is trusted
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}, nil
	default: // tcp
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return nil, fmt.Errorf("ready %q: tcp address must be host:port", ready)
		}
		return &prober{addr: u.Host}, nil
	}
}

// wait probes every probeInterval until the process answers, then returns true, or
// returns false when ctx is done.
func (p *prober) wait(ctx context.Context) bool {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if p.once(ctx) == nil {
			return ctx.Err() == nil
		}
		t.Reset(probeInterval)
	}
}

// once makes one attempt: any HTTP response, whatever its status, or an accepted
// TCP connection counts as answering.
func (p *prober) once(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if p.client == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", p.addr)
		if err != nil {
			return err
		}
		_ = conn.Close()
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return nil
}

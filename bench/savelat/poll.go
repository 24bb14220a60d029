package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// poller asks a server for its greeting until it answers with the expected text.
type poller struct {
	client   *http.Client
	interval time.Duration
}

// newPoller polls every interval; each request gives up after requestTimeout. Every
// request uses a new connection, as a reload after a restart would.
func newPoller(interval, requestTimeout time.Duration) *poller {
	return &poller{
		client: &http.Client{
			Timeout:   requestTimeout,
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		},
		interval: interval,
	}
}

// get returns the body of GET url, surrounding white space trimmed.
func (p *poller) get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", url, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", fmt.Errorf("get %s: read body: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(body)), nil
}

// until polls url (immediately, then every interval) until it answers 200 OK with want,
// and returns when that answer arrived. Failed requests and other answers are retried
// until ctx ends; the error then names the last answer seen.
func (p *poller) until(ctx context.Context, url, want string) (time.Time, error) {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	last := "no answer yet"
	for {
		got, err := p.get(ctx, url)
		switch {
		case err == nil && got == want:
			return time.Now(), nil
		case err == nil:
			last = fmt.Sprintf("%q", got)
		case ctx.Err() == nil:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for %s to answer %q: %w (last: %s)", url, want, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

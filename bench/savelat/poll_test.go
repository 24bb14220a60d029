package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// flippingServer answers "old text" (a 503 the first time) until it has served flipAfter
// requests, then "new text".
func flippingServer(t *testing.T, flipAfter int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		switch {
		case i == 1 && flipAfter > 0:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		case i <= flipAfter:
			fmt.Fprintln(w, "old text")
		default:
			fmt.Fprintln(w, "new text")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestPollerUntil(t *testing.T) {
	tests := []struct {
		name      string
		flipAfter int64
		want      string
		wantCalls int64 // exact number of requests on success
	}{
		{name: "already serving", flipAfter: 0, want: "new text", wantCalls: 1},
		{name: "after a 503 and old answers", flipAfter: 4, want: "new text", wantCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := flippingServer(t, tt.flipAfter)
			p := newPoller(time.Millisecond, time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			before := time.Now()
			at, err := p.until(ctx, srv.URL, tt.want)
			if err != nil {
				t.Fatalf("until() error = %v", err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d: until must return at the first matching answer", got, tt.wantCalls)
			}
			if at.Before(before) || at.After(time.Now()) {
				t.Errorf("until() = %v, want a time between %v and now", at, before)
			}
		})
	}
}

// hanging is a transport whose requests never get an answer.
type hanging struct{}

func (hanging) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func TestPollerRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPoller(10*time.Millisecond, 2*time.Second)
		p.client.Transport = hanging{}
		start := time.Now()
		_, err := p.get(t.Context(), "http://greeter.test/")
		if err == nil {
			t.Fatal("get() of a hanging server error = nil, want a timeout")
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("get() of a hanging server returned after %v, want the 2s request timeout", got)
		}
	})
}

// answers is an in-memory transport: request i (from 1) gets body(i).
type answers struct {
	n    atomic.Int64
	body func(i int64) string
}

func (a *answers) RoundTrip(*http.Request) (*http.Response, error) {
	b := a.body(a.n.Add(1))
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(strings.NewReader(b + "\n"))}, nil
}

func TestPollerCadence(t *testing.T) {
	tests := []struct {
		name      string
		matchAt   int64 // first request answering "new"; 0: never
		deadline  time.Duration
		wantCalls int64
		wantAfter time.Duration // success: when the answer came, after the start
		wantErr   string
	}{
		{name: "matches at the 4th request, 30ms in", matchAt: 4, deadline: time.Second, wantCalls: 4, wantAfter: 30 * time.Millisecond},
		{name: "gives up at the deadline", deadline: 105 * time.Millisecond, wantCalls: 11, wantErr: `last: "old"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &answers{body: func(i int64) string {
					if tt.matchAt > 0 && i >= tt.matchAt {
						return "new"
					}
					return "old"
				}}
				p := newPoller(10*time.Millisecond, 2*time.Second)
				p.client.Transport = tr
				ctx, cancel := context.WithTimeout(t.Context(), tt.deadline)
				defer cancel()
				start := time.Now()
				at, err := p.until(ctx, "http://greeter.test/", "new")
				if got := tr.n.Load(); got != tt.wantCalls {
					t.Errorf("requests = %d, want %d (one every 10ms)", got, tt.wantCalls)
				}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("until() error = %v, want one containing %q", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("until() error = %v", err)
				}
				if got := at.Sub(start); got != tt.wantAfter {
					t.Errorf("until() answered %v after the start, want %v", got, tt.wantAfter)
				}
			})
		})
	}
}

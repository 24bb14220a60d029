package supervisor

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/signal"
)

// stopSignals are the signals a process may be stopped with, by canonical name, in
// the order messages list them.
var stopSignals = []string{"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2"}

// StopSignals returns the canonical names of the signals [Options.StopSignal] accepts.
func StopSignals() []string { return slices.Clone(stopSignals) }

// ParseSignal reads a stop signal name, in any case and with or without the SIG
// prefix ("term", "SIGINT", "Usr1"), and returns its canonical name ("SIGTERM"). Only
// the signals of [StopSignals] are accepted, by name, not by number.
func ParseSignal(name string) (string, error) {
	canonical, _, err := parseSignal(name)
	return canonical, err
}

// parseSignal is the stop signal grammar: the canonical name and the signal.
func parseSignal(name string) (string, syscall.Signal, error) {
	canonical := "SIG" + strings.TrimPrefix(strings.ToUpper(name), "SIG")
	if !slices.Contains(stopSignals, canonical) {
		return "", 0, fmt.Errorf("unsupported signal %q: want one of %s", name, strings.Join(stopSignals, ", "))
	}
	sig, err := signal.ParseSignal(canonical)
	if err != nil {
		return "", 0, fmt.Errorf("signal %q: %w", name, err)
	}
	return canonical, sig, nil
}

// readyURL is a parsed ready URL.
type readyURL struct {
	http bool   // probed with an HTTP GET of the URL, else with a TCP connection
	addr string // host:port the probe connects to
	port int    // addr's port
}

// CheckReady reports why ready is not a URL the ready probe can use, or nil: an
// http:// or https:// URL (any path and query; the port defaults to the scheme's) or
// tcp://HOST:PORT.
func CheckReady(ready string) error {
	_, err := parseReady(ready)
	return err
}

// parseReady is the ready URL grammar: the one parser of ready URLs.
func parseReady(ready string) (readyURL, error) {
	u, err := url.Parse(ready)
	if err != nil {
		return readyURL{}, readyError(ready, err.Error())
	}
	switch u.Scheme {
	case "http", "https", "tcp":
	default:
		return readyURL{}, readyError(ready, fmt.Sprintf("unsupported scheme %q", u.Scheme))
	}
	if u.Hostname() == "" {
		return readyURL{}, readyError(ready, "missing host")
	}
	port := u.Port()
	switch {
	case u.Scheme == "tcp" && port == "":
		return readyURL{}, readyError(ready, "tcp address must be host:port")
	case u.Scheme == "tcp" && (u.Path != "" && u.Path != "/" || u.RawQuery != ""):
		return readyURL{}, readyError(ready, "tcp address must be host:port, without a path or query")
	case port == "" && u.Scheme == "http":
		port = "80"
	case port == "":
		port = "443"
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return readyURL{}, readyError(ready, fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	return readyURL{http: u.Scheme != "tcp", addr: net.JoinHostPort(u.Hostname(), port), port: int(n)}, nil
}

func readyError(ready, problem string) error {
	return fmt.Errorf("invalid ready URL %q: %s; want http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH or tcp://HOST:PORT", ready, problem)
}

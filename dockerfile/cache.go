package dockerfile

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// cacheSize is how many Dockerfile contents a Cache keeps: the current one and a few
// that an editor's save may bring back (an undo), never a history.
const cacheSize = 4

// Cache parses each Dockerfile content once: loading a path whose content (by
// SHA-256) was parsed lately returns the same *Dockerfile, or the same error, without
// parsing it again. The file is read on every call, so an edit is seen at once. A
// nil *Cache parses on every call. A Cache is safe for concurrent use; concurrent
// loads of a new content parse it once.
type Cache struct {
	mu      sync.Mutex
	entries []*entry // the most recently used last
}

// entry is one parsed content. ready is closed once the fields below it are set.
type entry struct {
	path  string
	sum   [sha256.Size]byte
	ready chan struct{}

	syntax string // the # syntax= directive, read even when the parse fails
	df     *Dockerfile
	err    error
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{} }

// Load reads the Dockerfile at path and returns it parsed (see [Parse]). A file that
// cannot be read is an error "read Dockerfile: <the *fs.PathError>".
func (c *Cache) Load(path string) (*Dockerfile, error) {
	e, err := c.entry(path)
	if err != nil {
		return nil, err
	}
	return e.df, e.err
}

// syntaxArg is the build argument that names a frontend image and takes precedence
// over the Dockerfile's `# syntax=` line (BuildKit's dockerfile.v0 honours it the
// same way).
const syntaxArg = "BUILDKIT_SYNTAX"

// Syntax returns the frontend image a solve of the Dockerfile at path would run: the
// BUILDKIT_SYNTAX build argument if set (its first word), else the `# syntax=`
// directive, which is read even when the rest of the file does not parse; "" for
// neither. Only a file that cannot be read is an error, as for Load.
func (c *Cache) Syntax(path string, buildArgs map[string]string) (string, error) {
	if s := strings.TrimSpace(buildArgs[syntaxArg]); s != "" {
		ref, _, _ := strings.Cut(s, " ")
		return ref, nil
	}
	e, err := c.entry(path)
	if err != nil {
		return "", err
	}
	return e.syntax, nil
}

// entry returns the parsed entry of path's current content, parsing it if no entry
// has it.
func (c *Cache) entry(path string) (*entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	sum := sha256.Sum256(data)
	if c == nil {
		e := &entry{}
		e.fill(path, data)
		return e, nil
	}
	c.mu.Lock()
	for i, e := range c.entries {
		if e.path == path && e.sum == sum {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			<-e.ready
			return e, nil
		}
	}
	e := &entry{path: path, sum: sum, ready: make(chan struct{})}
	if len(c.entries) == cacheSize {
		c.entries = c.entries[1:]
	}
	c.entries = append(c.entries, e)
	c.mu.Unlock()
	e.fill(path, data)
	close(e.ready)
	return e, nil
}

func (e *entry) fill(path string, data []byte) {
	if ref, _, _, ok := parser.DetectSyntax(data); ok {
		e.syntax = ref
	}
	e.df, e.err = Parse(path, data)
}

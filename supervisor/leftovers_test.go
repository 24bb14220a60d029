package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// writeFileAtomic leaves the old content or a whole new one, never a part, even with
// writers racing on the same run file (each writes through a temporary file of its own).
func TestWriteFileAtomicConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "server")
	const writers, rounds = 8, 50
	var ids []string
	for i := range writers {
		ids = append(ids, fmt.Sprintf("run-%d-%0100d\n", i, i))
	}
	for range rounds {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Go(func() { errs[i] = writeFileAtomic(path, []byte(ids[i])) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("writer %d: %v", i, err)
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ids, string(data)) {
			t.Fatalf("run file holds %q, want one writer's whole id", data)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("run dir holds %d entries, want only the run file (no temporary file left)", len(entries))
	}
}

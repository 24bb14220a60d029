package godeps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// quotedInclude matches `#include "file"` (and #import) in C sources and cgo
// preambles.
var quotedInclude = regexp.MustCompile(`(?m)^\s*(?://)?\s*#\s*(?:include|import)\s*"([^"]+)"`)

// maxHeaders bounds the headers followed from one package.
const maxHeaders = 1000

// cgoInputs records what a package's C compiler and linker read from the context
// beyond the package's directory: the trees its #cgo -I, -iquote, -isystem and -L
// flags name, and the directories of the headers its sources #include "…" from
// elsewhere (followed through the headers found).
func (r *resolver) cgoInputs(p listedPackage) {
	var incDirs []string
	for _, flags := range [][]string{p.CgoCFLAGS, p.CgoCPPFLAGS, p.CgoCXXFLAGS, p.CgoFFLAGS, p.CgoLDFLAGS} {
		for i := 0; i < len(flags); i++ {
			f := flags[i]
			for _, opt := range []string{"-I", "-iquote", "-isystem", "-idirafter", "-L"} {
				if !strings.HasPrefix(f, opt) {
					continue
				}
				dir := strings.TrimPrefix(f, opt)
				if dir == "" && i+1 < len(flags) {
					i++
					dir = flags[i]
				}
				if !filepath.IsAbs(dir) {
					dir = filepath.Join(p.Dir, dir)
				}
				incDirs = append(incDirs, dir)
				if rel, ok := r.rel(dir); ok {
					r.trees[rel] = true
				}
				break
			}
		}
	}
	var queue []string
	for _, list := range [][]string{p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.MFiles, p.FFiles, p.SFiles} {
		for _, f := range list {
			queue = append(queue, filepath.Join(p.Dir, f))
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 && len(seen) < maxHeaders {
		file := queue[0]
		queue = queue[1:]
		if seen[file] {
			continue
		}
		seen[file] = true
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, m := range quotedInclude.FindAllSubmatch(data, -1) {
			name := filepath.FromSlash(string(m[1]))
			for _, dir := range append([]string{filepath.Dir(file)}, incDirs...) {
				h := name
				if !filepath.IsAbs(h) {
					h = filepath.Join(dir, name)
				}
				if fi, err := os.Stat(h); err != nil || !fi.Mode().IsRegular() {
					continue
				}
				if rel, ok := r.rel(filepath.Dir(h)); ok {
					r.dirs[rel] = true
					r.other[rel] = true
					queue = append(queue, h)
				}
				break
			}
		}
	}
}

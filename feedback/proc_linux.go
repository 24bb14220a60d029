package feedback

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// maxStages bounds how far pipes are followed (devloop | a | b | … ).
const maxStages = 8

// outputSinks returns the regular files that receive what is written to outputs: the
// outputs themselves when they are regular files, and the files held open for writing
// by the pipeline stages reading them (see the package doc). pipes reports whether an
// output is a pipe, so that a later scan may find more.
func outputSinks(outputs []*os.File) (sinks []string, pipes bool, err error) {
	frontier := map[string]bool{} // pipes ("pipe:[ino]") whose readers are not looked up yet
	for _, f := range outputs {
		fd := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
		link, err := os.Readlink(fd)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(link, "pipe:"):
			frontier[link] = true
		case isRegular(fd) && !strings.HasSuffix(link, " (deleted)"):
			sinks = append(sinks, link)
		}
	}
	if len(frontier) == 0 {
		return sinks, false, nil
	}
	stdins, err := stdinPipes()
	if err != nil {
		return sinks, true, err
	}
	seen := map[string]bool{}
	for stage := 0; stage < maxStages && len(frontier) > 0; stage++ {
		next := map[string]bool{}
		for pid, pipe := range stdins {
			if !frontier[pipe] {
				continue
			}
			delete(stdins, pid) // a process is one stage
			files, outPipes := writtenBy(pid)
			sinks = append(sinks, files...)
			for _, p := range outPipes {
				if !seen[p] {
					next[p] = true
				}
			}
		}
		for p := range frontier {
			seen[p] = true
		}
		frontier = next
	}
	slices.Sort(sinks)
	return slices.Compact(sinks), true, nil
}

// stdinPipes maps the pid of every process (other than this one) whose standard input
// is the read end of a pipe to that pipe. Processes of other users are skipped.
func stdinPipes() (map[int]string, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	out := map[int]string{}
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		link, err := os.Readlink("/proc/" + name + "/fd/0")
		if err != nil || !strings.HasPrefix(link, "pipe:") {
			continue
		}
		if mode, ok := accessMode(pid, 0); ok && mode != accWrite {
			out[pid] = link
		}
	}
	return out, nil
}

// writtenBy returns the regular files and the pipes pid holds open for writing.
func writtenBy(pid int) (files, pipes []string) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, nil
	}
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		link, err := os.Readlink(dir + name)
		if err != nil {
			continue
		}
		isPipe := strings.HasPrefix(link, "pipe:")
		if !isPipe && (!strings.HasPrefix(link, "/") || strings.HasSuffix(link, " (deleted)")) {
			continue // sockets, anon inodes, deleted files
		}
		if mode, ok := accessMode(pid, fd); !ok || mode == accRead {
			continue
		}
		switch {
		case isPipe:
			pipes = append(pipes, link)
		case isRegular(dir + name):
			files = append(files, link)
		}
	}
	return files, pipes
}

const (
	accRead  = 0 // O_RDONLY
	accWrite = 1 // O_WRONLY
)

// accessMode returns the O_ACCMODE bits of pid's descriptor fd, from its fdinfo.
func accessMode(pid, fd int) (int, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				return 0, false
			}
			return int(flags & 3), true
		}
	}
	return 0, false
}

// isRegular stats through a /proc fd link to the open file itself.
func isRegular(fdPath string) bool {
	fi, err := os.Stat(fdPath)
	return err == nil && fi.Mode().IsRegular()
}

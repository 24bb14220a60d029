package exporter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/atomicwriter"
	"go.uber.org/zap"
)

const formatVersion = 1

// manifest records what a target's last export wrote into OutputDir.
type manifest struct {
	Version   int    `json:"version"`
	Target    string `json:"target"`
	OutputDir string `json:"outputDir"`
	// Seq counts the target's manifest writes. A journal carries the Seq of
	// the manifest it will write, so one whose Seq is not above the current
	// manifest's has been applied or superseded and is never rolled forward.
	Seq uint64 `json:"seq"`
	// Files maps slash paths relative to OutputDir to what devloop wrote there.
	Files map[string]fileEntry `json:"files"`
	// Dirs lists the directories devloop created, removed again once empty.
	Dirs []string `json:"dirs,omitempty"`
	// DirModes are the modes devloop last gave directories of Dirs. One whose
	// mode differs (the user changed it), or that has none (made by a version
	// that did not record them), keeps its mode.
	DirModes map[string]fileMode `json:"dirModes,omitempty"`
}

// fileEntry is a regular file (SHA256, Size, Mode) or a symlink (Link).
type fileEntry struct {
	SHA256 string   `json:"sha256,omitempty"`
	Size   int64    `json:"size"`
	Mode   fileMode `json:"mode,omitempty"`
	Link   string   `json:"link,omitempty"`
}

// journal is the plan of one swap, written before its first change.
type journal struct {
	Version   int    `json:"version"`
	Target    string `json:"target"`
	OutputDir string `json:"outputDir"`
	// Unlinks are symlinks an earlier export created where this one has a
	// directory: each is removed, if it is still the link recorded, right
	// before Mkdirs creates the directory in its place.
	Unlinks []staleFile `json:"unlinks,omitempty"`
	// Mkdirs are the missing directories to create, parents first.
	Mkdirs []string `json:"mkdirs,omitempty"`
	// Renames move staged entries (same relative path) into OutputDir.
	Renames []renameOp `json:"renames,omitempty"`
	// Stale are previous-manifest files this export does not produce.
	Stale []staleFile `json:"stale,omitempty"`
	// StaleDirs are created directories this export no longer needs.
	StaleDirs []string `json:"staleDirs,omitempty"`
	// DirModes are the exported modes of this export's directories whose mode
	// is devloop's to set (Mkdirs, and those it created earlier whose mode is
	// still the one it gave them), set after the renames. Journals written
	// before it existed lack it: their directories keep the mode they have.
	DirModes map[string]fileMode `json:"dirModes,omitempty"`
	// needsApply, set by plan, reports whether the swap changes anything in
	// OutputDir (a manifest-only change is written without a journal).
	needsApply bool
	// Manifest is the target's manifest after the swap; apply adds the stale
	// entries and directories it could not remove.
	Manifest manifest `json:"manifest"`
}

type renameOp struct {
	Path string   `json:"path"`
	Mode fileMode `json:"mode,omitempty"` // regular files only
	Link bool     `json:"link,omitempty"`
}

type staleFile struct {
	Path string `json:"path"`
	fileEntry
}

// fileMode is an fs.FileMode's permission, setuid, setgid and sticky bits,
// encoded as a Unix octal string such as "0755".
type fileMode fs.FileMode

const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func (m fileMode) MarshalJSON() ([]byte, error) {
	fm := fs.FileMode(m)
	u := uint32(fm.Perm())
	if fm&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if fm&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if fm&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return json.Marshal(fmt.Sprintf("%04o", u))
}

func (m *fileMode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	u, err := strconv.ParseUint(s, 8, 12)
	if err != nil {
		return fmt.Errorf("parse file mode %q: %w", s, err)
	}
	fm := fs.FileMode(u) & fs.ModePerm
	if u&0o4000 != 0 {
		fm |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		fm |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		fm |= fs.ModeSticky
	}
	*m = fileMode(fm)
	return nil
}

func (e *Exporter) manifestDir() string { return filepath.Join(e.state, "manifests") }

func (e *Exporter) manifestPath() string {
	return filepath.Join(e.manifestDir(), e.target+".json")
}

func (e *Exporter) emptyManifest() manifest {
	return manifest{Version: formatVersion, Target: e.target, OutputDir: e.out, Files: map[string]fileEntry{}}
}

// tempPrefix starts the name of the temporary file atomicwriter writes beside its
// destination: ".tmp-" + the destination's name + os.CreateTemp's random digits.
const tempPrefix = ".tmp-"

// readManifest loads the target's manifest and removes leftover temporary
// files of interrupted writes; the caller holds the swap lock.
func (e *Exporter) readManifest() (manifest, error) {
	prefix := tempPrefix + e.target + ".json"
	if tmps, err := filepath.Glob(filepath.Join(e.manifestDir(), prefix+"[0-9]*")); err == nil {
		for _, t := range tmps {
			// The random suffix is digits: "a.json1"'s temporary files are not "a"'s.
			if suffix := strings.TrimPrefix(filepath.Base(t), prefix); strings.Trim(suffix, "0123456789") == "" {
				_ = os.Remove(t)
			}
		}
	}
	return e.loadManifest()
}

// loadManifest reads the target's manifest. A missing, unreadable-as-JSON or
// other-dir manifest yields an empty one: devloop then merely owns no files
// yet, so nothing is removed as stale.
func (e *Exporter) loadManifest() (manifest, error) {
	p := e.manifestPath()
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return e.emptyManifest(), nil
	}
	if err != nil {
		return manifest{}, fmt.Errorf("read manifest %s: %w", p, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Version != formatVersion {
		e.log.Warn("ignoring unreadable manifest; no files will be cleaned up as stale this time",
			zap.String("path", p), zap.Error(err))
		return e.emptyManifest(), nil
	}
	if m.OutputDir != e.out {
		e.log.Info("output dir changed; files exported into the old one are left alone",
			zap.String("old", m.OutputDir), zap.String("new", e.out))
		return e.emptyManifest(), nil
	}
	if m.Files == nil {
		m.Files = map[string]fileEntry{}
	}
	return m, nil
}

// files returns the manifest's paths, sorted.
func (m manifest) files() []string {
	return slices.Sorted(maps.Keys(m.Files))
}

func readJournal(base string) (*journal, error) {
	p := filepath.Join(base, journalName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("parse journal %s: %w", p, err)
	}
	if j.Version != formatVersion {
		return nil, fmt.Errorf("parse journal %s: unknown version %d", p, j.Version)
	}
	return &j, nil
}

// writeFileAtomic writes v as indented JSON to dst atomically (a synced temporary
// file beside it, renamed over it: moby/sys/atomicwriter), then syncs the directory
// so that the rename survives a crash too.
func writeFileAtomic(dst string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := atomicwriter.WriteFile(dst, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// hashFile returns the hex sha256 of the file at p.
func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	// A larger buffer than io.Copy's 32 KiB: fewer read calls on binaries.
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{f}, make([]byte, 256<<10)); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

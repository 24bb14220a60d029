// Package execfile reads, from an executable file's header, which platform it was
// built for: ELF (debug/elf), Mach-O, universal binaries included (debug/macho), and
// PE (debug/pe). devloop uses it to check that a build exported binaries for the
// platform it asked for, and to say what a binary is when it cannot run.
//
// Shapes: [Read] reads one file's header into an [Info]; [Scan] reads every regular
// file below a directory and returns the executables; [Check] returns those of an
// export not built for the platform asked of their directory ([Want], [Mismatch]). Platforms are named as Go names
// them (GOOS/GOARCH: "linux/amd64", "darwin/arm64", "windows/amd64"), as are
// architectures in the headers ("x86-64" is "amd64"); an architecture Go does not know
// keeps its header constant's name ("EM_SPARCV9").
//
// What counts as an executable: an ELF executable or shared object (not a relocatable
// object), a Mach-O executable, dynamic library or bundle, a PE image. Any other file,
// including one that merely starts like them (a Java class file starts like a
// universal binary, a text file may start with "MZ"), is not one ([ErrNotExecutable]).
//
// An ELF file names its OS only through its OS ABI byte, which Linux binaries leave at
// 0 (System V) like the Go binaries of NetBSD, OpenBSD, Solaris and others: such a file
// reads as linux, with [Info.OSGuessed] set, and [Info.Runs] accepts it for any OS
// whose executables are ELF.
package execfile

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is an executable file format.
type Format string

// The formats [Read] knows.
const (
	ELF   Format = "ELF"
	MachO Format = "Mach-O"
	PE    Format = "PE"
)

// ErrNotExecutable is Read's error for a file of none of the formats.
var ErrNotExecutable = errors.New("not an executable file (ELF, Mach-O or PE)")

// Info is what an executable's header says about its platform.
type Info struct {
	Format Format
	// OS is the GOOS the file was built for: "darwin" for Mach-O, "windows" for PE;
	// for ELF the OS its OS ABI names, "linux" when that is 0 (see OSGuessed).
	OS string
	// OSGuessed is set when the header does not name the OS: an ELF file with OS ABI
	// 0, which Linux and several other systems use.
	OSGuessed bool
	// Archs are the GOARCHes of the code in the file: one, except for a Mach-O
	// universal binary.
	Archs []string
}

// Platform is the platform as "OS/ARCH", "darwin/amd64+arm64" for a universal binary.
func (i Info) Platform() string { return i.OS + "/" + strings.Join(i.Archs, "+") }

// String describes the file for messages: "ELF executable for linux/amd64",
// "Mach-O universal binary for darwin/amd64+arm64".
func (i Info) String() string {
	what := "executable"
	if len(i.Archs) > 1 {
		what = "universal binary"
	}
	return fmt.Sprintf("%s %s for %s", i.Format, what, i.Platform())
}

// elfOSes are the GOOSes whose executables are ELF files.
var elfOSes = []string{"linux", "android", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris", "illumos", "aix"}

// Runs reports whether the file is built for goos/goarch: its format is that OS's,
// the OS it names (if it names one) is goos, and it holds code for goarch.
func (i Info) Runs(goos, goarch string) bool {
	if !slices.Contains(i.Archs, goarch) {
		return false
	}
	switch i.Format {
	case MachO:
		return goos == "darwin" || goos == "ios"
	case PE:
		return goos == "windows"
	case ELF:
		if !slices.Contains(elfOSes, goos) {
			return false
		}
		return i.OSGuessed || i.OS == goos || (i.OS == "linux" && goos == "android") || (i.OS == "solaris" && goos == "illumos")
	}
	return false
}

// Read reads the header of the file at path. A file of no known format, or not an
// executable of its format, is [ErrNotExecutable]; a file that cannot be read is an
// error naming it.
func Read(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("read executable header: %w", err)
	}
	defer f.Close()
	info, err := ReadFrom(f)
	if err != nil && !errors.Is(err, ErrNotExecutable) {
		return Info{}, fmt.Errorf("read executable header of %s: %w", path, err)
	}
	return info, err
}

// ReadFrom reads an executable header from r, as [Read] does.
func ReadFrom(r io.ReaderAt) (Info, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return Info{}, ErrNotExecutable
		}
		return Info{}, err
	}
	switch {
	case bytes.Equal(magic[:], []byte(elf.ELFMAG)):
		return readELF(r)
	case isMachO(magic):
		return readMachO(r)
	case magic == [4]byte{0xca, 0xfe, 0xba, 0xbe}:
		return readFat(r)
	case magic[0] == 'M' && magic[1] == 'Z':
		return readPE(r)
	}
	return Info{}, ErrNotExecutable
}

func isMachO(magic [4]byte) bool {
	for _, m := range []uint32{macho.Magic32, macho.Magic64} {
		be := [4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
		le := [4]byte{be[3], be[2], be[1], be[0]}
		if magic == be || magic == le {
			return true
		}
	}
	return false
}

func readELF(r io.ReaderAt) (Info, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Info{}, ErrNotExecutable
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return Info{}, ErrNotExecutable
	}
	info := Info{Format: ELF, Archs: []string{elfArch(f)}}
	switch f.OSABI {
	case elf.ELFOSABI_FREEBSD:
		info.OS = "freebsd"
	case elf.ELFOSABI_NETBSD:
		info.OS = "netbsd"
	case elf.ELFOSABI_OPENBSD:
		info.OS = "openbsd"
	case elf.ELFOSABI_SOLARIS:
		info.OS = "solaris"
	case elf.ELFOSABI_AIX:
		info.OS = "aix"
	case elf.ELFOSABI_LINUX:
		info.OS = "linux"
	default:
		info.OS, info.OSGuessed = "linux", true
	}
	return info, nil
}

// elfArch names an ELF file's architecture as GOARCH does.
func elfArch(f *elf.File) string {
	le := f.Data == elf.ELFDATA2LSB
	is64 := f.Class == elf.ELFCLASS64
	switch f.Machine {
	case elf.EM_386:
		return "386"
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_PPC64:
		if le {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_S390:
		if is64 {
			return "s390x"
		}
	case elf.EM_RISCV:
		if is64 {
			return "riscv64"
		}
	case elf.EM_LOONGARCH:
		if is64 {
			return "loong64"
		}
	case elf.EM_MIPS:
		arch := "mips"
		if is64 {
			arch = "mips64"
		}
		if le {
			arch += "le"
		}
		return arch
	}
	return f.Machine.String()
}

func readMachO(r io.ReaderAt) (Info, error) {
	f, err := macho.NewFile(r)
	if err != nil || !machOImage(f.Type) {
		return Info{}, ErrNotExecutable
	}
	return Info{Format: MachO, OS: "darwin", Archs: []string{machOArch(f.Cpu)}}, nil
}

func readFat(r io.ReaderAt) (Info, error) {
	f, err := macho.NewFatFile(r)
	if err != nil || len(f.Arches) == 0 {
		return Info{}, ErrNotExecutable // a Java class file has the same magic
	}
	info := Info{Format: MachO, OS: "darwin"}
	for _, a := range f.Arches {
		if !machOImage(a.Type) {
			return Info{}, ErrNotExecutable
		}
		if arch := machOArch(a.Cpu); !slices.Contains(info.Archs, arch) {
			info.Archs = append(info.Archs, arch)
		}
	}
	slices.Sort(info.Archs)
	return info, nil
}

func machOImage(t macho.Type) bool {
	return t == macho.TypeExec || t == macho.TypeDylib || t == macho.TypeBundle
}

// machOArch names a Mach-O CPU type as GOARCH does.
func machOArch(c macho.Cpu) string {
	switch c {
	case macho.Cpu386:
		return "386"
	case macho.CpuAmd64:
		return "amd64"
	case macho.CpuArm:
		return "arm"
	case macho.CpuArm64:
		return "arm64"
	case macho.CpuPpc64:
		return "ppc64"
	}
	return c.String()
}

func readPE(r io.ReaderAt) (Info, error) {
	f, err := pe.NewFile(r)
	if err != nil {
		return Info{}, ErrNotExecutable
	}
	var arch string
	switch f.Machine {
	case pe.IMAGE_FILE_MACHINE_I386:
		arch = "386"
	case pe.IMAGE_FILE_MACHINE_AMD64:
		arch = "amd64"
	case pe.IMAGE_FILE_MACHINE_ARMNT:
		arch = "arm"
	case pe.IMAGE_FILE_MACHINE_ARM64:
		arch = "arm64"
	default:
		arch = fmt.Sprintf("IMAGE_FILE_MACHINE_%#04x", f.Machine)
	}
	return Info{Format: PE, OS: "windows", Archs: []string{arch}}, nil
}

// File is an executable [Scan] found.
type File struct {
	Path string // slash-separated, relative to the scanned directory
	Info Info
}

// Scan reads the header of every regular file below dir (symlinks are not followed)
// and returns the executables, in lexical order of their paths. A file that cannot
// be read fails the scan.
func Scan(dir string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("scan executables in %s: %w", dir, err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := Read(p)
		switch {
		case errors.Is(err, ErrNotExecutable):
			return nil
		case err != nil:
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: filepath.ToSlash(rel), Info: info})
		return nil
	})
	return out, err
}

// Want is a platform an export was built for, and where below the exported
// directory its files are.
type Want struct {
	Platform string // GOOS/GOARCH[/VARIANT], e.g. "darwin/arm64"; the variant is not checked
	// Dir is the slash-separated subdirectory holding the platform's files ("darwin_arm64"
	// in a multi-platform export), "" for the whole directory.
	Dir string
}

// Mismatch is an executable that is not built for the platform its directory's files
// were built for.
type Mismatch struct {
	Path string // slash-separated, relative to the checked directory
	Info Info
	Want string // the platform asked for
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s is %s %s, not for %s", m.Path, article(string(m.Info.Format)), m.Info, m.Want)
}

// Check reads the header of every executable below dir and returns, in lexical order of
// their paths, those not built for the platform wanted of the directory they lie in
// (the Want with the longest Dir holding them). Executables outside every Want's Dir
// are not checked.
func Check(dir string, wants []Want) ([]Mismatch, error) {
	files, err := Scan(dir)
	if err != nil {
		return nil, err
	}
	var out []Mismatch
	for _, f := range files {
		want, ok := wantOf(f.Path, wants)
		if !ok {
			continue
		}
		goos, rest, _ := strings.Cut(want.Platform, "/")
		goarch, _, _ := strings.Cut(rest, "/")
		if !f.Info.Runs(goos, goarch) {
			out = append(out, Mismatch{Path: f.Path, Info: f.Info, Want: want.Platform})
		}
	}
	return out, nil
}

// wantOf is the Want whose Dir holds p most closely.
func wantOf(p string, wants []Want) (Want, bool) {
	var best Want
	found := false
	for _, w := range wants {
		if w.Dir != "" && p != w.Dir && !strings.HasPrefix(p, w.Dir+"/") {
			continue
		}
		if !found || len(w.Dir) > len(best.Dir) {
			best, found = w, true
		}
	}
	return best, found
}

// article is the indefinite article for a format name: "an ELF", "a Mach-O", "a PE".
func article(s string) string {
	if s != "" && strings.ContainsRune("AEIOUaeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

package execfile

import (
	"debug/elf"
	"debug/pe"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// hello is the program every test binary is built from.
const hello = "package main\n\nfunc main() { println(\"hello\") }\n"

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// goBinary builds hello for goos/goarch with the real Go toolchain, once per test
// binary, and returns its path.
func goBinary(t *testing.T, goos, goarch string, extra ...string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := goos + "/" + goarch + strings.Join(extra, " ")
	if p, ok := built[key]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "execfile-test-")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(hello), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, extra...), src)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s/%s: %v\n%s", goos, goarch, err, b)
	}
	built[key] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range built {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

func TestReadGoBinaries(t *testing.T) {
	tests := []struct {
		goos, goarch string
		extra        []string
		want         Info
		str          string
	}{
		{"linux", "amd64", nil, Info{Format: ELF, OS: "linux", OSGuessed: true, Archs: []string{"amd64"}}, "ELF executable for linux/amd64"},
		{"linux", "arm64", nil, Info{Format: ELF, OS: "linux", OSGuessed: true, Archs: []string{"arm64"}}, "ELF executable for linux/arm64"},
		{"linux", "amd64", []string{"-buildmode=pie"}, Info{Format: ELF, OS: "linux", OSGuessed: true, Archs: []string{"amd64"}}, "ELF executable for linux/amd64"},
		{"freebsd", "amd64", nil, Info{Format: ELF, OS: "freebsd", Archs: []string{"amd64"}}, "ELF executable for freebsd/amd64"},
		{"darwin", "arm64", nil, Info{Format: MachO, OS: "darwin", Archs: []string{"arm64"}}, "Mach-O executable for darwin/arm64"},
		{"darwin", "amd64", nil, Info{Format: MachO, OS: "darwin", Archs: []string{"amd64"}}, "Mach-O executable for darwin/amd64"},
		{"windows", "amd64", nil, Info{Format: PE, OS: "windows", Archs: []string{"amd64"}}, "PE executable for windows/amd64"},
	}
	for _, tt := range tests {
		name := tt.goos + "/" + tt.goarch + strings.Join(tt.extra, "")
		t.Run(name, func(t *testing.T) {
			got, err := Read(goBinary(t, tt.goos, tt.goarch, tt.extra...))
			if err != nil {
				t.Fatalf("Read() error = %v", err)
			}
			if got.Format != tt.want.Format || got.OS != tt.want.OS || got.OSGuessed != tt.want.OSGuessed || !slices.Equal(got.Archs, tt.want.Archs) {
				t.Errorf("Read() = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			if !got.Runs(tt.goos, tt.goarch) {
				t.Errorf("Runs(%s, %s) = false, want true", tt.goos, tt.goarch)
			}
		})
	}
}

// The architecture tables, on headers patched from real binaries: building the
// toolchain's runtime for every architecture would take minutes on a cold cache.
func TestArchitectures(t *testing.T) {
	linux, err := os.ReadFile(goBinary(t, "linux", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	windows, err := os.ReadFile(goBinary(t, "windows", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	read := func(name string, data []byte) Info {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		info, err := Read(p)
		if err != nil {
			t.Fatalf("Read(%s) error = %v", name, err)
		}
		return info
	}
	elfTests := []struct {
		machine elf.Machine
		msb     bool
		want    string
	}{
		{elf.EM_386, false, "386"},
		{elf.EM_ARM, false, "arm"},
		{elf.EM_AARCH64, false, "arm64"},
		{elf.EM_PPC64, false, "ppc64le"},
		{elf.EM_PPC64, true, "ppc64"},
		{elf.EM_S390, true, "s390x"},
		{elf.EM_RISCV, false, "riscv64"},
		{elf.EM_LOONGARCH, false, "loong64"},
		{elf.EM_MIPS, false, "mips64le"},
		{elf.EM_MIPS, true, "mips64"},
		{elf.EM_SPARCV9, true, "EM_SPARCV9"},
	}
	for _, tt := range elfTests {
		data := append([]byte(nil), linux...)
		if tt.msb {
			data = toBigEndianELFHeader(t, data)
			binary.BigEndian.PutUint16(data[18:20], uint16(tt.machine))
		} else {
			binary.LittleEndian.PutUint16(data[18:20], uint16(tt.machine))
		}
		if got := read("elf", data); !slices.Equal(got.Archs, []string{tt.want}) {
			t.Errorf("ELF machine %s (big endian %v): Archs = %q, want %q", tt.machine, tt.msb, got.Archs, tt.want)
		}
	}
	peOff := binary.LittleEndian.Uint32(windows[0x3c:0x40]) + 4 // the COFF header, after "PE\0\0"
	peTests := []struct {
		machine uint16
		want    string
	}{
		{pe.IMAGE_FILE_MACHINE_I386, "386"},
		{pe.IMAGE_FILE_MACHINE_ARMNT, "arm"},
		{pe.IMAGE_FILE_MACHINE_ARM64, "arm64"},
		{pe.IMAGE_FILE_MACHINE_RISCV64, "IMAGE_FILE_MACHINE_0x5064"},
	}
	for _, tt := range peTests {
		data := append([]byte(nil), windows...)
		binary.LittleEndian.PutUint16(data[peOff:peOff+2], tt.machine)
		if got := read("pe", data); !slices.Equal(got.Archs, []string{tt.want}) {
			t.Errorf("PE machine %#x: Archs = %q, want %q", tt.machine, got.Archs, tt.want)
		}
	}
}

// toBigEndianELFHeader turns an ELF64 file's header and section headers big endian,
// enough for debug/elf to read it (the content stays as it was).
func toBigEndianELFHeader(t *testing.T, data []byte) []byte {
	t.Helper()
	le, be := binary.LittleEndian, binary.BigEndian
	swap16 := func(off int) { be.PutUint16(data[off:], le.Uint16(data[off:])) }
	swap32 := func(off int) { be.PutUint32(data[off:], le.Uint32(data[off:])) }
	swap64 := func(off int) { be.PutUint64(data[off:], le.Uint64(data[off:])) }
	shoff, shentsize, shnum := int(le.Uint64(data[0x28:])), int(le.Uint16(data[0x3a:])), int(le.Uint16(data[0x3c:]))
	phoff, phentsize, phnum := int(le.Uint64(data[0x20:])), int(le.Uint16(data[0x36:])), int(le.Uint16(data[0x38:]))
	data[5] = byte(elf.ELFDATA2MSB)
	swap16(0x10)
	swap16(0x12)
	swap32(0x14)
	swap64(0x18)
	swap64(0x20)
	swap64(0x28)
	swap32(0x30)
	for _, off := range []int{0x34, 0x36, 0x38, 0x3a, 0x3c, 0x3e} {
		swap16(off)
	}
	for i := range phnum {
		p := phoff + i*phentsize
		swap32(p)
		swap32(p + 4)
		for j := 8; j < 56; j += 8 {
			swap64(p + j)
		}
	}
	for i := range shnum {
		s := shoff + i*shentsize
		swap32(s)
		swap32(s + 4)
		swap64(s + 8)
		swap64(s + 16)
		swap64(s + 24)
		swap64(s + 32)
		swap32(s + 40)
		swap32(s + 44)
		swap64(s + 48)
		swap64(s + 56)
	}
	return data
}

func TestRuns(t *testing.T) {
	linux := Info{Format: ELF, OS: "linux", OSGuessed: true, Archs: []string{"amd64"}}
	freebsd := Info{Format: ELF, OS: "freebsd", Archs: []string{"amd64"}}
	darwin := Info{Format: MachO, OS: "darwin", Archs: []string{"arm64"}}
	universal := Info{Format: MachO, OS: "darwin", Archs: []string{"amd64", "arm64"}}
	windows := Info{Format: PE, OS: "windows", Archs: []string{"amd64"}}
	tests := []struct {
		info         Info
		goos, goarch string
		want         bool
	}{
		{linux, "linux", "amd64", true},
		{linux, "linux", "arm64", false},
		{linux, "darwin", "amd64", false},
		{linux, "windows", "amd64", false},
		{linux, "openbsd", "amd64", true}, // OS ABI 0: the header cannot tell
		{freebsd, "freebsd", "amd64", true},
		{freebsd, "linux", "amd64", false}, // the header names FreeBSD
		{darwin, "darwin", "arm64", true},
		{darwin, "darwin", "amd64", false},
		{darwin, "linux", "arm64", false},
		{universal, "darwin", "amd64", true},
		{universal, "darwin", "arm64", true},
		{windows, "windows", "amd64", true},
		{windows, "windows", "arm64", false},
		{windows, "linux", "amd64", false},
	}
	for _, tt := range tests {
		if got := tt.info.Runs(tt.goos, tt.goarch); got != tt.want {
			t.Errorf("%s: Runs(%s, %s) = %v, want %v", tt.info, tt.goos, tt.goarch, got, tt.want)
		}
	}
}

// fatBinary writes a Mach-O universal binary holding the given Mach-O files, as lipo
// does: the big-endian fat header, one fat_arch per file, each file 4096-aligned.
func fatBinary(t *testing.T, path string, slices ...string) {
	t.Helper()
	const align = 12 // 2^12
	type arch struct {
		cpu, sub uint32
		data     []byte
	}
	var archs []arch
	for _, p := range slices {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// cputype and cpusubtype follow the magic in a Mach-O header (little endian
		// for the binaries Go builds).
		archs = append(archs, arch{binary.LittleEndian.Uint32(data[4:8]), binary.LittleEndian.Uint32(data[8:12]), data})
	}
	var out []byte
	out = binary.BigEndian.AppendUint32(out, 0xcafebabe)
	out = binary.BigEndian.AppendUint32(out, uint32(len(archs)))
	offset := uint32(1 << align)
	for _, a := range archs {
		out = binary.BigEndian.AppendUint32(out, a.cpu)
		out = binary.BigEndian.AppendUint32(out, a.sub)
		out = binary.BigEndian.AppendUint32(out, offset)
		out = binary.BigEndian.AppendUint32(out, uint32(len(a.data)))
		out = binary.BigEndian.AppendUint32(out, align)
		offset += (uint32(len(a.data)) + 1<<align - 1) &^ (1<<align - 1)
	}
	for _, a := range archs {
		out = append(out, make([]byte, (1<<align-len(out)%(1<<align))%(1<<align))...)
		out = append(out, a.data...)
	}
	if err := os.WriteFile(path, out, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestReadUniversalBinary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "universal")
	fatBinary(t, p, goBinary(t, "darwin", "arm64"), goBinary(t, "darwin", "amd64"))
	got, err := Read(p)
	if err != nil {
		t.Fatalf("Read() error = %v", err)
	}
	if got.Format != MachO || got.OS != "darwin" || !slices.Equal(got.Archs, []string{"amd64", "arm64"}) {
		t.Errorf("Read() = %+v, want a Mach-O for darwin/amd64+arm64", got)
	}
	if s, want := got.String(), "Mach-O universal binary for darwin/amd64+arm64"; s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}

func TestReadNotExecutable(t *testing.T) {
	dir := t.TempDir()
	linux, err := os.ReadFile(goBinary(t, "linux", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	object := append([]byte(nil), linux...)
	binary.LittleEndian.PutUint16(object[16:18], uint16(1)) // e_type = ET_REL: an object file
	java := []byte{0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x41, 0x00, 0x10}
	files := map[string][]byte{
		"empty":     nil,
		"short":     []byte("MZ"),
		"text":      []byte("MZ, a text file that starts like a DOS header\n"),
		"script":    []byte("#!/bin/sh\necho hello\n"),
		"java":      java,
		"object.o":  object,
		"truncated": linux[:40],
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		if got, err := Read(p); !errors.Is(err, ErrNotExecutable) {
			t.Errorf("Read(%s) = %+v, %v; want ErrNotExecutable", name, got, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrNotExecutable) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Read(missing) error = %v, want one naming the file", err)
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(goBinary(t, "darwin", "arm64"), filepath.Join(dir, "darwin_arm64", "bin", "server"))
	copyFile(goBinary(t, "windows", "amd64"), filepath.Join(dir, "windows_amd64", "bin", "server"))
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("docs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("darwin_arm64/bin/server", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(dir)
	if err != nil {
		t.Fatalf("Scan() error = %v", err)
	}
	var desc []string
	for _, f := range got {
		desc = append(desc, f.Path+": "+f.Info.String())
	}
	want := []string{
		"darwin_arm64/bin/server: Mach-O executable for darwin/arm64",
		"windows_amd64/bin/server: PE executable for windows/amd64",
	}
	if !slices.Equal(desc, want) {
		t.Errorf("Scan() = %q, want %q", desc, want)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	put := func(src, rel string) {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	linux, darwin, windows := goBinary(t, "linux", "amd64"), goBinary(t, "darwin", "arm64"), goBinary(t, "windows", "amd64")
	put(darwin, "darwin_arm64/bin/server")
	put(linux, "darwin_arm64/bin/client") // a Linux binary where darwin ones belong
	put(windows, "windows_amd64/bin/server")
	put(darwin, "windows_amd64/bin/client")
	put(linux, "other/tool") // in no platform's directory

	got, err := Check(dir, []Want{{Platform: "darwin/arm64", Dir: "darwin_arm64"}, {Platform: "windows/amd64", Dir: "windows_amd64"}})
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	var desc []string
	for _, m := range got {
		desc = append(desc, m.String())
	}
	want := []string{
		"darwin_arm64/bin/client is an ELF executable for linux/amd64, not for darwin/arm64",
		"windows_amd64/bin/client is a Mach-O executable for darwin/arm64, not for windows/amd64",
	}
	if !slices.Equal(desc, want) {
		t.Errorf("Check() = %q\nwant %q", desc, want)
	}

	// One platform: the whole directory; a variant is not checked.
	got, err = Check(filepath.Join(dir, "darwin_arm64"), []Want{{Platform: "darwin/arm64/v8"}})
	if err != nil {
		t.Fatalf("Check() error = %v", err)
	}
	if len(got) != 1 || got[0].Path != "bin/client" {
		t.Errorf("Check(one platform) = %v, want bin/client only", got)
	}
}

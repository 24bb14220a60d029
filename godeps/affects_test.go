package godeps

import "testing"

// A tree of a target's inputs covers the paths below it, by whole path elements; the
// whole context (".") covers every path.
func TestInputSetCoversTrees(t *testing.T) {
	tests := []struct {
		trees []string
		p     string
		want  bool
	}{
		{[]string{"gen"}, "gen", true},
		{[]string{"gen"}, "gen/api/x.go", true},
		{[]string{"gen"}, "generated/x.go", false},
		{[]string{"..gen"}, "..gen/x.go", true},
		{[]string{"."}, "cmd/server/main.go", true},
	}
	for _, tt := range tests {
		if got := NewInputSet(tt.trees...).Covers(tt.p); got != tt.want {
			t.Errorf("InputSet{trees: %q}.Covers(%q) = %v, want %v", tt.trees, tt.p, got, tt.want)
		}
	}
}

// testSets are two targets' inputs: the server and the client share internal/shared.
func testSets() map[string]*InputSet {
	server := NewInputSet("cmd/server/static")
	server.Add(Inputs{Dirs: []string{"cmd/server", "internal/greeting", "internal/shared"}})
	client := NewInputSet("config/client.yaml")
	client.Add(Inputs{Dirs: []string{"cmd/client", "internal/shared"}})
	return map[string]*InputSet{"server": server, "client": client}
}

func TestAffects(t *testing.T) {
	tests := []struct {
		target string
		paths  []string
		want   bool
	}{
		{"server", []string{"internal/greeting/greeting.go"}, true},
		{"client", []string{"internal/greeting/greeting.go"}, false},
		{"client", []string{"cmd/server/handler.go", "cmd/server/main.go"}, false},
		{"client", []string{"internal/shared/x.go"}, true},
		{"client", []string{"cmd/server/handler.go", "cmd/client/main.go"}, true},
		{"client", []string{"go.mod"}, true},
		{"client", []string{"Dockerfile"}, true},
		{"client", []string{"docs/new/thing.txt"}, true},
		{"unknown", []string{"cmd/server/handler.go"}, true},
		// An embedded tree: a new file deep inside belongs to the server alone.
		{"server", []string{"cmd/server/static/css/new.css"}, true},
		{"client", []string{"cmd/server/static/css/new.css"}, false},
		// A file a stage copies.
		{"client", []string{"config/client.yaml"}, true},
		{"server", []string{"config/client.yaml"}, false},
		{"server", []string{"config/client.yaml.bak"}, true}, // nobody's
	}
	for _, tt := range tests {
		if got := Affects(testSets(), tt.target, tt.paths); got != tt.want {
			t.Errorf("Affects(%s, %v) = %v, want %v", tt.target, tt.paths, got, tt.want)
		}
	}
}

// A Go file the target's package directory holds but whose name every configuration
// that reads the directory rules out (x_darwin.go for a linux build) cannot reach the
// target, even when no other target claims it: a project with one linux target does
// not rebuild it for an edit of a _darwin.go or _windows.go file. A file of that
// directory the name does not rule out, or one in a directory read whole, still does.
func TestAffectsFileRuledOutByName(t *testing.T) {
	linux := Query{Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64"}}
	web := NewInputSet("static")
	web.Add(Inputs{Dirs: []string{".", "internal/sys"}, Packages: []string{".", "internal/sys"}, q: linux})
	web.Add(Inputs{Dirs: []string{"assets"}, q: linux}) // read whole: an embed
	sets := map[string]*InputSet{"web": web}
	tests := []struct {
		paths []string
		want  bool
	}{
		{[]string{"internal/sys/sys_darwin.go"}, false},
		{[]string{"internal/sys/sys_windows_arm64.go"}, false},
		{[]string{"main_darwin.go"}, false},
		{[]string{"internal/sys/sys_darwin.go", "internal/sys/sys_linux.go"}, true},
		{[]string{"internal/sys/sys_linux.go"}, true},
		{[]string{"internal/sys/sys_test.go"}, true},
		{[]string{"internal/sys/README.txt"}, true},
		{[]string{"assets/x_darwin.go"}, true},
		{[]string{"static/x_darwin.go"}, true},
		{[]string{"internal/other/x_darwin.go"}, true}, // nobody's: might be anything
	}
	for _, tt := range tests {
		if got := Affects(sets, "web", tt.paths); got != tt.want {
			t.Errorf("Affects(web, %v) = %v, want %v", tt.paths, got, tt.want)
		}
	}
}

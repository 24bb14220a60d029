package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Var is a variable of a build step's environment: a value, or why the value is
// unknown.
type Var struct {
	Value string
	Why   string // non-empty: the value is unknown, and why
	// Unset marks a variable the Dockerfile declares without a value (an ARG with no
	// default and no build arg): the step's environment lacks it, and referencing it
	// is unknown.
	Unset bool
}

// Known reports whether the value is known.
func (v Var) Known() bool { return v.Why == "" && !v.Unset }

// Env maps variable names to their values.
type Env map[string]Var

// Clone returns a copy of e; never nil.
func (e Env) Clone() Env {
	out := make(Env, len(e))
	maps.Copy(out, e)
	return out
}

// Reason says why the variable name has no known value; "" when it is simply not
// set.
func (e Env) Reason(name string) string { return e[name].Why }

// Get returns the value of name when it is known: Env is the shell.EnvGetter that
// BuildKit's word expansion (shell.Lex) reads, variables without a known value
// counting as unmatched.
func (e Env) Get(name string) (string, bool) {
	v, ok := e[name]
	if !ok || !v.Known() {
		return "", false
	}
	return v.Value, true
}

// Keys lists the names with a known value, in no order.
func (e Env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k, v := range e {
		if v.Known() {
			keys = append(keys, k)
		}
	}
	return keys
}

// Word is a word of a command line after expansion.
type Word struct {
	Text string // the expanded text; "" when unknown
	Raw  string // as written
	Why  string // non-empty: the text is unknown, and why
	// Start and End are where a word written literally (no quotes, no expansion) in
	// the RUN's own command line lies: byte offsets [Start, End) in its shell-form
	// command line (the instruction's CmdLine[0]). Both are 0 for every other word:
	// the exec form's, a heredoc's, an sh -c script's, a function body's or a
	// command substitution's.
	Start, End int
}

// Command is a program a RUN starts, as [WalkRun] hands it to a [Visitor]: after the
// shell's own commands (cd, export, set, …), wrappers (exec, nice, nohup, time,
// command), env and sh -c, and shell functions are followed.
type Command struct {
	Name   string // the program's base name: "go" for /usr/local/go/bin/go
	Args   []Word // its arguments, after the name
	Env    Env    // its environment: exported variables, inline VAR=value, env's changes
	Dir    string // its working directory, an absolute container path
	DirWhy string // non-empty: the working directory is unknown, and why
}

// Facts is what a RUN's commands do to files, as far as [WalkRun] follows them.
type Facts struct {
	Reads     []string // container paths read (absolute)
	Writes    []string // container paths written (absolute)
	ReadsAll  string   // non-empty: a command may read any file it sees (why)
	WritesAll string   // non-empty: a command may write anywhere (why)
	Unknown   string   // non-empty: the commands cannot be followed (why)
}

// SetUnknown records that the commands cannot be followed; the first reason stays.
func (f *Facts) SetUnknown(why string) {
	if f.Unknown == "" {
		f.Unknown = why
	}
}

// Opaque records a command devloop does not know: it may read whatever it sees and
// write anywhere. The first reason stays.
func (f *Facts) Opaque(why string) {
	if f.ReadsAll == "" {
		f.ReadsAll = why
	}
	if f.WritesAll == "" {
		f.WritesAll = why
	}
}

// Visitor is called for every program a RUN starts, in the order the script names
// them (every branch of an if, a case or an ||, loop bodies once). It returns whether
// it handled the command; if not, the walker classifies it by name: file commands
// (cp, cat, test, …) read and write their path arguments, commands that touch no
// file given to them (apk, echo, mkdir, …) do nothing, and any other program may
// read whatever it sees and write anywhere ([Facts.Opaque]). A Visitor records what
// it learns in f or in its own variables.
type Visitor func(c Command, f *Facts) bool

// RunState is the state a RUN's commands start in.
type RunState struct {
	Shell  []string // the SHELL in effect; nil for the default /bin/sh -c
	Env    Env      // ENV and ARG values; every one is exported
	Dir    string   // WORKDIR, an absolute container path
	DirWhy string   // non-empty: WORKDIR is unknown, and why
	// User is the USER in effect, as written after expansion ("1000", "app:app");
	// "" when neither the Dockerfile nor the image (see [Image]) sets one: root.
	User string
}

// WalkRun follows the commands RUN c runs, starting in st, and returns what they do
// to files, calling visit (nil: none) for every program they start. The script is,
// for the shell form, the command line (a RUN <<EOF heredoc is the script itself;
// one whose #! names no shell is not followed), run by st.Shell (only sh-like shells
// are followed); for the exec form, the argv. Scripts are parsed with
// mvdan.cc/sh/v3/syntax (bash dialect) and expanded with the variables whose values
// are known; what cannot be followed is said in [Facts.Unknown] or
// [Facts.ReadsAll]/[Facts.WritesAll], never guessed.
func WalkRun(c *instructions.RunCommand, st RunState, visit Visitor) *Facts {
	facts := &Facts{}
	w := &shellWalker{facts: facts, visit: visit}
	sh := newShState(st.Env, st.Dir, st.DirWhy)
	switch {
	case len(c.Files) > 0 && len(c.CmdLine) == 1:
		script := c.CmdLine[0]
		if parser.MustParseHeredoc(script) != nil {
			data := c.Files[0].Data
			if c.Files[0].Chomp {
				data = parser.ChompHeredocContent(data)
			}
			script = data
			if first, _, _ := strings.Cut(data, "\n"); strings.HasPrefix(first, "#!") {
				if f := strings.Fields(strings.TrimPrefix(first, "#!")); len(f) == 0 || !shells[path.Base(f[len(f)-1])] && !shells[path.Base(f[0])] {
					facts.Opaque("RUN runs a heredoc script with " + first)
					script = ""
				}
			}
		} else {
			var b strings.Builder
			b.WriteString(script)
			for _, f := range c.Files {
				b.WriteString("\n" + f.Data + f.Name)
			}
			script = b.String()
		}
		if script != "" {
			w.script(script, sh)
		}
	case c.PrependShell:
		if len(st.Shell) > 0 && !shells[path.Base(st.Shell[0])] {
			facts.SetUnknown(fmt.Sprintf("SHELL %s is not followed", strings.Join(st.Shell, " ")))
			break
		}
		w.located = len(c.CmdLine) == 1 && len(c.Files) == 0
		w.script(strings.Join(c.CmdLine, " "), sh)
	default:
		fields := make([]Word, len(c.CmdLine))
		for i, a := range c.CmdLine {
			fields[i] = Word{Text: a, Raw: a}
		}
		if len(fields) > 0 {
			w.run(fields, sh.environ(), sh)
		}
	}
	return facts
}

// shState is the shell's state while a script runs.
type shState struct {
	vars      Env
	exported  map[string]bool
	allExport bool // set -a
	dir       string
	dirWhy    string
	funcs     map[string][]*syntax.Stmt
}

func newShState(env Env, dir, dirWhy string) *shState {
	st := &shState{vars: env.Clone(), exported: map[string]bool{}, dir: dir, dirWhy: dirWhy, funcs: map[string][]*syntax.Stmt{}}
	for k := range env {
		st.exported[k] = true
	}
	return st
}

func (s *shState) clone() *shState {
	c := *s
	c.vars = s.vars.Clone()
	c.exported = maps.Clone(s.exported)
	c.funcs = maps.Clone(s.funcs)
	return &c
}

// merge makes s the state after one of the alternatives ran: what they agree on
// stays, the rest becomes unknown.
func (s *shState) merge(why string, alts ...*shState) {
	names := map[string]bool{}
	for _, a := range alts {
		for k := range a.vars {
			names[k] = true
		}
	}
	for k := range names {
		first, ok := alts[0].vars[k]
		same := true
		for _, a := range alts[1:] {
			if v, ok2 := a.vars[k]; ok2 != ok || v != first {
				same = false
			}
		}
		switch {
		case same && ok:
			s.vars[k] = first
		case same:
			delete(s.vars, k)
		default:
			s.vars[k] = Var{Why: fmt.Sprintf("$%s is set %s", k, why)}
		}
		s.exported[k] = s.exported[k] || alts[0].exported[k]
	}
	s.dir, s.dirWhy = alts[0].dir, alts[0].dirWhy
	for _, a := range alts[1:] {
		if a.dir != s.dir || a.dirWhy != s.dirWhy {
			s.dirWhy = "the working directory changes " + why
		}
	}
}

// environ is the exported environment a command started now gets.
func (s *shState) environ() Env {
	env := Env{}
	for k, v := range s.vars {
		if s.exported[k] {
			env[k] = v
		}
	}
	return env
}

// resolvePath makes a command's path argument absolute; why is set when it cannot.
func (s *shState) resolvePath(w Word) (string, string) {
	switch {
	case w.Why != "":
		return "", w.Raw + " " + w.Why
	case path.IsAbs(w.Text):
		return path.Clean(w.Text), ""
	case s.dirWhy != "":
		return "", s.dirWhy
	}
	return ContainerPath(s.dir, w.Text), ""
}

// Commands by what they do to the context's files.
var (
	// noFileCommands read no file named on their command line.
	noFileCommands = nameSet("apk", "apt-get", "apt", "yum", "dnf", "microdnf", "zypper", "adduser", "addgroup",
		"useradd", "groupadd", "usermod", "echo", "printf", "true", "false", ":", "sleep", "exit", "return",
		"shift", "wait", "trap", "umask", "ulimit", "id", "whoami", "uname", "date", "hostname", "hash",
		"type", "which", "mkdir", "chmod", "chown", "chgrp", "rm", "rmdir", "touch", "update-ca-certificates")
	// readCommands read the files named on their command line.
	readCommands = nameSet("cat", "ls", "sha256sum", "sha1sum", "md5sum", "head", "tail", "wc",
		"file", "stat", "du", "readlink", "realpath", "cmp", "diff", "grep")
	// testOperators are test(1)'s words that are no path.
	testOperators = nameSet("]", "!", "=", "!=", "-a", "-o", "(", ")", "-eq", "-ne", "-lt", "-le", "-gt", "-ge")
	// copyCommands read and write the files named on their command line.
	copyCommands = nameSet("cp", "mv", "ln", "install", "tar", "unzip", "gzip", "gunzip", "strip", "upx")
	// shells run the script of -c, or the one on their standard input.
	shells = nameSet("sh", "bash", "ash", "dash", "zsh")
)

// wrapper is a command that runs the command after its options.
type wrapper struct {
	flags    string          // one-letter options without a value
	valued   string          // one-letter options that take a value
	long     map[string]bool // long options; true: it takes a value
	digits   bool            // -N is an option (nice -10)
	describe string          // one-letter options with which it only describes the command (command -v)
}

// wrappers are the commands that run another one, and their options (POSIX, bash
// builtins, GNU and BusyBox).
var wrappers = map[string]wrapper{
	"exec":    {flags: "cl", valued: "a"},
	"nohup":   {},
	"command": {flags: "p", describe: "vV"},
	"nice":    {valued: "n", digits: true, long: map[string]bool{"adjustment": true}},
	"time": {flags: "pavq", valued: "fo", long: map[string]bool{
		"portability": false, "append": false, "verbose": false, "quiet": false, "format": true, "output": true}},
}

// command returns the command a wrapper runs (nil for none) after its options;
// why says which option is not known.
func (wr wrapper) command(args []Word) (cmd []Word, why string) {
	for len(args) > 0 {
		a := args[0]
		t := a.Text
		switch {
		case a.Why != "" || !strings.HasPrefix(t, "-") || t == "-":
			return args, "" // the command, even when its name is unknown
		case t == "--":
			return args[1:], ""
		case strings.HasPrefix(t, "--"):
			name, _, hasValue := strings.Cut(t[2:], "=")
			valued, ok := wr.long[name]
			if !ok {
				return nil, "option " + t
			}
			if valued && !hasValue {
				if len(args) < 2 {
					return nil, "option " + t + " without a value"
				}
				args = args[1:]
			}
		case wr.digits && strings.Trim(t[1:], "0123456789") == "":
		default:
		letters:
			for i := 1; i < len(t); i++ {
				switch c := t[i]; {
				case strings.IndexByte(wr.describe, c) >= 0:
					return nil, ""
				case strings.IndexByte(wr.flags, c) >= 0:
				case strings.IndexByte(wr.valued, c) >= 0:
					if i == len(t)-1 { // the value is the next word
						if len(args) < 2 {
							return nil, "option " + t + " without a value"
						}
						args = args[1:]
					}
					break letters
				default:
					return nil, "option " + t
				}
			}
		}
		args = args[1:]
	}
	return nil, ""
}

func nameSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// maxShellDepth bounds sh -c nesting and function calls.
const maxShellDepth = 8

// shellWalker follows a script.
type shellWalker struct {
	facts *Facts
	visit Visitor
	depth int
	stdin *syntax.Word // the here-document the current command reads, if any
	// located: the script is the RUN's own command line, and words get their
	// offsets in it (Word.Start, Word.End). Inner walkers never are.
	located bool
}

func (w *shellWalker) inner() *shellWalker {
	return &shellWalker{facts: w.facts, visit: w.visit, depth: w.depth + 1}
}

// script follows script, run by /bin/sh -c in st.
func (w *shellWalker) script(script string, st *shState) {
	if w.depth > maxShellDepth {
		w.facts.SetUnknown("shell scripts nest too deeply")
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		w.facts.SetUnknown(fmt.Sprintf("the shell script does not parse: %v", err))
		w.facts.Opaque("a script that does not parse")
		return
	}
	w.stmts(f.Stmts, st)
}

func (w *shellWalker) stmts(list []*syntax.Stmt, st *shState) {
	for _, s := range list {
		w.stmt(s, st)
	}
}

func (w *shellWalker) stmt(s *syntax.Stmt, st *shState) {
	stdin := w.stdin
	defer func() { w.stdin = stdin }()
	for _, r := range s.Redirs {
		w.redirect(r, st)
	}
	if s.Background || s.Coprocess {
		w.command(s.Cmd, st.clone())
		return
	}
	w.command(s.Cmd, st)
}

func (w *shellWalker) redirect(r *syntax.Redirect, st *shState) {
	if (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc) && (r.N == nil || r.N.Value == "0") {
		w.stdin = r.Hdoc
		return
	}
	if r.Word == nil {
		return
	}
	var list *[]string
	switch r.Op {
	case syntax.RdrIn, syntax.RdrInOut:
		list = &w.facts.Reads
	case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.RdrAll, syntax.AppAll:
		list = &w.facts.Writes
	default:
		return
	}
	p, why := st.resolvePath(w.word(r.Word, st))
	if why != "" {
		w.facts.Opaque("a redirection to " + why)
		return
	}
	*list = append(*list, p)
}

func (w *shellWalker) command(c syntax.Command, st *shState) {
	switch c := c.(type) {
	case nil:
	case *syntax.CallExpr:
		var fields []Word
		for _, word := range c.Args {
			fields = append(fields, w.fields(word, st)...)
		}
		w.call(fields, c.Assigns, st)
	case *syntax.DeclClause:
		w.declare(c.Variant.Value, c.Args, st)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt:
			w.stmt(c.X, st)
			w.stmt(c.Y, st)
		case syntax.OrStmt:
			w.stmt(c.X, st)
			alt := st.clone()
			w.stmt(c.Y, alt)
			st.merge("after ||", st.clone(), alt)
		default: // pipes: every part runs in a subshell; the right reads the pipe
			w.stmt(c.X, st.clone())
			w.stdin = nil
			w.stmt(c.Y, st.clone())
		}
	case *syntax.Subshell:
		w.stmts(c.Stmts, st.clone())
	case *syntax.Block:
		w.stmts(c.Stmts, st)
	case *syntax.IfClause:
		var alts []*shState
		for clause := c; clause != nil; clause = clause.Else {
			w.stmts(clause.Cond, st)
			alt := st.clone()
			w.stmts(clause.Then, alt)
			alts = append(alts, alt)
			if clause.Else == nil && len(clause.Cond) > 0 {
				alts = append(alts, st.clone()) // no branch taken
			}
		}
		st.merge("in an if", alts...)
	case *syntax.WhileClause:
		body := st.clone()
		w.stmts(c.Cond, body)
		w.stmts(c.Do, body)
		st.merge("in a loop", st.clone(), body)
	case *syntax.ForClause:
		body := st.clone()
		if it, ok := c.Loop.(*syntax.WordIter); ok && it.Name != nil {
			body.vars[it.Name.Value] = Var{Why: fmt.Sprintf("$%s is a loop variable", it.Name.Value)}
		}
		w.stmts(c.Do, body)
		st.merge("in a loop", st.clone(), body)
	case *syntax.CaseClause:
		alts := []*shState{st.clone()}
		for _, item := range c.Items {
			alt := st.clone()
			w.stmts(item.Stmts, alt)
			alts = append(alts, alt)
		}
		st.merge("in a case", alts...)
	case *syntax.FuncDecl:
		if c.Name != nil {
			st.funcs[c.Name.Value] = []*syntax.Stmt{c.Body}
		}
	case *syntax.TimeClause:
		if c.Stmt != nil {
			w.stmt(c.Stmt, st)
		}
	case *syntax.ArithmCmd, *syntax.TestClause, *syntax.LetClause:
		// [[ ]] and (( )) tests read no file devloop needs to know of.
	default:
		w.facts.SetUnknown(fmt.Sprintf("the shell construct %T is not followed", c))
		w.facts.Opaque("an unfollowed shell construct")
	}
}

// declare handles export/readonly/declare/local/typeset NAME[=VALUE]….
func (w *shellWalker) declare(variant string, args []*syntax.Assign, st *shState) {
	for _, a := range args {
		if a.Name == nil {
			continue // an option such as -x
		}
		name := a.Name.Value
		if !a.Naked {
			w.assign(a, st)
		}
		if variant == "export" || st.allExport {
			st.exported[name] = true
		}
	}
}

// assign performs NAME=VALUE in st.
func (w *shellWalker) assign(a *syntax.Assign, st *shState) {
	name := a.Name.Value
	switch {
	case a.Array != nil || a.Index != nil:
		st.vars[name] = Var{Why: fmt.Sprintf("$%s is an array", name)}
	case a.Append:
		old, ok := st.vars[name]
		v := w.word(a.Value, st)
		if !ok || !old.Known() || v.Why != "" {
			st.vars[name] = Var{Why: fmt.Sprintf("$%s is appended to", name)}
		} else {
			st.vars[name] = Var{Value: old.Value + v.Text}
		}
	default:
		v := w.word(a.Value, st)
		st.vars[name] = Var{Value: v.Text, Why: wordWhy(v)}
	}
	if st.allExport {
		st.exported[name] = true
	}
}

func wordWhy(v Word) string {
	if v.Why == "" {
		return ""
	}
	return v.Raw + " " + v.Why
}

// call runs a simple command: fields after expansion, with inline assignments.
func (w *shellWalker) call(fields []Word, assigns []*syntax.Assign, st *shState) {
	if len(fields) == 0 {
		for _, a := range assigns {
			w.assign(a, st)
		}
		return
	}
	env := st.environ()
	inline := st.clone()
	for _, a := range assigns {
		w.assign(a, inline)
		env[a.Name.Value] = inline.vars[a.Name.Value]
	}
	w.run(fields, env, st)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// assignment splits NAME=VALUE.
func assignment(word string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(word, "=")
	if !ok || !identifier.MatchString(k) {
		return "", "", false
	}
	return k, v, true
}

// run dispatches a command by name.
func (w *shellWalker) run(fields []Word, env Env, st *shState) {
	name := fields[0]
	if name.Why != "" {
		w.facts.SetUnknown(fmt.Sprintf("the command %s %s", name.Raw, name.Why))
		w.facts.Opaque("a command whose name is unknown")
		return
	}
	args := fields[1:]
	base := path.Base(name.Text)
	switch wr, isWrapper := wrappers[base]; {
	case base == "cd":
		w.cd(args, st)
	case base == "export" || base == "readonly":
		for _, a := range args {
			k, v, ok := assignment(a.Text)
			switch {
			case a.Why != "" && strings.Contains(a.Raw, "="):
				k, _, _ = strings.Cut(a.Raw, "=")
				st.vars[k] = Var{Why: a.Raw + " " + a.Why}
				st.exported[k] = true
			case ok:
				st.vars[k] = Var{Value: v}
				st.exported[k] = true
			case identifier.MatchString(a.Text):
				st.exported[a.Text] = true
			}
		}
	case base == "unset":
		for _, a := range args {
			if !strings.HasPrefix(a.Text, "-") {
				delete(st.vars, a.Text)
				delete(st.exported, a.Text)
			}
		}
	case base == "set":
		for _, a := range args {
			switch {
			case strings.HasPrefix(a.Text, "-") && strings.Contains(a.Text, "a"):
				st.allExport = true
			case strings.HasPrefix(a.Text, "+") && strings.Contains(a.Text, "a"):
				st.allExport = false
			}
		}
	case base == "." || base == "source" || base == "eval":
		why := fmt.Sprintf("%s runs a script devloop does not follow", base)
		for k := range st.vars {
			st.vars[k] = Var{Why: fmt.Sprintf("$%s may be changed by %s", k, base)}
		}
		st.dirWhy = why
		w.facts.Opaque(why)
		w.facts.SetUnknown(why)
	case isWrapper:
		cmd, why := wr.command(args)
		if why != "" {
			w.facts.SetUnknown(fmt.Sprintf("%s %s is not followed", base, why))
			w.facts.Opaque(base + " " + why)
			return
		}
		if len(cmd) > 0 {
			w.run(cmd, env, st)
		}
	case base == "env":
		w.env(args, env, st)
	case shells[base]:
		w.shell(name, args, env, st)
	case st.funcs[base] != nil:
		if w.depth >= maxShellDepth {
			w.facts.SetUnknown("shell functions nest too deeply")
			return
		}
		w.inner().stmts(st.funcs[base], st)
	case w.visit != nil && w.visit(Command{Name: base, Args: args, Env: env, Dir: st.dir, DirWhy: st.dirWhy}, w.facts):
	case noFileCommands[base]:
	case base == "test" || base == "[":
		var operands []Word
		for _, a := range args {
			if a.Why != "" || !testOperators[a.Text] {
				operands = append(operands, a)
			}
		}
		w.paths(operands, st, &w.facts.Reads)
	case readCommands[base]:
		w.paths(args, st, &w.facts.Reads)
	case copyCommands[base]:
		w.paths(args, st, &w.facts.Reads)
		w.paths(args, st, &w.facts.Writes)
	default:
		w.facts.Opaque(fmt.Sprintf("RUN runs %s, which may read any file it sees", base))
	}
}

func (w *shellWalker) cd(args []Word, st *shState) {
	var dirs []Word
	for _, a := range args {
		if a.Why != "" || !strings.HasPrefix(a.Text, "-") {
			dirs = append(dirs, a)
		}
	}
	if len(dirs) != 1 || dirs[0].Text == "-" {
		st.dirWhy = "cd without one directory"
		return
	}
	p, why := st.resolvePath(dirs[0])
	st.dir, st.dirWhy = p, why
	if why != "" {
		st.dirWhy = "cd " + why
	}
}

// paths records the path arguments of a file command.
func (w *shellWalker) paths(args []Word, st *shState, list *[]string) {
	for _, a := range args {
		if a.Why == "" && strings.HasPrefix(a.Text, "-") {
			continue
		}
		p, why := st.resolvePath(a)
		if why != "" {
			w.facts.Opaque("a path " + why)
			continue
		}
		*list = append(*list, p)
	}
}

// env handles env [-i] [-u NAME] [NAME=VALUE]… COMMAND.
func (w *shellWalker) env(args []Word, env Env, st *shState) {
	env = env.Clone()
	for len(args) > 0 {
		a := args[0]
		switch {
		case a.Why != "":
			w.facts.SetUnknown(fmt.Sprintf("env argument %s %s", a.Raw, a.Why))
			return
		case a.Text == "-i" || a.Text == "-" || a.Text == "--ignore-environment":
			env = Env{}
		case a.Text == "-u" && len(args) > 1:
			delete(env, args[1].Text)
			args = args[1:]
		case a.Text == "--":
		case strings.HasPrefix(a.Text, "-"):
			w.facts.SetUnknown("env " + a.Text + " is not followed")
			w.facts.Opaque("env " + a.Text)
			return
		default:
			if k, v, ok := assignment(a.Text); ok {
				env[k] = Var{Value: v}
				break
			}
			w.run(args, env, st)
			return
		}
		args = args[1:]
	}
}

// shell handles sh -c SCRIPT, and sh reading its script from a here-document
// (sh <<EOF, sh -s <<EOF): the script runs with the exported environment. A script
// file, or a script read from anything else, is not followed.
func (w *shellWalker) shell(name Word, args []Word, env Env, st *shState) {
	fromStdin := true // no script operand: sh reads its script from its standard input
options:
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a.Why == "" && a.Text == "--":
			fromStdin = i == len(args)-1
			break options
		case a.Why != "" || !strings.HasPrefix(a.Text, "-") && !strings.HasPrefix(a.Text, "+") || strings.HasPrefix(a.Text, "--"):
			fromStdin = false // a script file, or an option devloop does not know
			break options
		case a.Text == "-o" || a.Text == "+o":
			i++ // -o pipefail
		case strings.HasPrefix(a.Text, "-") && strings.Contains(a.Text, "c") && i+1 < len(args):
			script := args[i+1]
			if script.Why != "" {
				w.facts.SetUnknown(fmt.Sprintf("%s -c %s %s", name.Text, script.Raw, script.Why))
				w.facts.Opaque("a script that is unknown")
				return
			}
			w.inner().script(script.Text, newShState(env, st.dir, st.dirWhy))
			return
		case strings.HasPrefix(a.Text, "-") && strings.Contains(a.Text, "s"):
			break options // the rest are the script's arguments
		}
	}
	if fromStdin && w.stdin != nil {
		doc := w.document(w.stdin, st)
		if doc.Why != "" {
			w.facts.SetUnknown(fmt.Sprintf("the here-document %s runs %s", name.Text, doc.Why))
			w.facts.Opaque("a script that is unknown")
			return
		}
		w.inner().script(doc.Text, newShState(env, st.dir, st.dirWhy))
		return
	}
	w.facts.Opaque(fmt.Sprintf("RUN runs %s with a script file", name.Text))
}

// errCommandSubstitution marks a word that runs a command.
var errCommandSubstitution = errors.New("runs a command")

// environ is the expand.Environ over a shell state; it records the first variable
// that has no known value, and why.
type environ struct {
	st      *shState
	missing bool
	reason  string
}

func (e *environ) Get(name string) expand.Variable {
	switch name {
	case "IFS":
		return expand.Variable{}
	case "PWD":
		if e.st.dirWhy == "" {
			return expand.Variable{Set: true, Kind: expand.String, Str: e.st.dir}
		}
	}
	if v, ok := e.st.vars[name]; ok && v.Known() {
		return expand.Variable{Set: true, Exported: e.st.exported[name], Kind: expand.String, Str: v.Value}
	}
	if !e.missing {
		e.missing, e.reason = true, e.st.vars.Reason(name)
	}
	return expand.Variable{}
}

func (e *environ) Each(f func(string, expand.Variable) bool) {
	for _, k := range slices.Sorted(maps.Keys(e.st.vars)) {
		if v := e.st.vars[k]; v.Known() && !f(k, expand.Variable{Set: true, Exported: e.st.exported[k], Kind: expand.String, Str: v.Value}) {
			return
		}
	}
}

func (w *shellWalker) config(st *shState, env *environ) *expand.Config {
	return &expand.Config{
		Env: env,
		CmdSubst: func(_ io.Writer, cs *syntax.CmdSubst) error {
			// The substituted command runs too: follow what it reads.
			w.inner().stmts(cs.Stmts, st.clone())
			return errCommandSubstitution
		},
		ProcSubst: func(*syntax.ProcSubst) (string, error) { return "", errCommandSubstitution },
	}
}

// word expands a word without field splitting (assignments, redirections).
func (w *shellWalker) word(word *syntax.Word, st *shState) Word {
	if word == nil {
		return Word{}
	}
	env := &environ{st: st}
	text, err := expand.Literal(w.config(st, env), word)
	return result(word, text, err, env)
}

// document expands a here-document's body (literal when its delimiter is quoted).
func (w *shellWalker) document(word *syntax.Word, st *shState) Word {
	env := &environ{st: st}
	text, err := expand.Document(w.config(st, env), word)
	return result(word, text, err, env)
}

// fields expands a command word into fields. An unknown word stays one field.
func (w *shellWalker) fields(word *syntax.Word, st *shState) []Word {
	env := &environ{st: st}
	fs, err := expand.Fields(w.config(st, env), word)
	if err != nil || env.missing {
		return []Word{result(word, "", err, env)}
	}
	out := make([]Word, len(fs))
	for i, f := range fs {
		out[i] = Word{Text: f, Raw: printWord(word)}
	}
	if w.located && len(fs) == 1 && word.Lit() != "" && fs[0] == word.Lit() {
		out[0].Start, out[0].End = int(word.Pos().Offset()), int(word.End().Offset())
	}
	return out
}

func result(word *syntax.Word, text string, err error, env *environ) Word {
	raw := printWord(word)
	switch {
	case errors.Is(err, errCommandSubstitution):
		return Word{Raw: raw, Why: "runs a command"}
	case err != nil:
		return Word{Raw: raw, Why: "cannot be expanded: " + err.Error()}
	case env.missing && env.reason != "":
		return Word{Raw: raw, Why: "has no value (" + env.reason + ")"}
	case env.missing:
		return Word{Raw: raw, Why: "has no value"}
	}
	return Word{Text: text, Raw: raw}
}

func printWord(word *syntax.Word) string {
	var b bytes.Buffer
	if err := syntax.NewPrinter().Print(&b, word); err != nil {
		return "?"
	}
	return b.String()
}

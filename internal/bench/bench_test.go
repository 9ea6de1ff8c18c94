package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/nyaruka/phonenumbers"
)

// TestMain lets the harness re-execute the test binary as its child
// processes: a child runs the command instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// setup generates a file of n rows in a temporary directory.
func setup(t *testing.T, n int, seed uint64) (path string, st genStats) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "contacts.csv")
	st, err := generate(path, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	const n = 5000
	path, st := setup(t, n, 7)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != st.Bytes {
		t.Errorf("stats say %d bytes, the file has %d", st.Bytes, len(data))
	}
	if per := float64(len(data)) / n; per < 110 || per > 150 {
		t.Errorf("%.0f bytes per row, want about 130", per)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(header)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], header) {
		t.Fatalf("header %q, want %q", recs[0], header)
	}
	rows := recs[1:]
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}

	seen := map[string]bool{}
	dups, variants, quotedNames, quotedCities, nonASCII := 0, 0, 0, 0, 0
	for i, row := range rows {
		email := row[1]
		canon := strings.ToLower(strings.TrimSpace(email))
		if seen[canon] {
			dups++
			if email != canon {
				variants++
			}
		}
		seen[canon] = true
		if strings.Contains(row[3], ",") {
			quotedNames++
		}
		if strings.Contains(row[7], ",") {
			quotedCities++
		}
		if !isASCII(row[2]) || !isASCII(row[3]) {
			nonASCII++
		}
		num, err := phonenumbers.Parse(row[4], "")
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			t.Errorf("row %d: phone %q is not a possible number (%v)", i+2, row[4], err)
		}
		if err == nil && int(num.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(row[6]) {
			t.Errorf("row %d: phone %q has calling code %d, the row's country %q has %d",
				i+2, row[4], num.GetCountryCode(), row[6], phonenumbers.GetCountryCodeForRegion(row[6]))
		}
		if t.Failed() && i > 100 {
			t.FailNow() // enough to see the pattern
		}
		if !utf8.ValidString(strings.Join(row, "")) {
			t.Errorf("row %d is not valid UTF-8", i+2)
		}
	}
	if dups != st.Duplicates || len(seen) != st.Distinct {
		t.Errorf("file has %d duplicates and %d distinct emails, stats say %d and %d", dups, len(seen), st.Duplicates, st.Distinct)
	}
	if pct := 100 * float64(dups) / n; pct < 3 || pct > 7 {
		t.Errorf("%.1f%% duplicate emails, want about %d%%", pct, dupPercent)
	}
	if variants != dups {
		t.Errorf("%d of %d duplicate emails differ from the first by case or spaces, want all", variants, dups)
	}
	for what, c := range map[string]int{"quoted last names": quotedNames, "quoted cities": quotedCities, "non-ASCII names": nonASCII} {
		if c < n/50 {
			t.Errorf("only %d rows with %s", c, what)
		}
	}

	// The header maps to all nine contact fields without a spec.
	spec := mapping.Suggest(header, intake.ContactSchema())
	fields := map[string]bool{}
	for _, c := range spec.Columns {
		if c.Skip || c.Field == "" {
			t.Errorf("column %q is not mapped", c.Source)
		}
		fields[c.Field] = true
	}
	if len(fields) != len(header) {
		t.Errorf("header maps to %d distinct fields, want %d: %+v", len(fields), len(header), spec.Columns)
	}

	// Deterministic: the same seed gives the same bytes, another seed others.
	path2, _ := setup(t, n, 7)
	path3, _ := setup(t, n, 8)
	d2, _ := os.ReadFile(path2)
	d3, _ := os.ReadFile(path3)
	if !bytes.Equal(data, d2) {
		t.Error("the same seed gave another file")
	}
	if bytes.Equal(data, d3) {
		t.Error("another seed gave the same file")
	}
}

// TestGenerateChanged: the changed file has the rows of the file, each with
// its email written the same way, another city of its country and another
// lifetime value, and nothing else changed.
func TestGenerateChanged(t *testing.T) {
	t.Parallel()
	const n = 5000
	path, st := setup(t, n, 7)
	changed := filepath.Join(filepath.Dir(path), "contacts-changed.csv")
	cst, err := generateChanged(changed, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	if cst.Rows != st.Rows || cst.Duplicates != st.Duplicates || cst.Distinct != st.Distinct {
		t.Errorf("changed file stats %+v, the file's %+v", cst, st)
	}
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = len(header)
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	base, chg := read(path), read(changed)
	if len(chg) != len(base) || !slices.Equal(chg[0], header) {
		t.Fatalf("changed file: %d lines, header %q; the file has %d lines", len(chg), chg[0], len(base))
	}
	cities := map[string][]string{}
	for _, c := range countries {
		cities[c.code] = c.cities
	}
	const city, value = 7, 8
	for i := 1; i < len(base); i++ {
		b, c := base[i], chg[i]
		for k := range header {
			if k != city && k != value && b[k] != c[k] {
				t.Errorf("line %d: %s %q, the file has %q", i+1, header[k], c[k], b[k])
			}
		}
		if c[city] == b[city] || !slices.Contains(cities[c[6]], c[city]) {
			t.Errorf("line %d: city %q (was %q), not another city of %s", i+1, c[city], b[city], c[6])
		}
		if c[value] == b[value] {
			t.Errorf("line %d: lifetime value %q unchanged", i+1, c[value])
		}
		if t.Failed() && i > 100 {
			t.FailNow()
		}
	}
	again := filepath.Join(t.TempDir(), "contacts-changed.csv")
	if _, err := generateChanged(again, n, 7); err != nil {
		t.Fatal(err)
	}
	d1, _ := os.ReadFile(changed)
	d2, _ := os.ReadFile(again)
	if !bytes.Equal(d1, d2) {
		t.Error("the same seed gave another changed file")
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// TestHarness runs the whole command on 2000 rows, every mode in its child
// process (this test binary again, see TestMain), and checks its figures.
func TestHarness(t *testing.T) {
	t.Parallel()
	const n = 2000
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-rows", "2000", "-dir", dir, "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	var out output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if out.Gen.Rows != n || out.Gen.Distinct+out.Gen.Duplicates != n {
		t.Errorf("generated %+v", out.Gen)
	}
	got := map[string]*modeResult{}
	for _, m := range out.Modes {
		got[m.Mode] = m
	}
	for _, mode := range allModes {
		m := got[mode]
		if m == nil {
			t.Errorf("mode %s missing from the output", mode)
			continue
		}
		if mode == "sqlite3" && m.SkipReason != "" {
			t.Logf("sqlite3 skipped: %s", m.SkipReason)
			continue
		}
		if m.Failed != "" {
			t.Errorf("%s failed: %s", mode, m.Failed)
			continue
		}
		if m.Rows != n || m.Seconds <= 0 || m.RowsPerSec <= 0 || m.PeakRSS <= 0 {
			t.Errorf("%s: rows %d, seconds %g, rows/s %g, peak RSS %d", mode, m.Rows, m.Seconds, m.RowsPerSec, m.PeakRSS)
		}
		if mode == "memory" || mode == "sqlite" {
			if m.Rejected != 0 {
				t.Errorf("%s rejected %d rows: %v %q", mode, m.Rejected, m.Reasons, m.Errors)
			}
			if m.Created != int64(out.Gen.Distinct) || m.Updated+m.Unchanged != int64(out.Gen.Duplicates) || m.Stored != m.Created {
				t.Errorf("%s: created %d, updated %d, unchanged %d, stored %d; the file has %d distinct emails and %d duplicates",
					mode, m.Created, m.Updated, m.Unchanged, m.Stored, out.Gen.Distinct, out.Gen.Duplicates)
			}
		}
	}
	if m := got["memory"]; m != nil && (m.BytesPerContact <= 0 || m.HeapAfter <= m.HeapBefore) {
		t.Errorf("memory: %g bytes per contact (heap %d → %d)", m.BytesPerContact, m.HeapBefore, m.HeapAfter)
	}
	if got["memory"] != nil && got["csv"] != nil && got["memory"].Ratio <= 0 {
		t.Error("memory mode has no ratio to csv")
	}
	for name, k := range map[string]*modeResult{"keyset": out.Keyset, "keyindex": out.KeyIndex} {
		if k == nil || k.Failed != "" || k.BytesPerKey <= 0 || k.Keys != int64(out.Gen.Distinct) {
			t.Errorf("%s: %+v", name, k)
		}
	}
	names := map[string]bool{}
	for _, c := range out.Checks {
		names[c.Name] = true
		if c.Detail == "" {
			t.Errorf("check %q has no detail", c.Name)
		}
	}
	if len(names) < 5 {
		t.Errorf("%d checks, want at least 5: %+v", len(out.Checks), out.Checks)
	}
}

// TestUndoModes runs the pipeline modes with and without the undo log, the
// re-imports of the changed file included, twice each on 3000 rows, and
// checks their counts, which of them kept an undo log, their runs, and the
// undo cost checks. It asserts no timing.
func TestUndoModes(t *testing.T) {
	t.Parallel()
	const n = 3000
	var stdout, stderr bytes.Buffer
	code := run([]string{"-rows", "3000", "-dir", t.TempDir(), "-only", "memory,sqlite", "-undo", "-repeat", "2", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	var out output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if out.ChangedFile == "" {
		t.Error("no changed file in the output")
	}
	var modes []string
	for _, m := range out.Modes {
		modes = append(modes, m.Mode)
	}
	want := []string{"memory", "memory-noundo", "sqlite", "sqlite-noundo", "sqlite-reimport", "sqlite-reimport-noundo"}
	if !slices.Equal(modes, want) {
		t.Fatalf("modes %q, want %q", modes, want)
	}
	_, sqliteUndoes := any((*sqlite.Store)(nil)).(sink.Undoer)
	g := out.Gen
	for _, m := range out.Modes {
		p := pipelines[m.Mode]
		if m.Failed != "" {
			t.Errorf("%s failed: %s", m.Mode, m.Failed)
			continue
		}
		if m.Rows != n || m.Seconds <= 0 || m.CPUSeconds <= 0 {
			t.Errorf("%s: rows %d, seconds %g, CPU seconds %g", m.Mode, m.Rows, m.Seconds, m.CPUSeconds)
		}
		if len(m.Runs) != 2 || min(m.Runs[0].Seconds, m.Runs[1].Seconds) != m.Seconds || leastCPU(m) <= 0 || leastCPU(m) > m.CPUSeconds {
			t.Errorf("%s: runs %+v; kept %g s, %g CPU s, least CPU %g s", m.Mode, m.Runs, m.Seconds, m.CPUSeconds, leastCPU(m))
		}
		if m.Rejected != 0 || m.Stored != int64(g.Distinct) {
			t.Errorf("%s: rejected %d (%v %q), stored %d; the file has %d distinct emails", m.Mode, m.Rejected, m.Reasons, m.Errors, m.Stored, g.Distinct)
		}
		if p.reimport {
			if m.Created != 0 || m.Updated != n || m.Unchanged != 0 {
				t.Errorf("%s: created %d, updated %d, unchanged %d; want every one of the %d rows to update its record", m.Mode, m.Created, m.Updated, m.Unchanged, n)
			}
			if m.SetupSeconds <= 0 || m.SetupCPUSeconds <= 0 {
				t.Errorf("%s: base import took %g s, %g CPU s", m.Mode, m.SetupSeconds, m.SetupCPUSeconds)
			}
		} else if m.Created != int64(g.Distinct) || m.Updated+m.Unchanged != int64(g.Duplicates) {
			t.Errorf("%s: created %d, updated %d, unchanged %d; the file has %d distinct emails and %d duplicates",
				m.Mode, m.Created, m.Updated, m.Unchanged, g.Distinct, g.Duplicates)
		}
		wantLog := !p.noUndo && (p.store == "memory" || sqliteUndoes)
		if m.UndoLog != wantLog || !m.UndoLog && m.UndoReason == "" {
			t.Errorf("%s: undo log kept %v (%q), want %v", m.Mode, m.UndoLog, m.UndoReason, wantLog)
		}
		if p.store == "memory" && m.BytesPerContact <= 0 {
			t.Errorf("%s: %g bytes per contact", m.Mode, m.BytesPerContact)
		}
	}
	var costs []string
	for _, c := range out.Checks {
		if c.Undo == nil {
			continue
		}
		costs = append(costs, c.Undo.On+" vs "+c.Undo.Off)
		if c.Undo.Logged != (c.Undo.On == "memory" || sqliteUndoes) || c.Detail == "" {
			t.Errorf("check %q: %+v, detail %q", c.Name, *c.Undo, c.Detail)
		}
	}
	if want := []string{"memory vs memory-noundo", "sqlite vs sqlite-noundo", "sqlite-reimport vs sqlite-reimport-noundo"}; !slices.Equal(costs, want) {
		t.Errorf("undo cost checks %q, want %q", costs, want)
	}
}

// TestCountProblem: a pipeline mode whose counts differ from what the file
// gives is reported, and one that matches is not.
func TestCountProblem(t *testing.T) {
	t.Parallel()
	g := genStats{Rows: 100, Duplicates: 5, Distinct: 95}
	mode := func(name string, created, updated, unchanged, stored int64) *modeResult {
		return &modeResult{Figures: &Figures{Mode: name, Rows: 100, Created: created, Updated: updated, Unchanged: unchanged, Stored: stored}}
	}
	for _, c := range []struct {
		m    *modeResult
		fine bool
	}{
		{mode("sqlite", 95, 4, 1, 95), true},
		{mode("memory-noundo", 95, 5, 0, 95), true},
		{mode("sqlite", 100, 0, 0, 100), false},
		{mode("memory", 95, 5, 0, 94), false},
		{mode("sqlite-reimport", 0, 100, 0, 95), true},
		{mode("sqlite-reimport-noundo", 0, 95, 5, 95), false},
		{mode("sqlite-reimport", 5, 95, 0, 100), false},
		{mode("csv", 0, 0, 0, 0), true},
	} {
		if p := countProblem(c.m, g); (p == "") != c.fine {
			t.Errorf("%s created %d, updated %d, unchanged %d, stored %d: problem %q, want one: %v",
				c.m.Mode, c.m.Created, c.m.Updated, c.m.Unchanged, c.m.Stored, p, !c.fine)
		}
	}
}

func TestParseModes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		only string
		undo bool
		want []string
	}{
		{"csv,memory,sqlite,sqlite3", false, []string{"csv", "memory", "sqlite", "sqlite3"}},
		{"csv,memory,sqlite,sqlite3", true, []string{"csv", "memory", "memory-noundo", "sqlite", "sqlite-noundo", "sqlite-reimport", "sqlite-reimport-noundo", "sqlite3"}},
		{"csv", true, []string{"csv", "memory-noundo", "sqlite-noundo", "sqlite-reimport", "sqlite-reimport-noundo"}},
		{"sqlite-reimport-noundo, sqlite,sqlite", true, []string{"sqlite-reimport-noundo", "sqlite", "sqlite-noundo", "sqlite-reimport", "memory-noundo"}},
	} {
		got, err := parseModes(c.only, c.undo)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("parseModes(%q, %v) = %q, %v; want %q", c.only, c.undo, got, err, c.want)
		}
	}
}

// TestTable checks the human-readable output of a run of one mode.
func TestTable(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-rows", "300", "-dir", t.TempDir(), "-only", "csv"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	for _, want := range []string{"rows/s", "peak RSS MiB", "csv", "300"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-only", "csv,bogus"}, {"-only", "memory-reimport"}, {"-rows", "0"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
	}
}

package importer

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakehq/intake"
)

// WriteText writes the report as a short table for people: the counts, the
// encoding and delimiter the source read (with the reason of a choice that
// was not the default, Report.Source), the skip and rejection reasons, the
// links (Report.Links: "link FIELD") and their targets per object type
// (Report.Objects: "OBJECT (linked)"), the columns not imported
// (SourceInfo.Ignored: "ignored columns", with a hint, and
// SourceInfo.Skipped: "skipped columns"), the first rejected rows, and the
// first cells left empty (Report.Warnings; their number is the "warned"
// line).
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	status := string(r.Status)
	if r.DryRun {
		status += " (dry run: nothing was written)"
	}
	rows := [][2]string{
		{"status", status},
		{"rows", group(r.Rows)},
		{"created", group(r.Created)},
		{"updated", group(r.Updated)},
		{"unchanged", group(r.Unchanged)},
		{"skipped", group(r.Skipped)},
		{"opted out", group(r.OptedOut)},
		{"rejected", group(r.Rejected)},
	}
	if r.Warned > 0 {
		rows = append(rows, [2]string{"warned", group(r.Warned) + ` cells left empty ("invalid": "empty")`})
	}
	for _, c := range [...]struct {
		name string
		n    int64
	}{{"inactivated", r.Inactivated}, {"deleted", r.Deleted}, {"anonymized", r.Anonymized}, {"consent kept", r.ConsentKept}, {"concurrent", r.Concurrent}} {
		if c.n > 0 {
			rows = append(rows, [2]string{c.name, group(c.n)})
		}
	}
	rows = append(rows, [2]string{"took", r.Duration().Round(time.Millisecond).String()})
	rows = append(rows, r.undoRows()...)
	rows = append(rows, r.Source.textRows()...)
	for _, kv := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
	}
	if len(r.Reasons) > 0 {
		codes := make([]intake.Code, 0, len(r.Reasons))
		for c := range r.Reasons {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = string(c) + " " + group(r.Reasons[c])
		}
		fmt.Fprintf(tw, "  reasons\t%s\n", strings.Join(parts, ", "))
	}
	links := make([]string, 0, len(r.Links))
	for name := range r.Links {
		links = append(links, name)
	}
	sort.Strings(links)
	for _, name := range links {
		c := r.Links[name]
		parts := []string{"found " + group(c.Found)}
		for _, p := range []struct {
			what string
			n    int64
		}{{"created", c.Created}, {"updated", c.Updated}, {"left empty", c.Empty}, {"skipped", c.Skipped}, {"rejected", c.Rejected}} {
			if p.n > 0 {
				parts = append(parts, p.what+" "+group(p.n))
			}
		}
		fmt.Fprintf(tw, "  link %s\t%s\n", name, strings.Join(parts, ", "))
	}
	objects := make([]string, 0, len(r.Objects))
	for name := range r.Objects {
		objects = append(objects, name)
	}
	sort.Strings(objects)
	for _, name := range objects {
		c := r.Objects[name]
		// Created counts records, updated and unchanged references
		// (ObjectCounts): "records" would say otherwise.
		fmt.Fprintf(tw, "  %s (linked)\tcreated %s, updated %s, unchanged %s\n", name, group(c.Created), group(c.Updated), group(c.Unchanged))
	}
	r.Source.writeColumns(tw)
	if r.Error != "" {
		fmt.Fprintf(tw, "  error\t%s\n", r.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Explain) > 0 {
		fmt.Fprintf(w, "  decisions (first %d rows):\n", len(r.Explain))
		for _, x := range r.Explain {
			line := fmt.Sprintf("    line %d: %s", x.Line, x.Decision)
			if x.Code != "" {
				line += " (" + string(x.Code) + ")"
			}
			if x.Rule != "" {
				line += fmt.Sprintf(" by %s %q", x.Rule, x.Key)
			}
			if len(x.Records) > 0 {
				line += " → " + strings.Join(x.Records, ", ")
			}
			fmt.Fprintln(w, line)
			for _, c := range x.Changes {
				fmt.Fprintf(w, "      %s: %q → %q\n", c.Field, c.Old, c.New)
			}
			if x.Message != "" {
				fmt.Fprintf(w, "      %s\n", x.Message)
			}
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "  rejected rows (%d of %s):\n", len(r.Errors), group(r.Rejected))
		if err := writeRowErrors(w, r.Errors); err != nil {
			return err
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "  cells left empty (%d of %s):\n", len(r.Warnings), group(r.Warned))
		if err := writeRowErrors(w, r.Warnings); err != nil {
			return err
		}
	}
	return nil
}

// writeRowErrors writes a table of row errors: line, column, code and
// message.
func writeRowErrors(w io.Writer, errs []*intake.RowError) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range errs {
		col := e.Column
		if col != "" {
			col = strconv.Quote(col)
		}
		fmt.Fprintf(tw, "    line %d\t%s\t%s\t%s\n", e.Line, col, e.Code, e.Message)
	}
	return tw.Flush()
}

// maxNames is the most column names a line of the text report lists.
const maxNames = 10

// names lists column names for the text report, quoted, the first
// maxNames of them.
func names(list []string) string {
	quoted := make([]string, 0, min(len(list), maxNames))
	for _, n := range list[:min(len(list), maxNames)] {
		quoted = append(quoted, strconv.Quote(n))
	}
	s := strings.Join(quoted, ", ")
	if len(list) > maxNames {
		s += fmt.Sprintf(" and %d more", len(list)-maxNames)
	}
	return s
}

// writeColumns writes the lines of the columns not imported: those no
// field takes, with a hint, and those the mapping spec skips.
func (s *SourceInfo) writeColumns(w io.Writer) {
	if ignored := s.unskipped(); len(ignored) > 0 {
		fmt.Fprintf(w, "  ignored columns\t%s: not imported, no field takes them (map them with a mapping spec, -mapping; \"intake map suggest FILE\" writes one to edit)\n", names(ignored))
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(w, "  skipped columns\t%s: not imported, the mapping spec skips them\n", names(s.Skipped))
	}
}

// unskipped returns the ignored columns that the mapping spec does not
// skip on purpose.
func (s *SourceInfo) unskipped() []string {
	if len(s.Skipped) == 0 {
		return s.Ignored
	}
	left := map[string]int{}
	for _, n := range s.Skipped {
		left[n]++
	}
	var out []string
	for _, n := range s.Ignored {
		if left[n] > 0 {
			left[n]--
			continue
		}
		out = append(out, n)
	}
	return out
}

// group formats n with thousands separators: 1234567 → "1,234,567".
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// textRows are the encoding and delimiter lines of the text report, each
// with its reason in parentheses; none for a source that reports neither.
func (s *SourceInfo) textRows() [][2]string {
	var rows [][2]string
	for _, c := range [...]struct{ name, value, reason string }{
		{"encoding", s.Encoding, s.EncodingReason},
		{"delimiter", s.Delimiter, s.DelimiterReason},
	} {
		if c.value == "" {
			continue
		}
		v := c.value
		if c.reason != "" {
			v += " (" + c.reason + ")"
		}
		rows = append(rows, [2]string{c.name, v})
	}
	return rows
}

// undoRows are the report's run id and whether the run can be undone
// (none for a dry run).
func (r *Report) undoRows() [][2]string {
	if r.DryRun || r.RunID == "" {
		return nil
	}
	undo := "kept: the run can be undone"
	if !r.Undoable {
		undo = "cannot be undone: " + r.UndoReason
	}
	return [][2]string{{"run id", r.RunID}, {"undo", undo}}
}

// WriteText writes the undo's report as aligned "name  value" lines, then
// the records in conflict with their fields (before, the run's value, now).
func (r *UndoReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	status := string(r.Status)
	if r.DryRun {
		status += " (dry run: nothing was written)"
	}
	rows := [][2]string{
		{"status", status},
		{"undoes", r.Undoes},
		{"changes", group(r.Rows)},
		{"reverted", group(r.Reverted) + " created records removed"},
		{"restored", group(r.Restored)},
		{"unchanged", group(r.Unchanged)},
		{"conflicts", group(r.Conflicted)},
	}
	if r.Forced > 0 {
		rows = append(rows, [2]string{"forced", group(r.Forced)})
	}
	rows = append(rows, [2]string{"took", r.Finished.Sub(r.Started).Round(time.Millisecond).String()}, [2]string{"run id", r.RunID})
	if r.State != "" {
		rows = append(rows, [2]string{"state", string(r.State)})
	}
	if r.Error != "" {
		rows = append(rows, [2]string{"error", r.Error})
	}
	for _, kv := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
	}
	for _, c := range r.Conflicts {
		what := c.Reason
		if c.Forced {
			what += " (forced)"
		}
		fmt.Fprintf(tw, "  conflict\t%s %s (line %d): %s\n", c.Object, c.ID, c.Line, what)
		for _, f := range c.Fields {
			fmt.Fprintf(tw, "  \t  %s: before %s, the run wrote %s, now %s\n", f.Name, textValue(f.Before), textValue(f.RunWrote), textValue(f.Now))
		}
	}
	if r.ConflictsTruncated {
		fmt.Fprintf(tw, "  \t… and more (%s changes in conflict)\n", group(r.Conflicted))
	}
	return tw.Flush()
}

func textValue(v intake.Value) string {
	if v.IsNull() {
		return "(empty)"
	}
	return strconv.Quote(v.String())
}

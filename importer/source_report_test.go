package importer_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMostlyUTF8FileImport: a UTF-8 file with one invalid byte keeps its
// names intact in the store, rejects the row of that byte, and the report
// says that it was read as UTF-8 and why.
func TestMostlyUTF8FileImport(t *testing.T) {
	t.Parallel()
	const file = "email,first_name,city\na@x.com,J\xc3\xb6rg,K\xc3\xb6ln\nb@x.com,Ann,Bad\xffByte\n"
	s := memory.New(memory.Config{})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", file)})
	assert.Equal(t, importer.StatusSucceeded, rep.Status)
	assert.EqualValues(t, 2, rep.Rows)
	assert.EqualValues(t, 1, rep.Created)
	assert.EqualValues(t, 1, rep.Rejected)
	assert.Equal(t, map[intake.Code]int64{intake.CodeInvalidEncoding: 1}, rep.Reasons)
	require.Len(t, rep.Errors, 1)
	e := rep.Errors[0]
	assert.Equal(t, 3, e.Line)
	assert.Equal(t, "city", e.Column)
	assert.Equal(t, intake.CodeInvalidEncoding, e.Code)
	assert.Equal(t, "f.csv", e.File)

	got := all(t, s)
	require.Len(t, got, 1)
	assert.Equal(t, "Jörg", got["a@x.com"].Get("first_name").Str())
	assert.Equal(t, "Köln", got["a@x.com"].Get("city").Str())

	assert.Equal(t, "csv", rep.Source.Format)
	assert.Equal(t, "utf-8", rep.Source.Encoding)
	assert.Equal(t, "2 UTF-8 characters and 1 byte that is not UTF-8 in the file: read as UTF-8; rows holding such bytes are rejected (invalid_encoding)", rep.Source.EncodingReason)
	assert.Equal(t, "comma", rep.Source.Delimiter)
	assert.Empty(t, rep.Source.DelimiterReason, "a comma found in the first row is the default")

	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var out struct {
		Source map[string]any `json:"source"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, "csv", out.Source["format"])
	assert.Equal(t, "utf-8", out.Source["encoding"])
	assert.Equal(t, rep.Source.EncodingReason, out.Source["encoding_reason"])
	assert.Equal(t, "comma", out.Source["delimiter"])
	assert.NotContains(t, out.Source, "delimiter_reason")
}

// TestLegacyFileReport: a semicolon-separated Windows-1252 export is read
// as such, and the JSON and text reports say both choices with their reasons.
func TestLegacyFileReport(t *testing.T) {
	t.Parallel()
	file := "email;first_name;city\n" + strings.Repeat("j\xfcrgen@x.de;J\xfcrgen;K\xf6ln\n", 3)
	s := memory.New(memory.Config{})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "legacy.csv", file)})
	assert.EqualValues(t, 1, rep.Created)
	assert.EqualValues(t, 2, rep.Unchanged)
	assert.Equal(t, "Köln", all(t, s)["jürgen@x.de"].Get("city").Str())
	want := importer.SourceInfo{
		Name: "legacy.csv", Format: "csv",
		Encoding:        "windows-1252",
		EncodingReason:  "9 bytes that are not UTF-8 in the file and no UTF-8 character: read as Windows-1252",
		Delimiter:       "semicolon",
		DelimiterReason: "2 in the first row, and as many in 4 of the 4 rows read",
		Header:          rep.Source.Header,
		Mapping:         rep.Source.Mapping,
	}
	assert.Equal(t, want, rep.Source)

	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), "  encoding   windows-1252 (9 bytes that are not UTF-8 in the file and no UTF-8 character: read as Windows-1252)\n")
	assert.Contains(t, text.String(), "  delimiter  semicolon (2 in the first row, and as many in 4 of the 4 rows read)\n")
}

// bareSource is a Source with no optional capability.
type bareSource struct{ done bool }

func (b *bareSource) Header(context.Context) ([]string, error) { return []string{"email"}, nil }
func (b *bareSource) Close() error                             { return nil }
func (b *bareSource) Read(context.Context) (intake.Row, error) {
	if b.done {
		return intake.Row{}, io.EOF
	}
	b.done = true
	return intake.Row{Line: 2, Cells: []string{"a@x.com"}}, nil
}

// TestSourceWithoutDescriber: a source that does not describe its dialect
// leaves format, encoding and delimiter empty, in JSON and in text.
func TestSourceWithoutDescriber(t *testing.T) {
	t.Parallel()
	var _ connector.Source = (*bareSource)(nil)
	rep := runJob(t, importer.Config{Sink: memory.New(memory.Config{})}, importer.Job{Source: &bareSource{}})
	assert.EqualValues(t, 1, rep.Created)
	assert.Empty(t, rep.Source.Format)
	assert.Empty(t, rep.Source.Encoding)
	assert.Empty(t, rep.Source.Delimiter)
	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.NotContains(t, text.String(), "encoding")
	assert.NotContains(t, text.String(), "delimiter")
}

package undolog

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

func TestRoundTrip(t *testing.T) {
	tv, _ := intake.TimeOfDay(12, 30, 5, 7)
	entries := []sink.UndoEntry{
		{Kind: sink.UndoCreate, Object: "contact", ID: "c1", Line: 2, Digest: 0xfeedfacecafebeef},
		{Kind: sink.UndoUpdate, Object: "contact", ID: "c2", Line: 3, OptedOut: sink.FlagChange{Changed: true},
			Fields: []sink.FieldChange{
				{Name: "email", Before: intake.Text("a@x.com"), After: intake.Text("b@x.com")},
				{Name: "born", Before: intake.Null, After: intake.Date(1971, 5, 24)},
				{Name: "tags", Before: intake.List("a", "b"), After: intake.List("c")},
				{Name: "at", Before: intake.Timestamp(time.Unix(1700000000, 123000)), After: tv},
				{Name: "vip", Before: intake.Bool(true), After: intake.Bool(false)},
			}},
		{Kind: sink.UndoDelete, Object: "account", ID: "a1", Inactive: sink.FlagChange{Changed: true, Before: true},
			OptedOut: sink.FlagChange{Changed: true, Before: false},
			Fields:   []sink.FieldChange{{Name: "name", Before: intake.Text("Acme")}}},
	}
	var w Writer
	for i := range entries {
		w.Add(&entries[i])
	}
	w.Create("contact", "c3", 9, 42)
	w.Create("contact", "01a2531e-43ce-7ea0-9cc0-fc7712d970af", 11, 43)
	w.Create("account", "01A2531E-43CE-7EA0-9CC0-FC7712D970AF", 12, 44)
	at := w.CreateLater("contact", "c5", 11)
	w.Begin(sink.UndoUpdate, "contact", "c4", 10, sink.FlagChange{}, sink.FlagChange{Changed: true}, 1)
	w.Field("city", intake.Text(""), intake.Text("Paris"))
	w.SetDigest(at, 0x0123456789abcdef)
	want := append(entries,
		sink.UndoEntry{Kind: sink.UndoCreate, Object: "contact", ID: "c3", Line: 9, Digest: 42},
		sink.UndoEntry{Kind: sink.UndoCreate, Object: "contact", ID: "01a2531e-43ce-7ea0-9cc0-fc7712d970af", Line: 11, Digest: 43},
		sink.UndoEntry{Kind: sink.UndoCreate, Object: "account", ID: "01A2531E-43CE-7EA0-9CC0-FC7712D970AF", Line: 12, Digest: 44},
		sink.UndoEntry{Kind: sink.UndoCreate, Object: "contact", ID: "c5", Line: 11, Digest: 0x0123456789abcdef},
		sink.UndoEntry{Kind: sink.UndoUpdate, Object: "contact", ID: "c4", Line: 10, Inactive: sink.FlagChange{Changed: true},
			Fields: []sink.FieldChange{{Name: "city", Before: intake.Text(""), After: intake.Text("Paris")}}})
	if w.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", w.Len(), len(want))
	}
	got, err := Decode(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// Every truncation is an error, never a panic.
	b := w.Bytes()
	for n := 0; n < len(b); n++ {
		if _, err := Decode(b[:n]); n > 1 && !errors.Is(err, ErrCorrupt) {
			// A cut between two entries decodes the entries before it.
			if got, _ := Decode(b[:n]); len(got) == 0 || len(got) >= len(want) {
				t.Fatalf("Decode of %d of %d bytes: %v", n, len(b), err)
			}
		}
	}
	w.Reset()
	if got, err := Decode(w.Bytes()); err != nil || len(got) != 0 {
		t.Fatalf("empty log: %v %v", got, err)
	}
}

func FuzzDecode(f *testing.F) {
	var w Writer
	w.Create("contact", "c1", 1, 7)
	w.Begin(sink.UndoUpdate, "contact", "c2", 2, sink.FlagChange{Changed: true}, sink.FlagChange{}, 1)
	w.Field("email", intake.Text("a"), intake.Null)
	f.Add(w.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			return
		}
		var w2 Writer
		for i := range got {
			w2.Add(&got[i])
		}
		again, err := Decode(w2.Bytes())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding a decoded log: %v", err)
		}
	})
}

// TestCreateSize: a create with a UUID id and a line above 16,383, after an
// entry of the same object, takes 32 bytes.
func TestCreateSize(t *testing.T) {
	var w Writer
	w.Create("contact", "01a2531e-43ce-7ea0-9cc0-fc7712d970af", 2, 1)
	n := len(w.Bytes())
	w.Create("contact", "01a2531e-43ce-7ea0-9cc0-fc7712d970b0", 300000, 2)
	if got := len(w.Bytes()) - n; got != 32 {
		t.Fatalf("a create takes %d bytes, want 32", got)
	}
}

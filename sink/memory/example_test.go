package memory_test

import (
	"context"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
)

// contacts returns create ops for two contacts.
func contacts() []*sink.Op {
	s := intake.ContactSchema()
	var ops []*sink.Op
	for i, email := range []string{"ada@example.com", "grace@example.com"} {
		r := intake.NewRecord(s)
		r.ID = fmt.Sprintf("c-%d", i+1)
		r.Set("email", intake.Text(email))
		r.Set("country", intake.Text("GB"))
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
	}
	return ops
}

func ExampleNew() {
	ctx := context.Background()
	m := memory.New(memory.Config{})
	n, err := m.Write(ctx, contacts())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("written:", n)

	ids, _ := m.Lookup(ctx, intake.ContactSchema(), intake.Keys("email"), []intake.Key{"grace@example.com", "nobody@example.com"})
	fmt.Println("grace:", ids["grace@example.com"], "nobody:", ids["nobody@example.com"])

	// Update Grace's country; a second identical update changes nothing.
	upd := intake.NewRecord(intake.ContactSchema())
	upd.ID = "c-2"
	upd.Set("country", intake.Text("US"))
	batch := []*sink.Op{{Kind: sink.OpUpdate, Record: upd}, {Kind: sink.OpUpdate, Record: upd}}
	if _, err := m.Write(ctx, batch); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(batch[0].Outcome, batch[1].Outcome)
	recs, _ := m.Get(ctx, intake.ContactSchema(), []string{"c-2"})
	fmt.Println(recs["c-2"].Get("email"), recs["c-2"].Get("country"))
	// Output:
	// written: 2
	// grace: [c-2] nobody: []
	// updated unchanged
	// grace@example.com US
}

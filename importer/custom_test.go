package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/export"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ticketSchema is a host-defined object type related to contacts: a
// ticket's contact_email links to the contact with that email.
var ticketSchema = intake.MustSchema("ticket",
	intake.Field{Name: "ticket_no", Type: intake.TypeID, Label: "Ticket"},
	intake.Field{Name: "subject", Type: intake.TypeText},
	intake.Field{Name: "status", Type: intake.TypeSelect, Options: []string{"open", "pending", "closed"}},
	intake.Field{Name: "opened_at", Type: intake.TypeTimestamp},
	intake.Field{Name: "contact_email", Type: intake.TypeEmail},
)

// orderLineSchema is a host-defined object type related to nothing, whose
// key is composite: order_no and line_no together.
var orderLineSchema = intake.MustSchema("order_line",
	intake.Field{Name: "order_no", Type: intake.TypeID},
	intake.Field{Name: "line_no", Type: intake.TypeID},
	intake.Field{Name: "sku", Type: intake.TypeText},
	intake.Field{Name: "qty", Type: intake.TypeDecimal},
)

const (
	customContacts = "email,first_name\nkim@x.example,Kim\nlee@x.example,Lee\n"
	ticketsFile    = "ticket_no,subject,status,opened_at,contact_email\n" +
		"T-1,Login fails,open,2026-03-01T10:00:00Z,KIM@x.example\n" +
		"T-2,Invoice copy,pending,2026-03-02T11:00:00Z,lee@x.example\n" +
		"T-3,Refund,open,2026-03-03T12:00:00Z,ghost@x.example\n" + // unknown contact: rejected
		"T-4,No contact,closed,2026-03-04T13:00:00Z,\n" + // no reference: no link
		"T-5,Bad status,solved,2026-03-05T14:00:00Z,kim@x.example\n" // not an option: rejected
	ticketsUpdate = "ticket_no,subject,status,opened_at,contact_email\n" +
		"T-1,Login fails,closed,2026-03-01T10:00:00Z,kim@x.example\n" + // status changed
		"T-2,Invoice copy,pending,2026-03-02T11:00:00Z,lee@x.example\n" + // as stored
		"T-6,New one,open,2026-03-06T09:00:00Z,lee@x.example\n"
	orderLinesFile = "order_no,line_no,sku,qty\n" +
		"O-1,1,SKU-A,2\n" +
		"O-1,2,SKU-B,1\n" +
		"O-2,1,SKU-A,5\n" +
		",,SKU-C,1\n" // no key at all: rejected
	orderLinesUpdate = "order_no,line_no,sku,qty\n" +
		"O-1,1,SKU-A,3\n" + // qty changed
		"O-1,2,SKU-B,1\n" +
		"O-2,1,SKU-A,5\n" +
		"O-1,3,SKU-D,1\n" // new line of an existing order
)

func ticketJob(t *testing.T, data string) importer.Job {
	return importer.Job{
		Source:   csvSource(t, "tickets.csv", data),
		Schema:   ticketSchema,
		Identity: importer.SyncOn("ticket_no"),
		Links: []importer.Link{{Field: "contact_email", Object: intake.ObjectContact, Key: intake.Keys("email"),
			IDField: "contact_record_id"}},
	}
}

func orderLineJob(t *testing.T, data string) importer.Job {
	return importer.Job{Source: csvSource(t, "lines.csv", data), Schema: orderLineSchema, Identity: importer.SyncOn("order_no", "line_no")}
}

// TestCustomObjects imports two host-defined object types next to the
// contacts on every store: tickets keyed by ticket_no and linked to their
// contact by email, order lines keyed by order_no+line_no and related to
// nothing. Each is created, re-imported unchanged, updated, scanned and
// exported, and the types do not see each other's records.
func TestCustomObjects(t *testing.T) {
	t.Parallel()
	for name, s := range objectStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := importer.Config{Sink: s, BatchSize: 2}
			rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "contacts.csv", customContacts)})
			require.EqualValues(t, 2, rep.Created)
			contacts := scanObject(t, s, intake.ContactSchema(), "email")

			// Tickets: created, linked to their contact.
			rep = runJob(t, cfg, ticketJob(t, ticketsFile))
			assert.EqualValues(t, 3, rep.Created)
			assert.EqualValues(t, 2, rep.Rejected)
			assert.EqualValues(t, map[intake.Code]int64{intake.CodeUnknownLink: 1, "invalid_select": 1}, rep.Reasons)
			assert.Equal(t, &importer.LinkCounts{Found: 2, Rejected: 1}, rep.Links["contact_email"])
			for _, e := range rep.Errors {
				switch e.Code {
				case intake.CodeUnknownLink:
					assert.Equal(t, 4, e.Line)
					assert.Equal(t, "contact_email", e.Field)
				default:
					assert.Equal(t, 6, e.Line)
					assert.Equal(t, "status", e.Field)
				}
			}
			linked := intake.MustSchema("ticket", append(ticketSchema.Fields(), intake.Field{Name: "contact_record_id", Type: intake.TypeID, Ref: intake.ObjectContact})...)
			stored, err := s.(sink.SchemaReader).Schema(ctx, "ticket")
			require.NoError(t, err)
			require.NotNil(t, stored, "the store knows the custom type")
			assert.Equal(t, linked.Names(), stored.Names())
			assert.Equal(t, intake.ObjectContact, stored.Field(stored.Index("contact_record_id")).Ref)

			tickets := scanObject(t, s, linked, "ticket_no")
			require.Len(t, tickets, 3)
			assert.Equal(t, contacts["kim@x.example"].ID, tickets["T-1"].Get("contact_record_id").String(), "T-1 belongs to Kim, found by email whatever its case")
			assert.Equal(t, "kim@x.example", tickets["T-1"].Get("contact_email").String())
			assert.Equal(t, contacts["lee@x.example"].ID, tickets["T-2"].Get("contact_record_id").String())
			assert.True(t, tickets["T-4"].Get("contact_record_id").IsNull(), "no reference, no link")
			assert.Equal(t, "closed", tickets["T-4"].Get("status").String())

			// The same file again: nothing changes.
			rep = runJob(t, cfg, ticketJob(t, ticketsFile))
			assert.EqualValues(t, 0, rep.Created)
			assert.EqualValues(t, 3, rep.Unchanged)
			assert.EqualValues(t, 2, rep.Rejected)

			// An update: one changed, one unchanged, one new.
			rep = runJob(t, cfg, ticketJob(t, ticketsUpdate))
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 1, rep.Unchanged)
			assert.EqualValues(t, 1, rep.Created)
			after := scanObject(t, s, linked, "ticket_no")
			require.Len(t, after, 4)
			assert.Equal(t, "closed", after["T-1"].Get("status").String())
			assert.Equal(t, tickets["T-1"].ID, after["T-1"].ID, "an update keeps the record id")
			assert.Equal(t, contacts["lee@x.example"].ID, after["T-6"].Get("contact_record_id").String())

			// Order lines: a composite key, no links.
			rep = runJob(t, cfg, orderLineJob(t, orderLinesFile))
			assert.EqualValues(t, 3, rep.Created)
			assert.EqualValues(t, map[intake.Code]int64{intake.CodeMissingKey: 1}, rep.Reasons, "a row without its key is rejected")
			rep = runJob(t, cfg, orderLineJob(t, orderLinesFile))
			assert.EqualValues(t, 3, rep.Unchanged)
			rep = runJob(t, cfg, orderLineJob(t, orderLinesUpdate))
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 2, rep.Unchanged)
			assert.EqualValues(t, 1, rep.Created, "O-1/3 is a new line: both key fields must match")
			lines := map[string]*intake.Record{}
			require.NoError(t, s.Scan(ctx, orderLineSchema, func(r *intake.Record) error {
				lines[r.Get("order_no").String()+"/"+r.Get("line_no").String()] = r.Clone()
				return nil
			}))
			require.Len(t, lines, 4)
			assert.Equal(t, "3", lines["O-1/1"].Get("qty").String())
			assert.Equal(t, "SKU-D", lines["O-1/3"].Get("sku").String())

			// Each type holds its own records.
			assert.Len(t, scanObject(t, s, intake.ContactSchema(), "email"), 2)
			for object, want := range map[string]int64{"ticket": 4, "order_line": 4, intake.ObjectContact: 2} {
				if c, ok := s.(sink.Counter); ok {
					n, err := c.Count(ctx, object)
					require.NoError(t, err)
					assert.Equal(t, want, n, object)
				}
			}

			// Export of each type, from the schema the store holds.
			var buf bytes.Buffer
			n, err := export.Export(ctx, &buf, export.FormatCSV, stored, s, export.Options{Fields: []string{"ticket_no", "status", "contact_email", "contact_record_id"}})
			require.NoError(t, err)
			assert.EqualValues(t, 4, n)
			rows, err := csv.NewReader(&buf).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 5)
			assert.Equal(t, []string{"ticket_no", "status", "contact_email", "contact_record_id", "opted_out"}, rows[0])
			assert.Equal(t, []string{"T-1", "closed", "kim@x.example", contacts["kim@x.example"].ID, "false"}, rows[1])

			lineSchema, err := s.(sink.SchemaReader).Schema(ctx, "order_line")
			require.NoError(t, err)
			buf.Reset()
			n, err = export.Export(ctx, &buf, export.FormatJSONL, lineSchema, s, export.Options{})
			require.NoError(t, err)
			assert.EqualValues(t, 4, n)
			first := map[string]any{}
			require.NoError(t, json.Unmarshal([]byte(strings.SplitN(buf.String(), "\n", 2)[0]), &first))
			assert.Equal(t, map[string]any{"order_no": "O-1", "line_no": "1", "sku": "SKU-A", "qty": "3", "opted_out": false}, first)
		})
	}
}

// TestCustomObjectTargets links contacts to a custom object (a contact's
// team) and creates stubs of it for unknown references; a link to a
// custom type needs its schema.
func TestCustomObjectTargets(t *testing.T) {
	t.Parallel()
	team := intake.MustSchema("team",
		intake.Field{Name: "team_code", Type: intake.TypeID},
		intake.Field{Name: "name", Type: intake.TypeText})
	for name, s := range objectStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := importer.Config{Sink: s}
			rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "teams.csv", "team_code,name\nRED,Red team\n"), Schema: team, Identity: importer.SyncOn("team_code")})
			require.EqualValues(t, 1, rep.Created)
			rep = runJob(t, cfg, importer.Job{
				Source: csvSource(t, "c.csv", "email,team_code\na@x.example,RED\nb@x.example,BLUE\nc@x.example,BLUE\n"),
				Links:  []importer.Link{{Field: "team_code", Object: "team", Schema: team, Missing: importer.MissingCreate}},
			})
			assert.EqualValues(t, 3, rep.Created)
			assert.Equal(t, &importer.LinkCounts{Found: 3, Created: 1}, rep.Links["team_code"])
			teams := scanObject(t, s, team, "team_code")
			require.Len(t, teams, 2)
			assert.True(t, teams["BLUE"].Get("name").IsNull(), "a stub holds only its key")
			schema := intake.MustSchema("contact", append(intake.ContactSchema().Fields(),
				intake.Field{Name: "team_code", Type: intake.TypeID}, intake.Field{Name: "team_record_id", Type: intake.TypeID})...)
			contacts := scanObject(t, s, schema, "email")
			assert.Equal(t, teams["RED"].ID, contacts["a@x.example"].Get("team_record_id").String())
			assert.Equal(t, teams["BLUE"].ID, contacts["b@x.example"].Get("team_record_id").String())
			assert.Equal(t, teams["BLUE"].ID, contacts["c@x.example"].Get("team_record_id").String(), "one stub per unknown key")
		})
	}
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{
		Source: csvSource(t, "c.csv", "email,team_code\na@x.example,RED\n"),
		Links:  []importer.Link{{Field: "team_code", Object: "team"}},
	})
	assert.ErrorContains(t, err, `object type "team" has no default schema: set its Schema`)
}

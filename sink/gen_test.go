package sink_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

var (
	genFirst  = []string{"Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karla", "Lukas", "Marie", "Noah", "Olivia", "Paul"}
	genLast   = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter"}
	genCities = []string{"Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig"}
	genDomain = []string{"example-mail.com", "mailbox.example.org", "web.example.de", "corp.example.net"}
)

// genContact fills rec (of the contact schema) with realistic values of
// contact i: about 130 bytes of text and a UUIDv7-shaped id that grows
// with i.
func genContact(rec *intake.Record, i int, r *rand.Rand) {
	rec.Reset(intake.ContactSchema())
	fn, ln := genFirst[r.IntN(len(genFirst))], genLast[r.IntN(len(genLast))]
	rec.ID = fmt.Sprintf("0190%04x-%04x-7%03x-8%03x-%012x", i>>16, i&0xffff, r.IntN(4096), r.IntN(4096), r.Int64N(1<<48))
	v := rec.Values
	v[0] = intake.Text(fmt.Sprintf("CRM-%08d", i))
	v[1] = intake.Text(strings.ToLower(fmt.Sprintf("%s.%s.%d@%s", fn, ln, i, genDomain[r.IntN(len(genDomain))])))
	v[2] = intake.Text(fmt.Sprintf("+4915%09d", r.IntN(1e9)))
	v[3] = intake.Text(fn)
	v[4] = intake.Text(ln)
	v[5] = intake.Date(1950+r.IntN(55), time.Month(1+r.IntN(12)), 1+r.IntN(28))
	v[6] = intake.Text("DE")
	v[7] = intake.Text(genCities[r.IntN(len(genCities))])
	v[8], _ = intake.DecimalString(fmt.Sprintf("%d.%d", r.IntN(10000), 1+r.IntN(9)))
}

package identity_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake/identity"
)

// FuzzParseConsent checks that ParseConsent returns a known status exactly
// when it says ok, "" only for a blank value, reads its own statuses back,
// and ignores case, surrounding blanks and the separators "-", "_", " ".
func FuzzParseConsent(f *testing.F) {
	for _, s := range []string{"opted_in", "OPTED-OUT", "Opted In", " yes ", "0", "n", "unsubscribed", "withdrawn", "unknown", "none",
		"", " - ", "maybe", "in-", "o_p_t_e_d_i_n", "\toptin\n", "İN", "ſubscribed", "\xff", "\u2003in\u2003"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, ok := identity.ParseConsent(s)
		switch st {
		case "", identity.ConsentOptedIn, identity.ConsentOptedOut, identity.ConsentUnknown:
		default:
			t.Fatalf("ParseConsent(%q) = %q, not a status", s, st)
		}
		if !ok {
			if st != "" {
				t.Fatalf("ParseConsent(%q) = %q but not ok", s, st)
			}
			return
		}
		if st == "" && strings.TrimFunc(s, func(r rune) bool { return r == '-' || r == '_' || unicode.IsSpace(r) }) != "" {
			t.Fatalf("ParseConsent(%q) = \"\", ok: a value that is not blank", s)
		}
		if st != "" {
			if back, ok := identity.ParseConsent(string(st)); !ok || back != st {
				t.Fatalf("ParseConsent(%q) = %q, which reads back as %q, %v", s, st, back, ok)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		if got, gok := identity.ParseConsent(" -\u00a0" + s + "_\t"); got != st || gok != ok {
			t.Fatalf("ParseConsent(%q) = %q, %v, but with blanks and separators around it %q, %v", s, st, ok, got, gok)
		}
		if up := strings.ToUpper(s); strings.ToLower(up) == strings.ToLower(s) {
			if got, gok := identity.ParseConsent(up); got != st || gok != ok {
				t.Fatalf("ParseConsent(%q) = %q, %v, but in upper case %q, %v", s, st, ok, got, gok)
			}
		}
	})
}

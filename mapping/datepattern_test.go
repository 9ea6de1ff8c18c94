package mapping_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/mapping"
)

func TestDatePattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, in, want, out string // want "" = not a date
	}{
		{"MM/dd/yyyy", "02/29/2024", "2024-02-29", "02/29/2024"},
		{"MM/dd/yyyy", "02/30/2024", "", ""},
		{"MM/dd/yyyy", "2/9/2024", "", ""},
		{"M/d/yyyy", "2/9/2024", "2024-02-09", "2/9/2024"},
		{"dd.MM.yy", "17.05.90", "1990-05-17", "17.05.90"},
		{"MMM d, yyyy", "May 17, 1990", "1990-05-17", "May 17, 1990"},
		{"yyyy-MM-dd", "1990-05-17 ", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.in, func(t *testing.T) {
			t.Parallel()
			p, err := mapping.CompileDatePattern(tc.pattern)
			require.NoError(t, err)
			assert.Equal(t, tc.pattern, p.String())
			v, ok := p.Parse(tc.in)
			assert.Equal(t, tc.want != "", ok)
			if !ok {
				return
			}
			assert.Equal(t, tc.want, v.Time().Format("2006-01-02"))
			assert.Equal(t, tc.out, p.Format(v.Time()))
		})
	}
	for _, bad := range []string{"", "MM/yyyy", "yyyy-MM-dd HH:mm", "dd.MM.yyyy q"} {
		_, err := mapping.CompileDatePattern(bad)
		assert.Error(t, err, bad)
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"LIST_INFO", "MAPPING", "COLUMNS"}
	assert.Equal(t, "MAPPING", mapping.Closest("MAPPNG", names, 0.8))
	assert.Equal(t, "", mapping.Closest("SYNC_FIELDS", names, 0.8))
	assert.Equal(t, "", mapping.Closest("x", nil, 0))
}

func ExampleDatePattern() {
	in, _ := mapping.CompileDatePattern("MM/dd/yyyy")
	out, _ := mapping.CompileDatePattern("dd.MM.yyyy")
	v, ok := in.Parse("05/17/1990")
	fmt.Println(ok, out.Format(v.Time()))
	_, ok = in.Parse("17/05/1990")
	fmt.Println(ok)
	_, err := mapping.CompileDatePattern("MM/yyyy")
	fmt.Println(err)
	// Output:
	// true 17.05.1990
	// false
	// a date pattern needs a year (yyyy or yy), a month (M, MM, MMM or MMMM) and a day (d or dd)
}

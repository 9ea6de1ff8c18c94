package sink_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/sink"
)

func TestRecordErrorMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk full")
	for _, tc := range []struct {
		err  sink.RecordError
		want string
	}{
		{sink.RecordError{Object: "contact", ID: "c1", Line: 7, Err: cause}, "sink: contact record c1 (line 7): disk full"},
		{sink.RecordError{Object: "account", ID: "a1", Err: cause}, "sink: account record a1: disk full"},
		{sink.RecordError{ID: "x", Err: cause}, "sink: record x: disk full"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
		assert.True(t, errors.Is(&tc.err, tc.err.Err), "%s unwraps to its cause", tc.want)
	}
}

package main

import (
	"context"
	"strings"
	"testing"
)

func TestFast(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-fast", "-dir", t.TempDir()}, &out); err != nil {
		t.Fatal(err)
	}
	want := `job "contacts from the inbox": every 1m, first run 09:00:00
run at 09:00:00: succeeded, rows=2 created=2 updated=0 unchanged=0 rejected=0 
run at 09:01:00: succeeded, rows=3 created=1 updated=0 unchanged=2 rejected=0 
run at 09:02:00: skipped_unchanged, rows=0 created=0 updated=0 unchanged=0 rejected=0 
run at 09:03:00: succeeded, rows=4 created=1 updated=0 unchanged=3 rejected=0 
history:
  09:00:00  schedule  succeeded          rows=2 created=2
  09:01:00  schedule  succeeded          rows=3 created=1
  09:02:00  schedule  skipped_unchanged  rows=0 created=0
  09:03:00  schedule  succeeded          rows=4 created=1
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

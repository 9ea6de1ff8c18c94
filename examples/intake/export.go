package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/export"
)

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var storeURL, format, fields, object string
	var raw, withID bool
	fs := newFlagSet("export", "intake export [flags] OUT   (OUT - writes to stdout)", stderr)
	fs.StringVar(&storeURL, "store", "sqlite:intake.db", "the store: sqlite:PATH or memory:")
	fs.StringVar(&format, "format", "", "csv | jsonl | xlsx (default: from OUT's extension)")
	fs.StringVar(&fields, "fields", "", "comma-separated fields to export, in order (default: all)")
	fs.StringVar(&object, "object", "contact", "the object type to export")
	fs.BoolVar(&raw, "raw", false, "CSV: do not escape cells that a spreadsheet would run as formulas")
	fs.BoolVar(&withID, "id", false, "write each record's id first (column id): the id that -rules id(FIELD) and an Acoustic map's RECIPIENT_ID match")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("export needs exactly one OUT file (or - for stdout), got %d", len(pos))
	}
	out := pos[0]
	if format == "" {
		format = strings.TrimPrefix(filepath.Ext(out), ".")
		if out == "-" || format == "" {
			return usagef("cannot tell the format of %q: give -format csv, jsonl or xlsx", out)
		}
	}
	f, err := export.ParseFormat(format)
	if err != nil {
		return usagef("-format: %s", plainError(err))
	}
	var opt export.Options
	opt.Raw, opt.ID = raw, withID
	if fields != "" {
		for _, name := range strings.Split(fields, ",") {
			opt.Fields = append(opt.Fields, strings.TrimSpace(name))
		}
	}
	st, err := openStore(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.close()
	scanner, ok := st.sink.(sink.Scanner)
	if !ok {
		return fmt.Errorf("the store %s cannot list its records", storeURL)
	}
	schema, err := schemaFor(ctx, st.sink, object)
	if err != nil {
		return err
	}
	if err := export.CheckFields(schema, opt.Fields); err != nil { // before OUT is created
		return usagef("-fields: %s", plainError(err))
	}
	var w io.Writer = stdout
	var fh *os.File
	if out != "-" {
		if fh, err = os.Create(out); err != nil {
			return err
		}
		defer fh.Close()
		w = fh
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	n, err := export.Export(ctx, bw, f, schema, scanner, opt)
	if err == nil {
		err = bw.Flush()
	}
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	if out != "-" {
		fmt.Fprintf(stderr, "exported %s %s records to %s\n", grouped(n), object, out)
	}
	return nil
}

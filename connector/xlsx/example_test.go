package xlsx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/xlsx"
)

// writeWorkbook writes a small workbook like an Excel export: a title row,
// a header, a 13-digit number, a date, a boolean, a hidden sheet.
func writeWorkbook(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return err
	}
	rows := [][]any{
		{"Contacts export"},
		{},
		{"E-Mail", "Customer no", "Birthday", "VIP"},
		{"ann@example.com", 4930123456789, time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), true},
		{"bob@example.com", 4930987654321, time.Date(1985, 12, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for i, r := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle("Sheet1", "C4", "C5", date); err != nil {
		return err
	}
	if _, err := f.NewSheet("Lookup"); err != nil {
		return err
	}
	if err := f.SetSheetVisible("Lookup", false); err != nil {
		return err
	}
	return f.SaveAs(path)
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "contacts.xlsx")
	if err := writeWorkbook(path); err != nil {
		log.Fatal(err)
	}

	// The header is on row 3, below a title.
	src, err := xlsx.Open(path, xlsx.Config{HeaderRow: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	header, err := src.Header(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sheet %q, header %q\n", src.Sheet().Name, header)
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("row %d: %q\n", row.Line, row.Cells)
	}
	// Output:
	// sheet "Sheet1", header ["E-Mail" "Customer no" "Birthday" "VIP"]
	// row 4: ["ann@example.com" "4930123456789" "1990-05-17" "true"]
	// row 5: ["bob@example.com" "4930987654321" "1985-12-01" "false"]
}

// New reads a workbook held in memory, such as an upload.
func ExampleNew() {
	tenth := 0.1
	f := excelize.NewFile()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"email", "score"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"ann@example.com", tenth + 0.2}) // stored as 0.30000000000000004
	_ = f.SetSheetRow("Sheet1", "A3", &[]any{"bob@example.com", 4930987654321})
	var upload bytes.Buffer
	if err := f.Write(&upload); err != nil {
		log.Fatal(err)
	}
	f.Close()

	src, err := xlsx.New(bytes.NewReader(upload.Bytes()), int64(upload.Len()), xlsx.Config{Name: "upload.xlsx"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		fmt.Printf("%q %v\n", row.Cells, err)
	}
	// Output:
	// ["ann@example.com" "0.3"] <nil>
	// ["bob@example.com" "4930987654321"] <nil>
}

func ExampleListSheets() {
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "contacts.xlsx")
	if err := writeWorkbook(path); err != nil {
		log.Fatal(err)
	}
	sheets, err := xlsx.ListSheets(path, xlsx.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sheets {
		fmt.Printf("%d %s %s\n", s.Index, s.Name, s.State)
	}
	// Output:
	// 0 Sheet1 visible
	// 1 Lookup hidden
}

// Register makes a registry open workbooks: a job names a URL and a sheet,
// and Registry.OpenSource reads it like a CSV file.
func ExampleRegister() {
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := writeWorkbook(filepath.Join(dir, "contacts.xlsx")); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	if err := xlsx.Register(reg, xlsx.Config{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(reg.Formats())

	conn, p, err := reg.Open(ctx, "file:///contacts.xlsx")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.(io.Closer).Close()
	src, err := reg.OpenSource(ctx, conn, p, connector.SourceConfig{
		Workbook: connector.WorkbookOptions{HeaderRow: 3},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	header, _ := src.Header(ctx)
	fmt.Printf("%s %s: %q\n", src.Name(), src.Describe().Format, header)
	row, _ := src.Read(ctx)
	fmt.Printf("line %d: %q\n", row.Line, row.Cells)

	// Without Register, the same file is refused, and the error says why.
	plain := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	_, err = plain.OpenSource(ctx, conn, p, connector.SourceConfig{})
	fmt.Println(errors.Is(err, connector.ErrFormatNotRegistered))
	// Output:
	// [csv xlsx]
	// contacts.xlsx xlsx: ["E-Mail" "Customer no" "Birthday" "VIP"]
	// line 4: ["ann@example.com" "4930123456789" "1990-05-17" "true"]
	// true
}

package sqltable

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/shopspring/decimal"
)

// CheckMapping checks m, the mapping of object's host table, and sets its
// defaults: IDColumn "id", OrderColumn the IDColumn.
func CheckMapping(m *sink.TableMapping, object string) error {
	var errs []error
	if m.Table == "" {
		errs = append(errs, fmt.Errorf("sink: TableMapping of %q: empty Table", object))
	}
	if m.IDColumn == "" {
		m.IDColumn = "id"
	}
	if m.OrderColumn == "" {
		m.OrderColumn = m.IDColumn
	}
	return errors.Join(errs...)
}

// JSONValue converts a JSONB member into a value of kind k.
func JSONValue(k intake.Kind, raw []byte) (intake.Value, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return intake.Null, nil
	}
	bad := func() (intake.Value, error) {
		return intake.Null, fmt.Errorf("JSON %s is not a %s value", raw, k)
	}
	switch k {
	case intake.KindBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return bad()
		}
		return intake.Bool(b), nil
	case intake.KindList:
		var items []string
		if json.Unmarshal(raw, &items) != nil {
			return bad()
		}
		return intake.List(items...), nil
	case intake.KindDecimal:
		s := strings.Trim(string(raw), `"`)
		d, err := DecimalFromString(s)
		if err != nil {
			return bad()
		}
		return d, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return bad()
	}
	switch k {
	case intake.KindText:
		return intake.Text(s), nil
	case intake.KindDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return bad()
		}
		return intake.DateOf(d), nil
	case intake.KindTime:
		d, err := time.Parse("15:04:05.999999", s)
		if err != nil {
			return bad()
		}
		v, _ := intake.TimeOfDay(d.Hour(), d.Minute(), d.Second(), d.Nanosecond()/1000)
		return v, nil
	case intake.KindTimestamp:
		d, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return bad()
		}
		return intake.Timestamp(d), nil
	}
	return bad()
}

// DecimalFromString returns the decimal value of s.
func DecimalFromString(s string) (intake.Value, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return intake.Null, err
	}
	return intake.Decimal(d), nil
}

// QuoteLiteral quotes s as an SQL string literal.
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// Col is a stored field and its column, as a store keeps it in
// intake_schema's JSON.
type Col struct {
	intake.Field
	Column string `json:"column"`
}

// QuoteIdent quotes n as an SQL identifier.
func QuoteIdent(n string) string { return `"` + strings.ReplaceAll(n, `"`, `""`) + `"` }

// reservedColumns are the columns of a store's own table that a field
// column must not take.
var reservedColumns = map[string]bool{"id": true, "seq": true, "opted_out": true, "inactive": true, "created_at": true, "updated_at": true}

// FieldColumn returns the column of the field name: the name, or f_<name>
// for a name that a store's own column takes or that starts with "k_" or
// "f_".
func FieldColumn(name string) string {
	if reservedColumns[name] || strings.HasPrefix(name, "k_") || strings.HasPrefix(name, "f_") {
		return "f_" + name
	}
	return name
}

// KeyColumn returns the key column of a spec: k_ and the fields joined by
// "__", then the options: "__provider" (the email rules), "__md5", "__id".
func KeyColumn(spec intake.KeySpec) string {
	c := "k_" + strings.Join(spec.Fields, "__")
	if spec.EmailRules != intake.EmailExact {
		c += "__" + string(spec.EmailRules)
	}
	if spec.MD5 {
		c += "__md5"
	}
	if spec.RecordID {
		c += "__id"
	}
	return c
}

// KeyArg returns the column value of the key k: NULL when k is blank.
func KeyArg(k intake.Key) any {
	if k == "" {
		return nil
	}
	return string(k)
}

// Project copies the store-ordered values of src onto dst's schema.
func Project(dst *intake.Record, plan []int, src []intake.Value) {
	for i, j := range plan {
		dst.Values[i] = src[j]
	}
}

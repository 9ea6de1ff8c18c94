//go:build race

package export_test

// The race detector makes the XLSX memory test slow; 60k records still
// spill the sheet to excelize's temp file several times.
func init() { memTestRecords = 60_000 }

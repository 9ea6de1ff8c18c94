//go:build race

package export_test

// The race detector slows the 200k-record XLSX memory test about tenfold;
// 60k records still spill the sheet to excelize's temp file several times.
func init() { memTestRecords = 60_000 }

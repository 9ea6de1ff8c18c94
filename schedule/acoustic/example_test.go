package acoustic_test

import (
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/schedule/acoustic"
)

func ExampleLoadAcoustic() {
	const xmlMap = `<LIST_IMPORT>
  <LIST_INFO>
    <ACTION>ADD_AND_UPDATE</ACTION>
    <LIST_ID>85628</LIST_ID>
    <FILE_TYPE>1</FILE_TYPE>
    <HASHEADERS>true</HASHEADERS>
    <LIST_DATE_FORMAT>dd.mm.yyyy</LIST_DATE_FORMAT>
  </LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <COLUMNS>
    <COLUMN><NAME>Birthday</NAME><TYPE>3</TYPE></COLUMN>
    <COLUMN><NAME>Loyalty Tier</NAME><TYPE>6</TYPE>
      <SELECTION_VALUES><VALUE>Gold</VALUE><VALUE>Silver</VALUE></SELECTION_VALUES></COLUMN>
  </COLUMNS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>Birthday</NAME></COLUMN>
    <COLUMN><INDEX>3</INDEX><NAME>Loyalty Tier</NAME></COLUMN>
    <COLUMN><INDEX>4</INDEX><NAME>Notes</NAME><INCLUDE>false</INCLUDE></COLUMN>
  </MAPPING>
</LIST_IMPORT>`
	job, err := acoustic.LoadAcoustic(strings.NewReader(xmlMap))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := job.Spec(intake.ContactSchema())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.Action, job.Key().Name(), job.DelimiterName(), job.HasHeaders)
	for _, c := range spec.Columns {
		fmt.Printf("#%d field=%s format=%s skip=%v\n", c.Index, c.Field, c.Format, c.Skip)
	}
	for _, f := range spec.Fields {
		fmt.Println(f.Name, f.Type, f.Options, f.Label)
	}

	_, err = acoustic.LoadAcoustic(strings.NewReader(strings.Replace(xmlMap, "<NAME>Birthday</NAME></COLUMN>\n    <COLUMN><INDEX>3", "<NAME>birthday</NAME></COLUMN>\n    <COLUMN><INDEX>2", 1)))
	fmt.Println(err)
	// Output:
	// add_and_update email tab true
	// #1 field=email format= skip=false
	// #2 field=birthday format=dd.MM.yyyy skip=false
	// #3 field=loyalty_tier format= skip=false
	// #4 field= format= skip=true
	// loyalty_tier select [Gold Silver] Loyalty Tier
	// mapping: acoustic: line 17: MAPPING/COLUMN "birthday"/NAME: "birthday" matches no COLUMNS/COLUMN NAME and no system name (names are case-sensitive: the column is "Birthday")
	// mapping: acoustic: line 18: MAPPING/COLUMN "Loyalty Tier"/INDEX: column 2 is mapped twice (also to "birthday" on line 17)
}

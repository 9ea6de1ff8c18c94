package schedule_test

import (
	"fmt"
	"time"

	"github.com/intakehq/intake/schedule"
)

func ExampleParseCadence() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sc, err := schedule.ParseCadence("daily at 02:30", berlin)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Around the spring-forward jump of 2026-03-29 (02:00 -> 03:00).
	at := time.Date(2026, 3, 27, 12, 0, 0, 0, berlin)
	for range 4 {
		at = sc.Next(at)
		fmt.Println(at.Format(time.RFC3339))
	}
	_, err = schedule.ParseCadence("every 7m", berlin)
	fmt.Println(err)
	// Output:
	// 2026-03-28T02:30:00+01:00
	// 2026-03-29T03:00:00+02:00
	// 2026-03-30T02:30:00+02:00
	// 2026-03-31T02:30:00+02:00
	// schedule: every 7m: 7 does not divide 60; use every 5m, 10m, 15m, 20m or 30m (or 1m, 2m, 3m, 4m, 6m, 12m)
}

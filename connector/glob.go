package connector

import (
	"context"
	"fmt"
)

// Newest returns the newest file matching pattern ([path.Match] syntax in
// the last element: "exports/contacts_*.csv"), as object-store style
// imports pick "the latest export": the greatest ModTime, and among equal
// times the greatest name (so contacts_2026-03-02.csv wins over
// contacts_2026-03-01.csv when both were copied at once). No match is an
// error wrapping [ErrNoMatch].
func Newest(ctx context.Context, l Lister, pattern string) (FileInfo, error) {
	files, err := l.List(ctx, pattern)
	if err != nil {
		return FileInfo{}, err
	}
	if len(files) == 0 {
		return FileInfo{}, fmt.Errorf("%s: %w", pattern, ErrNoMatch)
	}
	best := files[0]
	for _, f := range files[1:] {
		if f.ModTime.After(best.ModTime) || (f.ModTime.Equal(best.ModTime) && f.Name > best.Name) {
			best = f
		}
	}
	return best, nil
}

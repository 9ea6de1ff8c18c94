package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

const undoSynopsis = "intake undo [-store URL] [-dry-run] [-force] [-json] [-reason TEXT] RUN_ID"

// cmdUndo runs "intake undo RUN_ID": it reverts a committed run (its
// run_id in the import report, or a run of a job's history), or with
// -dry-run says what it would revert. A run of a saved job's history gets
// its undo recorded in that history, as a run of the job.
func cmdUndo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("undo", undoSynopsis, stderr)
	storeURL := fs.String("store", "sqlite:intake.db", "the store the run wrote to: sqlite:PATH or postgres://…")
	dryRun := fs.Bool("dry-run", false, "say what the undo would revert, and revert nothing")
	force := fs.Bool("force", false, "revert records that changed after the run too, overwriting their newer values")
	asJSON := fs.Bool("json", false, "print the undo's report as JSON on stdout")
	reason := fs.String("reason", "", "why the run is undone, for the audit log (default: undo)")
	actor := fs.String("actor", "", "who undoes it, for the audit log (default: $USER)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("undo needs exactly one RUN_ID, got %d", len(pos))
	}
	st, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.close()
	who := *actor
	if who == "" {
		who = os.Getenv("USER")
	}
	u := importer.UndoJob{RunID: pos[0], DryRun: *dryRun, Force: *force, Reason: *reason, Actor: who}
	rep, err := undoRun(ctx, st, u)
	if rep == nil {
		return err
	}
	if *asJSON {
		if jerr := printJSON(stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		text := *rep
		text.Error = ""
		if werr := text.WriteText(stdout); werr != nil {
			return werr
		}
		if err == nil && rep.State == "undoing" && !rep.DryRun {
			fmt.Fprintf(stderr, "intake: %d changes are in conflict and were left as they are; intake undo -force %s reverts them\n", rep.Conflicted, u.RunID)
		}
	}
	return cliError(err)
}

// undoRun undoes the run: through the job history when the store keeps
// one and the run is in it (the undo is recorded there), else directly.
func undoRun(ctx context.Context, st *store, u importer.UndoJob) (*importer.UndoReport, error) {
	if jobs, err := st.jobs(ctx); err == nil {
		defer jobs.Close()
		if _, err := jobs.GetRun(ctx, u.RunID); err == nil {
			cfg := schedule.ImportConfig{Sink: st.sink}
			_, rep, err := cfg.Undo(ctx, jobs, u.Actor, u)
			return rep, err
		} else if !errors.Is(err, schedule.ErrNotFound) {
			return nil, err
		}
	}
	im, err := importer.New(importer.Config{Sink: st.sink})
	if err != nil {
		return nil, err
	}
	return im.Undo(ctx, u)
}

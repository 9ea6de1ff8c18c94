package schedule

import (
	"encoding/json"
	"errors"
	"net/http"
)

// HandlerConfig configures [NewHandler].
type HandlerConfig struct {
	// Scheduler queues the runs; required.
	Scheduler *Scheduler
	// Store is the scheduler's store; required.
	Store JobStore
	// Actor names the caller of a request (from its token, session, mTLS
	// identity); an error answers 401. Nil refuses every request.
	Actor func(r *http.Request) (string, error)
	// Authorize decides each request (run_job, view_runs); nil denies
	// every request (deny by default).
	Authorize Authorizer
}

// NewHandler returns the trigger API, which lets another system start a
// saved job's run and follow it:
//
//	POST /jobs/{id}/runs   queue a run (trigger api) → 202 {"run_id": "…", "status": "queued"}
//	GET  /runs/{id}        a run with its live counts → 200 Run as JSON
//
// Errors answer {"error": "…"} with 400, 401, 403 or 404. Every request is
// authorized before the job or run it names is looked up: a caller without
// the permission gets the same 403 and body for an id that exists and one
// that does not. Mount it under a prefix with http.StripPrefix.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Scheduler == nil || cfg.Store == nil {
		return nil, errors.New("schedule: NewHandler: Scheduler and Store are required")
	}
	g := Guard(cfg.Store, cfg.Authorize)
	actor := cfg.Actor
	if actor == nil {
		actor = func(*http.Request) (string, error) {
			return "", errors.New("schedule: no HandlerConfig.Actor: every request is refused")
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs/{id}/runs", func(w http.ResponseWriter, r *http.Request) {
		who, err := actor(r)
		if err != nil {
			writeErr(w, http.StatusUnauthorized, err)
			return
		}
		run, err := g.Enqueue(r.Context(), cfg.Scheduler, who, Run{JobID: r.PathValue("id"), Trigger: TriggerAPI})
		if err != nil {
			writeErr(w, HTTPStatus(err), err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"run_id": run.ID, "status": string(run.Status)})
	})
	mux.HandleFunc("GET /runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		who, err := actor(r)
		if err != nil {
			writeErr(w, http.StatusUnauthorized, err)
			return
		}
		run, err := g.GetRun(r.Context(), who, r.PathValue("id"))
		if err != nil {
			writeErr(w, HTTPStatus(err), err)
			return
		}
		writeJSON(w, http.StatusOK, run)
	})
	return mux, nil
}

// HTTPStatus is the HTTP status that answers err, an error of this
// package's job operations: 400 for an *[InvalidJobError], 404 for
// [ErrNotFound], 403 for [ErrDenied], 500 otherwise. The handlers of this
// package and of package schedule/acoustic answer with it; a host's own
// handler can too.
func HTTPStatus(err error) int {
	var inv *InvalidJobError
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrDenied):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": PublicMessage(err)})
}

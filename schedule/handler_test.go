package schedule_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake/schedule"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := setup(t, sqliteBackend())
	// Deny by default.
	if _, err := schedule.Guard(store, nil).Create(ctx, "alice", sampleJob("x")); !errors.Is(err, schedule.ErrDenied) {
		t.Fatalf("Create without authorizer = %v", err)
	}
	var asked []string
	auth := func(_ context.Context, actor string, perm schedule.Permission, _ string) error {
		asked = append(asked, actor+":"+string(perm))
		if actor == "alice" || perm == schedule.PermCreateJob {
			return nil
		}
		return fmt.Errorf("%s lacks %s", actor, perm)
	}
	g := schedule.Guard(store, auth)
	j, err := g.Create(ctx, "alice", sampleJob("x"))
	if err != nil {
		t.Fatal(err)
	}
	optOut := sampleJob("unsubscribe")
	optOut.Spec.Action = "opt_out"
	if _, err := g.Create(ctx, "bob", optOut); !errors.Is(err, schedule.ErrDenied) || !strings.Contains(err.Error(), "bob lacks delete_records") {
		t.Fatalf("bob creating an opt_out job = %v", err)
	}
	if err := g.Delete(ctx, "bob", j.ID); !errors.Is(err, schedule.ErrDenied) {
		t.Fatalf("bob deleting = %v", err)
	}
	if err := g.SetEnabled(ctx, "alice", j.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(asked, " "); got != "alice:create_job bob:create_job bob:delete_records bob:delete_job alice:update_job" {
		t.Fatalf("asked %q", got)
	}
}

// TestGuardRecordRun: a run that ended before it could start is recorded
// as it is given (status failed, its error) for an actor who may run the
// job; a queued status is refused, and so is an actor without run_job.
func TestGuardRecordRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := setup(t, sqliteBackend())
	g := schedule.Guard(store, func(_ context.Context, actor string, _ schedule.Permission, _ string) error {
		if actor != "alice" {
			return errors.New("unknown actor")
		}
		return nil
	})
	j, err := g.Create(ctx, "alice", sampleJob("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.RecordRun(ctx, "mallory", schedule.Run{JobID: j.ID, Status: schedule.StatusFailed}); !errors.Is(err, schedule.ErrDenied) {
		t.Fatalf("mallory = %v", err)
	}
	if _, err := g.RecordRun(ctx, "alice", schedule.Run{JobID: j.ID, Status: schedule.StatusQueued}); err == nil || !strings.Contains(err.Error(), "use Enqueue") {
		t.Fatalf("queued = %v", err)
	}
	run, err := g.RecordRun(ctx, "alice", schedule.Run{JobID: j.ID, Trigger: schedule.TriggerAPI, Status: schedule.StatusFailed, Error: "the map does not load"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != schedule.StatusFailed || got.Error != "the map does not load" || got.Actor != "alice" || got.Finished.IsZero() || got.Trigger != schedule.TriggerAPI {
		t.Fatalf("recorded %+v", got)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	j, _ := store.Create(ctx, sampleJob("api job"))
	s := newScheduler(t, store, clock, &recorder{}, nil)
	auth := func(_ context.Context, actor string, perm schedule.Permission, _ string) error {
		if actor == "ops" {
			return nil
		}
		return errors.New("not allowed")
	}
	actor := func(r *http.Request) (string, error) {
		if a := r.Header.Get("X-Actor"); a != "" {
			return a, nil
		}
		return "", errors.New("no credentials")
	}
	newSrv := func(cfg schedule.HandlerConfig) *httptest.Server {
		cfg.Scheduler, cfg.Store = s, store
		h, err := schedule.NewHandler(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	do := func(srv *httptest.Server, method, path, who string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if who != "" {
			req.Header.Set("X-Actor", who)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	// Deny by default: no Actor, no Authorize.
	bare := newSrv(schedule.HandlerConfig{})
	if code, _ := do(bare, "POST", "/jobs/"+j.ID+"/runs", "ops"); code != http.StatusUnauthorized {
		t.Fatalf("no Actor func: %d", code)
	}
	noAuth := newSrv(schedule.HandlerConfig{Actor: actor})
	if code, _ := do(noAuth, "POST", "/jobs/"+j.ID+"/runs", "ops"); code != http.StatusForbidden {
		t.Fatalf("no Authorize: %d", code)
	}
	srv := newSrv(schedule.HandlerConfig{Actor: actor, Authorize: auth})
	if code, _ := do(srv, "POST", "/jobs/"+j.ID+"/runs", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", code)
	}
	if code, _ := do(srv, "POST", "/jobs/"+j.ID+"/runs", "guest"); code != http.StatusForbidden {
		t.Fatalf("guest: %d", code)
	}
	if code, _ := do(srv, "POST", "/jobs/nope/runs", "ops"); code != http.StatusNotFound {
		t.Fatalf("unknown job: %d", code)
	}
	code, body := do(srv, "POST", "/jobs/"+j.ID+"/runs", "ops")
	if code != http.StatusAccepted || body["status"] != "queued" {
		t.Fatalf("trigger: %d %v", code, body)
	}
	id := body["run_id"].(string)
	tick(t, s)
	code, body = do(srv, "GET", "/runs/"+id, "ops")
	if code != http.StatusOK || body["status"] != "succeeded" || body["trigger"] != "api" || body["actor"] != "ops" || body["rows"] != 3.0 {
		t.Fatalf("status: %d %v", code, body)
	}
	if code, _ := do(srv, "GET", "/runs/"+id, "guest"); code != http.StatusForbidden {
		t.Fatalf("guest status: %d", code)
	}
}

// TestHandlerHidesWhichIDsExist checks that a caller without permission
// cannot probe ids: it gets the same status and body for an existing job or
// run and for a missing one, whatever the Authorizer's own message says.
func TestHandlerHidesWhichIDsExist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	j, _ := store.Create(ctx, sampleJob("api job"))
	run, err := store.CreateRun(ctx, schedule.Run{JobID: j.ID, Trigger: schedule.TriggerAPI, Status: schedule.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	s := newScheduler(t, store, clock, &recorder{}, nil)
	auth := func(_ context.Context, actor string, perm schedule.Permission, jobID string) error {
		if actor == "ops" {
			return nil
		}
		return fmt.Errorf("%s may not %s on job %q", actor, perm, jobID)
	}
	h, err := schedule.NewHandler(schedule.HandlerConfig{Scheduler: s, Store: store, Authorize: auth,
		Actor: func(r *http.Request) (string, error) { return r.Header.Get("X-Actor"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, who string) (int, string) {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("X-Actor", who)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	for _, tc := range []struct{ method, existing, missing string }{
		{"POST", "/jobs/" + j.ID + "/runs", "/jobs/00000000-0000-7000-8000-000000000000/runs"},
		{"GET", "/runs/" + run.ID, "/runs/00000000-0000-7000-8000-000000000000"},
	} {
		code1, body1 := do(tc.method, tc.existing, "guest")
		code2, body2 := do(tc.method, tc.missing, "guest")
		if code1 != http.StatusForbidden || code1 != code2 || body1 != body2 {
			t.Errorf("%s by guest: existing %d %s, missing %d %s; want the same 403", tc.method, code1, body1, code2, body2)
		}
		if code, _ := do(tc.method, tc.missing, "ops"); code != http.StatusNotFound {
			t.Errorf("%s %s by ops: %d, want 404", tc.method, tc.missing, code)
		}
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	var calls atomic.Int32
	var gotBody []byte
	var gotSig, gotTS string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		gotBody, _ = io.ReadAll(r.Body)
		gotSig, gotTS = r.Header.Get("X-Intake-Signature"), r.Header.Get("X-Intake-Timestamp")
	}))
	defer srv.Close()
	clock := newAutoClock(t0)
	wh := &schedule.Webhook{URL: srv.URL, Secret: secret, Client: srv.Client(), Clock: clock}
	run := schedule.Run{ID: "r1", JobID: "j1", Status: schedule.StatusSucceeded, Rows: 5}
	if err := wh.Notify(context.Background(), schedule.Job{ID: "j1", Name: "nightly"}, run); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || gotSig != schedule.Sign(secret, gotTS, gotBody) || !strings.Contains(string(gotBody), `"event":"run.finished"`) {
		t.Fatalf("calls %d sig %q body %s", calls.Load(), gotSig, gotBody)
	}
	if w := clock.waited(); w != 3*time.Second { // 1s + 2s backoff
		t.Fatalf("waited %s", w)
	}
	// The signature is the documented one, computed here independently of
	// Sign: "sha256=" + hex(HMAC-SHA256(Secret, timestamp + "." + body)),
	// with the timestamp of the clock in Unix seconds.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(fmt.Sprint(t0.Unix(), ".")))
	mac.Write(gotBody)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); gotTS != fmt.Sprint(t0.Unix()) || gotSig != want {
		t.Fatalf("timestamp %q signature %q, want %d and %q", gotTS, gotSig, t0.Unix(), want)
	}
	bad := &schedule.Webhook{URL: srv.URL + "/x", Secret: secret, Client: srv.Client(), Clock: clock, MaxAttempts: 2}
	calls.Store(-10)
	if err := bad.Notify(context.Background(), schedule.Job{}, run); err == nil || !strings.Contains(err.Error(), "2 attempts failed, last: HTTP 503") {
		t.Fatalf("Notify = %v", err)
	}
}

// TestWebhookRetries checks the documented retry policy: 5 attempts by
// default after a 5xx (or 429), a 4xx other than 429 not retried.
func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		status, calls int
		err           string
	}{
		{http.StatusBadGateway, 5, "5 attempts failed, last: HTTP 502"},
		{http.StatusTooManyRequests, 5, "5 attempts failed, last: HTTP 429"},
		{http.StatusBadRequest, 1, "HTTP 400 (not retried)"},
	} {
		calls.Store(0)
		status.Store(int32(tt.status))
		wh := &schedule.Webhook{URL: srv.URL, Secret: []byte("k"), Client: srv.Client(), Clock: newAutoClock(t0)}
		err := wh.Notify(context.Background(), schedule.Job{ID: "j"}, schedule.Run{ID: "r"})
		if err == nil || !strings.Contains(err.Error(), tt.err) || int(calls.Load()) != tt.calls {
			t.Errorf("HTTP %d: Notify = %v after %d calls, want %q after %d", tt.status, err, calls.Load(), tt.err, tt.calls)
		}
	}
}

// autoClock is a clock whose timers fire at once, adding up the waits.
type autoClock struct {
	now   time.Time
	total atomic.Int64
}

func newAutoClock(t time.Time) *autoClock { return &autoClock{now: t} }

func (c *autoClock) Now() time.Time { return c.now }
func (c *autoClock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	c.total.Add(int64(d))
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch, func() {}
}
func (c *autoClock) waited() time.Duration { return time.Duration(c.total.Load()) }

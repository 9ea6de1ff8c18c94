package schedule

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Webhook posts a JSON notice of each finished run to a URL, signed with
// HMAC-SHA256, retrying failed deliveries a bounded number of times. Use
// its Hook as Config.OnFinish (or call Notify from your own hook).
//
// The body is {"event": "run.finished", "job": {"id", "name"}, "run": Run}.
// Headers: X-Intake-Timestamp (Unix seconds) and X-Intake-Signature
// "sha256=" + hex(HMAC-SHA256(Secret, timestamp + "." + body)); a receiver
// recomputes it and rejects old timestamps.
type Webhook struct {
	// URL receives the POST; required.
	URL string
	// Secret keys the signature; required.
	Secret []byte
	// Client sends the requests; default a client with a 10s timeout.
	Client *http.Client
	// MaxAttempts bounds deliveries (first try included); default 5. A
	// delivery is retried after a network error, 429 or 5xx.
	MaxAttempts int
	// Backoff is the wait before the second attempt, doubled after each;
	// default 1s.
	Backoff time.Duration
	// Clock waits between attempts and stamps the requests; default the
	// system clock.
	Clock Clock
	// Logger receives failed deliveries; nil logs nothing.
	Logger *slog.Logger
}

// Sign returns the X-Intake-Signature value of body sent at timestamp ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify delivers the notice of run; it returns the last error when every
// attempt failed.
func (w *Webhook) Notify(ctx context.Context, job Job, run Run) error {
	if w.URL == "" || len(w.Secret) == 0 {
		return errors.New("schedule: Webhook: URL and Secret are required")
	}
	client, clock, attempts, backoff := w.Client, w.Clock, w.MaxAttempts, w.Backoff
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if clock == nil {
		clock = systemClock{}
	}
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	body, err := json.Marshal(map[string]any{
		"event": "run.finished",
		"job":   map[string]string{"id": job.ID, "name": job.Name},
		"run":   run,
	})
	if err != nil {
		return err
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			tc, stop := clock.NewTimer(backoff << (i - 1))
			select {
			case <-ctx.Done():
				stop()
				return ctx.Err()
			case <-tc:
			}
		}
		ts := strconv.FormatInt(clock.Now().Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("schedule: webhook: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Intake-Timestamp", ts)
		req.Header.Set("X-Intake-Signature", Sign(w.Secret, ts, body))
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("HTTP %d", resp.StatusCode)
		default:
			return fmt.Errorf("schedule: webhook %s: HTTP %d (not retried)", w.URL, resp.StatusCode)
		}
	}
	err = fmt.Errorf("schedule: webhook %s: %d attempts failed, last: %w", w.URL, attempts, last)
	if w.Logger != nil {
		w.Logger.Error("schedule: webhook delivery failed", "run", run.ID, "err", err)
	}
	return err
}

// Hook returns Notify as a Config.OnFinish callback (errors are logged).
func (w *Webhook) Hook() func(ctx context.Context, job Job, run Run) {
	return func(ctx context.Context, job Job, run Run) { _ = w.Notify(ctx, job, run) }
}

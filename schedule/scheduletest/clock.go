package scheduletest

import (
	"sort"
	"sync"
	"time"
)

// Clock is a fake schedule.Clock: Now stays put until Advance or Set, and
// timers fire when the clock reaches their deadline. Safe for concurrent
// use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced when the pending timers change
}

// notify wakes BlockUntil; c.mu is held.
func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

type timer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a fake clock set to now.
func NewClock(now time.Time) *Clock {
	return &Clock{now: now, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a channel that receives the fake time once the clock
// has been moved on by d or more, and a func that stops the timer.
func (c *Clock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t.ch, func() {}
	}
	c.timers = append(c.timers, t)
	c.notify()
	return t.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.timers {
			if x == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				c.notify()
				return
			}
		}
	}
}

// Advance moves the clock on by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	t := c.now.Add(d)
	c.mu.Unlock()
	c.Set(t)
}

// Set moves the clock to t and fires the timers that are due, earliest
// first.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	keep := c.timers[:0]
	for _, x := range c.timers {
		if !x.at.After(t) {
			x.ch <- t
		} else {
			keep = append(keep, x)
		}
	}
	if len(keep) != len(c.timers) {
		c.timers = keep
		c.notify()
	}
}

// Timers returns the number of pending (neither fired nor stopped) timers.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until exactly n timers are pending: a test calls it to
// know that the code under test waits (for a poll, a heartbeat) before it
// moves the clock.
func (c *Clock) BlockUntil(n int) {
	for {
		c.mu.Lock()
		if len(c.timers) == n {
			c.mu.Unlock()
			return
		}
		ch := c.changed
		c.mu.Unlock()
		<-ch
	}
}

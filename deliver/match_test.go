package deliver

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

func seqs(subs []*tocsin.Subscription) []int64 {
	var out []int64
	for _, s := range subs {
		out = append(out, s.Seq)
	}
	return out
}

func TestMatcher(t *testing.T) {
	m := NewMatcher()
	mk := func(seq int64, c geo.Circle, ch tocsin.ChannelType, f func(*tocsin.Subscription)) *tocsin.Subscription {
		s := &tocsin.Subscription{Seq: seq, ID: "sub", Area: area(c), State: tocsin.SubscriptionActive, Channel: tocsin.Channel{Type: ch}}
		if f != nil {
			f(s)
		}
		if err := m.Add(s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	near := geo.Circle{Lat: 52.53, Lon: 13.41, RadiusKM: 1}
	// Added out of order: Matching sorts.
	mk(9, near, tocsin.ChannelWebhook, nil)
	mk(3, near, tocsin.ChannelWebhook, nil)
	mk(5, there, tocsin.ChannelWebhook, nil)
	mk(7, near, tocsin.ChannelWebhook, func(s *tocsin.Subscription) { s.MinSeverity = "Extreme" })
	mk(8, near, tocsin.ChannelWebhook, func(s *tocsin.Subscription) { s.Categories = []tocsin.Category{"Met"} })
	mk(2, near, tocsin.ChannelWebhook, func(s *tocsin.Subscription) { s.Categories = []tocsin.Category{"Met", "Fire"} })
	mk(4, near, "email", nil)
	big := geo.Circle{Lat: 50, Lon: 12, RadiusKM: 900}
	mk(1, big, tocsin.ChannelWebhook, nil) // covers both towns

	a := newAlert(here) // Severe, Fire
	if got, want := seqs(m.Matching(a.Shapes(), a)), []int64{1, 2, 3, 4, 9}; !slices.Equal(got, want) {
		t.Errorf("Matching = %v, want %v", got, want)
	}
	if got := m.Count(a.Shapes(), a); got[tocsin.ChannelWebhook] != 4 || got["email"] != 1 || len(got) != 2 {
		t.Errorf("Count = %v", got)
	}
	// Several areas: each subscription once.
	both := []geo.Shape{area(here), area(there)}
	if got, want := seqs(m.Matching(both, a)), []int64{1, 2, 3, 4, 5, 9}; !slices.Equal(got, want) {
		t.Errorf("Matching both towns = %v, want %v", got, want)
	}
	// The severity floor does not hold back updates and cancels.
	upd := newAlert(here)
	upd.MsgType = "Update"
	if got, want := seqs(m.Matching(upd.Shapes(), upd)), []int64{1, 2, 3, 4, 7, 9}; !slices.Equal(got, want) {
		t.Errorf("Matching an update = %v, want %v", got, want)
	}
	// Match stops when asked.
	n := 0
	m.Match(both, a, func(*tocsin.Subscription) bool { n++; return false })
	if n != 1 {
		t.Errorf("Match went on after false: %d calls", n)
	}
	if got := m.Matching(nil, a); len(got) != 0 {
		t.Errorf("Matching no area = %v", seqs(got))
	}

	// Remove, and Add of a disabled subscription, take them out; Add again
	// replaces the area.
	m.Remove(9)
	m.Remove(9)
	mk(3, near, tocsin.ChannelWebhook, func(s *tocsin.Subscription) { s.State = tocsin.SubscriptionDisabled })
	mk(4, there, "email", nil)
	if got, want := seqs(m.Matching(a.Shapes(), a)), []int64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("after removals Matching = %v, want %v", got, want)
	}
	if m.Len() != 6 {
		t.Errorf("Len = %d, want 6", m.Len())
	}
}

func TestMatcherUnindexable(t *testing.T) {
	m := NewMatcher()
	bad := []geo.Shape{
		{},
		{Circle: &geo.Circle{Lat: 1, Lon: 1, RadiusKM: 0}},
		{Circle: &geo.Circle{Lat: math.NaN(), Lon: 1, RadiusKM: 1}},
		{Circle: &here, Polygon: geo.Polygon{{Lat: 0, Lon: 0}, {Lat: 1, Lon: 0}, {Lat: 1, Lon: 1}, {Lat: 0, Lon: 0}}},
	}
	for i, a := range bad {
		s := &tocsin.Subscription{Seq: int64(i + 1), State: tocsin.SubscriptionActive, Area: a}
		if err := m.Add(s); !errors.Is(err, ErrUnindexable) {
			t.Errorf("Add(%+v) = %v, want ErrUnindexable", a, err)
		}
	}
	if m.Len() != 0 {
		t.Errorf("Len = %d after bad adds", m.Len())
	}
}

func TestMatcherLoad(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	for range 3 {
		subscribe(t, st, nil, "http://127.0.0.1:1/", here)
	}
	subscribe(t, st, nil, "http://127.0.0.1:1/", there)
	if err := st.DisableSubscription(t.Context(), st.subs[2].ID, "gone"); err != nil {
		t.Fatal(err)
	}
	st.subs[4].Area = geo.Shape{} // a damaged row
	m := NewMatcher()
	err := m.Load(t.Context(), st)
	if !errors.Is(err, ErrUnindexable) {
		t.Errorf("Load = %v, want ErrUnindexable for the damaged row", err)
	}
	a := newAlert(here)
	if got, want := seqs(m.Matching(a.Shapes(), a)), []int64{1, 3}; !slices.Equal(got, want) {
		t.Errorf("loaded Matching = %v, want %v", got, want)
	}
}

package sqlite_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

// newSubscription returns a valid webhook subscription for a circle around lat, lon.
func newSubscription(lat, lon float64) *tocsin.Subscription {
	return &tocsin.Subscription{
		Area:        geo.Shape{Circle: &geo.Circle{Lat: lat, Lon: lon, RadiusKM: 2}},
		Languages:   []string{"es", "en"},
		MinSeverity: "Moderate",
		Categories:  []tocsin.Category{"Fire", "Met"},
		Channel:     tocsin.Channel{Type: tocsin.ChannelWebhook, URL: "https://example.org/hooks/tocsin"},
	}
}

func MustSubscription(tb testing.TB, svc *sqlite.SubscriptionService, s *tocsin.Subscription) string {
	tb.Helper()
	token, err := svc.CreateSubscription(context.Background(), s)
	if err != nil {
		tb.Fatalf("create subscription: %v", err)
	}
	return token
}

func TestCreateSubscription(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewSubscriptionService(db)
	sub := newSubscription(40, -105)
	token := MustSubscription(t, svc, sub)
	if !strings.HasPrefix(token, "subtok_") || len(token) < 40 {
		t.Errorf("token %q; want a long subtok_ secret", token)
	}
	key, ok := strings.CutPrefix(sub.Secret, "whsec_")
	if !ok {
		t.Fatalf("secret %q; want whsec_…", sub.Secret)
	}
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) < 24 {
		t.Errorf("secret key %q decodes to %d bytes, %v; want at least 24 bytes of base64", key, len(b), err)
	}
	if !strings.HasPrefix(sub.ID, "sub_") || sub.Seq <= 0 || sub.State != tocsin.SubscriptionActive || !sub.CreatedAt.Equal(t0) {
		t.Errorf("subscription = %+v; want sub_ id, seq, active, created at %s", sub, t0)
	}
	got, err := svc.FindSubscriptionByID(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != sub.Seq || got.Secret != sub.Secret || got.Area.Circle == nil || *got.Area.Circle != *sub.Area.Circle ||
		strings.Join(got.Languages, ",") != "es,en" || got.MinSeverity != "Moderate" || len(got.Categories) != 2 ||
		got.Channel != sub.Channel || got.State != tocsin.SubscriptionActive {
		t.Errorf("stored subscription = %+v; want %+v", got, sub)
	}
	bySeq, err := svc.FindSubscriptionBySeq(context.Background(), sub.Seq)
	if err != nil || bySeq.ID != sub.ID {
		t.Errorf("FindSubscriptionBySeq(%d) = %v, %v; want %s", sub.Seq, bySeq, err, sub.ID)
	}
	// The token is stored only as a hash.
	if dump := dumpText(t, MustOpenRaw(t, db.Path)); strings.Contains(dump, token) {
		t.Error("the management token is stored in clear")
	}

	other := MustSubscription(t, svc, newSubscription(41, -105))
	if other == token {
		t.Error("two subscriptions share a token")
	}
	polygon := newSubscription(0, 0)
	polygon.Area = geo.Shape{Polygon: poly(40, -105, 40, -104, 41, -104, 40, -105)}
	MustSubscription(t, svc, polygon)
	if got, err := svc.FindSubscriptionByID(context.Background(), polygon.ID); err != nil || len(got.Area.Polygon) != 4 || got.Area.Circle != nil {
		t.Errorf("stored polygon subscription = %+v, %v", got, err)
	}
}

func TestCreateSubscription_Invalid(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewSubscriptionService(db)
	tests := []struct {
		name  string
		edit  func(s *tocsin.Subscription)
		field string
	}{
		{"no area", func(s *tocsin.Subscription) { s.Area = geo.Shape{} }, "area"},
		{"radius 0", func(s *tocsin.Subscription) { s.Area.Circle.RadiusKM = 0 }, "area.circle"},
		{"radius over 1000 km", func(s *tocsin.Subscription) { s.Area.Circle.RadiusKM = 1000.01 }, "area.circle"},
		{"open polygon", func(s *tocsin.Subscription) {
			s.Area = geo.Shape{Polygon: poly(40, -105, 40, -104, 41, -104, 41, -105)}
		}, "area.polygon"},
		{"no languages", func(s *tocsin.Subscription) { s.Languages = nil }, "languages"},
		{"bad language", func(s *tocsin.Subscription) { s.Languages = []string{"en", "e n"} }, "languages[1]"},
		{"too many languages", func(s *tocsin.Subscription) {
			s.Languages = []string{"en", "es", "fr", "de", "it", "pt", "nl", "sv", "da"}
		}, "languages"},
		{"bad min_severity", func(s *tocsin.Subscription) { s.MinSeverity = "Bad" }, "min_severity"},
		{"bad category", func(s *tocsin.Subscription) { s.Categories = []tocsin.Category{"Weather"} }, "categories[0]"},
		{"unknown channel", func(s *tocsin.Subscription) { s.Channel.Type = "sms" }, "channel.type"},
		{"webhook without URL", func(s *tocsin.Subscription) { s.Channel.URL = " " }, "channel.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSubscription(40, -105)
			tt.edit(s)
			_, err := svc.CreateSubscription(context.Background(), s)
			wantField(t, err, tt.field)
		})
	}
	raw := MustOpenRaw(t, db.Path)
	if n := countRows(t, raw, "subscriptions") + countRows(t, raw, "audit"); n != 0 {
		t.Errorf("%d subscription and audit rows; want none", n)
	}
}

func TestDeleteSubscription(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewSubscriptionService(db)
	ctx := context.Background()
	sub := newSubscription(40, -105)
	token := MustSubscription(t, svc, sub)
	other := newSubscription(41, -105)
	otherToken := MustSubscription(t, svc, other)

	for _, tt := range []struct {
		name, id, token, want string
	}{
		{"wrong token", sub.ID, "subtok_wrong", tocsin.EUNAUTHORIZED},
		{"another subscription's token", sub.ID, otherToken, tocsin.EUNAUTHORIZED},
		{"empty token", sub.ID, "", tocsin.EUNAUTHORIZED},
		{"unknown subscription", "sub_missing", token, tocsin.ENOTFOUND},
	} {
		wantCode(t, svc.DeleteSubscription(ctx, tt.id, tt.token), tt.want)
		if _, err := svc.FindSubscriptionByID(ctx, sub.ID); err != nil {
			t.Fatalf("after delete with %s: %v; want the subscription still there", tt.name, err)
		}
	}
	if err := svc.DeleteSubscription(ctx, sub.ID, token); err != nil {
		t.Fatal(err)
	}
	_, err := svc.FindSubscriptionByID(ctx, sub.ID)
	wantCode(t, err, tocsin.ENOTFOUND)
	wantCode(t, svc.DeleteSubscription(ctx, sub.ID, token), tocsin.ENOTFOUND)
	if _, err := svc.FindSubscriptionByID(ctx, other.ID); err != nil {
		t.Errorf("the other subscription: %v", err)
	}
}

func TestEachSubscription_SkipsDisabled(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewSubscriptionService(db)
	ctx := context.Background()
	var subs []*tocsin.Subscription
	for i := 0; i < 4; i++ {
		s := newSubscription(40+float64(i), -105)
		MustSubscription(t, svc, s)
		subs = append(subs, s)
	}
	for _, i := range []int{1, 2} {
		if err := svc.DisableSubscription(ctx, subs[i].ID, "HTTP 410 Gone"); err != nil {
			t.Fatal(err)
		}
	}
	// Disabling twice is harmless.
	if err := svc.DisableSubscription(ctx, subs[1].ID, "HTTP 410 Gone"); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	err := svc.EachSubscription(ctx, func(s *tocsin.Subscription) error {
		seen = append(seen, s.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != subs[0].Seq || seen[1] != subs[3].Seq {
		t.Errorf("EachSubscription visited %v; want %d then %d", seen, subs[0].Seq, subs[3].Seq)
	}
	got, err := svc.FindSubscriptionByID(ctx, subs[1].ID)
	if err != nil || got.State != tocsin.SubscriptionDisabled {
		t.Errorf("disabled subscription = %+v, %v; want state disabled", got, err)
	}
	stop := tocsin.Errorf(tocsin.ECONFLICT, "stop")
	n := 0
	err = svc.EachSubscription(ctx, func(*tocsin.Subscription) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("EachSubscription with fn failing returned %v after %d calls; want fn's error after 1", err, n)
	}
	events, err := sqlite.NewAuditService(db).FindAuditEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	disables := 0
	for _, e := range events {
		if e.Action == "subscription.disable" {
			disables++
		}
	}
	if disables != 2 {
		t.Errorf("%d subscription.disable audit events; want 2", disables)
	}
}

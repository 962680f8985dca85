package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

func newEmailSubscription(addr string) *tocsin.Subscription {
	return &tocsin.Subscription{
		Area:      geo.Shape{Circle: &geo.Circle{Lat: 40, Lon: -105, RadiusKM: 2}},
		Languages: []string{"es", "en"},
		Channel:   tocsin.Channel{Type: tocsin.ChannelEmail, Address: addr},
	}
}

func TestValidateSubscription_EmailAddress(t *testing.T) {
	good := []string{"ana@example.org", "a.b+alerts@mail.example.org", "x@localhost"}
	for _, a := range good {
		if err := sqlite.ValidateSubscription(newEmailSubscription(a)); err != nil {
			t.Errorf("%q: %v; want valid", a, err)
		}
	}
	bad := []string{
		"", "ana", "ana@", "@example.org", "Ana <ana@example.org>", "<ana@example.org>", "ana@example.org (Ana)",
		"ana@example.org, bob@example.org", `"ana maria"@example.org`, "ana@[127.0.0.1]", " ana@example.org",
		"ana@example.org\r\nBcc: eve@example.org", "ana@example..org", "ana@example.org.", "undisclosed:;",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".org", // 255 characters
	}
	for _, a := range bad {
		err := sqlite.ValidateSubscription(newEmailSubscription(a))
		if f := tocsin.ErrorFields(err); len(f) != 1 || f[0].Field != "channel.address" {
			t.Errorf("%q: %v; want one error naming channel.address", a, err)
		}
	}
}

func TestSubscriptionTokens_ConfirmThenUnsubscribe(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	svc := sqlite.NewSubscriptionService(db)
	ctx := context.Background()

	sub := newEmailSubscription("ana@example.org")
	MustSubscription(t, svc, sub)
	if sub.State != tocsin.SubscriptionPending {
		t.Fatalf("new email subscription is %q; want pending", sub.State)
	}
	n := 0
	svc.EachSubscription(ctx, func(*tocsin.Subscription) error { n++; return nil })
	if n != 0 {
		t.Fatalf("EachSubscription visited %d subscriptions; want none while pending", n)
	}
	confirm, err := svc.IssueSubscriptionTokens(ctx, sub.ID, "unsub_secret", t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmSubscription(ctx, sub.ID, confirm+"x"); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("confirm with a wrong token: %v; want unauthorized", err)
	}
	if _, err := svc.UnsubscribeSubscription(ctx, sub.ID, confirm); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("unsubscribe with the confirm token: %v; want unauthorized", err)
	}
	got, err := svc.ConfirmSubscription(ctx, sub.ID, confirm)
	if err != nil || got.State != tocsin.SubscriptionActive || got.Seq != sub.Seq || got.Channel.Address != "ana@example.org" {
		t.Fatalf("confirm = %+v, %v; want the active subscription", got, err)
	}
	if _, err := svc.ConfirmSubscription(ctx, sub.ID, confirm); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("second confirm: %v; want unauthorized (single use)", err)
	}
	if _, err := svc.IssueSubscriptionTokens(ctx, sub.ID, "", t0.Add(time.Hour)); tocsin.ErrorCode(err) != tocsin.ECONFLICT {
		t.Fatalf("issuing tokens for an active subscription: %v; want conflict", err)
	}
	n = 0
	svc.EachSubscription(ctx, func(*tocsin.Subscription) error { n++; return nil })
	if n != 1 {
		t.Fatalf("EachSubscription visited %d subscriptions after confirming; want 1", n)
	}
	if _, err := svc.UnsubscribeSubscription(ctx, sub.ID, "unsub_wrong"); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("unsubscribe with a wrong token: %v; want unauthorized", err)
	}
	if got, err := svc.UnsubscribeSubscription(ctx, sub.ID, "unsub_secret"); err != nil || got.ID != sub.ID {
		t.Fatalf("unsubscribe = %+v, %v", got, err)
	}
	if _, err := svc.FindSubscriptionByID(ctx, sub.ID); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Fatalf("after unsubscribe: %v; want not found", err)
	}
	if _, err := svc.UnsubscribeSubscription(ctx, sub.ID, "unsub_secret"); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Fatalf("second unsubscribe: %v; want not found", err)
	}

	var actions []string
	events, err := sqlite.NewAuditService(db).FindAuditEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Subject == sub.ID {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "subscription.create,subscription.confirm,subscription.unsubscribe" {
		t.Fatalf("audit of the subscription: %v", actions)
	}
}

func TestSubscriptionTokens_ConfirmExpires(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	svc := sqlite.NewSubscriptionService(db)
	ctx := context.Background()
	sub := newEmailSubscription("ana@example.org")
	MustSubscription(t, svc, sub)
	confirm, err := svc.IssueSubscriptionTokens(ctx, sub.ID, "unsub_secret", t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour)
	if _, err := svc.ConfirmSubscription(ctx, sub.ID, confirm); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("confirm after expiry: %v; want unauthorized", err)
	}
	// A new link replaces the expired one.
	confirm2, err := svc.IssueSubscriptionTokens(ctx, sub.ID, "unsub_secret", clk.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ConfirmSubscription(ctx, sub.ID, confirm); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
		t.Fatalf("the replaced token: %v; want unauthorized", err)
	}
	if _, err := svc.ConfirmSubscription(ctx, sub.ID, confirm2); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	// An unknown subscription is not found, whatever the token.
	if _, err := svc.UnsubscribeSubscription(ctx, "sub_nonexistent", "unsub_secret"); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Fatalf("unknown subscription: %v; want not found", err)
	}
}

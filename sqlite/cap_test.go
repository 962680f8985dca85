package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

var ottawa = time.FixedZone("EST", -5*3600)

// capAlert returns a message as cap.Parse returns it: the CAP identifier
// as ID, the sent time with its offset, references as
// "sender,identifier,sent". It is sent ten minutes before t0, expires six
// hours after, and covers a 5 km circle around Ottawa.
func capAlert(sender, identifier string, msgType tocsin.MsgType, refs ...string) *tocsin.Alert {
	sent := t0.Add(-10 * time.Minute).In(ottawa)
	exp := sent.Add(6 * time.Hour)
	return &tocsin.Alert{
		ID: identifier, Sender: sender, Sent: sent, Status: "Actual", MsgType: msgType, Scope: "Public", References: refs,
		Infos: []tocsin.Info{
			{Language: "en-CA", Category: tocsin.CategoryList{"Met"}, Event: "snowfall", Urgency: "Expected", Severity: "Moderate",
				Certainty: "Likely", Headline: "snowfall warning " + identifier, Expires: &exp},
			{Language: "fr-CA", Category: tocsin.CategoryList{"Met"}, Event: "neige", Urgency: "Expected", Severity: "Moderate",
				Certainty: "Likely", Headline: "avertissement de neige " + identifier, Expires: &exp},
		},
		Areas: []tocsin.Area{{Description: "Ottawa", Circle: &geo.Circle{Lat: 45.42, Lon: -75.69, RadiusKM: 5}}},
	}
}

// ref returns the CAP reference to a message made by capAlert.
func ref(sender, identifier string) string {
	return sender + "," + identifier + "," + t0.Add(-10*time.Minute).In(ottawa).Format("2006-01-02T15:04:05-07:00")
}

const envCanada = "cap-pac@canada.ca"

// mustPartner registers a partner and returns a context acting as it.
func mustPartner(tb testing.TB, db *sqlite.DB, name, sender string, policy tocsin.PublishPolicy) (context.Context, *tocsin.Partner) {
	tb.Helper()
	p := &tocsin.Partner{Name: name, Sender: sender, Publish: policy}
	token, err := sqlite.NewPartnerService(db).CreatePartner(context.Background(), p)
	if err != nil {
		tb.Fatalf("create partner: %v", err)
	}
	pr, err := sqlite.NewTokenService(db).FindPrincipalByToken(context.Background(), token)
	if err != nil || pr.Role != tocsin.RolePartner || pr.ID != p.PrincipalID {
		tb.Fatalf("partner token resolves to %+v, %v; want principal %d with role partner", pr, err, p.PrincipalID)
	}
	return tocsin.NewContextWithPrincipal(context.Background(), pr), p
}

// mustImport imports a as the partner in ctx.
func mustImport(tb testing.TB, ctx context.Context, svc *sqlite.CAPService, a *tocsin.Alert) *tocsin.CAPImport {
	tb.Helper()
	res, err := svc.ImportPartnerAlert(ctx, a)
	if err != nil {
		tb.Fatalf("import %s: %v", a.ID, err)
	}
	return res
}

func TestPartner_Create(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewPartnerService(db)
	ctx, p := mustPartner(t, db, "Environment Canada", envCanada, "")
	if p.Publish != tocsin.PublishDirect || p.ID == 0 || p.CreatedAt.IsZero() {
		t.Errorf("partner = %+v; want publish direct by default, an id and a time", p)
	}
	got, err := svc.FindPartnerByPrincipal(ctx, p.PrincipalID)
	if err != nil || got.Name != p.Name || got.Sender != envCanada {
		t.Errorf("FindPartnerByPrincipal = %+v, %v", got, err)
	}
	signer, err := cap.LoadOrCreateSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	signing := &tocsin.Partner{Name: "NWS", Sender: "w-nws.webmaster@noaa.gov", Publish: tocsin.PublishReview, CertificatePEM: string(signer.CertificatePEM())}
	// At t0 the certificate, made today, is not valid yet: every signature would fail.
	_, err = svc.CreatePartner(context.Background(), signing)
	wantField(t, err, "certificate")
	db.Now = time.Now
	if _, err := svc.CreatePartner(context.Background(), signing); err != nil {
		t.Fatalf("signing partner: %v", err)
	}
	all, err := svc.FindPartners(context.Background())
	if err != nil || len(all) != 2 || all[0].Name != "Environment Canada" || all[1].CertificatePEM == "" || all[1].Publish != tocsin.PublishReview {
		t.Errorf("FindPartners = %+v, %v", all, err)
	}

	tests := []struct {
		name  string
		p     tocsin.Partner
		code  string
		field string
	}{
		{"name taken", tocsin.Partner{Name: "Environment Canada", Sender: "other@example.org"}, tocsin.ECONFLICT, ""},
		{"sender taken", tocsin.Partner{Name: "Other", Sender: envCanada}, tocsin.ECONFLICT, ""},
		{"no name", tocsin.Partner{Sender: "x@example.org"}, tocsin.EINVALID, "name"},
		{"sender with comma", tocsin.Partner{Name: "X", Sender: "a,b"}, tocsin.EINVALID, "sender"},
		{"own sender", tocsin.Partner{Name: "X", Sender: db.Sender}, tocsin.EINVALID, "sender"},
		{"bad policy", tocsin.Partner{Name: "X", Sender: "x@example.org", Publish: "sometimes"}, tocsin.EINVALID, "publish"},
		{"not a certificate", tocsin.Partner{Name: "X", Sender: "x@example.org", CertificatePEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, tocsin.EINVALID, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			_, err := svc.CreatePartner(context.Background(), &p)
			if tt.field != "" {
				wantField(t, err, tt.field)
			} else {
				wantCode(t, err, tt.code)
			}
		})
	}
	if n, _ := svc.FindPartners(context.Background()); len(n) != 2 {
		t.Errorf("%d partners after refused registrations; want 2", len(n))
	}

	// A partner's token comes only with its registration.
	_, _, err = sqlite.NewTokenService(db).CreateToken(context.Background(), "sneaky", tocsin.RolePartner)
	wantField(t, err, "role")
}

func TestRole_Partner(t *testing.T) {
	if !tocsin.RolePartner.Valid() || !tocsin.RolePartner.Includes(tocsin.RolePartner) {
		t.Error("partner is not a valid role including itself")
	}
	for _, r := range []tocsin.Role{tocsin.RoleReporter, tocsin.RoleVerifier, tocsin.RolePublisher, tocsin.RoleAdmin} {
		if tocsin.RolePartner.Includes(r) || r.Includes(tocsin.RolePartner) {
			t.Errorf("partner and %s include one another; a partner may only import CAP", r)
		}
	}
	if !tocsin.RoleAdmin.Includes(tocsin.RoleReporter) || tocsin.RolePublisher.Includes(tocsin.RoleAdmin) {
		t.Error("the order of the other roles changed")
	}
}

func TestImportPartnerAlert_DirectPublishes(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	notified := 0
	svc.Notify = func() { notified++ }
	ctx, partner := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)

	// Severe: a direct partner's alerts skip the two-person rule.
	msg := capAlert(envCanada, "2.49.0.1.124.a1", "Alert")
	msg.Infos[0].Severity, msg.Infos[1].Severity = "Severe", "Severe"
	res := mustImport(t, ctx, svc, msg)
	a := res.Alert
	if res.Duplicate || !strings.HasPrefix(a.ID, "alr_") || a.State != tocsin.AlertPublished || a.AuthorID != partner.PrincipalID || notified != 1 {
		t.Fatalf("import = %+v (notified %d); want a new published alert with a tocsin ID, by the partner", res, notified)
	}
	if len(eventsFor(t, db, a.ID)) != 1 {
		t.Errorf("published import has %d outbox events; want 1", len(eventsFor(t, db, a.ID)))
	}
	got := mustState(t, alerts, a.ID, tocsin.AlertPublished)
	src := got.Source
	if src == nil || src.Kind != tocsin.SourcePartner || src.Name != "Environment Canada" || src.Identifier != "2.49.0.1.124.a1" || got.Sender != envCanada {
		t.Fatalf("stored source = %+v, sender %s; want the partner and the CAP identity", src, got.Sender)
	}
	if _, off := src.Sent.Zone(); off != -5*3600 || !src.Sent.Equal(t0.Add(-10*time.Minute)) {
		t.Errorf("CAP sent = %s; want %s with its -05:00 offset kept", src.Sent, t0.Add(-10*time.Minute).In(ottawa))
	}
	if got.Infos[0].Provenance != "human" {
		t.Errorf("provenance %q; want human (written by the sending agency)", got.Infos[0].Provenance)
	}
	list, _, err := alerts.FindAlerts(context.Background(), tocsin.AlertFilter{})
	if err != nil || len(list) != 1 || list[0].Source == nil {
		t.Errorf("FindAlerts = %v, %v; want the alert with its source", list, err)
	}
	byID, err := svc.FindAlertByCAPIdentity(context.Background(), envCanada, "2.49.0.1.124.a1")
	if err != nil || byID.ID != a.ID {
		t.Errorf("FindAlertByCAPIdentity = %v, %v; want %s", byID, err, a.ID)
	}

	// The same message again is a duplicate: nothing written.
	raw := MustOpenRaw(t, db.Path)
	before := countRows(t, raw, "audit")
	again := mustImport(t, ctx, svc, capAlert(envCanada, "2.49.0.1.124.a1", "Alert"))
	if !again.Duplicate || again.Alert.ID != a.ID || countRows(t, raw, "audit") != before || countRows(t, raw, "alerts") != 1 || notified != 1 {
		t.Errorf("second import = %+v; want a duplicate of %s with nothing written", again, a.ID)
	}
	// The same identifier with another sent time is a conflict.
	other := capAlert(envCanada, "2.49.0.1.124.a1", "Alert")
	other.Sent = other.Sent.Add(time.Minute)
	_, err = svc.ImportPartnerAlert(ctx, other)
	wantCode(t, err, tocsin.ECONFLICT)
}

func TestImportPartnerAlert_Refused(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewCAPService(db)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)
	admin, _ := MustPrincipal(t, db, "admin", tocsin.RoleAdmin)
	raw := MustOpenRaw(t, db.Path)

	_, err := svc.ImportPartnerAlert(context.Background(), capAlert(envCanada, "x1", "Alert"))
	wantCode(t, err, tocsin.EUNAUTHORIZED)
	for _, c := range []context.Context{pub, admin} {
		_, err := svc.ImportPartnerAlert(c, capAlert(envCanada, "x1", "Alert"))
		wantCode(t, err, tocsin.EFORBIDDEN)
	}
	_, err = svc.ImportPartnerAlert(ctx, capAlert("someone-else@example.org", "x1", "Alert"))
	wantCode(t, err, tocsin.EFORBIDDEN)

	tests := []struct {
		name  string
		edit  func(a *tocsin.Alert)
		field string
	}{
		{"Ack", func(a *tocsin.Alert) { a.MsgType = "Ack" }, "msgType"},
		{"Error", func(a *tocsin.Alert) { a.MsgType = "Error" }, "msgType"},
		{"System", func(a *tocsin.Alert) { a.Status = "System" }, "status"},
		{"Draft", func(a *tocsin.Alert) { a.Status = "Draft" }, "status"},
		{"expired", func(a *tocsin.Alert) {
			e := t0.Add(-time.Minute)
			a.Infos[0].Expires, a.Infos[1].Expires = &e, &e
		}, "info.expires"},
		{"geocodes no zone has", func(a *tocsin.Alert) {
			a.Areas = []tocsin.Area{{Description: "Tuolumne", Geocodes: map[string]string{"SAME": "006109"}}}
		}, "areas[0]"},
		{"update without references", func(a *tocsin.Alert) { a.MsgType = "Update" }, "references"},
		{"bad reference", func(a *tocsin.Alert) { a.MsgType, a.References = "Update", []string{"just-an-id"} }, "references[0]"},
		{"empty headline", func(a *tocsin.Alert) { a.Infos[1].Headline = "" }, "infos[1].headline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := capAlert(envCanada, "bad-"+tt.name, "Alert")
			a.ID = strings.ReplaceAll(a.ID, " ", "-")
			tt.edit(a)
			_, err := svc.ImportPartnerAlert(ctx, a)
			wantField(t, err, tt.field)
		})
	}
	if n := countRows(t, raw, "alerts") + countRows(t, raw, "cap_alerts"); n != 0 {
		t.Errorf("%d rows stored by refused imports; want none", n)
	}
}

func TestImportPartnerAlert_ReviewQueues(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	ctx, _ := mustPartner(t, db, "County OEM", "oem@county.example", tocsin.PublishReview)
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)
	res := mustImport(t, ctx, svc, capAlert("oem@county.example", "oem-1", "Alert"))
	if res.Alert.State != tocsin.AlertPendingApproval || len(eventsFor(t, db, res.Alert.ID)) != 0 {
		t.Fatalf("review partner's alert is %s with %d events; want pending_approval, unsent", res.Alert.State, len(eventsFor(t, db, res.Alert.ID)))
	}
	// Any publisher may approve it: the partner, not they, is its author.
	if _, err := alerts.ApproveAlert(pub, res.Alert.ID); err != nil {
		t.Fatal(err)
	}
	mustState(t, alerts, res.Alert.ID, tocsin.AlertPublished)
	if len(eventsFor(t, db, res.Alert.ID)) != 1 {
		t.Error("approved import has no outbox event")
	}
}

func TestImport_UpdateAndCancelByCAPReference(t *testing.T) {
	db := MustOpenDB(t)
	db.CancelledLabel = func(language string) string { return map[string]string{"fr-CA": "Annulée"}[language] }
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)
	first := mustImport(t, ctx, svc, capAlert(envCanada, "ec-1", "Alert")).Alert
	upd := mustImport(t, ctx, svc, capAlert(envCanada, "ec-2", "Update", ref(envCanada, "ec-1")))
	if len(upd.UnmatchedReferences) != 0 || !slices.Equal(upd.Alert.References, []string{first.ID}) {
		t.Fatalf("update = %+v; want its reference resolved to %s", upd, first.ID)
	}
	mustState(t, alerts, first.ID, tocsin.AlertSuperseded)
	if evs := eventsFor(t, db, upd.Alert.ID); len(evs) != 1 || evs[0].Type != tocsin.EventAlertUpdated {
		t.Errorf("update events %v; want one alert.updated", evs)
	}

	// A Cancel without text or areas of its own goes where the alerts it
	// cancels went and says what it cancels. CAP Updates list every earlier
	// message, and references to superseded ones are fine.
	c := capAlert(envCanada, "ec-3", "Cancel", ref(envCanada, "ec-1"), ref(envCanada, "ec-2"))
	c.Infos, c.Areas = nil, nil
	cancel := mustImport(t, ctx, svc, c).Alert
	mustState(t, alerts, upd.Alert.ID, tocsin.AlertCancelled)
	got := mustState(t, alerts, cancel.ID, tocsin.AlertPublished)
	if len(got.Areas) == 0 || len(got.Infos) != 2 || !strings.HasPrefix(got.Infos[1].Headline, "ANNULÉE: ") {
		t.Errorf("cancel = areas %v, infos %+v; want the cancelled alert's areas and a French ANNULÉE headline", got.Areas, got.Infos)
	}
	if evs := eventsFor(t, db, cancel.ID); len(evs) != 1 || evs[0].Type != tocsin.EventAlertCancelled {
		t.Errorf("cancel events %v; want one alert.cancelled", evs)
	}

	// A partner may update this network's own alerts, by their CAP reference.
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)
	own := MustAlert(t, pub, alerts, newAlert("Moderate", 45.42, -75.69))
	ownRef := db.Sender + "," + own.ID + "," + own.Sent.Format("2006-01-02T15:04:05") + "-00:00"
	res := mustImport(t, ctx, svc, capAlert(envCanada, "ec-4", "Update", ownRef))
	if !slices.Equal(res.Alert.References, []string{own.ID}) {
		t.Errorf("update of an own alert references %v; want [%s]", res.Alert.References, own.ID)
	}
	mustState(t, alerts, own.ID, tocsin.AlertSuperseded)
}

func TestImport_CancelBeforeAlert(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)
	admin, _ := MustPrincipal(t, db, "admin", tocsin.RoleAdmin)

	c := capAlert(envCanada, "ec-cancel", "Cancel", ref(envCanada, "ec-late"))
	c.Infos, c.Areas = nil, nil
	res := mustImport(t, ctx, svc, c)
	if res.Alert.State != tocsin.AlertUnmatched || !slices.Equal(res.UnmatchedReferences, []string{ref(envCanada, "ec-late")}) {
		t.Fatalf("early cancel = %+v; want unmatched, reporting its reference", res)
	}
	if len(allEvents(t, db)) != 0 {
		t.Error("an unmatched Cancel was sent")
	}
	list, err := svc.FindUnmatchedAlerts(admin)
	if err != nil || len(list) != 1 || list[0].Alert.ID != res.Alert.ID || list[0].Alert.Source == nil {
		t.Fatalf("unmatched = %+v, %v; want the cancel with its source", list, err)
	}
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)
	_, err = svc.FindUnmatchedAlerts(pub)
	wantCode(t, err, tocsin.EFORBIDDEN)

	// The alert arrives: it is stored cancelled and never sent.
	late := mustImport(t, ctx, svc, capAlert(envCanada, "ec-late", "Alert")).Alert
	if late.State != tocsin.AlertCancelled || late.PublishedAt != nil {
		t.Errorf("late alert = %s, published %v; want cancelled, never published", late.State, late.PublishedAt)
	}
	mustState(t, alerts, late.ID, tocsin.AlertCancelled)
	got := mustState(t, alerts, res.Alert.ID, tocsin.AlertPublished)
	if !slices.Equal(got.References, []string{late.ID}) {
		t.Errorf("cancel references %v; want [%s]", got.References, late.ID)
	}
	if evs := allEvents(t, db); len(evs) != 0 {
		t.Errorf("events %v; want none: nobody got the alert, so nobody hears of its cancellation", evs)
	}
	if list, _ := svc.FindUnmatchedAlerts(admin); len(list) != 0 {
		t.Errorf("unmatched after the alert arrived = %+v; want none", list)
	}
}

func TestImport_UpdateBeforeAlert(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)

	// An Update whose original never came is still the current warning: sent.
	upd := mustImport(t, ctx, svc, capAlert(envCanada, "ec-upd", "Update", ref(envCanada, "ec-orig")))
	if upd.Alert.State != tocsin.AlertPublished || len(upd.UnmatchedReferences) != 1 || len(eventsFor(t, db, upd.Alert.ID)) != 1 {
		t.Fatalf("early update = %+v; want published and its reference reported", upd)
	}
	// The original arrives late: it is older news, kept superseded and unsent.
	orig := mustImport(t, ctx, svc, capAlert(envCanada, "ec-orig", "Alert")).Alert
	mustState(t, alerts, orig.ID, tocsin.AlertSuperseded)
	if len(eventsFor(t, db, orig.ID)) != 0 {
		t.Error("the late original was sent after its update")
	}
	got := mustState(t, alerts, upd.Alert.ID, tocsin.AlertPublished)
	if !slices.Equal(got.References, []string{orig.ID}) {
		t.Errorf("update references %v; want [%s]", got.References, orig.ID)
	}
}

func TestImport_GeocodesPlacedByZones(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewCAPService(db)
	admin, _ := MustPrincipal(t, db, "admin", tocsin.RoleAdmin)
	zone := &tocsin.Zone{ID: "tuolumne", Names: map[string]string{"en": "Tuolumne County"}, Circle: &geo.Circle{Lat: 38.0, Lon: -120.0, RadiusKM: 40},
		Geocodes: map[string]string{"SAME": "006109", "UGC": "CAC109"}}
	if err := sqlite.NewZoneService(db).CreateZone(admin, zone); err != nil {
		t.Fatal(err)
	}
	ctx, _ := mustPartner(t, db, "NWS", "w-nws.webmaster@noaa.gov", tocsin.PublishDirect)
	a := capAlert("w-nws.webmaster@noaa.gov", "nws-1", "Alert")
	a.Areas = []tocsin.Area{{Description: "Tuolumne, CA", Geocodes: map[string]string{"SAME": "006109", "UGC": "CAZ072"}}}
	res := mustImport(t, ctx, svc, a)
	if ar := res.Alert.Areas; len(ar) != 1 || ar[0].Circle == nil || *ar[0].Circle != *zone.Circle || ar[0].Geocodes["SAME"] != "006109" {
		t.Errorf("areas = %+v; want the zone's circle with the alert's geocodes", ar)
	}
}

func TestImportRelayedAlert(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	feed := "https://alerts.example.org/feed.atom"
	_, err := svc.ImportRelayedAlert(context.Background(), capAlert(envCanada, "r-1", "Alert"), feed)
	wantCode(t, err, tocsin.EFORBIDDEN)
	admin, _ := MustPrincipal(t, db, "admin", tocsin.RoleAdmin)
	_, err = svc.ImportRelayedAlert(admin, capAlert(envCanada, "r-1", "Alert"), feed)
	wantCode(t, err, tocsin.EFORBIDDEN)

	sys := tocsin.NewContextWithSystem(context.Background())
	one, err := svc.ImportRelayedAlert(sys, capAlert(envCanada, "r-1", "Alert"), feed)
	if err != nil {
		t.Fatal(err)
	}
	two, err := svc.ImportRelayedAlert(sys, capAlert(envCanada, "r-2", "Alert"), feed)
	if err != nil {
		t.Fatal(err)
	}
	got := mustState(t, alerts, one.Alert.ID, tocsin.AlertPublished)
	if got.Source == nil || got.Source.Kind != tocsin.SourceRelay || got.Source.Name != feed {
		t.Errorf("source %+v; want the relay and its feed", got.Source)
	}
	if one.Alert.AuthorID == 0 || one.Alert.AuthorID != two.Alert.AuthorID {
		t.Errorf("authors %d and %d; want the feed's one principal", one.Alert.AuthorID, two.Alert.AuthorID)
	}
	// The same message from another feed is the same message.
	dup, err := svc.ImportRelayedAlert(sys, capAlert(envCanada, "r-1", "Alert"), "https://mirror.example.org/feed.atom")
	if err != nil || !dup.Duplicate || dup.Alert.ID != one.Alert.ID {
		t.Errorf("from a second feed = %+v, %v; want a duplicate", dup, err)
	}
	// This network's own alerts are not taken back from a feed.
	_, err = svc.ImportRelayedAlert(sys, capAlert(db.Sender, "loop", "Alert"), feed)
	wantCode(t, err, tocsin.EFORBIDDEN)
	if _, err := sqlite.NewAuditService(db).VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain after imports: %v", err)
	}
}

func TestCAPAlert_Identity(t *testing.T) {
	db := MustOpenDB(t)
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)

	mustImport(t, ctx, svc, capAlert(envCanada, "ec-1", "Alert"))
	upd := mustImport(t, ctx, svc, capAlert(envCanada, "ec-2", "Update", ref(envCanada, "ec-1"), ref(envCanada, "never-seen"))).Alert
	c, err := svc.CAPAlert(context.Background(), upd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "ec-2" || c.Sender != envCanada || !slices.Equal(c.References, []string{ref(envCanada, "ec-1"), ref(envCanada, "never-seen")}) {
		t.Errorf("CAP form of an import = %s %s %v; want its own identity and references", c.ID, c.Sender, c.References)
	}
	if _, off := c.Sent.Zone(); off != -5*3600 {
		t.Errorf("CAP sent %s; want the source's offset", c.Sent)
	}

	// A local publisher cancels the relayed update: the Cancel is this
	// network's message, referencing the partner's by its CAP identity.
	cancel, err := alerts.CancelAlert(pub, upd.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err = svc.CAPAlert(context.Background(), cancel.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != cancel.ID || c.Sender != db.Sender || !slices.Equal(c.References, []string{ref(envCanada, "ec-2")}) {
		t.Errorf("CAP form of a local cancel = %s %s %v; want %s from %s referencing %s", c.ID, c.Sender, c.References, cancel.ID, db.Sender, ref(envCanada, "ec-2"))
	}
	own := MustAlert(t, pub, alerts, newAlert("Moderate", 40, -105))
	ownCancel, err := alerts.CancelAlert(pub, own.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = svc.CAPAlert(context.Background(), ownCancel.ID)
	if want := db.Sender + "," + own.ID + "," + t0.Format("2006-01-02T15:04:05") + "-00:00"; !slices.Equal(c.References, []string{want}) {
		t.Errorf("CAP form of a cancel of an own alert references %v; want [%s]", c.References, want)
	}
	if _, err := svc.CAPAlert(context.Background(), "alr_nope"); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Errorf("CAPAlert(unknown) = %v; want not found", err)
	}
}

func TestFindFeedAlerts_Retention(t *testing.T) {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "tocsin.db"))
	clk := newClock(t0)
	db.Now = clk.Now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, alerts := sqlite.NewCAPService(db), sqlite.NewAlertService(db)
	pub, _ := MustPrincipal(t, db, "publisher", tocsin.RolePublisher)

	mk := func(edit func(a *tocsin.Alert)) *tocsin.Alert {
		a := newAlert("Moderate", 40, -105)
		if edit != nil {
			edit(a)
		}
		return MustAlert(t, pub, alerts, a)
	}
	exp := t0.Add(2 * time.Hour)
	forever := mk(nil)
	expiring := mk(func(a *tocsin.Alert) { a.Infos[0].Expires, a.Infos[1].Expires = &exp, &exp })
	mk(func(a *tocsin.Alert) { a.Status = "Exercise" })
	mk(func(a *tocsin.Alert) { a.Scope = "Restricted" })
	pending := mk(func(a *tocsin.Alert) { a.Infos[0].Severity = "Extreme" })
	clk.Advance(time.Hour)
	cancelled := mk(nil)
	cancel, err := alerts.CancelAlert(pub, cancelled.ID)
	if err != nil {
		t.Fatal(err)
	}

	feed := func(at time.Time) ([]*tocsin.Alert, time.Time) {
		t.Helper()
		got, changed, err := svc.FindFeedAlerts(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		return got, changed
	}
	tests := []struct {
		name    string
		at      time.Duration // after t0
		want    []string
		changed time.Duration
	}{
		{"all there", 90 * time.Minute, []string{forever.ID, expiring.ID, cancelled.ID, cancel.ID}, time.Hour},
		{"expired an hour ago", 3 * time.Hour, []string{forever.ID, expiring.ID, cancelled.ID, cancel.ID}, 2 * time.Hour},
		{"cancel a day old", 25*time.Hour + time.Minute, []string{forever.ID, expiring.ID}, 25 * time.Hour},
		{"expired a day ago", 26*time.Hour + time.Minute, []string{forever.ID}, 26 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := feed(t0.Add(tt.at))
			if !sameIDs(got, tt.want) {
				t.Errorf("feed = %v; want %v (never the exercise, the restricted or the pending %s)", ids(got), tt.want, pending.ID)
			}
			if !changed.Equal(t0.Add(tt.changed)) {
				t.Errorf("changed = %s; want %s", changed, t0.Add(tt.changed))
			}
		})
	}
}

func TestMigration_CAPIdentityUnique(t *testing.T) {
	db := MustOpenDB(t)
	raw := MustOpenRaw(t, db.Path)
	ctx, _ := mustPartner(t, db, "Environment Canada", envCanada, tocsin.PublishDirect)
	mustImport(t, ctx, sqlite.NewCAPService(db), capAlert(envCanada, "ec-1", "Alert"))
	var alertID string
	if err := raw.QueryRow(`SELECT alert_id FROM cap_alerts`).Scan(&alertID); err != nil {
		t.Fatal(err)
	}
	_, err := raw.Exec(`INSERT INTO cap_alerts (alert_id, sender, identifier, sent, source_kind, source, created_at) VALUES (?, ?, ?, ?, 'partner', 'x', 0)`,
		"alr_other", envCanada, "ec-1", "2025-01-01T00:00:00Z")
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("a second row for (%s, ec-1): %v; want a UNIQUE violation", envCanada, err)
	}
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = 'migrations/0003_cap.sql'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("0003_cap.sql applied %d times, %v", n, err)
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/sqlite"
)

// loadDemo fills a new database with a demo region around Denver: zones,
// four principals, three webhook subscribers (the server's own demo inbox),
// three reports that cluster into one verified incident, and one published
// English/Spanish alert. On a database that already has principals it only
// re-registers the demo inbox's secrets.
func loadDemo(ctx context.Context, db *sqlite.DB, srv *http.Server, matcher *deliver.Matcher, stdout io.Writer, tokenFile string) error {
	subs := sqlite.NewSubscriptionService(db)
	var existing bool
	if err := subs.EachSubscription(ctx, func(s *tocsin.Subscription) error {
		if name, ok := strings.CutPrefix(s.Channel.URL[strings.Index(s.Channel.URL, "/demo/inbox/")+1:], "demo/inbox/"); ok {
			srv.Demo.AddSecret(name, s.Secret)
			existing = true
		}
		return nil
	}); err != nil {
		return err
	}
	if existing {
		fmt.Fprintf(stdout, "demo region already loaded; its tokens are in %s\n", tokenFile)
		return nil
	}

	tokens := sqlite.NewTokenService(db)
	var lines []string
	principals := map[string]*tocsin.Principal{}
	for _, t := range []struct {
		name string
		role tocsin.Role
	}{{"demo-admin", tocsin.RoleAdmin}, {"demo-verifier", tocsin.RoleVerifier}, {"demo-publisher-1", tocsin.RolePublisher}, {"demo-publisher-2", tocsin.RolePublisher}} {
		tok, p, err := tokens.CreateToken(ctx, t.name, t.role)
		if err != nil {
			return err
		}
		principals[t.name] = p
		lines = append(lines, fmt.Sprintf("%-17s %-9s %s", t.name, t.role, tok))
	}
	as := func(name string) context.Context { return tocsin.NewContextWithPrincipal(ctx, principals[name]) }

	zones := sqlite.NewZoneService(db)
	for _, z := range []*tocsin.Zone{
		{ID: "downtown-denver", Names: map[string]string{"en": "Downtown Denver", "es": "Centro de Denver"},
			Polygon: ring([2]float64{39.7530, -105.0020}, [2]float64{39.7530, -104.9800}, [2]float64{39.7380, -104.9800}, [2]float64{39.7380, -105.0020}, [2]float64{39.7530, -105.0020})},
		{ID: "cherry-creek", Names: map[string]string{"en": "Cherry Creek", "es": "Cherry Creek"},
			Polygon: ring([2]float64{39.7250, -104.9600}, [2]float64{39.7250, -104.9400}, [2]float64{39.7100, -104.9400}, [2]float64{39.7100, -104.9600}, [2]float64{39.7250, -104.9600})},
		{ID: "capitol-hill", Names: map[string]string{"en": "Capitol Hill", "es": "Capitol Hill"},
			Circle: &geo.Circle{Lat: 39.7320, Lon: -104.9790, RadiusKM: 1.2}},
	} {
		if err := zones.CreateZone(as("demo-admin"), z); err != nil {
			return err
		}
	}

	for _, s := range []struct {
		inbox string
		langs []string
		area  geo.Circle
	}{
		{"ana", []string{"es", "en"}, geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 3}},
		{"ben", []string{"en"}, geo.Circle{Lat: 39.7200, Lon: -104.9500, RadiusKM: 2}},
		{"chen", []string{"zh-Hans", "en"}, geo.Circle{Lat: 39.6500, Lon: -104.8500, RadiusKM: 2}}, // outside the demo alert
	} {
		area := s.area
		sub := &tocsin.Subscription{Area: geo.Shape{Circle: &area}, Languages: s.langs,
			Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: srv.URL() + "/demo/inbox/" + s.inbox}}
		if _, err := subs.CreateSubscription(ctx, sub); err != nil {
			return err
		}
		if err := matcher.Add(sub); err != nil {
			return err
		}
		srv.Demo.AddSecret(s.inbox, sub.Secret)
	}

	reports := sqlite.NewReportService(db)
	var incidentID string
	for i, text := range []string{
		"Water over the Cherry Creek Trail under Speer Blvd, knee deep and rising",
		"Creek has left its banks near Speer and University, trail flooded",
		"Agua sobre el sendero de Cherry Creek, no se puede pasar",
	} {
		r := &tocsin.Report{Lat: 39.7160 + float64(i)*0.001, Lon: -104.9530, Category: "Met", Event: "flooding", Text: text,
			ObservedAt: time.Now().Add(-time.Duration(20-5*i) * time.Minute)}
		if i == 2 {
			r.Language = "es"
		}
		if _, err := reports.CreateReport(tocsin.NewContextWithClient(ctx, fmt.Sprintf("demo-reporter-%d", i)), r); err != nil {
			return err
		}
		incidentID = r.IncidentID
	}
	if _, err := sqlite.NewIncidentService(db).DecideIncident(as("demo-verifier"), incidentID, tocsin.IncidentVerified, "three neighbours, one photo"); err != nil {
		return err
	}
	// A fresh incident for the console's queue: two neighbours, not yet verified.
	for i, text := range []string{
		"Big tree down across Colfax Ave at Logan St, both lanes blocked",
		"Árbol caído en Colfax y Logan, no pasan los carros",
	} {
		r := &tocsin.Report{Lat: 39.7401 + float64(i)*0.0005, Lon: -104.9823, Category: "Transport", Event: "road blocked", Text: text,
			ObservedAt: time.Now().Add(-time.Duration(8-4*i) * time.Minute)}
		if i == 1 {
			r.Language = "es"
		}
		if _, err := reports.CreateReport(tocsin.NewContextWithClient(ctx, fmt.Sprintf("demo-reporter-%d", 3+i)), r); err != nil {
			return err
		}
	}

	// Console accounts, each with a password made here and shown once.
	var accounts []string
	for _, a := range []struct {
		name string
		role tocsin.Role
	}{{"verifier", tocsin.RoleVerifier}, {"publisher-1", tocsin.RolePublisher}, {"publisher-2", tocsin.RolePublisher}} {
		password := strings.TrimPrefix(tocsin.NewSecret("p"), "p_")[:20]
		if _, err := sqlite.NewUserService(db).CreateUser(ctx, a.name, a.role, password); err != nil {
			return err
		}
		accounts = append(accounts, fmt.Sprintf("%-17s %-9s %s", a.name, a.role, password))
	}

	expires := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second)
	alert := &tocsin.Alert{Status: "Actual", MsgType: "Alert", IncidentID: incidentID,
		Infos: []tocsin.Info{
			{Language: "en", Category: tocsin.CategoryList{"Met"}, Event: "Flood", Urgency: "Immediate", Severity: "Moderate", Certainty: "Observed",
				Headline: "Flooding on the Cherry Creek Trail", Description: "Cherry Creek has left its banks between Speer Blvd and University Blvd. The trail is under water.",
				Instruction: "Stay off the Cherry Creek Trail. Do not walk or drive through moving water.", Expires: &expires},
			{Language: "es", Category: tocsin.CategoryList{"Met"}, Event: "Inundación", Urgency: "Immediate", Severity: "Moderate", Certainty: "Observed",
				Headline: "Inundación en el sendero de Cherry Creek", Description: "Cherry Creek se ha desbordado entre Speer Blvd y University Blvd. El sendero está bajo el agua.",
				Instruction: "No use el sendero de Cherry Creek. No camine ni maneje por agua en movimiento.", Expires: &expires},
		},
		Areas: []tocsin.Area{{Description: "Cherry Creek Trail, Speer Blvd to University Blvd", Circle: &geo.Circle{Lat: 39.7170, Lon: -104.9530, RadiusKM: 2.5}}},
	}
	if err := sqlite.NewAlertService(db).CreateAlert(as("demo-publisher-1"), alert); err != nil {
		return err
	}

	text := "# tocsin demo tokens (bearer tokens; keep this file private)\n" + strings.Join(lines, "\n") + "\n" +
		"# console accounts (sign in at " + srv.URL() + "/login): name, role, password\n" + strings.Join(accounts, "\n") + "\n"
	if err := os.WriteFile(tokenFile, []byte(text), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo region loaded: 3 zones, 3 webhook subscribers, 3 reports in incident %s, alert %s published\n", incidentID, alert.ID)
	fmt.Fprintf(stdout, "demo tokens (also in %s):\n%s\n", tokenFile, strings.Join(lines, "\n"))
	fmt.Fprintf(stdout, "console accounts (sign in at %s/login; also in %s):\n%s\n", srv.URL(), tokenFile, strings.Join(accounts, "\n"))
	fmt.Fprintf(stdout, "open %s in a browser, or try: curl %s/api/v1/alerts   and   curl %s/demo/inbox\n", srv.URL(), srv.URL(), srv.URL())
	return nil
}

// ring builds a polygon from [lat, lon] pairs.
func ring(pts ...[2]float64) geo.Polygon {
	p := make(geo.Polygon, len(pts))
	for i, pt := range pts {
		p[i] = geo.Point{Lat: pt[0], Lon: pt[1]}
	}
	return p
}

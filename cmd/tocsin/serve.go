package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/lang"
	"github.com/tocsin/tocsin/sqlite"
	"github.com/tocsin/tocsin/sse"
	"github.com/tocsin/tocsin/web"
)

// serveConfig is everything "tocsin serve" is told.
type serveConfig struct {
	Addr                 string
	Data                 string
	Demo                 bool
	AllowPrivateWebhooks bool
	Sender               string
	LocationDecimals     int
	ReportRetention      time.Duration // 0 keeps raw reports forever
	MaxStreams           int
	Heartbeat            time.Duration
	LogLevel             string
	MTURL                string
	PerHost              int
	VAPIDSubject         string
	SMTPURL              string // smtp://[user:pass@]host:port; empty turns email off
	SMTPFrom             string
	PublicURL            string // base of links in messages; the listening address when empty
	TilesURL             string // map tiles for the pages; empty means none
	TilesAttribution     string
	CAP                  capConfig
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := newFlagSet("serve", "tocsin serve [--addr 127.0.0.1:8080] [--data DIR] [--demo] [--allow-private-webhooks]", stderr)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.Data, "data", "./tocsin-data", "data folder (SQLite database and keys)")
	fs.BoolVar(&c.Demo, "demo", false, "load a demo region on first start (zones, users, subscriptions, reports, one alert)")
	fs.BoolVar(&c.AllowPrivateWebhooks, "allow-private-webhooks", false, "let webhooks reach private, loopback and link-local addresses")
	fs.StringVar(&c.Sender, "sender", "tocsin", "CAP sender of alerts published here (no spaces or commas)")
	fs.IntVar(&c.LocationDecimals, "location-decimals", 3, "decimal places kept of reporters' positions (3 ≈ 110 m)")
	fs.DurationVar(&c.ReportRetention, "report-retention", DefaultReportRetention, "how long raw reports (with their photos) are kept after they arrive, once their incident is decided; 0 keeps them forever")
	fs.IntVar(&c.MaxStreams, "max-streams", 100_000, "most live SSE streams open at once")
	fs.DurationVar(&c.Heartbeat, "heartbeat", 25*time.Second, "interval of keep-alive comments on live streams")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.MTURL, "mt-url", "", "apertium-apy URL for machine translation (default: run the apertium program if installed)")
	fs.IntVar(&c.PerHost, "webhook-per-host", deliver.DefaultPerHost, "webhook requests in flight at once to one host")
	fs.StringVar(&c.VAPIDSubject, "vapid-subject", "mailto:operator@localhost", "Web Push VAPID contact: a mailto: address or an https:// URL where push services can reach the operator")
	fs.StringVar(&c.SMTPURL, "smtp-url", "", "SMTP server for email subscriptions: smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://…; email is off without it")
	fs.StringVar(&c.SMTPFrom, "smtp-from", "tocsin@localhost", "sender address of emails")
	fs.StringVar(&c.PublicURL, "public-url", "", "URL the public reaches this server at, the base of links in emails and feeds (default the listening address)")
	fs.StringVar(&c.TilesURL, "tiles-url", http.DefaultTiles.URL, "map tile URL template ({z}/{x}/{y}, optional {s}) for the web pages' maps; empty for no tiles (areas are still drawn)")
	fs.StringVar(&c.TilesAttribution, "tiles-attribution", http.DefaultTiles.Attribution, "credit shown on the maps for the tiles, as HTML")
	addCAPFlags(fs, &c.CAP)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkCAPConfig(&c.CAP); err != nil {
		return err
	}
	if c.Sender == "" || strings.ContainsAny(c.Sender, " ,<&") {
		return fmt.Errorf("%w: --sender must not be empty or contain spaces, commas, < or &", errUsage)
	}
	if err := deliver.CheckVAPIDSubject(c.VAPIDSubject); err != nil {
		return fmt.Errorf("%w: --vapid-subject: %v", errUsage, err)
	}
	publicURL, err := checkPublicURL(c.PublicURL)
	if err != nil {
		return err
	}
	c.PublicURL = publicURL
	if c.PerHost < 1 || c.PerHost > 1024 {
		return fmt.Errorf("%w: --webhook-per-host must be from 1 to 1024", errUsage)
	}
	if c.LocationDecimals < 1 || c.LocationDecimals > 6 {
		return fmt.Errorf("%w: --location-decimals must be from 1 to 6", errUsage)
	}
	if c.ReportRetention < 0 {
		return fmt.Errorf("%w: --report-retention must not be negative (0 keeps reports forever)", errUsage)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("%w: --log-level: %v", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return serve(ctx, c, logger, stdout)
}

// serve wires the components by hand, runs until ctx ends, then shuts them
// down in reverse order.
func serve(ctx context.Context, c serveConfig, logger *slog.Logger, stdout io.Writer) error {
	db, err := openDB(c.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	db.Sender, db.LocationDecimals = c.Sender, c.LocationDecimals
	db.CancelledLabel = func(language string) string {
		return lang.T(lang.Match([]string{language}), "alert.cancelled")
	}
	vapid, err := deliver.LoadVAPIDKeys(filepath.Join(c.Data, "vapid.pem"))
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tokens := sqlite.NewTokenService(db)
	alerts := sqlite.NewAlertService(db)
	subs := sqlite.NewSubscriptionService(db)
	outbox := sqlite.NewOutbox(db)

	matcher := deliver.NewMatcher()
	if err := matcher.Load(ctx, subs); errors.Is(err, deliver.ErrUnindexable) {
		// One damaged row must not stop delivery to everyone else.
		logger.Error("some subscriptions could not be indexed and get no alerts", "err", err)
	} else if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	broker := sse.NewBroker(sse.Config{Heartbeat: c.Heartbeat, MaxStreams: c.MaxStreams, Logger: logger.With("component", "sse")})
	defer broker.Close()

	allowPrivate := c.AllowPrivateWebhooks || c.Demo
	if c.Demo && !c.AllowPrivateWebhooks {
		logger.Warn("demo mode: webhooks may reach private and loopback addresses, so the demo's own inbox can receive alerts")
	}
	client := deliver.NewHTTPClient(allowPrivate, deliver.DefaultTimeout) // webhooks and push endpoints
	dispatcher := &deliver.Dispatcher{
		Outbox:        outbox,
		Alerts:        alerts,
		Subscriptions: subs,
		Matcher:       matcher,
		Senders: map[tocsin.ChannelType]deliver.Sender{
			tocsin.ChannelWebhook: &deliver.WebhookSender{Client: client},
			tocsin.ChannelWebPush: &deliver.WebPushSender{Client: client, Keys: vapid, Subject: c.VAPIDSubject},
		},
		Live:    broker,
		Logger:  logger,
		Metrics: deliver.NewMetrics(reg),
		PerHost: c.PerHost,
	}
	alerts.Notify = dispatcher.Notify

	srv := http.NewServer()
	srv.Addr, srv.Logger = c.Addr, logger.With("component", "http")
	reports := sqlite.NewReportService(db)
	srv.Reports, srv.Incidents, srv.Alerts = reports, sqlite.NewIncidentService(db), alerts
	srv.Intake = reports // Idempotency-Key, photo tokens and photos
	srv.Subscriptions, srv.Tokens, srv.Audit, srv.Outbox, srv.Zones = subs, tokens, sqlite.NewAuditService(db), outbox, sqlite.NewZoneService(db)
	srv.Glossary = newGlossary(db)
	srv.Users = sqlite.NewUserService(db) // console accounts: login, sessions, CSRF
	if srv.Translator, err = newTranslator(ctx, c.MTURL); err != nil {
		return err
	}
	if srv.Translator == nil {
		logger.Warn("machine translation is unavailable: install apertium and its pairs, or set --mt-url; alerts go out in the languages written or rendered from templates")
	}
	srv.Matcher, srv.Broker, srv.Replay, srv.Gatherer = matcher, broker, dispatcher.Replay, reg
	srv.CheckURL = func(ctx context.Context, raw string) error { return deliver.CheckURL(ctx, raw, allowPrivate) }
	srv.CheckPushEndpoint = func(ctx context.Context, raw string) error { return deliver.CheckPushEndpoint(ctx, raw, allowPrivate) }
	srv.VAPIDPublicKey = vapid.PublicKey()
	email, err := newEmailSender(c) // nil without --smtp-url
	if err != nil {
		return err
	}
	srv.PublicURL, srv.Email, srv.SubscriptionTokens = c.PublicURL, email, subs
	srv.Tiles = &http.Tiles{URL: c.TilesURL, Attribution: c.TilesAttribution}
	if !web.HasMap() {
		logger.Warn("the web pages' map is not built in (run scripts/build-web, or scripts/run): pages list areas without a map")
	}
	if c.Demo {
		srv.Demo = http.NewDemoInbox()
	}
	poller, err := wireCAP(&c.CAP, c.Data, db, srv, dispatcher.Notify, logger)
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close()
	if email != nil {
		// Alert emails link to the public URL, by default the address just
		// opened; the dispatcher gets its own copy, read only after Start.
		alertEmail := *email
		if alertEmail.PublicURL = c.PublicURL; alertEmail.PublicURL == "" {
			alertEmail.PublicURL = srv.URL()
		}
		dispatcher.Senders[tocsin.ChannelEmail] = &alertEmail
		logger.Info("email channel on", "smtp", email.Addr, "from", email.From, "public_url", alertEmail.PublicURL)
	}

	if c.Demo {
		if err := loadDemo(ctx, db, srv, matcher, stdout, filepath.Join(c.Data, "demo-tokens.txt")); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	if err := dispatcher.Start(tocsin.NewContextWithSystem(ctx)); err != nil {
		return err
	}
	defer dispatcher.Close()
	if err := poller.Start(tocsin.NewContextWithSystem(ctx)); err != nil {
		return err
	}
	defer poller.Close()
	if c.ReportRetention > 0 {
		sweeper := &reportSweeper{Reports: reports, Retention: c.ReportRetention, Interval: sweepInterval(c.ReportRetention),
			Now: db.Now, Logger: logger.With("component", "retention")}
		sweeper.Start(tocsin.NewContextWithSystem(ctx))
		defer sweeper.Close()
	} else {
		logger.Warn("raw reports are kept forever (--report-retention 0)")
	}

	fmt.Fprintf(stdout, "tocsin %s listening on %s (data in %s)\n", tocsin.Version, srv.URL(), c.Data)
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

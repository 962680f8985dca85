// Package http serves tocsin's JSON API under /api/v1, the live SSE stream,
// health, metrics and the OpenAPI document.
package http

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/lang"
	"github.com/tocsin/tocsin/sse"
)

//go:embed openapi.json
var openAPI []byte

// ShutdownTimeout is how long Close waits for requests in flight.
const ShutdownTimeout = 10 * time.Second

// Server is tocsin's HTTP server. Set its fields, then call Open.
type Server struct {
	Addr   string
	Logger *slog.Logger
	Now    func() time.Time

	Reports       tocsin.ReportService
	Incidents     tocsin.IncidentService
	Alerts        tocsin.AlertService
	Subscriptions tocsin.SubscriptionService
	Tokens        tocsin.TokenService
	Audit         tocsin.AuditService
	Zones         tocsin.ZoneService
	Glossary      tocsin.GlossaryService
	// Translator machine-translates free text; nil when no engine is installed.
	Translator lang.Translator
	Outbox     tocsin.Outbox

	// Intake, when set, takes the reports of POST /api/v1/reports instead
	// of Reports, with Idempotency-Key and photo tokens, and keeps their
	// photos (POST and GET /api/v1/reports/{id}/photo).
	Intake tocsin.ReportIntake
	// Matcher holds the subscriptions; the server adds and removes them as
	// they are created and deleted.
	Matcher *deliver.Matcher
	// Broker serves the live streams.
	Broker *sse.Broker
	// Replay writes, in order, the SSE frames of the events after seq that
	// touch area, rendered for langs: what a reconnecting stream missed.
	Replay func(ctx context.Context, after int64, area geo.Shape, langs []string, write func(seq int64, frame []byte) error) error
	// CheckURL decides whether a webhook URL may be used.
	CheckURL func(ctx context.Context, raw string) error
	// CheckPushEndpoint decides whether a Web Push endpoint may be used;
	// nil means deliver.CheckPushEndpoint without private addresses.
	CheckPushEndpoint func(ctx context.Context, raw string) error
	// VAPIDPublicKey is the application server key browsers subscribe to
	// Web Push with (base64url); empty when Web Push is off.
	VAPIDPublicKey string
	// Gatherer is exposed at /metrics.
	Gatherer prometheus.Gatherer
	// Limits are the request rates per anonymous client and class of
	// request ("report", "subscribe", "stream", "api"). Admin tokens are exempt.
	Limits map[string]Limit
	// Demo, when set, receives the demo region's webhooks at /demo/inbox/{name}.
	Demo *DemoInbox
	// ClientKeyRotation is how often the key that hashes client addresses changes.
	ClientKeyRotation time.Duration

	// CAP imports partners' CAP messages and exports alerts and feeds;
	// Partners finds the partner of a token. Both are needed by the CAP
	// routes and feeds.
	CAP      tocsin.CAPService
	Partners tocsin.PartnerService
	// Signer signs exported CAP documents; without one they are served unsigned.
	Signer *cap.Signer
	// SenderName is the network's name as people know it, written in CAP
	// <senderName> and feed titles; optional.
	SenderName string
	// PublicURL is the address the public reaches the server at, such as
	// https://alerts.example.org, used for links in feeds and messages; the
	// listening address when empty.
	PublicURL string
	// Email sends the confirmation emails of email subscriptions, and
	// SubscriptionTokens keeps their confirm and unsubscribe tokens; email
	// subscriptions are refused when either is nil.
	Email              *deliver.EmailSender
	SubscriptionTokens tocsin.SubscriptionTokenService

	// Users signs accounts in with passwords and keeps their sessions
	// (POST /login, POST /logout, GET /api/v1/session); nil disables them.
	Users tocsin.UserService
	// LoginLimit is the login attempt rate per client and per account
	// name; zero means DefaultLoginLimit. Admins are not exempt.
	LoginLimit Limit
	// Tiles is where the pages' maps get their tiles; nil means DefaultTiles.
	Tiles *Tiles

	ln      net.Listener
	srv     *http.Server
	keys    *clientKeys
	limiter *limiter
	// photoDecodes holds a slot for each photo being decoded.
	photoDecodes chan struct{}
}

// DefaultLimits are the request rates used when Server.Limits is nil.
var DefaultLimits = map[string]Limit{
	"report":    {Rate: 1.0 / 6, Burst: 10}, // ten at once, then one every six seconds
	"subscribe": {Rate: 1.0 / 6, Burst: 10},
	"stream":    {Rate: 1, Burst: 30},
	"api":       {Rate: 20, Burst: 200},
}

// NewServer returns a Server with defaults.
func NewServer() *Server {
	return &Server{
		Addr:              "127.0.0.1:8080",
		Logger:            slog.Default(),
		Now:               time.Now,
		Limits:            DefaultLimits,
		ClientKeyRotation: 24 * time.Hour,
		CheckURL:          func(ctx context.Context, raw string) error { return deliver.CheckURL(ctx, raw, false) },
	}
}

// Open starts listening and serving in the background.
func (s *Server) Open() (err error) {
	if s.ln, err = net.Listen("tcp", s.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", slog.Any("err", err))
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests and waits up to ShutdownTimeout for those in flight.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Handler returns the server's routes wrapped in its middleware.
func (s *Server) Handler() http.Handler {
	if s.keys == nil {
		s.keys = newClientKeys(s.ClientKeyRotation, s.Now)
		s.limiter = newLimiter(s.Now)
	}
	if s.photoDecodes == nil {
		s.photoDecodes = make(chan struct{}, maxPhotoDecodes)
	}
	mux := http.NewServeMux()
	route := func(pattern, class string, h http.HandlerFunc) {
		mux.Handle(pattern, s.limit(class, h))
	}
	route("POST /api/v1/reports", "report", s.handleCreateReport)
	route("POST /api/v1/reports/{id}/photo", "report", s.handleUploadPhoto)
	route("GET /api/v1/reports/{id}/photo", "api", s.handleGetPhoto)
	route("GET /api/v1/incidents", "api", s.handleListIncidents)
	route("GET /api/v1/incidents/{id}", "api", s.handleGetIncident)
	route("POST /api/v1/incidents/{id}/verify", "api", s.handleDecideIncident(tocsin.IncidentVerified))
	route("POST /api/v1/incidents/{id}/reject", "api", s.handleDecideIncident(tocsin.IncidentUnverifiable))
	route("POST /api/v1/incidents/{id}/merge", "api", s.handleMergeIncident)
	route("POST /api/v1/alerts", "api", s.handleCreateAlert)
	route("GET /api/v1/alerts", "api", s.handleListAlerts)
	route("GET /api/v1/alerts/{id}", "api", s.handleGetAlert)
	route("GET /api/v1/alerts/{id}/preview", "api", s.handlePreviewAlert)
	route("POST /api/v1/alerts/{id}/approve", "api", s.handleApproveAlert)
	route("POST /api/v1/alerts/{id}/cancel", "api", s.handleCancelAlert)
	route("PUT /api/v1/alerts/{id}/infos/{language}", "api", s.handleReviseInfo)
	route("POST /api/v1/subscriptions", "subscribe", s.handleCreateSubscription)
	route("DELETE /api/v1/subscriptions/{id}", "api", s.handleDeleteSubscription)
	route("GET /api/v1/subscriptions/{id}/confirm", "api", s.handleConfirmPage)
	route("POST /api/v1/subscriptions/{id}/confirm", "api", s.handleConfirmSubscription)
	route("GET /api/v1/subscriptions/{id}/unsubscribe", "api", s.handleUnsubscribePage)
	route("POST /api/v1/subscriptions/{id}/unsubscribe", "api", s.handleUnsubscribe)
	route("GET /api/v1/webpush/vapid-public-key", "api", s.handleVAPIDPublicKey)
	route("GET /api/v1/stream", "stream", s.handleStream)
	route("GET /api/v1/languages", "api", s.handleListLanguages)
	route("GET /api/v1/templates", "api", s.handleListTemplates)
	route("GET /api/v1/glossary", "api", s.handleListGlossary)
	route("POST /api/v1/glossary", "api", s.handleAddGlossary)
	route("DELETE /api/v1/glossary", "api", s.handleRemoveGlossary)
	route("POST /api/v1/zones", "api", s.handleCreateZone)
	route("GET /api/v1/zones", "api", s.handleListZones)
	route("GET /api/v1/zones/{id}", "api", s.handleGetZone)
	route("GET /api/v1/deliveries", "api", s.handleListDeliveries)
	route("GET /api/v1/audit", "api", s.handleListAudit)
	route("GET /api/v1/alerts/{id}/cap.xml", "api", s.needCAP(s.handleAlertCAP))
	route("GET /api/v1/cap/certificate.pem", "api", s.handleCAPCertificate)
	route("GET /api/v1/cap/unmatched", "api", s.needCAP(s.handleListUnmatched))
	route("GET /api/v1/cap/{sender}/{identifier...}", "api", s.needCAP(s.handleCAPByIdentity))
	route("POST /api/v1/cap", "api", s.needCAP(s.handleImportCAP))
	route("GET /api/v1/partners", "api", s.needCAP(s.handleListPartners))
	route("GET /feeds/alerts.atom", "api", s.needCAP(s.handleAtomFeed))
	route("GET /feeds/alerts.geojson", "api", s.needCAP(s.handleGeoJSONFeed))
	route("GET /api/v1/session", "api", s.handleGetSession)
	mux.HandleFunc("POST /login", s.handleLogin)
	mux.Handle("POST /logout", s.limit("api", http.HandlerFunc(s.handleLogout)))
	route("GET /api/v1/openapi.json", "api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": tocsin.Version})
	})
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.Handle("GET /{$}", s.limit("api", http.HandlerFunc(s.handleHome)))
	mux.HandleFunc("GET /static/", s.handleStatic)
	mux.HandleFunc("GET /sw.js", s.handleStatic)
	mux.Handle("GET /alerts/{id}", s.limit("api", http.HandlerFunc(s.handleAlertPage)))
	mux.Handle("GET /report", s.limit("api", http.HandlerFunc(s.handleReportPage)))
	mux.Handle("POST /report", s.limit("report", http.HandlerFunc(s.handleReportForm)))
	mux.Handle("GET /login", s.limit("api", http.HandlerFunc(s.handleLoginPage)))
	mux.Handle("GET /console", s.limit("api", http.HandlerFunc(s.handleConsolePage)))
	mux.Handle("GET /subscribe", s.limit("api", http.HandlerFunc(s.handleSubscribePage)))
	mux.Handle("POST /subscribe", s.limit("subscribe", http.HandlerFunc(s.handleSubscribeForm)))
	if s.Demo != nil {
		mux.Handle("POST /demo/inbox/{name}", s.Demo)
		mux.Handle("GET /demo/inbox", s.Demo)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all shadows the mux's own 405, so find the methods the
		// path does have.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.Error(w, r, tocsin.Errorf(EMETHOD, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "no such API endpoint: %s %s", r.Method, r.URL.Path))
	})
	return s.recover(s.headers(s.authenticate(mux)))
}

// recover turns a panic in a handler into a logged 500.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				s.Error(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// headers sets the response headers every answer carries.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", "Location, Retry-After, Idempotent-Replayed")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, Idempotency-Key")
				h.Set("Access-Control-Max-Age", "86400")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves a bearer token into the request's principal, or
// else a session cookie. A request without either stays anonymous; a
// malformed or unknown token is 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		client, rotated := s.keys.Key(r)
		if rotated {
			s.limiter.Allow("", "", Limit{}, true)
		}
		ctx = tocsin.NewContextWithClient(ctx, client)
		// A subscription's own token (subtok_…) is checked by the handler
		// that manages the subscription, not resolved as a principal.
		if v := r.Header.Get("Authorization"); v != "" && strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(v, "Bearer subtok_") {
			token, ok := strings.CutPrefix(v, "Bearer ")
			if !ok || strings.TrimSpace(token) == "" {
				s.Error(w, r, tocsin.Errorf(tocsin.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\""))
				return
			}
			p, err := s.Tokens.FindPrincipalByToken(ctx, strings.TrimSpace(token))
			if err != nil {
				s.Error(w, r, err)
				return
			}
			// A partner's token posts CAP and nothing else: elsewhere it
			// would act as a principal where anonymous callers are meant.
			if p.Role == tocsin.RolePartner && !(r.Method == http.MethodPost && r.URL.Path == "/api/v1/cap") {
				s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "a partner token may only post CAP alerts to /api/v1/cap"))
				return
			}
			ctx = tocsin.NewContextWithPrincipal(ctx, p)
		} else {
			// Without a bearer token, a console session's cookie may
			// authenticate; see withSession for its CSRF checks.
			var ok bool
			if ctx, ok = s.withSession(w, r, ctx); !ok {
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limit applies the request rate of class to anonymous and non-admin
// clients, answering 429 with Retry-After when it is exceeded.
func (s *Server) limit(class string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := tocsin.PrincipalFromContext(r.Context()); p != nil && p.Role == tocsin.RoleAdmin {
			next.ServeHTTP(w, r)
			return
		}
		lim, ok := s.Limits[class]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		key := tocsin.ClientFromContext(r.Context())
		if p := tocsin.PrincipalFromContext(r.Context()); p != nil {
			key = fmt.Sprintf("principal:%d", p.ID)
		}
		if ok, wait := s.limiter.Allow(key, class, lim, false); !ok {
			secs := int(wait/time.Second) + 1
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			s.Error(w, r, tocsin.Errorf(tocsin.ERATELIMITED, "too many requests; try again in %d seconds", secs))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "tocsin %s — community alert network\n\nAPI: /api/v1 (OpenAPI at /api/v1/openapi.json)\nActive alerts: /api/v1/alerts\nLive stream: /api/v1/stream?lat=…&lon=…&radius_km=…&lang=…\nHealth: /healthz  Metrics: /metrics\n", tocsin.Version)
}

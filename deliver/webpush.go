package deliver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/tocsin/tocsin"
)

// Web Push limits and defaults.
const (
	// DefaultPushTTL is how long a push service keeps a message for an
	// offline browser when the alert has no expiry.
	DefaultPushTTL = 24 * time.Hour
	// MaxPushTTL caps the TTL of any push message; push services cap it
	// themselves at about four weeks.
	MaxPushTTL = 28 * 24 * time.Hour
	// MaxPushPayload bounds the JSON of a PushPayload. Push services take at
	// most 4096 bytes of encrypted body (RFC 8030 §7.2); the aes128gcm
	// header, the padding delimiter and the tag take 103 of them, and the
	// rest is left as headroom.
	MaxPushPayload = 3000
	// maxPushInstruction is where a payload's instruction is clipped before
	// the payload is measured at all.
	maxPushInstruction = 1000
)

// PushPayload is the JSON a Web Push message carries, decrypted by the
// browser and shown by tocsin's service worker: a compact summary of the
// alert in the subscriber's language, since the whole alert may not fit the
// push services' 4 KiB limit. The notification links to URL, the alert's
// page, relative to the site that registered the service worker.
type PushPayload struct {
	Type        tocsin.EventType `json:"type"`
	AlertID     string           `json:"alert_id"`
	Language    string           `json:"language,omitempty"`
	Status      tocsin.Status    `json:"status"`
	MsgType     tocsin.MsgType   `json:"msg_type"`
	Event       string           `json:"event,omitempty"`
	Severity    tocsin.Severity  `json:"severity,omitempty"`
	Headline    string           `json:"headline,omitempty"`
	Instruction string           `json:"instruction,omitempty"` // clipped to fit, ending in "…"
	Expires     *time.Time       `json:"expires,omitempty"`
	// Provenance says who wrote the text ("human", "template:…", or
	// "machine:…"): a service worker labels machine translations.
	Provenance string `json:"provenance,omitempty"`
	URL        string `json:"url"` // "/alerts/{id}"
	// Tag is the Topic the message was sent under: a service worker shows it
	// as the notification's tag, so that an update replaces the notification
	// of the alert it updates on the screen as well as in the push service.
	Tag string `json:"tag"`
}

// PushMeta is what a Web Push send needs besides the subscriber: the
// payload in the subscriber's language and the alert's urgency, expiry and
// topic. The dispatcher fills it, once per event and language.
type PushMeta struct {
	Payload []byte          // JSON of a PushPayload
	Urgency webpush.Urgency // "high" for Severe and Extreme, else "normal"
	Expires time.Time       // the info's expiry; zero when it has none
	Topic   string          // PushTopic of the alert's root
}

// PushTopic returns the Web Push Topic (RFC 8030 §5.4) of every message
// about the alert whose root is rootID, so that an Update or a Cancel
// replaces a message about the original still waiting in the push service:
// 32 characters of URL-safe base64, the most a Topic may hold, from a hash
// of the id.
func PushTopic(rootID string) string {
	sum := sha256.Sum256([]byte("tocsin-topic:" + rootID))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// pushRoot returns the id of the alert a's messages are about: the first
// alert an Update or a Cancel references, else a itself.
func pushRoot(a *tocsin.Alert) string {
	if (a.MsgType == "Update" || a.MsgType == "Cancel") && len(a.References) > 0 {
		if id := tocsin.ReferenceID(a.References[0]); id != "" {
			return id
		}
	}
	return a.ID
}

// newPushMeta renders the push message of event ev about a for the info in
// language lang ("" when a has no info).
func newPushMeta(ev *tocsin.Event, a *tocsin.Alert, lang string) (*PushMeta, error) {
	topic := PushTopic(pushRoot(a))
	p := PushPayload{Type: ev.Type, AlertID: a.ID, Status: a.Status, MsgType: a.MsgType,
		URL: "/alerts/" + url.PathEscape(a.ID), Tag: topic}
	m := &PushMeta{Urgency: webpush.UrgencyNormal, Topic: topic}
	if in := a.InfoFor([]string{lang}); in != nil {
		p.Language, p.Event, p.Severity, p.Headline, p.Expires = in.Language, in.Event, in.Severity, in.Headline, in.Expires
		p.Provenance = in.Provenance
		p.Instruction = clip(strings.TrimSpace(in.Instruction), maxPushInstruction)
		if in.Severity.Loud() {
			m.Urgency = webpush.UrgencyHigh
		}
		if in.Expires != nil {
			m.Expires = *in.Expires
		}
	}
	var err error
	if m.Payload, err = marshalPushPayload(&p); err != nil {
		return nil, fmt.Errorf("render push message in %q: %w", lang, err)
	}
	return m, nil
}

// marshalPushPayload encodes p within MaxPushPayload bytes, shortening the
// instruction first, then the headline and the event.
func marshalPushPayload(p *PushPayload) ([]byte, error) {
	for {
		b, err := json.Marshal(p)
		if err != nil || len(b) <= MaxPushPayload {
			return b, err
		}
		switch {
		case p.Instruction != "":
			p.Instruction = shorten(p.Instruction)
		case p.Headline != "":
			p.Headline = shorten(p.Headline)
		case p.Event != "":
			p.Event = shorten(p.Event)
		default:
			return nil, fmt.Errorf("push payload is %d bytes, more than %d", len(b), MaxPushPayload)
		}
	}
}

// shorten halves s at a rune boundary, marking the cut, or empties it when
// nothing is left to halve.
func shorten(s string) string {
	s = strings.TrimSuffix(s, "…")
	if len(s) < 8 {
		return ""
	}
	return clip(s, len(s)/2)
}

// CheckVAPIDSubject checks the VAPID "sub" claim a push service may use to
// reach the operator (RFC 8292 §2.1): a mailto: or an https: URL.
func CheckVAPIDSubject(sub string) error {
	u, err := url.Parse(sub)
	switch {
	case err != nil:
		return fmt.Errorf("VAPID subject %q is not a URL", sub)
	case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"):
		return nil
	case u.Scheme == "https" && u.Host != "":
		return nil
	}
	return fmt.Errorf("VAPID subject %q must be a mailto: address or an https:// URL", sub)
}

// VAPIDKeys is the application server's P-256 key pair (RFC 8292), which
// signs every push request; browsers subscribe with its public key.
type VAPIDKeys struct {
	priv *ecdsa.PrivateKey
}

// NewVAPIDKeys returns the key pair of a P-256 private key.
func NewVAPIDKeys(priv *ecdsa.PrivateKey) (*VAPIDKeys, error) {
	if priv == nil || priv.Curve != elliptic.P256() {
		return nil, errors.New("VAPID key must be a P-256 key")
	}
	return &VAPIDKeys{priv: priv}, nil
}

// LoadVAPIDKeys reads the key pair kept at path (PKCS #8 in PEM), or, when
// there is none, generates one and writes it there, readable only by its
// owner. Writing goes through a temporary file and a hard link, so that two
// processes starting at once end up with the same key and nobody reads half
// a file.
func LoadVAPIDKeys(path string) (*VAPIDKeys, error) {
	if k, err := readVAPIDKeys(path); !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate VAPID key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode VAPID key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vapid-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write VAPID key: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		err = pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return readVAPIDKeys(path) // another process was first
	case err != nil:
		return nil, fmt.Errorf("write VAPID key: %w", err)
	}
	return NewVAPIDKeys(priv)
}

func readVAPIDKeys(path string) (*VAPIDKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read VAPID key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read VAPID key %s: not a PEM private key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read VAPID key %s: %w", path, err)
	}
	priv, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read VAPID key %s: not an ECDSA key", path)
	}
	k, err := NewVAPIDKeys(priv)
	if err != nil {
		return nil, fmt.Errorf("read VAPID key %s: %w", path, err)
	}
	return k, nil
}

// PublicKey returns the application server key browsers subscribe with:
// the uncompressed P-256 point, base64url without padding.
func (k *VAPIDKeys) PublicKey() string {
	b, _ := k.priv.PublicKey.Bytes() // cannot fail for a P-256 key
	return base64.RawURLEncoding.EncodeToString(b)
}

// privateKey returns the private scalar, base64url, as webpush-go takes it.
func (k *VAPIDKeys) privateKey() string {
	b, _ := k.priv.Bytes() // cannot fail for a P-256 key
	return base64.RawURLEncoding.EncodeToString(b)
}

// WebPushSender sends messages to browsers through their push services
// (RFC 8030): the payload encrypted for the subscription's keys (RFC 8291,
// aes128gcm) and the request signed with the VAPID keys (RFC 8292).
type WebPushSender struct {
	// Client sends the requests. Use NewHTTPClient: push endpoints are
	// chosen by whoever subscribes, like webhook URLs.
	Client *http.Client
	// Keys sign the requests.
	Keys *VAPIDKeys
	// Subject is the VAPID "sub": a mailto: or https: URL where the push
	// service can reach the operator (see CheckVAPIDSubject).
	Subject string
	// DefaultTTL is the TTL of messages about alerts without an expiry;
	// zero means DefaultPushTTL.
	DefaultTTL time.Duration
}

var _ Sender = (*WebPushSender)(nil)

// Send encrypts m.Push.Payload for sub's keys and POSTs it to sub's
// endpoint with TTL (never past the alert's expiry), Urgency and Topic. A
// 404 or 410 means the browser's subscription is gone (ErrGone); every
// other status is classified by ClassifyHTTP.
func (s *WebPushSender) Send(ctx context.Context, sub *tocsin.Subscription, m *Outgoing) (retry bool, err error) {
	switch {
	case s.Client == nil || s.Keys == nil:
		return false, errors.New("web push sender needs an HTTP client and VAPID keys")
	case m.Push == nil:
		return false, errors.New("web push: message has no push payload")
	case sub.Channel.Keys == nil:
		return false, errors.New("web push: subscription has no keys")
	}
	if err := CheckVAPIDSubject(s.Subject); err != nil {
		return false, err
	}
	// webpush-go adds "mailto:" to any subject that is not an https URL.
	subject := strings.TrimPrefix(s.Subject, "mailto:")
	resp, err := webpush.SendNotificationWithContext(ctx, m.Push.Payload,
		&webpush.Subscription{Endpoint: sub.Channel.Endpoint, Keys: webpush.Keys{P256dh: sub.Channel.Keys.P256dh, Auth: sub.Channel.Keys.Auth}},
		&webpush.Options{
			HTTPClient:      s.Client,
			Subscriber:      subject,
			Topic:           m.Push.Topic,
			TTL:             int(s.ttl(m) / time.Second),
			Urgency:         m.Push.Urgency,
			VAPIDPublicKey:  s.Keys.PublicKey(),
			VAPIDPrivateKey: s.Keys.privateKey(),
		})
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Op != "parse" {
			return ClassifyHTTP(0, nil, nil, err, m.Timestamp) // the request was made
		}
		return false, fmt.Errorf("web push: %w", err) // bad keys, payload too big
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return false, fmt.Errorf("push service answered %d %s%s: %w", resp.StatusCode, http.StatusText(resp.StatusCode), quote(body), ErrGone)
	}
	return ClassifyHTTP(resp.StatusCode, resp.Header, body, nil, m.Timestamp)
}

// ttl is how long the push service may keep m: until the alert expires
// (never negative), else DefaultTTL, and never more than MaxPushTTL.
func (s *WebPushSender) ttl(m *Outgoing) time.Duration {
	ttl := s.DefaultTTL
	if ttl <= 0 {
		ttl = DefaultPushTTL
	}
	if !m.Push.Expires.IsZero() {
		now := m.Timestamp
		if now.IsZero() {
			now = time.Now()
		}
		ttl = max(m.Push.Expires.Sub(now), 0)
	}
	return min(ttl, MaxPushTTL)
}

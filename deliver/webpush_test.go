package deliver

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver/pushtest"
	"github.com/tocsin/tocsin/geo"
)

func b64url(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestRFC8291Vector decrypts the example message of RFC 8291 Appendix A with
// the vector's user agent keys, which pins the test side's decryption (used
// by every other Web Push test) to the standard rather than to the sender.
func TestRFC8291Vector(t *testing.T) {
	ua, err := ecdh.P256().NewPrivateKey(b64url(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes()); got != "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4" {
		t.Fatalf("ua_public from ua_private = %s", got)
	}
	msg := b64url(t, "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"+
		"mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"+
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")
	auth := b64url(t, "BTBZMqHH6r4Tts7J_aSIgg")
	got, err := pushtest.Decrypt(msg, ua, auth)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "When I grow up, I want to be a watermelon" {
		t.Fatalf("plaintext %q", got)
	}
	// A wrong secret or a changed byte must fail, or the check proves nothing.
	if _, err := pushtest.Decrypt(msg, ua, make([]byte, 16)); err == nil {
		t.Error("decrypted with the wrong auth secret")
	}
	msg[len(msg)-1] ^= 1
	if _, err := pushtest.Decrypt(msg, ua, auth); err == nil {
		t.Error("decrypted a tampered message")
	}
}

func mustVAPID(tb testing.TB) *VAPIDKeys {
	tb.Helper()
	k, err := LoadVAPIDKeys(filepath.Join(tb.TempDir(), "vapid.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func pushSub(endpoint string, k *pushtest.Keys, langs ...string) *tocsin.Subscription {
	return &tocsin.Subscription{ID: "sub_1", Seq: 1, Languages: langs, Channel: tocsin.Channel{
		Type: tocsin.ChannelWebPush, Endpoint: endpoint, Keys: &tocsin.PushKeys{P256dh: k.P256dh(), Auth: k.AuthSecret()}}}
}

func TestWebPushSenderDelivers(t *testing.T) {
	ps := pushtest.NewServer(t)
	endpoint, keys := ps.Subscribe(t, "/push/ana")
	vapid := mustVAPID(t)
	s := &WebPushSender{Client: NewHTTPClient(true, 2*time.Second), Keys: vapid, Subject: "mailto:ops@example.org"}

	now := time.Now()
	exp := now.Add(2 * time.Hour)
	a := newAlert(geo.Circle{Lat: 1, Lon: 1, RadiusKM: 1})
	a.ID = "alr_fire"
	a.Infos[1].Instruction = "Salga hacia el norte."
	for i := range a.Infos {
		a.Infos[i].Expires = &exp
	}
	ev := &tocsin.Event{Seq: 3, Type: tocsin.EventAlertPublished, AlertID: a.ID}
	msgs, err := newMessages(ev, a)
	if err != nil {
		t.Fatal(err)
	}
	sub := pushSub(endpoint, keys, "es", "en")
	out := &Outgoing{ID: "msg_3_1", Type: ev.Type, Body: msgs.body(sub.Languages), Push: msgs.pushFor(sub), Timestamp: now}
	if retry, err := s.Send(t.Context(), sub, out); err != nil || retry {
		t.Fatalf("Send = %v, %v", retry, err)
	}
	got := ps.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if m.DecryptErr != nil {
		t.Fatal(m.DecryptErr)
	}
	var p PushPayload
	if err := json.Unmarshal(m.Plaintext, &p); err != nil {
		t.Fatalf("payload %s: %v", m.Plaintext, err)
	}
	want := PushPayload{Type: "alert.published", AlertID: "alr_fire", Language: "es", Status: "Actual", MsgType: "Alert",
		Event: "Incendio", Severity: "Severe", Headline: "Incendio cerca del parque", Instruction: "Salga hacia el norte.",
		Provenance: "human", URL: "/alerts/alr_fire", Tag: PushTopic("alr_fire")}
	p.Expires = nil
	if p != want {
		t.Errorf("payload\n got %+v\nwant %+v", p, want)
	}
	if m.VAPIDErr != nil || m.VAPIDKey != vapid.PublicKey() || m.Claims.Sub != "mailto:ops@example.org" {
		t.Errorf("VAPID: %v, key %s (want %s), claims %+v", m.VAPIDErr, m.VAPIDKey, vapid.PublicKey(), m.Claims)
	}
	h := m.Header
	ttl, err := strconv.Atoi(h.Get("TTL"))
	if err != nil || ttl > 7200 || ttl < 7100 {
		t.Errorf("TTL %q, want at most the 7200s the alert has left", h.Get("TTL"))
	}
	if h.Get("Urgency") != "high" || h.Get("Topic") != PushTopic("alr_fire") || h.Get("Content-Encoding") != "aes128gcm" {
		t.Errorf("headers Urgency %q, Topic %q, Content-Encoding %q", h.Get("Urgency"), h.Get("Topic"), h.Get("Content-Encoding"))
	}
}

func TestPushMeta(t *testing.T) {
	c := geo.Circle{Lat: 1, Lon: 1, RadiusKM: 1}
	orig := newAlert(c)
	orig.ID = "alr_orig"
	upd := newAlert(c)
	upd.ID, upd.MsgType, upd.References = "alr_upd", "Update", []string{"tocsin,alr_orig,2026-01-02T03:04:05Z"}
	upd.Infos[0].Severity, upd.Infos[1].Severity = "Moderate", "Moderate"
	cancel := &tocsin.Alert{ID: "alr_cancel", MsgType: "Cancel", Status: "Actual", References: []string{"alr_orig"}}

	mo, err := newPushMeta(&tocsin.Event{Type: tocsin.EventAlertPublished}, orig, "en")
	if err != nil {
		t.Fatal(err)
	}
	mu, _ := newPushMeta(&tocsin.Event{Type: tocsin.EventAlertUpdated}, upd, "en")
	mc, _ := newPushMeta(&tocsin.Event{Type: tocsin.EventAlertCancelled}, cancel, "")
	if mo.Topic != mu.Topic || mo.Topic != mc.Topic {
		t.Errorf("topics differ: original %s, update %s, cancel %s", mo.Topic, mu.Topic, mc.Topic)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`).MatchString(mo.Topic) {
		t.Errorf("topic %q is not at most 32 characters of URL-safe base64", mo.Topic)
	}
	if other := PushTopic("alr_other"); other == mo.Topic {
		t.Error("two alerts share a topic")
	}
	if mo.Urgency != "high" || mu.Urgency != "normal" || mc.Urgency != "normal" {
		t.Errorf("urgencies %s %s %s, want high normal normal", mo.Urgency, mu.Urgency, mc.Urgency)
	}

	// A long instruction is clipped so the payload fits a push message.
	long := newAlert(c)
	long.ID = "alr_long"
	long.Infos[0].Instruction = strings.Repeat("Leave by the north road; do not wait. \u0001<&> ", 300)
	ml, err := newPushMeta(&tocsin.Event{Type: tocsin.EventAlertPublished}, long, "en")
	if err != nil {
		t.Fatal(err)
	}
	var p PushPayload
	if err := json.Unmarshal(ml.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if len(ml.Payload) > MaxPushPayload || !strings.HasSuffix(p.Instruction, "…") || !strings.HasPrefix(p.Instruction, "Leave by the north road") {
		t.Errorf("payload of %d bytes, instruction %q…", len(ml.Payload), p.Instruction[:min(40, len(p.Instruction))])
	}
	ps := pushtest.NewServer(t)
	endpoint, keys := ps.Subscribe(t, "/long")
	s := &WebPushSender{Client: NewHTTPClient(true, 2*time.Second), Keys: mustVAPID(t), Subject: "https://alerts.example.org"}
	if _, err := s.Send(t.Context(), pushSub(endpoint, keys, "en"), &Outgoing{Push: ml, Timestamp: time.Now()}); err != nil {
		t.Fatalf("sending the longest payload: %v", err)
	}
	if m := ps.Messages()[0]; m.DecryptErr != nil || m.VAPIDErr != nil || m.Claims.Sub != "https://alerts.example.org" {
		t.Errorf("message %v, %v, claims %+v", m.DecryptErr, m.VAPIDErr, m.Claims)
	}
}

func TestWebPushTTL(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := &WebPushSender{}
	for _, tt := range []struct {
		name    string
		expires time.Time
		want    time.Duration
	}{
		{"no expiry", time.Time{}, DefaultPushTTL},
		{"expires in 90m", now.Add(90*time.Minute + 500*time.Millisecond), 90*time.Minute + 500*time.Millisecond},
		{"expired", now.Add(-time.Minute), 0},
		{"far future", now.Add(400 * 24 * time.Hour), MaxPushTTL},
	} {
		got := s.ttl(&Outgoing{Timestamp: now, Push: &PushMeta{Expires: tt.expires}})
		if got != tt.want {
			t.Errorf("%s: ttl %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := (&WebPushSender{DefaultTTL: time.Hour}).ttl(&Outgoing{Timestamp: now, Push: &PushMeta{}}); got != time.Hour {
		t.Errorf("DefaultTTL ignored: %s", got)
	}
}

func TestWebPushSenderOutcomes(t *testing.T) {
	ps := pushtest.NewServer(t)
	vapid := mustVAPID(t)
	s := &WebPushSender{Client: NewHTTPClient(true, 2*time.Second), Keys: vapid, Subject: "mailto:ops@example.org"}
	meta := &PushMeta{Payload: []byte(`{}`), Urgency: "normal", Topic: PushTopic("x")}
	for _, tt := range []struct {
		code        int
		retry, gone bool
	}{
		{http.StatusCreated, false, false},
		{http.StatusGone, false, true},
		{http.StatusNotFound, false, true},
		{http.StatusTooManyRequests, true, false},
		{http.StatusInternalServerError, true, false},
		{http.StatusBadRequest, false, false},
	} {
		path := "/s/" + strconv.Itoa(tt.code)
		endpoint, keys := ps.Subscribe(t, path)
		ps.SetStatus(path, tt.code)
		retry, err := s.Send(t.Context(), pushSub(endpoint, keys, "en"), &Outgoing{Push: meta, Timestamp: time.Now()})
		if tt.code == http.StatusCreated {
			if err != nil {
				t.Errorf("201: %v", err)
			}
			continue
		}
		if err == nil || retry != tt.retry || errors.Is(err, ErrGone) != tt.gone {
			t.Errorf("%d: Send = %v, %v; want retry %v, gone %v", tt.code, retry, err, tt.retry, tt.gone)
		}
	}
	// Retry-After is honoured through ClassifyHTTP.
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, keys := ps.Subscribe(t, "/unused")
	_, err := s.Send(t.Context(), pushSub(rc.URL+"/p", keys, "en"), &Outgoing{Push: meta, Timestamp: time.Now()})
	var ra *RetryAfterError
	if !errors.As(err, &ra) || ra.After != 30*time.Second {
		t.Errorf("429 with Retry-After: %v", err)
	}
	// The guard refuses loopback unless allowed, without retry.
	strict := &WebPushSender{Client: NewHTTPClient(false, 2*time.Second), Keys: vapid, Subject: "mailto:ops@example.org"}
	endpoint, keys := ps.Subscribe(t, "/strict")
	if retry, err := strict.Send(t.Context(), pushSub(endpoint, keys, "en"), &Outgoing{Push: meta, Timestamp: time.Now()}); retry || err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("strict client to loopback: %v, %v", retry, err)
	}
	// A message without its push form is a bug, not a retry.
	if retry, err := s.Send(t.Context(), pushSub(endpoint, keys, "en"), &Outgoing{}); retry || err == nil {
		t.Errorf("without Push: %v, %v", retry, err)
	}
}

func TestLoadVAPIDKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vapid.pem")
	k1, err := LoadVAPIDKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadVAPIDKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	pub := b64url(t, k1.PublicKey())
	if k1.PublicKey() != k2.PublicKey() || len(pub) != 65 || pub[0] != 4 {
		t.Errorf("keys %s then %s; want the same uncompressed point", k1.PublicKey(), k2.PublicKey())
	}
	if len(b64url(t, k1.privateKey())) != 32 {
		t.Error("private scalar is not 32 bytes")
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVAPIDKeys(path); err == nil {
		t.Error("a damaged key file was accepted (and would be replaced, unsubscribing every browser)")
	}
}

func TestCheckPushEndpoint(t *testing.T) {
	for _, tt := range []struct {
		url          string
		allowPrivate bool
		want         string
	}{
		{"https://93.184.215.14/push/abc", false, ""},
		{"http://93.184.215.14/push/abc", false, "must use https"},
		{"https://127.0.0.1:8443/push", false, "push endpoint resolves to 127.0.0.1, a loopback address"},
		{"https://10.1.2.3/push", false, "a private address"},
		{"https://[fe80::1]/push", false, "link-local"},
		{"http://127.0.0.1:8443/push", true, ""},
		{"ftp://example.org/push", true, "scheme"},
		{"push.example.org/x", false, "scheme"},
	} {
		err := CheckPushEndpoint(t.Context(), tt.url, tt.allowPrivate)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckPushEndpoint(%q, %v) = %v", tt.url, tt.allowPrivate, err)
		case tt.want != "" && (err == nil || tocsin.ErrorCode(err) != tocsin.EINVALID || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckPushEndpoint(%q, %v) = %v, want EINVALID %q", tt.url, tt.allowPrivate, err, tt.want)
		}
	}
}

func TestCheckVAPIDSubject(t *testing.T) {
	for sub, ok := range map[string]bool{
		"mailto:operator@localhost": true, "https://alerts.example.org": true,
		"operator@localhost": false, "http://alerts.example.org": false, "mailto:": false, "": false,
	} {
		if err := CheckVAPIDSubject(sub); (err == nil) != ok {
			t.Errorf("CheckVAPIDSubject(%q) = %v", sub, err)
		}
	}
}

// TestDispatcherWebPush runs the whole pipeline to a push service: the
// Spanish text for a Spanish-first subscriber, and a 410 disables the
// subscription so the next alert is not sent to it.
func TestDispatcherWebPush(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.Senders[tocsin.ChannelWebPush] = &WebPushSender{Client: NewHTTPClient(true, 2*time.Second), Keys: mustVAPID(t), Subject: "mailto:ops@example.org"}
	ps := pushtest.NewServer(t)
	endpoint, keys := ps.Subscribe(t, "/es")
	c := geo.Circle{Lat: 40, Lon: -105, RadiusKM: 2}
	sub := &tocsin.Subscription{Area: area(c), Languages: []string{"es", "en"}, Channel: tocsin.Channel{
		Type: tocsin.ChannelWebPush, Endpoint: endpoint, Keys: &tocsin.PushKeys{P256dh: keys.P256dh(), Auth: keys.AuthSecret()}}}
	if _, err := st.CreateSubscription(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	if err := d.Matcher.Add(sub); err != nil {
		t.Fatal(err)
	}
	start(t, d, st)

	ev := st.publish(newAlert(c), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, 5*time.Second, "the first event", st.done(ev.Seq))
	got := ps.Messages()
	if len(got) != 1 || got[0].DecryptErr != nil {
		t.Fatalf("messages %+v", got)
	}
	var p PushPayload
	if err := json.Unmarshal(got[0].Plaintext, &p); err != nil || p.Language != "es" || p.Headline != "Incendio cerca del parque" {
		t.Fatalf("payload %s (%v)", got[0].Plaintext, err)
	}

	ps.SetStatus("/es", http.StatusGone)
	ev = st.publish(newAlert(c), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, 5*time.Second, "the second event", st.done(ev.Seq))
	s, err := st.FindSubscriptionByID(t.Context(), sub.ID)
	if err != nil || s.State != tocsin.SubscriptionDisabled {
		t.Fatalf("after a 410 the subscription is %v (%v)", s, err)
	}
	ev = st.publish(newAlert(c), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, 5*time.Second, "the third event", st.done(ev.Seq))
	if n := len(ps.Messages()); n != 2 {
		t.Errorf("%d requests to the push service, want 2 (none after the 410)", n)
	}
}

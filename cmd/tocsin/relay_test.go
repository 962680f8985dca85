package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// relayedMessage is one webhook delivery of a relayed alert, as a
// subscriber reads it.
type relayedMessage struct {
	Path     string
	Verified bool
	Type     string `json:"type"`
	Alert    struct {
		ID       string `json:"id"`
		Sender   string `json:"sender"`
		MsgType  string `json:"msg_type"`
		Language string `json:"language"`
		Infos    []struct {
			Language   string `json:"language"`
			Headline   string `json:"headline"`
			Provenance string `json:"provenance"`
		} `json:"infos"`
		Source *struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Identifier string `json:"identifier"`
		} `json:"source"`
	} `json:"alert"`
}

// relayInbox is a webhook endpoint that keeps every message by path.
type relayInbox struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string
	got     []relayedMessage
}

func newRelayInbox(t *testing.T) *relayInbox {
	in := &relayInbox{secrets: map[string]string{}}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m relayedMessage
		json.Unmarshal(body, &m)
		m.Path = r.URL.Path
		in.mu.Lock()
		if wh, err := standardwebhooks.NewWebhook(in.secrets[r.URL.Path]); err == nil {
			m.Verified = wh.Verify(body, r.Header) == nil
		}
		in.got = append(in.got, m)
		in.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *relayInbox) subscribe(t *testing.T, base, path string, area map[string]any, langs ...string) {
	t.Helper()
	var resp struct{ ID, Token, Secret string }
	mustCall(t, 201, "POST", base+"/api/v1/subscriptions", "", map[string]any{
		"area": area, "languages": langs, "channel": map[string]any{"type": "webhook", "url": in.URL + path},
	}, &resp)
	in.mu.Lock()
	in.secrets[path] = resp.Secret
	in.mu.Unlock()
}

func (in *relayInbox) at(path string) []relayedMessage {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []relayedMessage
	for _, m := range in.got {
		if m.Path == path {
			out = append(out, m)
		}
	}
	return out
}

// partnerFeeds is a partner network's feed server: Atom and RSS index
// feeds with ETags, the CAP documents they link to, a feed that never
// answers, and counts of what it was asked.
type partnerFeeds struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]string
	requests map[string]int
	notMod   map[string]int
	stuck    chan struct{}
}

func newPartnerFeeds(t *testing.T) *partnerFeeds {
	pf := &partnerFeeds{files: map[string]string{}, requests: map[string]int{}, notMod: map[string]int{}, stuck: make(chan struct{})}
	pf.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pf.mu.Lock()
		pf.requests[r.URL.Path]++
		body, ok := pf.files[r.URL.Path]
		pf.mu.Unlock()
		if r.URL.Path == "/slow/feed.atom" {
			select { // a feed that never answers
			case <-r.Context().Done():
			case <-pf.stuck:
			}
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"%d-%d"`, len(body), strings.Count(body, "<"))
		if r.Header.Get("If-None-Match") == etag {
			pf.mu.Lock()
			pf.notMod[r.URL.Path]++
			pf.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		switch {
		case strings.HasSuffix(r.URL.Path, ".atom"):
			w.Header().Set("Content-Type", "application/atom+xml")
		case strings.HasSuffix(r.URL.Path, ".rss"):
			w.Header().Set("Content-Type", "application/rss+xml")
		default:
			w.Header().Set("Content-Type", "application/cap+xml")
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(func() {
		close(pf.stuck)
		pf.Close()
	})
	return pf
}

func (pf *partnerFeeds) set(path, body string) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	pf.files[path] = body
}

func (pf *partnerFeeds) notModified(path string) int {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	return pf.notMod[path]
}

// capTime writes t as CAP does.
func capTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }

// The partners' documents. Each is sent half an hour ago and expires in six hours.
var (
	sentAt  = time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	expires = sentAt.Add(6 * time.Hour)
	eastern = time.FixedZone("EST", -5*3600)
	central = time.FixedZone("CDT", -5*3600)
	pacific = time.FixedZone("PDT", -7*3600)
)

// bilingualUpdate is Environment Canada's English/French Update of two
// warnings this network never received.
func bilingualUpdate() string {
	sent := capTime(sentAt.In(eastern))
	info := func(lang, event, headline, desc string) string {
		return `
  <info>
    <language>` + lang + `</language>
    <category>Met</category>
    <event>` + event + `</event>
    <responseType>Monitor</responseType>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <expires>` + capTime(expires.In(eastern)) + `</expires>
    <senderName>Environment Canada</senderName>
    <headline>` + headline + `</headline>
    <description>` + desc + `</description>
    <area>
      <areaDesc>City of Ottawa - Orléans</areaDesc>
      <polygon>45.5,-75.6 45.4,-75.6 45.4,-75.4 45.5,-75.4 45.5,-75.6</polygon>
      <geocode><valueName>profile:CAP-CP:Location:0.3</valueName><value>3506008</value></geocode>
    </area>
  </info>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>2.49.0.1.124.e2e.update</identifier>
  <sender>cap-pac@canada.ca</sender>
  <sent>` + sent + `</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>cap-pac@canada.ca,2.49.0.1.124.e2e.a,2025-01-19T22:00:00-05:00 cap-pac@canada.ca,2.49.0.1.124.e2e.b,2025-01-20T02:30:00-05:00</references>` +
		info("en-CA", "snowfall", "Snowfall warning in effect", "Snowfall amounts of 15 to 25 cm are expected.") +
		info("fr-CA", "neige", "Avertissement de neige en vigueur", "Des accumulations de neige de 15 à 25 cm sont prévues.") + `
</alert>
`
}

// missingPerson is an English/Spanish public appeal.
func missingPerson() string {
	info := func(lang, event, headline, instruction string) string {
		return `
	<info>
		<language>` + lang + `</language>
		<category>Rescue</category>
		<category>Safety</category>
		<event>` + event + `</event>
		<urgency>Immediate</urgency>
		<severity>Severe</severity>
		<certainty>Likely</certainty>
		<expires>` + capTime(expires.In(central)) + `</expires>
		<headline>` + headline + `</headline>
		<instruction>` + instruction + `</instruction>
		<contact>Texas DPS 1-800-555-0100</contact>
		<area>
			<areaDesc>Bexar County</areaDesc>
			<circle>29.42,-98.49 40</circle>
			<geocode><valueName>SAME</valueName><value>048029</value></geocode>
		</area>
	</info>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
	<identifier>AMBER-TX-E2E-0042</identifier>
	<sender>amber@dps.texas.example</sender>
	<sent>` + capTime(sentAt.In(central)) + `</sent>
	<status>Actual</status>
	<msgType>Alert</msgType>
	<scope>Public</scope>` +
		info("en-US", "Child Abduction Emergency", "AMBER Alert: Ana Ruiz, 9", "If you see her, call 911. Do not approach.") +
		info("es-US", "Emergencia por secuestro de menor", "Alerta AMBER: Ana Ruiz, 9 años", "Si la ve, llame al 911. No se acerque.") + `
</alert>
`
}

// ipawsThunderstorm is an IPAWS-style warning with event codes, parameters,
// SAME and UGC geocodes and a polygon, carried inline in its Atom entry.
func ipawsThunderstorm() string {
	return `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>urn:oid:2.49.0.1.840.0.e2e.svr.1</identifier>
  <sender>w-nws.webmaster@noaa.gov</sender>
  <sent>` + capTime(sentAt.In(pacific)) + `</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>IPAWS</source>
  <scope>Public</scope>
  <code>IPAWSv1.0</code>
  <info>
    <language>en-US</language>
    <category>Met</category>
    <event>Severe Thunderstorm Warning</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode><valueName>SAME</valueName><value>SVR</value></eventCode>
    <effective>` + capTime(sentAt.In(pacific)) + `</effective>
    <expires>` + capTime(expires.In(pacific)) + `</expires>
    <senderName>NWS Sacramento CA</senderName>
    <headline>Severe Thunderstorm Warning by NWS Sacramento CA</headline>
    <description>A severe thunderstorm was located near Pinecrest, moving southeast at 15 mph.</description>
    <instruction>Move to an interior room on the lowest floor of a building.</instruction>
    <parameter><valueName>VTEC</valueName><value>/O.NEW.KSTO.SV.W.0009.250617T2157Z-250617T2245Z/</value></parameter>
    <parameter><valueName>EAS-ORG</valueName><value>WXR</value></parameter>
    <area>
      <areaDesc>Tuolumne, CA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode><valueName>SAME</valueName><value>006109</value></geocode>
      <geocode><valueName>UGC</valueName><value>CAZ072</value></geocode>
    </area>
  </info>
</alert>`
}

// cityAlert is a plain alert of a city in Oregon; cityCancel cancels the one
// with identifier "city-x".
func cityAlert(identifier, headline string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>` + identifier + `</identifier>
  <sender>alerts@city.example</sender>
  <sent>` + capTime(sentAt.In(pacific)) + `</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Safety</category>
    <event>Gas leak</event>
    <urgency>Immediate</urgency>
    <severity>Moderate</severity>
    <certainty>Observed</certainty>
    <expires>` + capTime(expires.In(pacific)) + `</expires>
    <headline>` + headline + `</headline>
    <area><areaDesc>Old Town</areaDesc><circle>45.52,-122.68 2</circle></area>
  </info>
</alert>
`
}

func cityCancel() string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>city-x-cancel</identifier>
  <sender>alerts@city.example</sender>
  <sent>` + capTime(sentAt.Add(5*time.Minute).In(pacific)) + `</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <references>alerts@city.example,city-x,` + capTime(sentAt.In(pacific)) + `</references>
</alert>
`
}

// atomFeed is an Atom feed of entries, newest first.
func atomFeed(entries ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:partner:feed</id><title>Partner alerts</title><updated>` + time.Now().UTC().Format(time.RFC3339) + `</updated>
  <author><name>Partner</name></author>
` + strings.Join(entries, "\n") + `
</feed>`
}

func linkedEntry(id, href string) string {
	return `  <entry><id>` + id + `</id><title>` + id + `</title><updated>` + sentAt.UTC().Format(time.RFC3339) + `</updated>
    <link rel="alternate" type="text/html" href="/page/` + id + `"/>
    <link rel="related" type="application/cap+xml" href="` + href + `"/>
  </entry>`
}

func rssFeed(items ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Texas AMBER</title><link>https://dps.texas.example/</link><description>AMBER alerts</description>
` + strings.Join(items, "\n") + `
</channel></rss>`
}

// TestRelay runs the real binary relaying a partner network's feeds to
// webhook subscribers: each relayed alert reaches the subscriber in its
// area once, in the subscriber's language, marked with its source; a feed
// that times out holds nothing up; a feed that lists an entry twice and an
// alert that two feeds carry are delivered once; and an alert whose Cancel
// arrived first is never sent.
func TestRelay(t *testing.T) {
	pf := newPartnerFeeds(t)
	feed := func(p string) string { return pf.URL + p }
	// The feeds start empty, so that nothing is relayed before the
	// subscribers exist.
	for _, p := range []string{"/ca/feed.atom", "/nws/feed.atom", "/dup/feed.atom", "/city/feed.atom"} {
		pf.set(p, atomFeed())
	}
	pf.set("/amber/feed.rss", rssFeed())
	pf.set("/ca/update.xml", bilingualUpdate())
	pf.set("/amber/person.xml", missingPerson())
	pf.set("/city/cancel.xml", cityCancel())
	pf.set("/city/x.xml", cityAlert("city-x", "Gas leak in Old Town: stay indoors"))
	pf.set("/city/after.xml", cityAlert("city-after", "Old Town: road closed for repairs"))

	data := t.TempDir()
	admin := newToken(t, data, "admin", "ops")
	// Two feeds come from the environment, as a comma-separated list.
	t.Setenv("TOCSIN_RELAY", feed("/dup/feed.atom")+","+feed("/slow/feed.atom"))
	srv := startTocsin(t, data, "--allow-private-relays", "--relay-interval", "200ms", "--relay-timeout", "1s",
		"--relay", feed("/ca/feed.atom"), "--relay", feed("/amber/feed.rss"), "--relay", feed("/nws/feed.atom"), "--relay", feed("/city/feed.atom"))

	in := newRelayInbox(t)
	in.subscribe(t, srv.URL, "/ottawa-fr", circle(45.45, -75.5, 3), "fr", "en")
	in.subscribe(t, srv.URL, "/bexar-es", circle(29.42, -98.49, 5), "es", "en")
	in.subscribe(t, srv.URL, "/tuolumne-en", circle(38.47, -119.95, 5), "en")
	in.subscribe(t, srv.URL, "/tuolumne-es", circle(38.47, -119.95, 5), "es")
	in.subscribe(t, srv.URL, "/oldtown", circle(45.52, -122.68, 1), "en")
	in.subscribe(t, srv.URL, "/elsewhere", circle(40.7, -74.0, 5), "en")

	// The partners publish; the city's Cancel comes before its alert.
	pf.set("/ca/feed.atom", atomFeed(linkedEntry("urn:ca:update", feed("/ca/update.xml"))))
	pf.set("/amber/feed.rss", rssFeed(`  <item><title>AMBER Alert</title><guid>amber-0042</guid><pubDate>`+sentAt.UTC().Format(time.RFC1123Z)+`</pubDate>
    <link>https://dps.texas.example/amber/0042</link><enclosure url="/amber/person.xml" type="application/cap+xml" length="2000"/></item>`))
	pf.set("/nws/feed.atom", atomFeed(`  <entry><id>urn:nws:svr</id><title>SVR</title><updated>`+sentAt.UTC().Format(time.RFC3339)+`</updated>
    <content type="application/cap+xml">`+ipawsThunderstorm()+`</content></entry>`))
	pf.set("/dup/feed.atom", atomFeed(linkedEntry("urn:dup:amber", feed("/amber/person.xml")), linkedEntry("urn:dup:amber", feed("/amber/person.xml"))))
	pf.set("/city/feed.atom", atomFeed(linkedEntry("urn:city:cancel", feed("/city/cancel.xml"))))

	waitFor(t, 30*time.Second, "the relayed alerts", func() bool {
		return len(in.at("/ottawa-fr")) > 0 && len(in.at("/bexar-es")) > 0 && len(in.at("/tuolumne-en")) > 0 && len(in.at("/tuolumne-es")) > 0
	})
	// The English-only NWS alert reaches a Spanish subscriber machine-translated,
	// and labelled so; the agency's place names come through.
	if got := in.at("/tuolumne-es"); len(got) != 1 || got[0].Alert.Language != "es" || got[0].Alert.Infos[0].Provenance != "machine:apertium:eng-spa" {
		t.Errorf("the Spanish subscriber got %+v", got)
	}

	// The Cancel waits, listed for admins, until its alert arrives.
	var unmatched struct {
		Alerts []struct {
			Alert struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"alert"`
			UnmatchedReferences []string `json:"unmatched_references"`
		} `json:"alerts"`
	}
	waitFor(t, 30*time.Second, "the early Cancel to be listed as unmatched", func() bool {
		mustCall(t, 200, "GET", srv.URL+"/api/v1/cap/unmatched", admin, nil, &unmatched)
		for _, u := range unmatched.Alerts {
			if u.Alert.State == "unmatched" && len(u.UnmatchedReferences) == 1 && strings.Contains(u.UnmatchedReferences[0], ",city-x,") {
				return true
			}
		}
		return false
	})
	cancelID := ""
	for _, u := range unmatched.Alerts {
		if u.Alert.State == "unmatched" {
			cancelID = u.Alert.ID
		}
	}
	// Then the alert, and after it a new one of the same city.
	pf.set("/city/feed.atom", atomFeed(
		linkedEntry("urn:city:after", feed("/city/after.xml")),
		linkedEntry("urn:city:x", feed("/city/x.xml")),
		linkedEntry("urn:city:cancel", feed("/city/cancel.xml")),
	))
	waitFor(t, 30*time.Second, "the city's later alert", func() bool { return len(in.at("/oldtown")) > 0 })
	// Polls go on; let every feed be polled conditionally a few more times.
	waitFor(t, 30*time.Second, "more polls, answered 304", func() bool {
		for _, p := range []string{"/ca/feed.atom", "/amber/feed.rss", "/nws/feed.atom", "/dup/feed.atom", "/city/feed.atom"} {
			if pf.notModified(p) < 3 {
				return false
			}
		}
		return true
	})
	waitFor(t, 30*time.Second, "the slow feed to time out", func() bool {
		return strings.Contains(srv.logs.String(), "relay: poll failed") && strings.Contains(srv.logs.String(), "/slow/feed.atom")
	})

	type want struct {
		path, typ, sender, identifier, lang, headline, feed string
	}
	for _, w := range []want{
		{"/ottawa-fr", "alert.updated", "cap-pac@canada.ca", "2.49.0.1.124.e2e.update", "fr-CA", "Avertissement de neige en vigueur", feed("/ca/feed.atom")},
		{"/bexar-es", "alert.published", "amber@dps.texas.example", "AMBER-TX-E2E-0042", "es-US", "Alerta AMBER: Ana Ruiz, 9 años", ""},
		{"/tuolumne-en", "alert.published", "w-nws.webmaster@noaa.gov", "urn:oid:2.49.0.1.840.0.e2e.svr.1", "en-US", "Severe Thunderstorm Warning by NWS Sacramento CA", feed("/nws/feed.atom")},
		{"/oldtown", "alert.published", "alerts@city.example", "city-after", "en-US", "Old Town: road closed for repairs", feed("/city/feed.atom")},
	} {
		got := in.at(w.path)
		if len(got) != 1 {
			t.Errorf("%s received %d messages; want exactly one: %+v", w.path, len(got), got)
			continue
		}
		m := got[0]
		if !m.Verified || m.Type != w.typ || m.Alert.Sender != w.sender || m.Alert.Language != w.lang || len(m.Alert.Infos) != 1 || m.Alert.Infos[0].Headline != w.headline {
			t.Errorf("%s received %+v; want a signed %s from %s in %s: %q", w.path, m, w.typ, w.sender, w.lang, w.headline)
		}
		src := m.Alert.Source
		if src == nil || src.Kind != "relay" || src.Identifier != w.identifier {
			t.Errorf("%s: source %+v; want relay, identifier %s", w.path, src, w.identifier)
			continue
		}
		// The AMBER alert came in two feeds; whichever was first is its source.
		if w.feed != "" && src.Name != w.feed || w.feed == "" && src.Name != feed("/amber/feed.rss") && src.Name != feed("/dup/feed.atom") {
			t.Errorf("%s: source feed %q; want %q", w.path, src.Name, w.feed)
		}
	}
	if got := in.at("/elsewhere"); len(got) != 0 {
		t.Errorf("a subscriber outside every area received %+v", got)
	}

	// The alert that was cancelled before it arrived was stored, cancelled,
	// and never sent; the Cancel is applied and no longer waits.
	var x struct {
		ID          string
		PublishedAt *string
	}
	pubToken := newToken(t, data, "publisher", "reviewer")
	waitFor(t, 10*time.Second, "the cancelled alert to be stored", func() bool {
		code, _ := doJSON("GET", srv.URL+"/api/v1/cap/alerts@city.example/city-x.xml", pubToken, nil, nil)
		return code == 200
	})
	var cancelled struct {
		Alerts []struct {
			ID          string  `json:"id"`
			PublishedAt *string `json:"published_at"`
			Source      *struct {
				Identifier string `json:"identifier"`
			} `json:"source"`
		} `json:"alerts"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts?state=cancelled", pubToken, nil, &cancelled)
	for _, a := range cancelled.Alerts {
		if a.Source != nil && a.Source.Identifier == "city-x" {
			x.ID, x.PublishedAt = a.ID, a.PublishedAt
		}
	}
	if x.ID == "" || x.PublishedAt != nil {
		t.Errorf("the city's cancelled alert = %+v; want it stored cancelled, never published", x)
	}
	if code, _ := doJSON("GET", srv.URL+"/api/v1/cap/alerts@city.example/city-x.xml", "", nil, nil); code != 404 {
		t.Errorf("the never-published alert's CAP is public (%d)", code)
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/cap/unmatched", admin, nil, &unmatched)
	for _, u := range unmatched.Alerts {
		if u.Alert.ID == cancelID {
			t.Errorf("the Cancel %s is still unmatched after its alert arrived", cancelID)
		}
	}

	// The feeds this network publishes carry the relayed alerts.
	resp, err := http.Get(srv.URL + "/feeds/alerts.atom")
	if err != nil {
		t.Fatal(err)
	}
	atom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, h := range []string{"Snowfall warning in effect", "AMBER Alert: Ana Ruiz", "Severe Thunderstorm Warning", "road closed"} {
		if !strings.Contains(string(atom), h) {
			t.Errorf("the Atom feed lacks %q:\n%s", h, atom)
		}
	}
	if strings.Contains(string(atom), "Gas leak") {
		t.Errorf("the Atom feed lists the alert that was cancelled before it was sent")
	}
}

package cap

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// testFeed is how a reader sees an Atom feed.
type testFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  []struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Links   []testLink `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		ID        string     `xml:"http://www.w3.org/2005/Atom id"`
		Title     string     `xml:"http://www.w3.org/2005/Atom title"`
		Updated   string     `xml:"http://www.w3.org/2005/Atom updated"`
		Published string     `xml:"http://www.w3.org/2005/Atom published"`
		Summary   string     `xml:"http://www.w3.org/2005/Atom summary"`
		Links     []testLink `xml:"http://www.w3.org/2005/Atom link"`
		Author    []struct {
			Name string `xml:"http://www.w3.org/2005/Atom name"`
		} `xml:"http://www.w3.org/2005/Atom author"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

type testLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

// readFeed parses an Atom feed strictly and checks what RFC 4287 requires
// of it: an id, title and updated time (RFC 3339) on the feed and every
// entry, an author for the feed or every entry, and no more than one
// alternate link per type.
func readFeed(tb testing.TB, b []byte) testFeed {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var f testFeed
	if err := d.Decode(&f); err != nil {
		tb.Fatalf("not a well-formed Atom feed: %v", err)
	}
	rfc3339 := func(what, s string) {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			tb.Errorf("%s %q is not RFC 3339: %v", what, s, err)
		}
	}
	if f.ID == "" || f.Title == "" {
		tb.Errorf("feed id %q, title %q", f.ID, f.Title)
	}
	rfc3339("feed updated", f.Updated)
	feedAuthor := len(f.Author) > 0 && f.Author[0].Name != ""
	for i, e := range f.Entries {
		if e.ID == "" || e.Title == "" {
			tb.Errorf("entry %d: id %q, title %q", i, e.ID, e.Title)
		}
		rfc3339(fmt.Sprintf("entry %d updated", i), e.Updated)
		rfc3339(fmt.Sprintf("entry %d published", i), e.Published)
		if !feedAuthor && (len(e.Author) == 0 || e.Author[0].Name == "") {
			tb.Errorf("entry %d has no author and neither has the feed", i)
		}
		seen := map[string]bool{}
		for _, l := range e.Links {
			if l.Rel == "alternate" {
				if seen[l.Type] {
					tb.Errorf("entry %d: two alternate links of type %s", i, l.Type)
				}
				seen[l.Type] = true
			}
		}
	}
	// A round trip through encoding/xml keeps everything.
	again, err := xml.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	var g testFeed
	if err := xml.Unmarshal(again, &g); err != nil || !reflect.DeepEqual(f, g) {
		tb.Errorf("round trip: %v", err)
	}
	return f
}

// feedAlerts are the sample alerts, each sent a minute after the last.
func feedAlerts() []*tocsin.Alert {
	var alerts []*tocsin.Alert
	for i, c := range sampleAlerts() {
		c.a.Sent = t0.Add(time.Duration(i) * time.Minute)
		alerts = append(alerts, c.a)
	}
	return alerts
}

func TestAtomFeed(t *testing.T) {
	alerts := feedAlerts()
	b, err := AtomFeed(alerts, FeedOptions{BaseURL: "https://alerts.example.org/", Title: "Denver & Boulder alerts"})
	if err != nil {
		t.Fatal(err)
	}
	f := readFeed(t, b)
	if f.ID != "https://alerts.example.org/feeds/alerts.atom" || f.Title != "Denver & Boulder alerts" || f.Author[0].Name != "Denver & Boulder alerts" {
		t.Errorf("feed: %+v", f)
	}
	newest := alerts[len(alerts)-1]
	if f.Updated != newest.Sent.UTC().Format(time.RFC3339) {
		t.Errorf("feed updated %s, want the newest entry's", f.Updated)
	}
	if !slicesContain(f.Links, testLink{Rel: "self", Type: "application/atom+xml", Href: "https://alerts.example.org/feeds/alerts.atom"}) {
		t.Errorf("no self link: %+v", f.Links)
	}
	if len(f.Entries) != len(alerts) {
		t.Fatalf("%d entries for %d alerts", len(f.Entries), len(alerts))
	}
	for i, e := range f.Entries {
		a := alerts[len(alerts)-1-i] // newest first
		capURL := "https://alerts.example.org/api/v1/alerts/" + a.ID + "/cap.xml"
		if e.ID != capURL || e.Updated != a.Sent.UTC().Format(time.RFC3339) || e.Author[0].Name != a.Sender {
			t.Errorf("entry %d: %+v", i, e)
		}
		if want := a.ID; len(a.Infos) > 0 {
			want = a.Infos[0].Headline
			if e.Title != want {
				t.Errorf("entry %d title %q, want the first headline %q", i, e.Title, want)
			}
		}
		if !slicesContain(e.Links, testLink{Rel: "alternate", Type: "application/cap+xml", Href: capURL}) {
			t.Errorf("entry %d links %+v", i, e.Links)
		}
	}
	again, _ := AtomFeed(alerts, FeedOptions{BaseURL: "https://alerts.example.org"})
	if again2, _ := AtomFeed(alerts, FeedOptions{BaseURL: "https://alerts.example.org"}); !bytes.Equal(again, again2) {
		t.Error("the same alerts made different feeds")
	}
}

func slicesContain[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestAtomFeedOptions(t *testing.T) {
	alerts := feedAlerts()
	t.Run("language", func(t *testing.T) {
		b, err := AtomFeed(alerts, FeedOptions{BaseURL: "http://localhost:8080", Languages: []string{"es"}})
		if err != nil {
			t.Fatal(err)
		}
		f := readFeed(t, b)
		found := false
		for _, e := range f.Entries {
			found = found || e.Title == "Desaparecida: Ana Ruiz, 9"
		}
		if !found {
			t.Error("no Spanish title")
		}
	})
	t.Run("published later than sent", func(t *testing.T) {
		a := sampleAlert()
		pub := t0.Add(time.Hour)
		a.PublishedAt = &pub
		f := readFeed(t, must(AtomFeed([]*tocsin.Alert{a}, FeedOptions{BaseURL: "http://x.example"})))
		if f.Entries[0].Updated != "2025-03-14T10:26:53Z" || f.Entries[0].Published != "2025-03-14T09:26:53Z" {
			t.Errorf("%+v", f.Entries[0])
		}
	})
	t.Run("empty", func(t *testing.T) {
		f := readFeed(t, must(AtomFeed(nil, FeedOptions{BaseURL: "http://x.example"})))
		if len(f.Entries) != 0 || f.Updated != "1970-01-01T00:00:00Z" || f.Title != "tocsin alerts" {
			t.Errorf("%+v", f)
		}
		up := time.Date(2025, 1, 2, 3, 4, 5, 0, denver)
		f = readFeed(t, must(AtomFeed(nil, FeedOptions{BaseURL: "http://x.example", Updated: up})))
		if f.Updated != "2025-01-02T10:04:05Z" {
			t.Errorf("updated %s", f.Updated)
		}
	})
	t.Run("long description summarised", func(t *testing.T) {
		a := sampleAlert()
		a.Infos[0].Description = strings.Repeat("é", 5000)
		f := readFeed(t, must(AtomFeed([]*tocsin.Alert{a}, FeedOptions{BaseURL: "http://x.example"})))
		if s := f.Entries[0].Summary; len([]rune(s)) != maxSummary || !strings.HasSuffix(s, "…") {
			t.Errorf("summary of %d characters", len([]rune(s)))
		}
	})
	t.Run("bad base URL", func(t *testing.T) {
		for _, u := range []string{"", "alerts.example.org", "ftp://x.example", "https://", "https://x.example/?a=1", "://"} {
			if _, err := AtomFeed(nil, FeedOptions{BaseURL: u}); err == nil {
				t.Errorf("BaseURL %q accepted", u)
			}
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestAtomFeedSize fills a feed past the limit and checks that the newest
// alerts are kept and the feed stays under it.
func TestAtomFeedSize(t *testing.T) {
	var alerts []*tocsin.Alert
	for i := range 3000 {
		a := sampleAlert()
		a.ID = fmt.Sprintf("alr_%05d", i)
		a.Sent = t0.Add(time.Duration(i) * time.Second)
		a.Infos[0].Headline = strings.Repeat("Flood & <mud> ", 11)
		a.Infos[0].Description = strings.Repeat("Water over the road. ", 40)
		alerts = append(alerts, a)
	}
	for _, max := range []int{0, 100_000, 5_000} {
		b, err := AtomFeed(alerts, FeedOptions{BaseURL: "https://alerts.example.org", MaxBytes: max})
		if err != nil {
			t.Fatal(err)
		}
		limit := max
		if max == 0 {
			limit = DefaultFeedMaxBytes
		}
		if len(b) > limit {
			t.Errorf("feed of %d bytes, over %d", len(b), limit)
		}
		f := readFeed(t, b)
		if len(f.Entries) == 0 || len(f.Entries) == len(alerts) {
			t.Fatalf("limit %d: %d entries", limit, len(f.Entries))
		}
		for i, e := range f.Entries {
			if want := alerts[len(alerts)-1-i].ID; !strings.Contains(e.ID, want) {
				t.Fatalf("entry %d is %s, want the newest alerts, %s", i, e.ID, want)
			}
		}
		// One more entry would not have fitted: the feed is as full as it can be.
		if next := len(f.Entries); len(b)+entrySize(t, alerts[len(alerts)-1-next]) <= limit {
			t.Errorf("limit %d: %d bytes with %d entries; another would fit", limit, len(b), next)
		}
	}
	if _, err := AtomFeed(alerts, FeedOptions{BaseURL: "https://alerts.example.org", MaxBytes: 100}); err == nil {
		t.Error("a limit smaller than an empty feed was accepted")
	}
}

func entrySize(tb testing.TB, a *tocsin.Alert) int {
	e, _ := atomEntryFor(a, "https://alerts.example.org", nil)
	b, err := xml.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// testGeoJSON is how a map library sees the collection.
type testGeoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type     string          `json:"type"`
		ID       string          `json:"id"`
		Geometry json.RawMessage `json:"geometry"`
		Props    map[string]any  `json:"properties"`
	} `json:"features"`
}

type testGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// rings returns the rings of a Polygon or MultiPolygon.
func rings(tb testing.TB, raw json.RawMessage) (string, [][][2]float64) {
	tb.Helper()
	var g testGeometry
	if err := json.Unmarshal(raw, &g); err != nil {
		tb.Fatal(err)
	}
	switch g.Type {
	case "Polygon":
		var r [][][2]float64
		if err := json.Unmarshal(g.Coordinates, &r); err != nil {
			tb.Fatal(err)
		}
		return g.Type, r
	case "MultiPolygon":
		var m [][][][2]float64
		if err := json.Unmarshal(g.Coordinates, &m); err != nil {
			tb.Fatal(err)
		}
		var r [][][2]float64
		for _, p := range m {
			r = append(r, p...)
		}
		return g.Type, r
	}
	tb.Fatalf("geometry type %q", g.Type)
	return "", nil
}

// checkRing checks what RFC 7946 asks of an exterior ring: closed, at least
// four positions, [lon, lat] in range, counterclockwise.
func checkRing(tb testing.TB, r [][2]float64) {
	tb.Helper()
	if len(r) < 4 || r[0] != r[len(r)-1] {
		tb.Errorf("ring of %d positions, closed %v", len(r), len(r) > 0 && r[0] == r[len(r)-1])
	}
	var area float64
	for i, p := range r {
		if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			tb.Errorf("position %d %v out of range", i, p)
		}
		if i+1 < len(r) {
			area += p[0]*r[i+1][1] - r[i+1][0]*p[1]
		}
	}
	if area <= 0 {
		tb.Errorf("ring runs clockwise (twice the area %g)", area)
	}
}

func TestGeoJSON(t *testing.T) {
	a := sampleAlert()
	clockwise := poly(39.76, -105.01, 39.76, -104.97, 39.73, -104.97, 39.73, -105.01, 39.76, -105.01)
	a.Areas = []tocsin.Area{
		{Description: "Downtown", Polygon: downtown},
		{Description: "Downtown, drawn clockwise", Polygon: clockwise},
		{Description: "Cherry Creek", Circle: &geo.Circle{Lat: 39.7169, Lon: -104.9536, RadiusKM: 1.5}},
		{Description: "Denver County", Geocodes: map[string]string{"FIPS6": "008031"}},
		{Description: "Taveuni", Circle: &geo.Circle{Lat: -16.85, Lon: 179.95, RadiusKM: 30}},
		{Description: "Chukotka", Circle: &geo.Circle{Lat: 66, Lon: -179.9, RadiusKM: 60}},
		{Description: "North Pole", Circle: &geo.Circle{Lat: 89.5, Lon: 10, RadiusKM: 100}},
	}
	es := a.Infos[0]
	es.Language, es.Headline, es.Expires, es.Provenance = "es", "Inundación repentina en el centro", nil, "machine:mt:en-es"
	a.Infos = append(a.Infos, es)
	other := sampleAlert()
	other.ID = "alr_other"

	for _, lang := range [][]string{nil, {"es-MX", "en"}} {
		b, err := GeoJSON([]*tocsin.Alert{a, other}, lang)
		if err != nil {
			t.Fatal(err)
		}
		var fc testGeoJSON
		if err := json.Unmarshal(b, &fc); err != nil {
			t.Fatal(err)
		}
		if fc.Type != "FeatureCollection" || len(fc.Features) != len(a.Areas)+1 {
			t.Fatalf("%s with %d features", fc.Type, len(fc.Features))
		}
		for i, f := range fc.Features[:len(a.Areas)] {
			p := f.Props
			if f.Type != "Feature" || f.ID != fmt.Sprintf("%s/%d", a.ID, i) || p["id"] != a.ID || p["area_index"] != float64(i) || p["area"] != a.Areas[i].Description {
				t.Errorf("feature %d: %s %s %v", i, f.Type, f.ID, p)
			}
			for _, k := range []string{"headline", "event", "severity", "urgency", "certainty", "sent", "expires", "msg_type", "status", "language", "provenance"} {
				if _, ok := p[k]; !ok {
					t.Errorf("feature %d has no %s", i, k)
				}
			}
			if _, err := time.Parse(time.RFC3339, p["sent"].(string)); err != nil {
				t.Error(err)
			}
			if lang == nil && (p["language"] != "en" || p["headline"] != "Flash flooding downtown" || p["provenance"] != "human") {
				t.Errorf("feature %d in English: %v", i, p)
			}
			if lang == nil {
				if _, err := time.Parse(time.RFC3339, p["expires"].(string)); err != nil {
					t.Error(err)
				}
			}
			if lang != nil && (p["language"] != "es" || p["headline"] != "Inundación repentina en el centro" || p["expires"] != nil || p["provenance"] != "machine:mt:en-es") {
				t.Errorf("feature %d in Spanish: %v", i, p)
			}
		}
		byDesc := map[string]json.RawMessage{}
		for i, f := range fc.Features[:len(a.Areas)] {
			byDesc[a.Areas[i].Description] = f.Geometry
		}

		// Polygons: [lon, lat], counterclockwise whichever way they were drawn.
		for _, d := range []string{"Downtown", "Downtown, drawn clockwise"} {
			typ, r := rings(t, byDesc[d])
			if typ != "Polygon" || len(r) != 1 || len(r[0]) != 5 {
				t.Fatalf("%s: %s %v", d, typ, r)
			}
			checkRing(t, r[0])
			if !slicesContain(r[0], [2]float64{-105.01, 39.76}) {
				t.Errorf("%s: positions are not [lon, lat]: %v", d, r[0])
			}
		}
		// A circle: 64 corners on its rim.
		typ, r := rings(t, byDesc["Cherry Creek"])
		if typ != "Polygon" || len(r[0]) != CircleCorners+1 {
			t.Fatalf("circle: %s with %d positions", typ, len(r[0]))
		}
		checkRing(t, r[0])
		for _, p := range r[0] {
			if d := geo.DistanceKM(geo.Point{Lat: 39.7169, Lon: -104.9536}, geo.Point{Lat: p[1], Lon: p[0]}); math.Abs(d-1.5) > 0.001 {
				t.Errorf("corner %v is %g km from the centre", p, d)
			}
		}
		// Circles across the antimeridian are cut in two.
		for _, d := range []string{"Taveuni", "Chukotka"} {
			typ, r := rings(t, byDesc[d])
			if typ != "MultiPolygon" || len(r) != 2 {
				t.Fatalf("%s: %s of %d rings", d, typ, len(r))
			}
			var at180, atMinus180 bool
			for _, ring := range r {
				checkRing(t, ring)
				for _, p := range ring {
					at180 = at180 || p[0] == 180
					atMinus180 = atMinus180 || p[0] == -180
				}
			}
			if !at180 || !atMinus180 {
				t.Errorf("%s: not cut at ±180: %v", d, r)
			}
		}
		// A circle around the pole is the band of latitudes it reaches.
		typ, r = rings(t, byDesc["North Pole"])
		if typ != "Polygon" || len(r[0]) != 5 {
			t.Fatalf("pole: %s %v", typ, r)
		}
		checkRing(t, r[0])
		// Geocodes only: no geometry.
		if string(byDesc["Denver County"]) != "null" {
			t.Errorf("geocode-only area: %s", byDesc["Denver County"])
		}
		if fc.Features[3].Props["geocodes"].(map[string]any)["FIPS6"] != "008031" {
			t.Errorf("geocodes: %v", fc.Features[3].Props)
		}
	}
}

func TestGeoJSONEmpty(t *testing.T) {
	b, err := GeoJSON(nil, nil)
	if err != nil || string(b) != `{"type":"FeatureCollection","features":[]}` {
		t.Errorf("%s %v", b, err)
	}
	cancel := sampleAlert()
	cancel.Infos, cancel.Areas = nil, []tocsin.Area{{Description: "x", Circle: &geo.Circle{Lat: 1, Lon: 1, RadiusKM: 1}}}
	b, err = GeoJSON([]*tocsin.Alert{cancel}, []string{"fr"})
	if err != nil || !strings.Contains(string(b), `"headline":""`) || !strings.Contains(string(b), `"expires":null`) {
		t.Errorf("%s %v", b, err)
	}
}

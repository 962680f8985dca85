package relay

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseFeed(t *testing.T) {
	base, _ := url.Parse("https://partner.example/alerts/feed.atom")
	tests := []struct {
		name string
		body string
		want []entry
	}{
		{"atom, typed link wins over alternate", `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>a</id><updated>u</updated>
			<link href="/page"/><link rel="related" type="application/cap+xml; charset=utf-8" href="cap/a.xml"/></entry></feed>`,
			[]entry{{Key: "a|u", CAP: "https://partner.example/alerts/cap/a.xml"}}},
		{"atom, alternate link without a type", `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>b</id><updated>u</updated>
			<link rel="alternate" href="https://other.example/b.cap"/></entry></feed>`,
			[]entry{{Key: "b|u", CAP: "https://other.example/b.cap"}}},
		{"atom, out-of-line content", `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>c</id><updated>u</updated>
			<content type="application/cap+xml" src="c.xml"/></entry></feed>`,
			[]entry{{Key: "c|u", CAP: "https://partner.example/alerts/c.xml"}}},
		{"rss, enclosure", `<rss version="2.0"><channel><item><guid>g</guid><pubDate>d</pubDate><link>https://x.example/page</link>
			<enclosure url="/e.xml" type="application/cap+xml"/></item></channel></rss>`,
			[]entry{{Key: "g|d", CAP: "https://partner.example/e.xml"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFeed([]byte(tt.body), base)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("entries %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key || got[i].CAP != tt.want[i].CAP || got[i].Inline != nil {
					t.Errorf("entry %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	inline, err := parseFeed([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>i</id>
		<content type="application/cap+xml"><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert></content></entry></feed>`), base)
	if err != nil || len(inline) != 1 || !strings.HasPrefix(string(inline[0].Inline), `<?xml version="1.0" encoding="UTF-8"?>`+"\n<alert xmlns=") {
		t.Errorf("inline CAP = %+v, %v", inline, err)
	}
	for _, bad := range []string{"", "<html><body>hi</body></html>", "<feed>no namespace</feed>", "<rss><channel><item>"} {
		if _, err := parseFeed([]byte(bad), base); err == nil {
			t.Errorf("parseFeed(%q) succeeded", bad)
		}
	}
}

// FuzzParseFeed checks that no feed, however made, panics the parser or
// yields a link that is not absolute.
func FuzzParseFeed(f *testing.F) {
	f.Add(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>a</id><link type="application/cap+xml" href="a.xml"/></entry></feed>`)
	f.Add(`<rss version="2.0"><channel><item><link>b.xml</link></item></channel></rss>`)
	f.Add(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="application/cap+xml"><alert/></content></entry></feed>`)
	f.Add(`<!DOCTYPE x [<!ENTITY a "b">]><feed xmlns="http://www.w3.org/2005/Atom">&a;</feed>`)
	base, _ := url.Parse("https://partner.example/feed")
	f.Fuzz(func(t *testing.T, body string) {
		entries, err := parseFeed([]byte(body), base)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.CAP != "" {
				if u, err := url.Parse(e.CAP); err != nil || !u.IsAbs() {
					t.Errorf("CAP link %q is not absolute", e.CAP)
				}
			}
		}
	})
}

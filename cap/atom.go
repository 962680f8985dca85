package cap

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// DefaultFeedMaxBytes is the size AtomFeed keeps a feed under unless told
// otherwise: aggregators such as Google Public Alerts refuse index feeds of
// 1 MB and more.
const DefaultFeedMaxBytes = 900_000

// maxSummary is the most characters of an alert's description an entry
// summary carries; the full text is in the CAP document.
const maxSummary = 500

// FeedOptions describe the Atom feed AtomFeed writes.
type FeedOptions struct {
	// BaseURL is the server's public address, such as
	// "https://alerts.example.org"; the feed's id and links, and each
	// entry's link to its CAP document, are made from it. Required.
	BaseURL string
	// Title is the feed's title; "tocsin alerts" when empty.
	Title string
	// Author is the feed's author name; the title when empty.
	Author string
	// Languages, most preferred first, choose the info whose headline and
	// description make an entry's title and summary; without a match, the
	// alert's first info.
	Languages []string
	// Updated is when the feed last changed, such as the time of the latest
	// publication or cancellation. When zero, the newest entry's time is
	// used, and an empty feed gets the Unix epoch, so that the same
	// alerts always make the same bytes (and the same ETag).
	Updated time.Time
	// MaxBytes bounds the size of the document; DefaultFeedMaxBytes when
	// zero. The oldest entries are left out until the feed fits.
	MaxBytes int
}

// The Atom (RFC 4287) elements AtomFeed writes.
type (
	atomFeed struct {
		XMLName   xml.Name     `xml:"http://www.w3.org/2005/Atom feed"`
		ID        string       `xml:"id"`
		Title     atomText     `xml:"title"`
		Updated   string       `xml:"updated"`
		Author    atomPerson   `xml:"author"`
		Generator string       `xml:"generator"`
		Links     []atomLink   `xml:"link"`
		Entries   []*atomEntry `xml:"entry"`
	}
	atomEntry struct {
		XMLName    xml.Name       `xml:"entry"`
		ID         string         `xml:"id"`
		Title      atomText       `xml:"title"`
		Updated    string         `xml:"updated"`
		Published  string         `xml:"published"`
		Author     atomPerson     `xml:"author"`
		Summary    *atomText      `xml:"summary,omitempty"`
		Categories []atomCategory `xml:"category"`
		Links      []atomLink     `xml:"link"`
	}
	atomText struct {
		Type string `xml:"type,attr,omitempty"`
		Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
		Text string `xml:",chardata"`
	}
	atomPerson struct {
		Name string `xml:"name"`
	}
	atomLink struct {
		Rel      string `xml:"rel,attr"`
		Type     string `xml:"type,attr,omitempty"`
		Hreflang string `xml:"hreflang,attr,omitempty"`
		Href     string `xml:"href,attr"`
	}
	atomCategory struct {
		Term string `xml:"term,attr"`
	}
)

// AtomFeed writes an Atom (RFC 4287) index feed of alerts, which the caller
// has already chosen (active, status Actual, scope Public): newest first,
// one entry per alert with its id, title (the chosen info's headline),
// updated and published times (RFC 3339), the sender as author, a summary,
// CAP categories, and a link to the alert's CAP document at
// {BaseURL}/api/v1/alerts/{id}/cap.xml with type application/cap+xml, as
// aggregators require. The feed's id and self link are
// {BaseURL}/feeds/alerts.atom. Entries that would take the feed past
// o.MaxBytes are left out, oldest first.
func AtomFeed(alerts []*tocsin.Alert, o FeedOptions) ([]byte, error) {
	base, err := feedBase(o.BaseURL)
	if err != nil {
		return nil, err
	}
	maxBytes := cmp.Or(o.MaxBytes, DefaultFeedMaxBytes)
	title := cmp.Or(o.Title, "tocsin alerts")
	self := base + "/feeds/alerts.atom"

	entries := make([]*atomEntry, 0, len(alerts))
	times := map[*atomEntry]time.Time{}
	for _, a := range alerts {
		if a.ID == "" {
			return nil, fmt.Errorf("atom feed: an alert has no ID")
		}
		e, updated := atomEntryFor(a, base, o.Languages)
		entries = append(entries, e)
		times[e] = updated
	}
	slices.SortStableFunc(entries, func(x, y *atomEntry) int {
		if c := times[y].Compare(times[x]); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})

	updated := o.Updated
	if updated.IsZero() && len(entries) > 0 {
		updated = times[entries[0]]
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0)
	}
	feed := &atomFeed{
		ID:        self,
		Title:     atomText{Type: "text", Text: title},
		Updated:   updated.UTC().Format(time.RFC3339),
		Author:    atomPerson{Name: cmp.Or(o.Author, title)},
		Generator: "tocsin",
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: self},
			{Rel: "alternate", Type: "text/html", Href: base + "/"},
		},
	}

	// Entries are written without indentation, so the feed's size is the
	// size of the empty feed plus that of each entry it holds.
	size := len(xml.Header)
	empty, err := xml.Marshal(feed)
	if err != nil {
		return nil, fmt.Errorf("atom feed: %w", err)
	}
	size += len(empty)
	if size > maxBytes {
		return nil, fmt.Errorf("atom feed: an empty feed is %d bytes, over the limit of %d", size, maxBytes)
	}
	for _, e := range entries {
		b, err := xml.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("atom feed: %w", err)
		}
		if size+len(b) > maxBytes {
			break
		}
		size += len(b)
		feed.Entries = append(feed.Entries, e)
	}
	for {
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(feed); err != nil {
			return nil, fmt.Errorf("atom feed: %w", err)
		}
		if buf.Len() <= maxBytes || len(feed.Entries) == 0 {
			return buf.Bytes(), nil
		}
		feed.Entries = feed.Entries[:len(feed.Entries)-1] // in case the sizes did not add up
	}
}

// feedBase checks BaseURL and returns it without a trailing slash.
func feedBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("feed: BaseURL %q is not an absolute http or https URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// CAPPath returns the path of an alert's CAP document on the server.
func CAPPath(id string) string { return "/api/v1/alerts/" + url.PathEscape(id) + "/cap.xml" }

func atomEntryFor(a *tocsin.Alert, base string, langs []string) (*atomEntry, time.Time) {
	updated := a.Sent
	if a.PublishedAt != nil && a.PublishedAt.After(updated) {
		updated = *a.PublishedAt
	}
	capURL := base + CAPPath(a.ID)
	e := &atomEntry{
		ID:        capURL,
		Updated:   updated.UTC().Format(time.RFC3339),
		Published: a.Sent.UTC().Format(time.RFC3339),
		Author:    atomPerson{Name: a.Sender},
		Links:     []atomLink{{Rel: "alternate", Type: "application/cap+xml", Href: capURL}},
	}
	title := a.ID
	if in := a.InfoFor(langs); in != nil {
		title = cmp.Or(strings.TrimSpace(in.Headline), strings.TrimSpace(in.Event), a.ID)
		e.Title.Lang = in.Language
		if d := strings.TrimSpace(in.Description); d != "" {
			e.Summary = &atomText{Type: "text", Lang: in.Language, Text: truncate(d, maxSummary)}
		}
		for _, c := range in.Category {
			e.Categories = append(e.Categories, atomCategory{Term: string(c)})
		}
	}
	e.Title.Type, e.Title.Text = "text", title
	return e, updated
}

// truncate shortens s to at most n characters, ending with an ellipsis when
// it had to cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	return strings.TrimSpace(string(r)) + "…"
}

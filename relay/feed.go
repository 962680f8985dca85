package relay

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
)

const atomNamespace = "http://www.w3.org/2005/Atom"

// entry is one item of a partner's feed: a key that says whether it was
// handled before, and where its CAP document is.
type entry struct {
	// Key is the entry's id and updated time (Atom) or guid or link and
	// date (RSS): a new key means a new or changed entry.
	Key string
	// CAP is the URL of the entry's CAP document, when it links to one.
	CAP string
	// Inline is the CAP document carried in the entry itself, when it has one.
	Inline []byte
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string     `xml:"http://www.w3.org/2005/Atom id"`
	Updated string     `xml:"http://www.w3.org/2005/Atom updated"`
	Links   []atomLink `xml:"http://www.w3.org/2005/Atom link"`
	Content *struct {
		Type  string `xml:"type,attr"`
		Src   string `xml:"src,attr"`
		Inner []byte `xml:",innerxml"`
	} `xml:"http://www.w3.org/2005/Atom content"`
}

type atomDoc struct {
	Entries []atomEntry `xml:"http://www.w3.org/2005/Atom entry"`
}

type rssItem struct {
	GUID       string `xml:"guid"`
	Link       string `xml:"link"`
	PubDate    string `xml:"pubDate"`
	Enclosures []struct {
		URL  string `xml:"url,attr"`
		Type string `xml:"type,attr"`
	} `xml:"enclosure"`
}

type rssDoc struct {
	Channel struct {
		Items []rssItem `xml:"item"`
	} `xml:"channel"`
}

// isCAPType reports whether a media type names a CAP document.
func isCAPType(t string) bool {
	mt, _, err := mime.ParseMediaType(t)
	return err == nil && mt == "application/cap+xml"
}

// parseFeed reads an Atom (RFC 4287) or RSS 2.0 feed and returns its
// entries in the order the feed lists them. Links are resolved against
// base. encoding/xml expands no entities other than XML's five and never
// reads a DTD, so a hostile feed cannot make it fetch or grow anything.
func parseFeed(body []byte, base *url.URL) ([]entry, error) {
	root, err := rootElement(body)
	if err != nil {
		return nil, err
	}
	resolve := func(ref string) string {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			return ""
		}
		u, err := url.Parse(ref)
		if err != nil {
			return ""
		}
		return base.ResolveReference(u).String()
	}
	var out []entry
	switch {
	case root.Space == atomNamespace && root.Local == "feed":
		var doc atomDoc
		if err := xml.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("atom feed: %w", err)
		}
		for _, e := range doc.Entries {
			en := entry{Key: strings.TrimSpace(e.ID) + "|" + strings.TrimSpace(e.Updated)}
			for _, l := range e.Links {
				if isCAPType(l.Type) {
					en.CAP = resolve(l.Href)
					break
				}
			}
			if c := e.Content; en.CAP == "" && c != nil {
				switch {
				case c.Src != "" && (c.Type == "" || isCAPType(c.Type)):
					en.CAP = resolve(c.Src)
				case isCAPType(c.Type) || bytes.Contains(c.Inner, []byte("urn:oasis:names:tc:emergency:cap:1.2")):
					en.Inline = append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"), bytes.TrimSpace(c.Inner)...)
				}
			}
			if en.CAP == "" && en.Inline == nil {
				for _, l := range e.Links {
					if l.Rel == "" || l.Rel == "alternate" || l.Rel == "enclosure" {
						en.CAP = resolve(l.Href)
						break
					}
				}
			}
			if en.Key == "|" {
				en.Key = en.CAP
			}
			out = append(out, en)
		}
	case root.Space == "" && root.Local == "rss":
		var doc rssDoc
		if err := xml.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("rss feed: %w", err)
		}
		for _, it := range doc.Channel.Items {
			en := entry{}
			for _, e := range it.Enclosures {
				if isCAPType(e.Type) {
					en.CAP = resolve(e.URL)
					break
				}
			}
			if en.CAP == "" {
				en.CAP = resolve(it.Link)
			}
			id := strings.TrimSpace(it.GUID)
			if id == "" {
				id = en.CAP
			}
			en.Key = id + "|" + strings.TrimSpace(it.PubDate)
			out = append(out, en)
		}
	default:
		return nil, fmt.Errorf("not an Atom or RSS feed: the root element is <%s> in namespace %q", root.Local, root.Space)
	}
	return out, nil
}

// rootElement returns the name of the document's first element.
func rootElement(body []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return xml.Name{}, errors.New("the feed is empty")
		} else if err != nil {
			return xml.Name{}, fmt.Errorf("the feed is not well-formed XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

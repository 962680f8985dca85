package cap

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// CircleCorners is how many corners GeoJSON draws a circle with.
const CircleCorners = 64

// GeoJSON writes alerts as an RFC 7946 FeatureCollection with one Feature
// per area of each alert, so that map libraries can style and pick each
// area on its own. A feature's id is "{alert id}/{area index}" and its
// properties are the alert's, in the info chosen for langs (the first
// preferred language the alert has, else its first info): id, area_index,
// area (the description), headline, event, instruction, category,
// severity, urgency, certainty, sent, expires (RFC 3339 in UTC, or null),
// msg_type, status, scope, language, provenance, and geocodes.
//
// Coordinates are [longitude, latitude]. Exterior rings run
// counterclockwise (the right-hand rule). A circle is drawn as a polygon of
// CircleCorners corners on its rim, rounded to six decimals (about 10 cm);
// one that crosses the antimeridian is cut there into a MultiPolygon, as
// RFC 7946 asks, and one that holds a pole is drawn as the band of
// latitudes it reaches, which is larger than the circle. An area with no
// geometry (geocodes only) has a null geometry.
func GeoJSON(alerts []*tocsin.Alert, langs []string) ([]byte, error) {
	fc := featureCollection{Type: "FeatureCollection", Features: []feature{}}
	for _, a := range alerts {
		props := alertProperties(a, langs)
		for i, ar := range a.Areas {
			p := props
			p.AreaIndex, p.Area, p.Geocodes = i, ar.Description, ar.Geocodes
			fc.Features = append(fc.Features, feature{
				Type:       "Feature",
				ID:         a.ID + "/" + strconv.Itoa(i),
				Geometry:   areaGeometry(ar),
				Properties: p,
			})
		}
	}
	b, err := json.Marshal(fc)
	if err != nil {
		return nil, fmt.Errorf("geojson: %w", err)
	}
	return b, nil
}

type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
}

type feature struct {
	Type       string     `json:"type"`
	ID         string     `json:"id"`
	Geometry   *geometry  `json:"geometry"`
	Properties properties `json:"properties"`
}

// geometry is a GeoJSON Polygon, MultiPolygon or GeometryCollection.
type geometry struct {
	Type        string      `json:"type"`
	Coordinates any         `json:"coordinates,omitempty"`
	Geometries  []*geometry `json:"geometries,omitempty"`
}

type properties struct {
	ID          string            `json:"id"`
	AreaIndex   int               `json:"area_index"`
	Area        string            `json:"area"`
	Headline    string            `json:"headline"`
	Event       string            `json:"event"`
	Instruction string            `json:"instruction,omitempty"`
	Category    []tocsin.Category `json:"category"`
	Severity    tocsin.Severity   `json:"severity"`
	Urgency     tocsin.Urgency    `json:"urgency"`
	Certainty   tocsin.Certainty  `json:"certainty"`
	Sent        string            `json:"sent"`
	Expires     *string           `json:"expires"`
	MsgType     tocsin.MsgType    `json:"msg_type"`
	Status      tocsin.Status     `json:"status"`
	Scope       tocsin.Scope      `json:"scope"`
	Language    string            `json:"language"`
	Provenance  string            `json:"provenance"`
	Geocodes    map[string]string `json:"geocodes,omitempty"`
}

func alertProperties(a *tocsin.Alert, langs []string) properties {
	p := properties{
		ID: a.ID, Sent: a.Sent.UTC().Format(time.RFC3339),
		MsgType: a.MsgType, Status: a.Status, Scope: a.Scope,
		Category: []tocsin.Category{},
	}
	if in := a.InfoFor(langs); in != nil {
		p.Headline, p.Event, p.Instruction = in.Headline, in.Event, in.Instruction
		p.Severity, p.Urgency, p.Certainty = in.Severity, in.Urgency, in.Certainty
		p.Language, p.Provenance = in.Language, in.Provenance
		p.Category = append(p.Category, in.Category...)
		if in.Expires != nil {
			s := in.Expires.UTC().Format(time.RFC3339)
			p.Expires = &s
		}
	}
	return p
}

// position is a GeoJSON position, [longitude, latitude].
type position [2]float64

func areaGeometry(ar tocsin.Area) *geometry {
	var parts []*geometry
	if len(ar.Polygon) > 0 {
		if ring := polygonRing(ar.Polygon); ring != nil {
			parts = append(parts, &geometry{Type: "Polygon", Coordinates: [][]position{ring}})
		}
	}
	if ar.Circle != nil {
		if g := circleGeometry(*ar.Circle); g != nil {
			parts = append(parts, g)
		}
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	return &geometry{Type: "GeometryCollection", Geometries: parts}
}

// polygonRing returns p as a closed counterclockwise ring, or nil when it
// has too few points to be one.
func polygonRing(p geo.Polygon) []position {
	ring := make([]position, 0, len(p)+1)
	for _, q := range p {
		if geo.ValidatePoint(q) != nil {
			return nil
		}
		ring = append(ring, position{q.Lon, q.Lat})
	}
	if ring[0] != ring[len(ring)-1] {
		ring = append(ring, ring[0])
	}
	if len(ring) < 4 {
		return nil
	}
	if ringArea(ring) < 0 {
		slices.Reverse(ring)
	}
	return ring
}

// ringArea returns twice the signed area of a closed ring in (lon, lat),
// positive when it runs counterclockwise.
func ringArea(ring []position) float64 {
	var a float64
	for i := 0; i+1 < len(ring); i++ {
		a += ring[i][0]*ring[i+1][1] - ring[i+1][0]*ring[i][1]
	}
	return a
}

func circleGeometry(c geo.Circle) *geometry {
	if geo.ValidatePoint(c.Center()) != nil || !(c.RadiusKM > 0) || math.IsInf(c.RadiusKM, 0) {
		return nil
	}
	reach := c.RadiusKM / geo.EarthRadiusKM * 180 / math.Pi // degrees of latitude
	switch {
	case c.Lat+reach >= 90:
		return band(math.Max(-90, c.Lat-reach), 90)
	case c.Lat-reach <= -90:
		return band(-90, math.Min(90, c.Lat+reach))
	}
	p := c.Polygon(CircleCorners)
	ring := make([]position, len(p))
	west, east := false, false
	for i, q := range p {
		ring[i] = position{round6(q.Lon), round6(q.Lat)}
		west = west || ring[i][0] < -180
		east = east || ring[i][0] > 180
	}
	ring[len(ring)-1] = ring[0]
	switch {
	case east:
		return &geometry{Type: "MultiPolygon", Coordinates: [][][]position{
			{clipRing(ring, 180, false)}, {shiftRing(clipRing(ring, 180, true), -360)}}}
	case west:
		return &geometry{Type: "MultiPolygon", Coordinates: [][][]position{
			{clipRing(ring, -180, true)}, {shiftRing(clipRing(ring, -180, false), 360)}}}
	}
	return &geometry{Type: "Polygon", Coordinates: [][]position{ring}}
}

// band is the polygon of all longitudes between two latitudes.
func band(south, north float64) *geometry {
	s, n := round6(south), round6(north)
	return &geometry{Type: "Polygon", Coordinates: [][]position{{{-180, s}, {180, s}, {180, n}, {-180, n}, {-180, s}}}}
}

// clipRing keeps the part of a closed ring east of longitude x (east true)
// or west of it, by Sutherland–Hodgman. The ring is convex (a circle's), so
// the result is one closed ring with the same orientation.
func clipRing(ring []position, x float64, east bool) []position {
	in := func(p position) bool {
		if east {
			return p[0] >= x
		}
		return p[0] <= x
	}
	var out []position
	add := func(p position) {
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	for i := 0; i+1 < len(ring); i++ {
		a, b := ring[i], ring[i+1]
		if in(a) {
			add(a)
		}
		if in(a) != in(b) {
			t := (x - a[0]) / (b[0] - a[0])
			add(position{x, round6(a[1] + t*(b[1]-a[1]))})
		}
	}
	if len(out) > 0 && out[len(out)-1] != out[0] {
		out = append(out, out[0])
	}
	return out
}

func shiftRing(ring []position, dx float64) []position {
	for i := range ring {
		ring[i][0] = round6(ring[i][0] + dx)
	}
	return ring
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

package geo

import "math"

// Circles are measured on the sphere: a point is in a circle when its
// great-circle distance from the centre is at most the radius. Polygon edges
// are straight lines in latitude and longitude, as in GeoJSON, so polygon
// tests are plane geometry on (lon, lat). Where the two meet (the distance
// from a circle's centre to a polygon edge) the nearest point of the edge is
// found in an equirectangular projection centred on the circle, and its
// distance then measured on the sphere; where that projection is too crude,
// the edge is searched instead (see edgeWithin).
//
// Every test below that answers "yes" does so because of a point that lies in
// both shapes' Bounds. The Index relies on that: its box search can then
// never drop a shape that Intersects would accept.

// boundsMargin widens circle bounds by about a centimetre, so that rounding
// in the distance formula cannot put an accepted point just outside the box.
const boundsMargin = 1e-7

const degPerRad = 180 / math.Pi

// Intersects reports whether r and o share at least one point; boxes that
// only touch along an edge intersect.
func (r Rect) Intersects(o Rect) bool {
	return r.MinLat <= o.MaxLat && o.MinLat <= r.MaxLat &&
		r.MinLon <= o.MaxLon && o.MinLon <= r.MaxLon
}

// Contains reports whether p is inside r or on its edge.
func (r Rect) Contains(p Point) bool {
	return r.MinLat <= p.Lat && p.Lat <= r.MaxLat && r.MinLon <= p.Lon && p.Lon <= r.MaxLon
}

// Bounds returns the smallest box holding every point of s; a shape with
// neither a circle nor a polygon has the zero Rect.
//
// A circle's box is exact on the sphere, widened by a centimetre. A circle
// that reaches a pole, or crosses the antimeridian, gets the full longitude
// range -180..180, since a Rect cannot wrap; it is still correct, only less
// selective.
func (s Shape) Bounds() Rect {
	switch {
	case s.Circle != nil:
		return s.Circle.bounds()
	case len(s.Polygon) > 0:
		return s.Polygon.bounds()
	}
	return Rect{}
}

func (c Circle) bounds() Rect {
	d := c.RadiusKM / EarthRadiusKM * degPerRad
	r := Rect{
		MinLat: math.Max(-90, c.Lat-d-boundsMargin),
		MaxLat: math.Min(90, c.Lat+d+boundsMargin),
		MinLon: -180,
		MaxLon: 180,
	}
	if dlon, ok := c.lonReach(); ok && c.Lon-dlon >= -180 && c.Lon+dlon <= 180 {
		r.MinLon, r.MaxLon = c.Lon-dlon, c.Lon+dlon
	}
	return r
}

// lonReach returns how many degrees of longitude c reaches east and west of
// its centre, or false when c holds a pole and so reaches every longitude.
func (c Circle) lonReach() (float64, bool) {
	d := c.RadiusKM / EarthRadiusKM // angular radius
	lat := c.Lat / degPerRad
	if lat+d >= math.Pi/2 || lat-d <= -math.Pi/2 {
		return 0, false
	}
	// The widest point of a spherical cap is not at the centre's latitude,
	// and the exact half-width in longitude is asin(sin d / cos lat).
	return math.Asin(math.Min(1, math.Sin(d)/math.Cos(lat)))*degPerRad + boundsMargin, true
}

// wrappedBounds splits the box of a circle that crosses the antimeridian into
// its two halves. ok is false for any other circle.
func (c Circle) wrappedBounds() (west, east Rect, ok bool) {
	dlon, ok := c.lonReach()
	lo, hi := c.Lon-dlon, c.Lon+dlon
	if !ok || (lo >= -180 && hi <= 180) {
		return Rect{}, Rect{}, false
	}
	west, east = c.bounds(), c.bounds()
	if lo < -180 {
		west.MinLon, west.MaxLon = -180, hi
		east.MinLon, east.MaxLon = lo+360, 180
	} else {
		west.MinLon, west.MaxLon = -180, hi-360
		east.MinLon, east.MaxLon = lo, 180
	}
	return west, east, true
}

func (p Polygon) bounds() Rect {
	r := Rect{MinLat: p[0].Lat, MaxLat: p[0].Lat, MinLon: p[0].Lon, MaxLon: p[0].Lon}
	for _, q := range p[1:] {
		r.MinLat, r.MaxLat = math.Min(r.MinLat, q.Lat), math.Max(r.MaxLat, q.Lat)
		r.MinLon, r.MaxLon = math.Min(r.MinLon, q.Lon), math.Max(r.MaxLon, q.Lon)
	}
	return r
}

func segmentBounds(a, b Point) Rect {
	return Rect{
		MinLat: math.Min(a.Lat, b.Lat), MaxLat: math.Max(a.Lat, b.Lat),
		MinLon: math.Min(a.Lon, b.Lon), MaxLon: math.Max(a.Lon, b.Lon),
	}
}

// Contains reports whether p is in s; a point on a polygon's edge or on a
// circle's rim is in it.
func (s Shape) Contains(p Point) bool {
	switch {
	case s.Circle != nil:
		return DistanceKM(s.Circle.Center(), p) <= s.Circle.RadiusKM
	case len(s.Polygon) > 0:
		return s.Polygon.contains(p)
	}
	return false
}

// contains is the even-odd rule on a ray towards increasing longitude, with
// points on an edge counted in. The ring is closed implicitly, so it also
// gives an answer for a ring that fails Validate.
func (p Polygon) contains(q Point) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		a, b := p[j], p[i]
		if orient(a, b, q) == 0 && segmentBounds(a, b).Contains(q) {
			return true
		}
		if (a.Lat > q.Lat) != (b.Lat > q.Lat) {
			x := a.Lon + (q.Lat-a.Lat)*(b.Lon-a.Lon)/(b.Lat-a.Lat)
			if q.Lon < x {
				in = !in
			}
		}
	}
	return in
}

// Intersects reports whether s and o share at least one point; shapes that
// only touch intersect. A shape with neither a circle nor a polygon
// intersects nothing.
func (s Shape) Intersects(o Shape) bool {
	switch {
	case s.Circle != nil && o.Circle != nil:
		return DistanceKM(s.Circle.Center(), o.Circle.Center()) <= s.Circle.RadiusKM+o.Circle.RadiusKM
	case s.Circle != nil && len(o.Polygon) > 0:
		return circleTouchesPolygon(*s.Circle, o.Polygon)
	case len(s.Polygon) > 0 && o.Circle != nil:
		return circleTouchesPolygon(*o.Circle, s.Polygon)
	case len(s.Polygon) > 0 && len(o.Polygon) > 0:
		return polygonsTouch(s.Polygon, o.Polygon)
	}
	return false
}

func circleTouchesPolygon(c Circle, p Polygon) bool {
	if p.contains(c.Center()) {
		return true
	}
	box := c.bounds()
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		a, b := p[j], p[i]
		if !segmentBounds(a, b).Intersects(box) {
			continue // no point of this edge can be within the radius
		}
		if edgeWithin(c, a, b) {
			return true
		}
	}
	return false
}

// edgeWithin reports whether a point of the edge a-b is within c. The nearest
// point found in a projection centred on c is off by less than a tenth of a
// percent of the radius for circles up to 50 km below latitude 80, but by
// several percent for 1,000 km circles at 75°, and by far more nearer a pole;
// there a search along the edge itself settles it, for a cost of about 50
// distances.
func edgeWithin(c Circle, a, b Point) bool {
	if DistanceKM(c.Center(), nearestOnSegment(c, a, b)) <= c.RadiusKM {
		return true
	}
	if c.RadiusKM <= 50 && math.Abs(c.Lat) <= 80 {
		return false
	}
	if rectDistanceKM(c.Center(), segmentBounds(a, b)) > c.RadiusKM {
		return false // cheaper than the search, and settles most edges
	}
	return DistanceKM(c.Center(), searchNearest(c, a, b)) <= c.RadiusKM
}

// rectDistanceKM returns the distance from p to the nearest point of r. When
// r's longitudes include p's that is along p's meridian; otherwise it is on
// one of r's two meridian sides.
func rectDistanceKM(p Point, r Rect) float64 {
	if r.MinLon <= p.Lon && p.Lon <= r.MaxLon {
		return DistanceKM(p, Point{Lat: math.Max(r.MinLat, math.Min(r.MaxLat, p.Lat)), Lon: p.Lon})
	}
	return math.Min(meridianDistanceKM(p, r.MinLon, r.MinLat, r.MaxLat),
		meridianDistanceKM(p, r.MaxLon, r.MinLat, r.MaxLat))
}

// meridianDistanceKM returns the distance from p to the nearest point of the
// meridian lon between latitudes lat0 and lat1. Along the meridian from pole
// to pole the distance has one turning point: a minimum at the foot of the
// perpendicular from p when p is less than a quarter turn away, so clamping
// that latitude into the segment finds the nearest point; otherwise a
// maximum, so the nearest point is an end.
func meridianDistanceKM(p Point, lon, lat0, lat1 float64) float64 {
	dlon := math.Abs(math.Remainder(lon-p.Lon, 360)) / degPerRad
	if dlon >= math.Pi/2 {
		return math.Min(DistanceKM(p, Point{Lat: lat0, Lon: lon}), DistanceKM(p, Point{Lat: lat1, Lon: lon}))
	}
	foot := math.Atan(math.Tan(p.Lat/degPerRad)/math.Cos(dlon)) * degPerRad
	return DistanceKM(p, Point{Lat: math.Max(lat0, math.Min(lat1, foot)), Lon: lon})
}

// nearestOnSegment returns the point of the edge a-b nearest to c's centre,
// found in an equirectangular projection centred there. The edge is first
// moved by a whole turn of longitude if that brings it nearer, so that an
// edge at 179.9° is near a centre at -179.9°; the point returned is on the
// edge as given.
func nearestOnSegment(c Circle, a, b Point) Point {
	ax, bx := a.Lon-c.Lon, b.Lon-c.Lon
	lo, hi := math.Min(ax, bx), math.Max(ax, bx)
	shift := 0.0
	if gap := lonGap(lo, hi); lonGap(lo-360, hi-360) < gap {
		shift = -360
	} else if lonGap(lo+360, hi+360) < gap {
		shift = 360
	}
	k := math.Cos(c.Lat / degPerRad)
	ax, bx = (ax+shift)*k, (bx+shift)*k
	ay, by := a.Lat-c.Lat, b.Lat-c.Lat
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return a
	}
	t := math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	return Point{Lat: a.Lat + t*(b.Lat-a.Lat), Lon: a.Lon + t*(b.Lon-a.Lon)}
}

// searchNearest returns the point of the edge a-b nearest to c's centre by
// measuring along it: at nine evenly spaced points, then by golden-section
// search between the neighbours of the nearest of those, which is exact as
// long as the distance has one minimum within that stretch, and otherwise
// no worse than the nearest of the nine.
func searchNearest(c Circle, a, b Point) Point {
	at := func(t float64) Point { return Point{Lat: a.Lat + t*(b.Lat-a.Lat), Lon: a.Lon + t*(b.Lon-a.Lon)} }
	dist := func(t float64) float64 { return DistanceKM(c.Center(), at(t)) }
	const steps = 8
	best, bestD := 0, math.Inf(1)
	for i := 0; i <= steps; i++ {
		if d := dist(float64(i) / steps); d < bestD {
			best, bestD = i, d
		}
	}
	lo, hi := float64(max(0, best-1))/steps, float64(min(steps, best+1))/steps
	const g = 0.6180339887498949 // 1/φ
	x1, x2 := hi-g*(hi-lo), lo+g*(hi-lo)
	f1, f2 := dist(x1), dist(x2)
	for range 40 { // shrinks the stretch below 1e-8 of the edge
		if f1 < f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - g*(hi-lo)
			f1 = dist(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + g*(hi-lo)
			f2 = dist(x2)
		}
	}
	if mid := (lo + hi) / 2; dist(mid) < bestD {
		return at(mid)
	}
	return at(float64(best) / steps)
}

// lonGap returns how far 0 is from the interval lo..hi.
func lonGap(lo, hi float64) float64 {
	switch {
	case lo > 0:
		return lo
	case hi < 0:
		return -hi
	}
	return 0
}

// polygonsTouch reports whether two rings share a point: either two edges
// meet, or, when none do, one ring lies wholly inside the other, which one
// corner of each settles. Only edges inside the other ring's box are paired.
func polygonsTouch(p, q Polygon) bool {
	pb, qb := p.bounds(), q.bounds()
	if !pb.Intersects(qb) {
		return false
	}
	var pbuf, qbuf [32]int
	pe, qe := edgesIn(p, qb, pbuf[:0]), edgesIn(q, pb, qbuf[:0])
	for _, i := range pe {
		a, b, ab := p[i], p[(i+1)%len(p)], segmentBounds(p[i], p[(i+1)%len(p)])
		for _, j := range qe {
			c, d := q[j], q[(j+1)%len(q)]
			if ab.Intersects(segmentBounds(c, d)) && segmentsMeet(a, b, c, d) != apart {
				return true
			}
		}
	}
	return q.contains(p[0]) || p.contains(q[0])
}

// edgesIn appends to e the indices of the edges of p, edge i running from
// p[i] to the next point, whose boxes meet box.
func edgesIn(p Polygon, box Rect, e []int) []int {
	for i := range p {
		if segmentBounds(p[i], p[(i+1)%len(p)]).Intersects(box) {
			e = append(e, i)
		}
	}
	return e
}

// orient returns twice the signed area of the triangle a, b, c in (lon, lat):
// positive when they turn anticlockwise, zero when they are in line.
func orient(a, b, c Point) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}

// meeting is how two segments meet.
type meeting int

const (
	apart    meeting = iota
	touching         // an end of one lies on the other, or they overlap in line
	crossing         // each passes through the other's interior
)

func segmentsMeet(a, b, c, d Point) meeting {
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if opposite(o1, o2) && opposite(o3, o4) {
		return crossing
	}
	ab, cd := segmentBounds(a, b), segmentBounds(c, d)
	if (o1 == 0 && ab.Contains(c)) || (o2 == 0 && ab.Contains(d)) ||
		(o3 == 0 && cd.Contains(a)) || (o4 == 0 && cd.Contains(b)) {
		return touching
	}
	return apart
}

func opposite(x, y float64) bool { return (x > 0 && y < 0) || (x < 0 && y > 0) }

// Centroid returns the centre of a circle, or the centre of mass of a
// polygon's area, which for a concave polygon may lie outside it. A polygon
// without area gives the mean of its corners, and an empty shape the zero
// Point.
func (s Shape) Centroid() Point {
	switch {
	case s.Circle != nil:
		return s.Circle.Center()
	case len(s.Polygon) > 0:
		return s.Polygon.centroid()
	}
	return Point{}
}

func (p Polygon) centroid() Point {
	// Coordinates are taken relative to the first point, which keeps the
	// products small and the rounding low for small polygons.
	o := p[0]
	var a, x, y float64
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		x0, y0 := p[j].Lon-o.Lon, p[j].Lat-o.Lat
		x1, y1 := p[i].Lon-o.Lon, p[i].Lat-o.Lat
		w := x0*y1 - x1*y0
		a += w
		x += (x0 + x1) * w
		y += (y0 + y1) * w
	}
	if a == 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		corners := p
		if len(p) > 1 && p[0] == p[len(p)-1] {
			corners = p[:len(p)-1]
		}
		var m Point
		for _, q := range corners {
			m.Lat += q.Lat / float64(len(corners))
			m.Lon += q.Lon / float64(len(corners))
		}
		return m
	}
	return Point{Lat: o.Lat + y/(3*a), Lon: o.Lon + x/(3*a)}
}

// signedArea returns the ring's area in square degrees of (lon, lat),
// positive when it runs anticlockwise.
func (p Polygon) signedArea() float64 {
	o := p[0]
	var a float64
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		a += (p[j].Lon-o.Lon)*(p[i].Lat-o.Lat) - (p[i].Lon-o.Lon)*(p[j].Lat-o.Lat)
	}
	return a / 2
}

// Polygon returns a closed ring of n corners on c's rim, anticlockwise from
// due north, for drawing the circle where only polygons are understood, such
// as GeoJSON. n below 3 is taken as 3. The ring lies inside the circle,
// touching it at the corners.
//
// Longitudes are not wrapped: for a circle crossing the antimeridian some are
// beyond ±180, which most map libraries draw correctly but Validate rejects.
// A circle that holds a pole has no such ring in latitude and longitude; its
// corners are still on the rim, but the ring jumps at the antimeridian.
func (c Circle) Polygon(n int) Polygon {
	n = max(n, 3)
	p := make(Polygon, n+1)
	for i := range n {
		p[i] = destination(c.Center(), -2*math.Pi*float64(i)/float64(n), c.RadiusKM)
	}
	p[n] = p[0]
	return p
}

// destination returns the point km from p along the great circle that leaves
// p at bearing, in radians clockwise from north. Its longitude is p's plus
// the change, not wrapped into -180..180.
func destination(p Point, bearing, km float64) Point {
	d := km / EarthRadiusKM
	sinLat, cosLat := math.Sincos(p.Lat / degPerRad)
	sinD, cosD := math.Sincos(d)
	sinB, cosB := math.Sincos(bearing)
	sinLat2 := sinLat*cosD + cosLat*sinD*cosB
	dlon := math.Atan2(sinB*sinD*cosLat, cosD-sinLat*sinLat2)
	return Point{Lat: math.Asin(math.Max(-1, math.Min(1, sinLat2))) * degPerRad, Lon: p.Lon + dlon*degPerRad}
}

// IntersectsAny reports whether any of areas intersects s.
func IntersectsAny(areas []Shape, s Shape) bool {
	for _, a := range areas {
		if a.Intersects(s) {
			return true
		}
	}
	return false
}

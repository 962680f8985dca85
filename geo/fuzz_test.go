package geo

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// polygonFromBytes reads a ring from fuzz input. The first byte picks a grid:
// coarse grids make repeated points, shared lines and exact touches common,
// which is where validation is hardest; a fine one reaches tiny polygons.
// Each further pair of bytes is one point. Bit 7 of the first byte closes
// the ring, so that most inputs get past the closing check.
func polygonFromBytes(data []byte) Polygon {
	if len(data) == 0 {
		return nil
	}
	flags, data := data[0], data[1:]
	scale := [...]float64{0.25, 1, 0.7, 1e-6}[flags&3]
	var p Polygon
	for i := 0; i+1 < len(data) && len(p) <= MaxPolygonVertices+2; i += 2 {
		p = append(p, Point{Lat: float64(int8(data[i])) * scale, Lon: float64(int8(data[i+1])) * scale})
	}
	if flags&0x80 != 0 && len(p) > 0 {
		p = append(p, p[0])
	}
	return p
}

func FuzzPolygonValidate(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 4, 4, 4, 4, 0})             // square
	f.Add([]byte{0x80, 0, 0, 4, 4, 0, 4, 4, 0})             // bow-tie
	f.Add([]byte{0x80, 0, 0, 4, 0, 2, 4, 4, 8, 0, 8, 2, 4}) // figure eight
	f.Add([]byte{0x81, 0, 0, 1, 1, 2, 2})                   // in a line
	f.Add([]byte{0x83, 0, 0, 0, 1, 1, 1})                   // tiny
	f.Add([]byte{0x00, 0, 0, 0, 4, 4, 4})                   // unclosed
	f.Fuzz(func(t *testing.T, data []byte) {
		p := polygonFromBytes(data)
		err := p.Validate()
		if (Shape{Polygon: p}.Validate() == nil) != (err == nil && p != nil) {
			t.Fatalf("Shape.Validate and Polygon.Validate disagree on %v", p)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		s := Shape{Polygon: p}
		b := s.Bounds()
		for _, q := range p {
			if !b.Contains(q) {
				t.Fatalf("bounds %+v miss the corner %v", b, q)
			}
			if !s.Contains(q) {
				t.Fatalf("a corner %v is not in its own polygon %v", q, p)
			}
		}
		c := s.Centroid()
		const tol = 1e-9
		if c.Lat < b.MinLat-tol || c.Lat > b.MaxLat+tol || c.Lon < b.MinLon-tol || c.Lon > b.MaxLon+tol {
			t.Fatalf("centroid %v outside bounds %+v", c, b)
		}
		_ = s.Contains(c)
		if !s.Intersects(s) {
			t.Fatalf("%v does not intersect itself", p)
		}
		// The index must find it wherever brute force does.
		x := NewIndex()
		x.Insert(1, s)
		for _, km := range []float64{0.001, 1, 100} {
			area := Shape{Circle: &Circle{c.Lat, c.Lon, km}}
			found := false
			x.Search(area, func(int64) bool { found = true; return true })
			if found != area.Intersects(s) {
				t.Fatalf("index says %v, Intersects says %v for a %v km circle at %v on %v", found, !found, km, c, p)
			}
		}
	})
}

func FuzzShapeJSON(f *testing.F) {
	f.Add([]byte(`{"Circle":{"lat":39.7392,"lon":-104.9903,"radius_km":10}}`))
	f.Add([]byte(`{"circle":{"lat":89.99,"lon":179.99,"radius_km":1000}}`))
	f.Add([]byte(`{"Polygon":[[0,0],[0,1],[1,1],[0,0]]}`))
	f.Add([]byte(`{"Polygon":[[0,0],[1,1],[0,1],[1,0],[0,0]]}`))
	f.Add([]byte(`{"Circle":{"lat":0,"lon":0,"radius_km":1},"Polygon":[[0,0],[0,1],[1,1],[0,0]]}`))
	f.Add([]byte(`{"Circle":{"lat":1e400,"lon":0,"radius_km":-0}}`))
	f.Add([]byte(`{"Polygon":[[0,0,0]]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Shape
		if json.Unmarshal(data, &s) != nil {
			return
		}
		if s.Validate() != nil {
			// Whatever came in, asking about it must not panic.
			_ = s.Bounds()
			_ = s.Centroid()
			_ = s.Contains(Point{})
			_ = s.Intersects(s)
			return
		}
		b := s.Bounds()
		c := s.Centroid()
		if s.Circle != nil {
			if !b.Contains(c) || !s.Contains(c) {
				t.Fatalf("%+v: its centre %v is not in it or in its bounds %+v", *s.Circle, c, b)
			}
			for _, q := range s.Circle.Polygon(16) {
				if d := DistanceKM(c, q); math.Abs(d-s.Circle.RadiusKM) > 1e-6*s.Circle.RadiusKM+1e-4 {
					t.Fatalf("%+v: Polygon corner %v is %v km from the centre", *s.Circle, q, d)
				}
				q.Lon = math.Remainder(q.Lon, 360)
				if !b.Contains(q) {
					t.Fatalf("%+v: bounds %+v miss the rim point %v", *s.Circle, b, q)
				}
			}
		}
		if !s.Intersects(s) {
			t.Fatalf("%+v does not intersect itself", s)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a valid shape does not encode: %v", err)
		}
		var back Shape
		if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("%s came back as %+v (%v)", out, back, err)
		}
	})
}

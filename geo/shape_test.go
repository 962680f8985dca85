package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCircleBounds(t *testing.T) {
	tests := []struct {
		name string
		c    Circle
	}{
		{"10 km in Denver", Circle{denver.Lat, denver.Lon, 10}},
		{"a metre at the equator", Circle{0, 0, 0.001}},
		{"500 km at 60 north", Circle{60, 10, 500}},
		{"1000 km at 45 south", Circle{-45, 100, 1000}},
		{"near the pole without holding it", Circle{85, -30, 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Shape{Circle: &tt.c}.Bounds()
			rim := tt.c.Polygon(3600)
			got := rim.bounds()
			for _, p := range rim {
				if !b.Contains(p) {
					t.Fatalf("bounds %+v miss the rim point %v", b, p)
				}
			}
			// The box must also be tight: a box that held the whole globe
			// would pass the test above.
			const slack = 1e-4 // degrees; the rim is sampled, so it falls a little short
			if b.MinLat < got.MinLat-slack || b.MaxLat > got.MaxLat+slack ||
				b.MinLon < got.MinLon-slack || b.MaxLon > got.MaxLon+slack {
				t.Errorf("bounds %+v are looser than the rim's %+v", b, got)
			}
		})
	}

	t.Run("width in Denver shrinks with latitude", func(t *testing.T) {
		b := Shape{Circle: &Circle{denver.Lat, denver.Lon, 10}}.Bounds()
		// 10 km is 0.0899° of latitude; at 39.74° a degree of longitude is
		// cos(39.74°) shorter, so the half-width is 0.1170°.
		if h := (b.MaxLat - b.MinLat) / 2; math.Abs(h-0.08993) > 1e-4 {
			t.Errorf("half-height %.5f°, want 0.08993°", h)
		}
		if w := (b.MaxLon - b.MinLon) / 2; math.Abs(w-0.11695) > 1e-4 {
			t.Errorf("half-width %.5f°, want 0.11695°", w)
		}
	})

	t.Run("holding a pole", func(t *testing.T) {
		for _, c := range []Circle{{89.95, 10, 10}, {-89.99, 0, 5}, {82, 0, 1000}} {
			b := Shape{Circle: &c}.Bounds()
			if b.MinLon != -180 || b.MaxLon != 180 || (b.MaxLat != 90 && b.MinLat != -90) {
				t.Errorf("%+v: bounds %+v, want every longitude up to the pole", c, b)
			}
			if b.MinLat < -90 || b.MaxLat > 90 {
				t.Errorf("%+v: bounds %+v beyond a pole", c, b)
			}
		}
	})

	t.Run("across the antimeridian", func(t *testing.T) {
		c := Circle{-17.7, 179.9, 50}
		b := Shape{Circle: &c}.Bounds()
		if b.MinLon != -180 || b.MaxLon != 180 {
			t.Errorf("bounds %+v, want every longitude", b)
		}
		west, east, ok := c.wrappedBounds()
		if !ok {
			t.Fatal("wrappedBounds: not split")
		}
		for _, p := range c.Polygon(3600) {
			p.Lon = math.Remainder(p.Lon, 360)
			if !west.Contains(p) && !east.Contains(p) {
				t.Fatalf("rim point %v in neither %+v nor %+v", p, west, east)
			}
		}
		if east.MinLon < 179 || west.MaxLon > -179 {
			t.Errorf("halves %+v and %+v are too wide", west, east)
		}
		if _, _, ok := (Circle{denver.Lat, denver.Lon, 10}).wrappedBounds(); ok {
			t.Error("Denver's circle was split")
		}
	})
}

func TestPolygonBounds(t *testing.T) {
	p := Polygon{{1, 2}, {3, -4}, {-5, 6}, {1, 2}}
	want := Rect{MinLat: -5, MinLon: -4, MaxLat: 3, MaxLon: 6}
	if got := (Shape{Polygon: p}).Bounds(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := (Shape{}).Bounds(); got != (Rect{}) {
		t.Errorf("empty shape: got %+v, want the zero Rect", got)
	}
}

func TestContains(t *testing.T) {
	denver10 := Shape{Circle: &Circle{denver.Lat, denver.Lon, 10}}
	square := Shape{Polygon: Polygon{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}}
	// A U open to the north: the notch between lon 1 and 2 is outside.
	u := Shape{Polygon: Polygon{{0, 0}, {0, 3}, {3, 3}, {3, 2}, {1, 2}, {1, 1}, {3, 1}, {3, 0}, {0, 0}}}
	tests := []struct {
		name string
		s    Shape
		p    Point
		want bool
	}{
		{"circle centre", denver10, denver, true},
		{"circle 9.9 km north", denver10, destination(denver, 0, 9.9), true},
		{"circle 10.1 km north", denver10, destination(denver, 0, 10.1), false},
		{"circle 9.9 km east", denver10, destination(denver, math.Pi/2, 9.9), true},
		{"circle 10.1 km east", denver10, destination(denver, math.Pi/2, 10.1), false},
		{"square middle", square, Point{0.5, 0.5}, true},
		{"square corner", square, Point{1, 1}, true},
		{"square edge", square, Point{0.5, 1}, true},
		{"square bottom edge", square, Point{0, 0.25}, true},
		{"beside the square", square, Point{0.5, 1.0001}, false},
		{"level with a corner", square, Point{1, 1.5}, false},
		{"U's arm", u, Point{2, 0.5}, true},
		{"U's notch", u, Point{2, 1.5}, false},
		{"U's base", u, Point{0.5, 1.5}, true},
		{"empty shape", Shape{}, Point{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Contains(tt.p); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestIntersects(t *testing.T) {
	circle := func(p Point, km float64) Shape { return Shape{Circle: &Circle{p.Lat, p.Lon, km}} }
	poly := func(p ...Point) Shape { return Shape{Polygon: p} }
	north25 := destination(denver, 0, 25)
	square := poly(Point{0, 0}, Point{0, 1}, Point{1, 1}, Point{1, 0}, Point{0, 0})
	// 0.05° of longitude at latitude 0.5 is 5.56 km.
	eastOfSquare := Point{0.5, 1.05}
	// An L around the square's corner at [2,2], inside its box but apart.
	ell := poly(Point{3, 3}, Point{3, 0}, Point{2.5, 0}, Point{2.5, 2.5}, Point{0, 2.5}, Point{0, 3}, Point{3, 3})
	big := poly(Point{0, 0}, Point{0, 2}, Point{2, 2}, Point{2, 0}, Point{0, 0})
	tests := []struct {
		name string
		a, b Shape
		want bool
	}{
		{"circles 25 km apart, radii 10 and 10", circle(denver, 10), circle(north25, 10), false},
		{"circles 25 km apart, radii 10 and 16", circle(denver, 10), circle(north25, 16), true},
		{"circle inside circle", circle(denver, 100), circle(north25, 1), true},
		{"circle holds a polygon", circle(Point{0.5, 0.5}, 500), square, true},
		{"polygon holds a circle", square, circle(Point{0.5, 0.5}, 1), true},
		{"circle 5.56 km from an edge, radius 5", circle(eastOfSquare, 5), square, false},
		{"circle 5.56 km from an edge, radius 6", circle(eastOfSquare, 6), square, true},
		{"circle 4.7 km from a corner, radius 4.5", circle(Point{1.03, 1.03}, 4.5), square, false},
		{"circle 4.7 km from a corner, radius 5", circle(Point{1.03, 1.03}, 5), square, true},
		{"overlapping squares", square, poly(Point{0.5, 0.5}, Point{0.5, 1.5}, Point{1.5, 1.5}, Point{1.5, 0.5}, Point{0.5, 0.5}), true},
		{"square inside square", big, square, true},
		{"squares sharing an edge", square, poly(Point{0, 1}, Point{0, 2}, Point{1, 2}, Point{1, 1}, Point{0, 1}), true},
		{"L around a square, inside its box", ell, big, false},
		{"empty shape", Shape{}, square, false},
		{"empty shapes", Shape{}, Shape{}, false},
		{"circles across the antimeridian", circle(Point{0, 179.95}, 20), circle(Point{0, -179.95}, 5), true},
		{"circle reaching a polygon across the antimeridian", circle(Point{0, 179.95}, 10),
			poly(Point{-1, -179.99}, Point{-1, -179.5}, Point{1, -179.5}, Point{1, -179.99}, Point{-1, -179.99}), true},
		{"circle short of a polygon across the antimeridian", circle(Point{0, 179.95}, 5),
			poly(Point{-1, -179.99}, Point{-1, -179.5}, Point{1, -179.5}, Point{1, -179.99}, Point{-1, -179.99}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Intersects(tt.b); got != tt.want {
				t.Errorf("a.Intersects(b) = %v, want %v", got, tt.want)
			}
			if got := tt.b.Intersects(tt.a); got != tt.want {
				t.Errorf("b.Intersects(a) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCentroid(t *testing.T) {
	tests := []struct {
		name string
		s    Shape
		want Point
	}{
		{"circle", Shape{Circle: &Circle{denver.Lat, denver.Lon, 10}}, denver},
		{"square", Shape{Polygon: Polygon{{0, 0}, {0, 2}, {2, 2}, {2, 0}, {0, 0}}}, Point{1, 1}},
		{"triangle", Shape{Polygon: Polygon{{0, 0}, {0, 3}, {3, 0}, {0, 0}}}, Point{1, 1}},
		{"far from zero", Shape{Polygon: Polygon{{40, -100}, {40, -98}, {42, -98}, {42, -100}, {40, -100}}}, Point{41, -99}},
		{"no area: the mean of its corners", Shape{Polygon: Polygon{{0, 0}, {1, 1}, {2, 2}, {0, 0}}}, Point{1, 1}},
		{"empty", Shape{}, Point{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Centroid()
			if math.Abs(got.Lat-tt.want.Lat) > 1e-9 || math.Abs(got.Lon-tt.want.Lon) > 1e-9 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCirclePolygon(t *testing.T) {
	for _, c := range []Circle{{denver.Lat, denver.Lon, 10}, {-60, 20, 1000}, {0, 0, 0.01}} {
		p := c.Polygon(64)
		if len(p) != 65 || p[0] != p[64] {
			t.Fatalf("%+v: %d points, first %v, last %v; want 65, closed", c, len(p), p[0], p[len(p)-1])
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
		if p.signedArea() <= 0 {
			t.Errorf("%+v: ring runs clockwise; GeoJSON wants anticlockwise", c)
		}
		for _, q := range p {
			if d := DistanceKM(c.Center(), q); math.Abs(d-c.RadiusKM) > 1e-6*c.RadiusKM {
				t.Fatalf("%+v: corner %v is %v km from the centre", c, q, d)
			}
		}
	}
	if p := (Circle{0, 0, 1}).Polygon(1); len(p) != 4 {
		t.Errorf("Polygon(1) has %d points, want a triangle's 4", len(p))
	}
	// Across the antimeridian the ring continues past 180 rather than jumping.
	p := Circle{0, 179.9, 50}.Polygon(16)
	for i := 1; i < len(p); i++ {
		if math.Abs(p[i].Lon-p[i-1].Lon) > 1 {
			t.Fatalf("ring jumps from %v to %v", p[i-1], p[i])
		}
	}
}

func TestRectIntersects(t *testing.T) {
	r := Rect{MinLat: 0, MinLon: 0, MaxLat: 1, MaxLon: 1}
	tests := []struct {
		name string
		o    Rect
		want bool
	}{
		{"same", r, true},
		{"inside", Rect{0.2, 0.2, 0.8, 0.8}, true},
		{"around", Rect{-1, -1, 2, 2}, true},
		{"overlapping a corner", Rect{0.5, 0.5, 1.5, 1.5}, true},
		{"sharing an edge", Rect{1, 0, 2, 1}, true},
		{"sharing a corner", Rect{1, 1, 2, 2}, true},
		{"north", Rect{1.01, 0, 2, 1}, false},
		{"east", Rect{0, 1.01, 1, 2}, false},
		{"crossing band", Rect{-5, 0.5, 5, 0.6}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Intersects(tt.o); got != tt.want {
				t.Errorf("r.Intersects(o) = %v, want %v", got, tt.want)
			}
			if got := tt.o.Intersects(r); got != tt.want {
				t.Errorf("o.Intersects(r) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEdgeWithin compares the distance from a circle to an edge against a
// dense walk along the edge, for edges up to 1,000 km long near circles from
// 1 to 1,000 km, from the equator to near the pole.
func TestEdgeWithin(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, lat := range []float64{0, 40, 60, 75, 85, 89} {
		for _, r := range []float64{1, 10, 50, 51, 200, 1000} {
			for range 100 {
				c := Circle{lat + rng.Float64() - 0.5, rng.Float64()*20 - 10, r}
				a := destination(c.Center(), rng.Float64()*2*math.Pi, rng.Float64()*1.5*r)
				b := destination(a, rng.Float64()*2*math.Pi, rng.Float64()*1000)
				a.Lat, b.Lat = math.Min(a.Lat, 90), math.Min(b.Lat, 90)
				a.Lon, b.Lon = math.Remainder(a.Lon, 360), math.Remainder(b.Lon, 360)
				const n = 2000
				walked := math.Inf(1)
				for i := 0; i <= n; i++ {
					f := float64(i) / n
					walked = math.Min(walked, DistanceKM(c.Center(), Point{a.Lat + f*(b.Lat-a.Lat), a.Lon + f*(b.Lon-a.Lon)}))
				}
				got := edgeWithin(c, a, b)
				// The walk's steps are at most half a kilometre on these
				// edges, so it overshoots the true distance by less.
				switch {
				case walked < r*(1-2e-3) && !got:
					t.Fatalf("circle %+v, edge %v-%v: the edge comes within %.3f km, but edgeWithin says no", c, a, b, walked)
				case walked > r+0.5 && got:
					t.Fatalf("circle %+v, edge %v-%v: the edge comes no nearer than %.3f km, but edgeWithin says yes", c, a, b, walked)
				}
			}
		}
	}
}

// TestRectDistanceKM checks the nearest point of a box against a grid over
// it: never farther than the grid's best, and not much nearer.
func TestRectDistanceKM(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for range 250 {
		lat0, lon0 := rng.Float64()*170-85, rng.Float64()*340-170
		r := Rect{MinLat: lat0, MinLon: lon0, MaxLat: math.Min(90, lat0+rng.Float64()*10), MaxLon: math.Min(180, lon0+rng.Float64()*40)}
		p := Point{Lat: rng.Float64()*180 - 90, Lon: rng.Float64()*360 - 180}
		if rng.IntN(2) == 0 { // mostly near the box, where it matters
			p = Point{Lat: math.Max(-90, math.Min(90, lat0+rng.Float64()*20-10)), Lon: math.Remainder(lon0+rng.Float64()*60-10, 360)}
		}
		got := rectDistanceKM(p, r)
		const n = 100
		grid := math.Inf(1)
		for i := 0; i <= n; i++ {
			for j := 0; j <= n; j++ {
				q := Point{Lat: r.MinLat + (r.MaxLat-r.MinLat)*float64(i)/n, Lon: r.MinLon + (r.MaxLon-r.MinLon)*float64(j)/n}
				grid = math.Min(grid, DistanceKM(p, q))
			}
		}
		// A grid step is at most 0.4° of longitude, 45 km at the equator.
		if got > grid+1e-6 || got < grid-50 {
			t.Fatalf("point %v, box %+v: got %.3f km, the grid's nearest is %.3f km", p, r, got, grid)
		}
	}
}

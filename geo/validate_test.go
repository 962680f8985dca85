package geo

import (
	"math"
	"testing"
	"time"
)

// denver is the stream's default position in the bench tools.
var denver = Point{39.7392, -104.9903}

func TestValidatePoint(t *testing.T) {
	tests := []struct {
		name string
		p    Point
		want string // "" for valid
	}{
		{"denver", denver, ""},
		{"corners of the map", Point{-90, 180}, ""},
		{"other corner", Point{90, -180}, ""},
		{"latitude 91", Point{91, 0}, "latitude 91 is out of range -90..90"},
		{"just past the pole", Point{90.0001, 0}, "latitude 90.0001 is out of range -90..90"},
		{"longitude -180.5", Point{0, -180.5}, "longitude -180.5 is out of range -180..180"},
		{"NaN latitude", Point{math.NaN(), 0}, "latitude is not a number"},
		{"NaN longitude", Point{0, math.NaN()}, "longitude is not a number"},
		{"infinite longitude", Point{0, math.Inf(1)}, "longitude +Inf is out of range -180..180"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidatePoint(tt.p), tt.want)
		})
	}
}

func TestCircleValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Circle
		want string
	}{
		{"10 km in Denver", Circle{denver.Lat, denver.Lon, 10}, ""},
		{"the limit", Circle{0, 0, 1000}, ""},
		{"a metre", Circle{0, 0, 0.001}, ""},
		{"radius 0", Circle{0, 0, 0}, "radius 0 km must be more than 0"},
		{"radius -1", Circle{0, 0, -1}, "radius -1 km must be more than 0"},
		{"radius 1000.01", Circle{0, 0, 1000.01}, "radius 1000.01 km is more than the 1000 km limit"},
		{"radius NaN", Circle{0, 0, math.NaN()}, "radius is not a number"},
		{"radius infinite", Circle{0, 0, math.Inf(1)}, "radius +Inf km is more than the 1000 km limit"},
		{"centre past the pole", Circle{90.0001, 0, 1}, "centre: latitude 90.0001 is out of range -90..90"},
		{"centre NaN", Circle{math.NaN(), 0, 1}, "centre: latitude is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.c.Validate(), tt.want)
		})
	}
}

func TestPolygonValidate(t *testing.T) {
	square := Polygon{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}
	tests := []struct {
		name string
		p    Polygon
		want string
	}{
		{"square", square, ""},
		{"square clockwise", Polygon{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, ""},
		{"triangle", Polygon{{0, 0}, {0, 1}, {1, 0}, {0, 0}}, ""},
		{"concave", Polygon{{0, 0}, {0, 3}, {3, 3}, {3, 2}, {1, 2}, {1, 1}, {3, 1}, {3, 0}, {0, 0}}, ""},
		{"1000 corners", Circle{denver.Lat, denver.Lon, 50}.Polygon(1000), ""},
		{"empty", Polygon{}, "polygon has 0 points; it needs at least 4: three corners and the first point again to close it"},
		{"three points", Polygon{{0, 0}, {0, 1}, {0, 0}}, "polygon has 3 points; it needs at least 4: three corners and the first point again to close it"},
		{"1001 corners", Circle{denver.Lat, denver.Lon, 50}.Polygon(1001), "polygon has 1001 vertices; at most 1000"},
		{"1200 unclosed", Circle{denver.Lat, denver.Lon, 50}.Polygon(1200)[:1200], "polygon has 1200 vertices; at most 1000"},
		{"unclosed", Polygon{{1, 2}, {1, 3}, {2, 3}, {3, 4}}, "polygon is not closed: first point [1,2] differs from last [3,4]"},
		{"point past the pole", Polygon{{0, 0}, {0, 1}, {90.0001, 1}, {0, 0}}, "point 3: latitude 90.0001 is out of range -90..90"},
		{"NaN point", Polygon{{0, 0}, {0, math.NaN()}, {1, 1}, {0, 0}}, "point 2: longitude is not a number"},
		{"bow-tie", Polygon{{0, 0}, {1, 1}, {0, 1}, {1, 0}, {0, 0}}, "polygon edges 1 and 3 cross: [0,0]-[1,1] and [0,1]-[1,0]"},
		{
			"figure eight meeting at a corner",
			Polygon{{0, 0}, {1, 0}, {0.5, 1}, {1, 2}, {0, 2}, {0.5, 1}, {0, 0}},
			"polygon edges 2 and 5 touch: [1,0]-[0.5,1] and [0,2]-[0.5,1]",
		},
		{
			"corner on another edge",
			Polygon{{0, 0}, {0, 2}, {2, 2}, {2, 1}, {0, 1}, {1, 0}, {0, 0}},
			"polygon edges 1 and 4 touch: [0,0]-[0,2] and [2,1]-[0,1]",
		},
		{"folds back", Polygon{{0, 0}, {1, 0}, {1, 1}, {1, 0.5}, {0, 0}}, "polygon edges 2 and 3 fold back on each other at [1,1]"},
		{"in a line", Polygon{{0, 0}, {1, 1}, {2, 2}, {0, 0}}, "polygon edges 1 and 3 fold back on each other at [0,0]"},
		{"repeated point", Polygon{{0, 0}, {0, 1}, {0, 1}, {1, 1}, {0, 0}}, "points 2 and 3 are both [0,1]; remove the repeat"},
		{"a centimetre across", Polygon{{0, 0}, {0, 1e-7}, {1e-7, 1e-7}, {0, 0}}, "polygon encloses almost no area (under a square metre); check its points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.p.Validate(), tt.want)
		})
	}
}

// TestPolygonValidateSpeed guards the quadratic edge check: at the vertex
// limit it must stay well inside a request's budget even under -race.
func TestPolygonValidateSpeed(t *testing.T) {
	p := Circle{denver.Lat, denver.Lon, 500}.Polygon(MaxPolygonVertices)
	start := time.Now()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("validating %d corners took %v", MaxPolygonVertices, d)
	}
}

func TestShapeValidate(t *testing.T) {
	c := &Circle{denver.Lat, denver.Lon, 10}
	square := Polygon{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}
	tests := []struct {
		name string
		s    Shape
		want string
	}{
		{"circle", Shape{Circle: c}, ""},
		{"polygon", Shape{Polygon: square}, ""},
		{"neither", Shape{}, "a shape needs a circle or a polygon"},
		{"both", Shape{Circle: c, Polygon: square}, "a shape has a circle or a polygon, not both"},
		{"bad circle", Shape{Circle: &Circle{0, 0, -1}}, "radius -1 km must be more than 0"},
		{"empty polygon", Shape{Polygon: Polygon{}}, "polygon has 0 points; it needs at least 4: three corners and the first point again to close it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.s.Validate(), tt.want)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("got error %q, want none", err)
	case want != "" && err == nil:
		t.Errorf("got no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Errorf("got error %q\nwant       %q", err, want)
	}
}

// Package geo is tocsin's geometry: points, circles and polygons on the WGS 84
// sphere, their validation, intersection tests, and an in-memory spatial index
// that answers "which shapes touch this area" without scanning them all.
package geo

import (
	"encoding/json"
	"fmt"
	"math"
)

// EarthRadiusKM is the mean Earth radius used for distances.
const EarthRadiusKM = 6371.0088

// Limits on shapes accepted from outside.
const (
	MaxRadiusKM        = 1000.0
	MaxPolygonVertices = 1000
)

// Point is a WGS 84 position in degrees. Its JSON form is [lat, lon], CAP's order.
type Point struct {
	Lat, Lon float64
}

// MarshalJSON encodes p as [lat, lon].
func (p Point) MarshalJSON() ([]byte, error) { return json.Marshal([2]float64{p.Lat, p.Lon}) }

// UnmarshalJSON decodes [lat, lon].
func (p *Point) UnmarshalJSON(b []byte) error {
	var a []float64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("a point is [lat, lon]: %w", err)
	}
	if len(a) != 2 {
		return fmt.Errorf("a point is [lat, lon], got %d numbers", len(a))
	}
	p.Lat, p.Lon = a[0], a[1]
	return nil
}

// Circle is a centre and a radius in kilometres.
type Circle struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	RadiusKM float64 `json:"radius_km"`
}

// Center returns the circle's centre.
func (c Circle) Center() Point { return Point{c.Lat, c.Lon} }

// Polygon is a closed ring: its first and last points are equal.
type Polygon []Point

// Shape is exactly one of a circle or a polygon.
type Shape struct {
	Circle  *Circle
	Polygon Polygon
}

// Rect is a bounding box in degrees.
type Rect struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// DistanceKM returns the great-circle distance between a and b.
func DistanceKM(a, b Point) float64 {
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla := la2 - la1
	dlo := (b.Lon - a.Lon) * math.Pi / 180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * EarthRadiusKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

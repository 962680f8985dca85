package geo

import (
	"errors"
	"fmt"
	"math"
)

// The messages below are shown to the person who drew the shape, prefixed by
// the caller with the field they came from, so each one says what is wrong
// with numbers they can find in their own input. Points and edges are counted
// from 1, as people count them; edge k joins point k to point k+1.

// minPolygonArea, in square degrees, is about a square metre at the equator:
// a smaller polygon is a mistake, and one near zero is too thin for the
// crossing tests to be trusted.
const minPolygonArea = 1e-10

// ValidatePoint reports whether p is a position on the globe: a latitude in
// -90..90 and a longitude in -180..180, neither NaN nor infinite.
func ValidatePoint(p Point) error {
	if err := checkDegrees("latitude", p.Lat, 90); err != nil {
		return err
	}
	return checkDegrees("longitude", p.Lon, 180)
}

func checkDegrees(name string, v, limit float64) error {
	if math.IsNaN(v) {
		return fmt.Errorf("%s is not a number", name)
	}
	if v < -limit || v > limit {
		return fmt.Errorf("%s %g is out of range %g..%g", name, v, -limit, limit)
	}
	return nil
}

// Validate reports whether c has a valid centre and a radius above zero and at
// most MaxRadiusKM.
func (c Circle) Validate() error {
	if err := ValidatePoint(c.Center()); err != nil {
		return fmt.Errorf("centre: %w", err)
	}
	switch r := c.RadiusKM; {
	case math.IsNaN(r):
		return errors.New("radius is not a number")
	case r <= 0:
		return fmt.Errorf("radius %g km must be more than 0", r)
	case r > MaxRadiusKM:
		return fmt.Errorf("radius %g km is more than the %g km limit", r, MaxRadiusKM)
	}
	return nil
}

// Validate reports whether p is a simple closed ring: at least three corners
// plus the first point repeated at the end, at most MaxPolygonVertices
// corners, every point valid, no point repeated twice in a row, and no two
// edges that cross, touch or fold back on each other, and an enclosed area
// of at least about a square metre.
//
// Edges are straight in latitude and longitude, as in GeoJSON, so a ring
// cannot cross the antimeridian; such an area must be sent as two polygons.
// The check compares every pair of edges, about half a million pairs at the
// vertex limit, which takes a few milliseconds.
func (p Polygon) Validate() error {
	corners := len(p)
	if corners > 0 && p[0] == p[len(p)-1] {
		corners--
	}
	if corners > MaxPolygonVertices {
		return fmt.Errorf("polygon has %d vertices; at most %d", corners, MaxPolygonVertices)
	}
	if len(p) < 4 {
		return fmt.Errorf("polygon has %d points; it needs at least 4: three corners and the first point again to close it", len(p))
	}
	for i, q := range p {
		if err := ValidatePoint(q); err != nil {
			return fmt.Errorf("point %d: %w", i+1, err)
		}
	}
	first, last := p[0], p[len(p)-1]
	if first != last {
		return fmt.Errorf("polygon is not closed: first point %s differs from last %s", fmtPoint(first), fmtPoint(last))
	}
	for i := 0; i+1 < len(p); i++ {
		if p[i] == p[i+1] {
			return fmt.Errorf("points %d and %d are both %s; remove the repeat", i+1, i+2, fmtPoint(p[i]))
		}
	}
	if err := p.checkEdges(); err != nil {
		return err
	}
	if math.Abs(p.signedArea()) < minPolygonArea {
		return errors.New("polygon encloses almost no area (under a square metre); check its points")
	}
	return nil
}

// checkEdges finds two edges of the closed ring p that meet where they should
// not. It compares every pair, skipping pairs whose boxes are apart: the
// boxes are precomputed, so a skipped pair costs four comparisons.
func (p Polygon) checkEdges() error {
	n := len(p) - 1 // edges; edge i runs from p[i] to p[i+1]
	boxes := make([]Rect, n)
	for i := range boxes {
		boxes[i] = segmentBounds(p[i], p[i+1])
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if !boxes[i].Intersects(boxes[j]) {
				continue
			}
			a, b, c, d := p[i], p[i+1], p[j], p[j+1]
			if j == i+1 || (i == 0 && j == n-1) {
				// Adjacent edges share a corner; they overlap only when the
				// ring turns straight back on itself there.
				var corner, before, after Point
				if j == i+1 {
					corner, before, after = b, a, d
				} else {
					corner, before, after = a, b, c
				}
				if foldsBack(before, corner, after) {
					return fmt.Errorf("polygon edges %d and %d fold back on each other at %s", i+1, j+1, fmtPoint(corner))
				}
				continue
			}
			switch segmentsMeet(a, b, c, d) {
			case crossing:
				return fmt.Errorf("polygon edges %d and %d cross: %s", i+1, j+1, fmtEdges(a, b, c, d))
			case touching:
				return fmt.Errorf("polygon edges %d and %d touch: %s", i+1, j+1, fmtEdges(a, b, c, d))
			}
		}
	}
	return nil
}

// fmtPoint formats p as [lat,lon], the way it appears in JSON.
func fmtPoint(p Point) string { return fmt.Sprintf("[%g,%g]", p.Lat, p.Lon) }

func fmtEdges(a, b, c, d Point) string {
	return fmtPoint(a) + "-" + fmtPoint(b) + " and " + fmtPoint(c) + "-" + fmtPoint(d)
}

// foldsBack reports whether the path before→corner→after reverses direction
// along one line, so that the two edges overlap.
func foldsBack(before, corner, after Point) bool {
	ux, uy := before.Lon-corner.Lon, before.Lat-corner.Lat
	vx, vy := after.Lon-corner.Lon, after.Lat-corner.Lat
	return ux*vy-uy*vx == 0 && ux*vx+uy*vy > 0
}

// Validate reports whether s has exactly one of a circle or a polygon and
// that one is valid.
func (s Shape) Validate() error {
	switch {
	case s.Circle == nil && s.Polygon == nil:
		return errors.New("a shape needs a circle or a polygon")
	case s.Circle != nil && s.Polygon != nil:
		return errors.New("a shape has a circle or a polygon, not both")
	case s.Circle != nil:
		return s.Circle.Validate()
	}
	return s.Polygon.Validate()
}

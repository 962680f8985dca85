package geo_test

import (
	"fmt"
	"slices"

	"github.com/tocsin/tocsin/geo"
)

func ExamplePolygon_Validate() {
	bowTie := geo.Polygon{{0, 0}, {1, 1}, {0, 1}, {1, 0}, {0, 0}}
	fmt.Println(bowTie.Validate())
	// Output: polygon edges 1 and 3 cross: [0,0]-[1,1] and [0,1]-[1,0]
}

func ExampleShape_Intersects() {
	denver := geo.Shape{Circle: &geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 10}}
	boulder := geo.Shape{Circle: &geo.Circle{Lat: 40.0150, Lon: -105.2705, RadiusKM: 10}}
	fmt.Printf("%.0f km apart, intersect: %v\n", geo.DistanceKM(denver.Centroid(), boulder.Centroid()), denver.Intersects(boulder))
	boulder.Circle.RadiusKM = 30
	fmt.Println("with 30 km:", denver.Intersects(boulder))
	// Output:
	// 39 km apart, intersect: false
	// with 30 km: true
}

func ExampleIndex_SearchAll() {
	x := geo.NewIndex()
	x.Insert(1, geo.Shape{Circle: &geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 5}})                       // Denver
	x.Insert(2, geo.Shape{Circle: &geo.Circle{Lat: 40.0150, Lon: -105.2705, RadiusKM: 5}})                       // Boulder
	x.Insert(3, geo.Shape{Polygon: geo.Polygon{{38.8, -104.9}, {38.8, -104.7}, {38.9, -104.7}, {38.8, -104.9}}}) // Colorado Springs

	alert := []geo.Shape{
		{Circle: &geo.Circle{Lat: 39.75, Lon: -105.0, RadiusKM: 20}},
		{Circle: &geo.Circle{Lat: 39.9, Lon: -105.1, RadiusKM: 20}}, // overlaps the first
	}
	var ids []int64
	x.SearchAll(alert, func(id int64) bool {
		ids = append(ids, id)
		return true
	})
	slices.Sort(ids)
	fmt.Println(ids)
	// Output: [1 2]
}

package geo

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// centralUS is a 1,000 km square over the middle of the United States.
var centralUS = region{"central US", 34.5, 43.5, -103.8, -92.2, 1, 20}

// BenchmarkIndexSearch1M matches one 10 km alert circle against a million
// subscriptions: circles of 1 to 20 km and 2% small polygons, spread evenly
// over centralUS. It also reports what the index costs in heap per entry.
func BenchmarkIndexSearch1M(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(1, 1))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := NewIndex()
	for id := range int64(n) {
		x.Insert(id, centralUS.shape(rng, 0.02, centralUS.minKM, centralUS.maxKM))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / n

	alerts := make([]Shape, 1024)
	var candidates, matches int
	for i := range alerts {
		c := centralUS.point(rng)
		alerts[i] = Shape{Circle: &Circle{c.Lat, c.Lon, 10}}
		box := alerts[i].Bounds()
		x.tree.Search([2]float64{box.MinLat, box.MinLon}, [2]float64{box.MaxLat, box.MaxLon},
			func(_, _ [2]float64, _ uint32) bool { candidates++; return true })
		x.Search(alerts[i], func(int64) bool { matches++; return true })
	}

	i := 0
	for b.Loop() {
		x.Search(alerts[i%len(alerts)], func(int64) bool { return true })
		i++
	}
	b.ReportMetric(float64(candidates)/float64(len(alerts)), "candidates/op")
	b.ReportMetric(float64(matches)/float64(len(alerts)), "matches/op")
	b.ReportMetric(perEntry, "B/entry")
	runtime.KeepAlive(x)
}

// BenchmarkPolygonValidate1000 is the worst case of the quadratic edge
// check: a valid ring at the vertex limit.
func BenchmarkPolygonValidate1000(b *testing.B) {
	p := Circle{denver.Lat, denver.Lon, 100}.Polygon(MaxPolygonVertices)
	for b.Loop() {
		if err := p.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexInsert measures loading the index, as at start-up.
func BenchmarkIndexInsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	shapes := make([]Shape, 4096)
	for i := range shapes {
		shapes[i] = centralUS.shape(rng, 0.02, centralUS.minKM, centralUS.maxKM)
	}
	x := NewIndex()
	var id int64
	for b.Loop() {
		x.Insert(id, shapes[id%int64(len(shapes))])
		id++
	}
}

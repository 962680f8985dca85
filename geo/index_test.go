package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// region is where random shapes are put; its longitudes may run past 180
// and are wrapped into -180..180.
type region struct {
	name                           string
	minLat, maxLat, minLon, maxLon float64
	minKM, maxKM                   float64 // sizes of shapes
}

var testRegions = []region{
	{"central US", 34.5, 43.5, -104, -92, 1, 30},
	{"antimeridian", -25, 5, 170, 190, 1, 100},
	{"north pole", 70, 90, -180, 180, 1, 300},
	{"south pole", -90, -70, -180, 180, 1, 300},
}

func (r region) point(rng *rand.Rand) Point {
	return Point{
		Lat: r.minLat + rng.Float64()*(r.maxLat-r.minLat),
		Lon: wrapLon(r.minLon + rng.Float64()*(r.maxLon-r.minLon)),
	}
}

func wrapLon(lon float64) float64 { return math.Remainder(lon, 360) }

// shape returns a circle, or a polygon with chance polygons, sized
// between minKM and maxKM and centred in r.
func (r region) shape(rng *rand.Rand, polygons float64, minKM, maxKM float64) Shape {
	for {
		c := r.point(rng)
		km := minKM + rng.Float64()*(maxKM-minKM)
		if rng.Float64() >= polygons {
			return Shape{Circle: &Circle{c.Lat, c.Lon, km}}
		}
		if p, ok := randomPolygon(rng, c, km); ok {
			return Shape{Polygon: p}
		}
	}
}

// randomPolygon returns a star-shaped ring of 3 to 12 corners around c, at
// most km from it, or false when that ring is not valid (it crossed the
// antimeridian or went round a pole).
func randomPolygon(rng *rand.Rand, c Point, km float64) (Polygon, bool) {
	n := 3 + rng.IntN(10)
	base := rng.Float64() * 2 * math.Pi
	p := make(Polygon, n+1)
	for i := range n {
		bearing := base + (float64(i)+0.8*rng.Float64())*2*math.Pi/float64(n)
		q := destination(c, bearing, km*(0.3+0.7*rng.Float64()))
		q.Lon = wrapLon(q.Lon)
		p[i] = q
	}
	p[n] = p[0]
	return p, p.Validate() == nil
}

// bruteForce returns, sorted, the ids of shapes that intersect any of areas.
func bruteForce(shapes map[int64]Shape, areas []Shape) []int64 {
	var ids []int64
	for id, s := range shapes {
		for _, a := range areas {
			if a.Intersects(s) {
				ids = append(ids, id)
				break
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// searchAll returns, sorted, what x.SearchAll reports, failing on an id
// reported twice.
func searchAll(t *testing.T, x *Index, areas []Shape) []int64 {
	t.Helper()
	var ids []int64
	x.SearchAll(areas, func(id int64) bool {
		ids = append(ids, id)
		return true
	})
	slices.Sort(ids)
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("id %d reported twice", ids[i])
		}
	}
	return ids
}

func TestIndexMatchesBruteForce(t *testing.T) {
	for _, r := range testRegions {
		t.Run(r.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(r.name))))
			x := NewIndex()
			shapes := make(map[int64]Shape)
			for len(shapes) < 2000 {
				id := rng.Int64N(1<<40) - 1<<39 // ids are any int64, negative too
				s := r.shape(rng, 0.2, r.minKM, r.maxKM)
				shapes[id] = s
				x.Insert(id, s)
			}
			const searches = 160
			compare := func(t *testing.T) {
				t.Helper()
				if x.Len() != len(shapes) {
					t.Fatalf("Len() = %d, want %d", x.Len(), len(shapes))
				}
				matched, empty := 0, 0
				for i := range searches {
					// Mostly single areas, some alerts with three, sized from
					// a street to the radius limit.
					areas := make([]Shape, 1+2*(i%4/3))
					for j := range areas {
						maxKM := []float64{20, 300, MaxRadiusKM}[rng.IntN(3)]
						areas[j] = r.shape(rng, 0.3, 1, maxKM)
					}
					want := bruteForce(shapes, areas)
					got := searchAll(t, x, areas)
					if !slices.Equal(got, want) {
						t.Fatalf("areas %v:\nindex found %d: %v\nbrute force %d: %v",
							describe(areas), len(got), got, len(want), want)
					}
					if len(areas) == 1 {
						var one []int64
						x.Search(areas[0], func(id int64) bool { one = append(one, id); return true })
						slices.Sort(one)
						if !slices.Equal(one, want) {
							t.Fatalf("Search and SearchAll differ for %v", describe(areas))
						}
					}
					matched += len(want)
					if len(want) == 0 {
						empty++
					}
				}
				// Guard against a comparison that agrees only because
				// nothing ever matches.
				if matched < 1000 || empty == searches {
					t.Fatalf("%d matches, %d searches found nothing: the test shapes are too sparse", matched, empty)
				}
				t.Logf("%d matches over %d searches, %d found nothing", matched, searches, empty)
			}
			compare(t)

			// Delete a third, move a third, add a few, and compare again.
			ids := make([]int64, 0, len(shapes))
			for id := range shapes {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for i, id := range ids {
				switch i % 3 {
				case 0:
					if !x.Delete(id) {
						t.Fatalf("Delete(%d) = false for a held id", id)
					}
					if x.Delete(id) {
						t.Fatalf("Delete(%d) = true twice", id)
					}
					delete(shapes, id)
				case 1:
					s := r.shape(rng, 0.2, r.minKM, r.maxKM)
					shapes[id] = s
					x.Insert(id, s)
				}
			}
			for range 300 {
				id := rng.Int64()
				s := r.shape(rng, 0.2, r.minKM, r.maxKM)
				shapes[id] = s
				x.Insert(id, s)
			}
			compare(t)
		})
	}
}

func describe(areas []Shape) []any {
	d := make([]any, len(areas))
	for i, a := range areas {
		if a.Circle != nil {
			d[i] = *a.Circle
		} else {
			d[i] = a.Polygon
		}
	}
	return d
}

func TestIndex(t *testing.T) {
	x := NewIndex()
	here := Shape{Circle: &Circle{denver.Lat, denver.Lon, 10}}
	there := Shape{Circle: &Circle{0, 0, 10}}
	square := Polygon{{39.7, -105}, {39.7, -104.9}, {39.8, -104.9}, {39.8, -105}, {39.7, -105}}
	x.Insert(1, here)
	x.Insert(2, here)
	x.Insert(3, Shape{Polygon: square})
	square[1] = Point{0, 0} // the index keeps its own copy
	x.Insert(4, there)
	if x.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", x.Len())
	}
	found := func(area Shape) []int64 { return searchAll(t, x, []Shape{area}) }
	if got := found(here); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("in Denver found %v, want [1 2 3]", got)
	}

	x.Insert(2, there) // moves 2
	if x.Len() != 4 {
		t.Errorf("Len() = %d after replacing, want 4", x.Len())
	}
	if got := found(here); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("in Denver after moving 2 found %v, want [1 3]", got)
	}
	if got := found(there); !slices.Equal(got, []int64{2, 4}) {
		t.Errorf("at 0,0 found %v, want [2 4]", got)
	}

	if !x.Delete(3) || x.Delete(3) || x.Delete(99) {
		t.Error("Delete reported wrongly")
	}
	if got := found(here); !slices.Equal(got, []int64{1}) {
		t.Errorf("in Denver after deleting 3 found %v, want [1]", got)
	}
	x.Insert(5, Shape{Polygon: square}) // reuses 3's slot
	if got := found(there); !slices.Equal(got, []int64{2, 4, 5}) {
		t.Errorf("at 0,0 after adding 5 found %v, want [2 4 5]", got)
	}

	calls := 0
	x.SearchAll([]Shape{here, there}, func(int64) bool { calls++; return false })
	if calls != 1 {
		t.Errorf("fn was called %d times after returning false, want once", calls)
	}
	if got := found(Shape{}); len(got) != 0 {
		t.Errorf("an empty area found %v", got)
	}
}

func TestIndexInsertPanics(t *testing.T) {
	for name, s := range map[string]Shape{
		"empty":         {},
		"zero radius":   {Circle: &Circle{0, 0, 0}},
		"NaN radius":    {Circle: &Circle{0, 0, math.NaN()}},
		"NaN point":     {Polygon: Polygon{{0, 0}, {math.NaN(), 1}, {1, 1}, {0, 0}}},
		"both":          {Circle: &Circle{0, 0, 1}, Polygon: Polygon{{0, 0}, {0, 1}, {1, 1}, {0, 0}}},
		"empty polygon": {Polygon: Polygon{}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Insert did not panic")
				}
			}()
			NewIndex().Insert(1, s)
		})
	}
}

// TestIndexConcurrent runs writers and readers together; under -race it
// finds unguarded state, and the final contents must still match a brute
// force scan.
func TestIndexConcurrent(t *testing.T) {
	r := testRegions[0]
	x := NewIndex()
	const writers, perWriter = 4, 300
	final := make([]map[int64]Shape, writers)
	var wg sync.WaitGroup
	for w := range writers {
		final[w] = make(map[int64]Shape)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 3 * perWriter {
				id := int64(w*perWriter + rng.IntN(perWriter)) // each writer has its own ids
				if rng.IntN(4) == 0 {
					x.Delete(id)
					delete(final[w], id)
					continue
				}
				s := r.shape(rng, 0.2, r.minKM, r.maxKM)
				x.Insert(id, s)
				final[w][id] = s
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 8))
			for range 500 {
				x.Search(r.shape(rng, 0.3, 1, 300), func(int64) bool { return true })
				_ = x.Len()
			}
		})
	}
	wg.Wait()

	all := make(map[int64]Shape)
	for _, m := range final {
		for id, s := range m {
			all[id] = s
		}
	}
	if x.Len() != len(all) {
		t.Fatalf("Len() = %d, want %d", x.Len(), len(all))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 50 {
		areas := []Shape{r.shape(rng, 0.3, 1, 300)}
		if got, want := searchAll(t, x, areas), bruteForce(all, areas); !slices.Equal(got, want) {
			t.Fatalf("areas %v: index found %v, brute force %v", describe(areas), got, want)
		}
	}
}

package geo

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/tidwall/rtree"
)

// Index holds shapes by id and finds those that intersect an area without
// looking at the others: an R-tree of bounding boxes yields candidates, and
// only they get the exact Intersects test. It is safe for concurrent use.
//
// It is laid out for a million entries. The tree holds a 4-byte slot number
// per box; the slot holds the id and, for a circle, the circle itself, in one
// array without pointers, so the garbage collector never walks the entries.
// Polygons, the rarer case, live in a map beside it.
type Index struct {
	mu       sync.RWMutex
	tree     rtree.RTreeG[uint32]
	slots    map[int64]uint32   // id to slot
	entries  []entry            // by slot
	polygons map[uint32]Polygon // by slot, for entries that are polygons
	free     []uint32           // slots of deleted entries, for reuse
	pool     sync.Pool          // of *[]uint32, for candidates during a search
}

// entry is one slot of the Index. A zero radius, which no valid circle has,
// marks a polygon held in Index.polygons.
type entry struct {
	id     int64
	circle Circle
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{slots: make(map[int64]uint32), polygons: make(map[uint32]Polygon)}
}

// Insert adds s under id, replacing any shape already held under id. The
// index keeps its own copy of a polygon.
//
// s should have passed Validate; Insert does not repeat that check, whose
// cost is quadratic in a polygon's corners, when the index is loaded from
// storage. It panics on a shape that is not exactly one circle with a
// radius above zero or one non-empty polygon, or whose bounds are not
// finite, since such a shape can only come from a bug.
func (x *Index) Insert(id int64, s Shape) {
	e := entry{id: id}
	var poly Polygon
	switch {
	case s.Circle != nil && s.Polygon == nil && s.Circle.RadiusKM > 0:
		e.circle = *s.Circle
	case s.Circle == nil && len(s.Polygon) > 0:
		poly = slices.Clone(s.Polygon)
	default:
		panic(fmt.Sprintf("geo: Index.Insert(%d): not one circle or one polygon", id))
	}
	box := s.Bounds()
	if !finite(box) {
		panic(fmt.Sprintf("geo: Index.Insert(%d): bounds %+v are not finite", id, box))
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	slot, ok := x.slots[id]
	if ok {
		x.remove(slot)
	} else if n := len(x.free); n > 0 {
		slot, x.free = x.free[n-1], x.free[:n-1]
	} else {
		if len(x.entries) == math.MaxUint32 {
			panic("geo: Index is full")
		}
		slot = uint32(len(x.entries))
		x.entries = append(x.entries, entry{})
	}
	x.entries[slot] = e
	if poly != nil {
		x.polygons[slot] = poly
	}
	x.slots[id] = slot
	x.tree.Insert([2]float64{box.MinLat, box.MinLon}, [2]float64{box.MaxLat, box.MaxLon}, slot)
}

func finite(r Rect) bool {
	for _, v := range [...]float64{r.MinLat, r.MinLon, r.MaxLat, r.MaxLon} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Delete removes the shape held under id and reports whether there was one.
func (x *Index) Delete(id int64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	slot, ok := x.slots[id]
	if !ok {
		return false
	}
	x.remove(slot)
	delete(x.slots, id)
	x.free = append(x.free, slot)
	return true
}

// remove takes slot out of the tree and clears it; the caller decides
// whether the slot is reused at once or freed.
func (x *Index) remove(slot uint32) {
	box := x.shape(slot).Bounds() // the same box it was inserted with
	x.tree.Delete([2]float64{box.MinLat, box.MinLon}, [2]float64{box.MaxLat, box.MaxLon}, slot)
	x.entries[slot] = entry{}
	delete(x.polygons, slot)
}

// shape returns the shape in slot. Its circle points into the entries, so
// it must not be kept past the lock.
func (x *Index) shape(slot uint32) Shape {
	if e := &x.entries[slot]; e.circle.RadiusKM > 0 {
		return Shape{Circle: &e.circle}
	}
	return Shape{Polygon: x.polygons[slot]}
}

// Len returns the number of shapes held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slots)
}

// Search calls fn with the id of every shape that intersects area, in no
// particular order, until fn returns false. fn runs under the index's read
// lock, so it must not call the Index, and should be quick: a writer waits
// for it.
func (x *Index) Search(area Shape, fn func(id int64) bool) {
	x.SearchAll([]Shape{area}, fn)
}

// SearchAll calls fn once with the id of every shape that intersects any of
// areas, in no particular order, until fn returns false. The same rules for
// fn apply as for Search.
func (x *Index) SearchAll(areas []Shape, fn func(id int64) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	buf, _ := x.pool.Get().(*[]uint32)
	if buf == nil {
		buf = new([]uint32)
	}
	defer x.pool.Put(buf)
	for i := range areas {
		*buf = x.candidates(areas[i], (*buf)[:0])
		if !x.match(areas[:i+1], *buf, fn) {
			return
		}
	}
}

// candidates appends to slots those whose boxes meet area's.
func (x *Index) candidates(area Shape, slots []uint32) []uint32 {
	var boxes []Rect
	switch {
	case area.Circle != nil:
		if west, east, ok := area.Circle.wrappedBounds(); ok {
			boxes = []Rect{west, east}
		} else {
			boxes = []Rect{area.Bounds()}
		}
	case len(area.Polygon) > 0:
		boxes = []Rect{area.Bounds()}
	}
	for i, box := range boxes {
		x.tree.Search([2]float64{box.MinLat, box.MinLon}, [2]float64{box.MaxLat, box.MaxLon},
			func(min, max [2]float64, slot uint32) bool {
				if i == 0 || !boxes[0].Intersects(Rect{min[0], min[1], max[0], max[1]}) {
					slots = append(slots, slot) // else the first box found it
				}
				return true
			})
	}
	return slots
}

// match calls fn with the ids of the shapes in slots that intersect the last
// of areas and none of the others, which were searched before; it returns
// false when fn asked to stop.
//
// The candidates' entries are scattered over memory, and fetching them one
// at a time as each is tested made a search wait on a cache miss per
// candidate. Copying a batch first lets the processor fetch many at once:
// with 1,700 candidates this halved the time of a search.
func (x *Index) match(areas []Shape, slots []uint32, fn func(id int64) bool) bool {
	area, earlier := areas[len(areas)-1], areas[:len(areas)-1]
	var batch [64]entry
	for len(slots) > 0 {
		n := min(len(batch), len(slots))
		for i, slot := range slots[:n] {
			batch[i] = x.entries[slot]
		}
		for i := range n {
			s := Shape{Circle: &batch[i].circle}
			if batch[i].circle.RadiusKM == 0 {
				s = Shape{Polygon: x.polygons[slots[i]]}
			}
			if area.Intersects(s) && !intersectsAny(earlier, s) && !fn(batch[i].id) {
				return false
			}
		}
		slots = slots[n:]
	}
	return true
}

func intersectsAny(areas []Shape, s Shape) bool {
	for _, a := range areas {
		if a.Intersects(s) {
			return true
		}
	}
	return false
}

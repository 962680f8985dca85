package geo

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tidwall/rtree"
)

func heap() uint64 { var m runtime.MemStats; runtime.GC(); runtime.ReadMemStats(&m); return m.HeapAlloc }

func TestScratchMem(t *testing.T) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := make([]Shape, n)
	for i := range shapes {
		shapes[i] = centralUS.shape(rng, 0.02, 1, 20)
	}
	h0 := heap()
	var tr rtree.RTreeG[uint32]
	for i, s := range shapes {
		b := s.Bounds()
		tr.Insert([2]float64{b.MinLat, b.MinLon}, [2]float64{b.MaxLat, b.MaxLon}, uint32(i))
	}
	h1 := heap()
	t.Logf("tree uint32: %.1f B/entry", float64(h1-h0)/n)
	var tr32 rtree.RTreeGN[float32, uint32]
	for i, s := range shapes {
		b := s.Bounds()
		tr32.Insert([2]float32{float32(b.MinLat), float32(b.MinLon)}, [2]float32{float32(b.MaxLat), float32(b.MaxLon)}, uint32(i))
	}
	h2 := heap()
	t.Logf("tree float32/uint32: %.1f B/entry", float64(h2-h1)/n)
	m := make(map[int64]uint32)
	for i := range shapes {
		m[int64(i)] = uint32(i)
	}
	h3 := heap()
	t.Logf("map: %.1f B/entry", float64(h3-h2)/n)
	var e []entry
	for i := range shapes {
		e = append(e, entry{id: int64(i)})
	}
	h4 := heap()
	t.Logf("entries: %.1f B/entry cap %d", float64(h4-h3)/n, cap(e))
	type big struct{ id int64; c Circle }
	var trb rtree.RTreeG[big]
	for i, s := range shapes {
		b := s.Bounds()
		trb.Insert([2]float64{b.MinLat, b.MinLon}, [2]float64{b.MaxLat, b.MaxLon}, big{id: int64(i)})
	}
	h5 := heap()
	t.Logf("tree 32-byte items: %.1f B/entry", float64(h5-h4)/n)
	runtime.KeepAlive(shapes); runtime.KeepAlive(&tr); runtime.KeepAlive(&tr32); runtime.KeepAlive(m); runtime.KeepAlive(e); runtime.KeepAlive(&trb)
}

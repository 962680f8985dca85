package tocsin

import (
	"context"
	"time"

	"github.com/tocsin/tocsin/geo"
)

// Zone is a named area, such as a neighbourhood or a county, with its name
// in every language it has one in, and optional geocodes (SAME, FIPS, UGC…).
type Zone struct {
	ID        string            `json:"id"`
	Names     map[string]string `json:"names"`
	Circle    *geo.Circle       `json:"circle,omitempty"`
	Polygon   geo.Polygon       `json:"polygon,omitempty"`
	Geocodes  map[string]string `json:"geocodes,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Shape returns the zone's geometry.
func (z *Zone) Shape() geo.Shape { return geo.Shape{Circle: z.Circle, Polygon: z.Polygon} }

// Name returns the zone's name in the first of langs it has, else in
// English, else any.
func (z *Zone) Name(langs ...string) string {
	for _, l := range append(langs, "en") {
		if n, ok := z.Names[l]; ok {
			return n
		}
		if n, ok := z.Names[baseLanguage(l)]; ok {
			return n
		}
	}
	for _, n := range z.Names {
		return n
	}
	return z.ID
}

// ZoneService stores named zones.
type ZoneService interface {
	// CreateZone validates and stores z (admin only). EINVALID, EFORBIDDEN.
	CreateZone(ctx context.Context, z *Zone) error
	// FindZoneByID returns one zone. ENOTFOUND.
	FindZoneByID(ctx context.Context, id string) (*Zone, error)
	// FindZones returns every zone, by id.
	FindZones(ctx context.Context) ([]*Zone, error)
}

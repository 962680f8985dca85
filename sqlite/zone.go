package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/tocsin/tocsin"
)

// ZoneService stores named zones.
type ZoneService struct{ db *DB }

var _ tocsin.ZoneService = (*ZoneService)(nil)

// NewZoneService returns a ZoneService on db.
func NewZoneService(db *DB) *ZoneService { return &ZoneService{db: db} }

var zoneID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CreateZone validates and stores a zone (admin only).
func (s *ZoneService) CreateZone(ctx context.Context, z *tocsin.Zone) error {
	if _, err := tocsin.Require(ctx, tocsin.RoleAdmin); err != nil {
		return err
	}
	var p tocsin.Problems
	if !zoneID.MatchString(z.ID) {
		p.Add("id", "must be 1–63 lower-case letters, digits and hyphens, such as cherry-creek")
	}
	if len(z.Names) == 0 {
		p.Add("names", "give the zone's name in at least one language")
	}
	for lang, name := range z.Names {
		if !tocsin.ValidLanguageTag(lang) {
			p.Add("names."+lang, "is not a language tag")
		} else if name == "" || len(name) > 200 {
			p.Add("names."+lang, "must be 1–200 characters")
		}
	}
	switch sh := z.Shape(); {
	case sh.Circle == nil && sh.Polygon == nil:
		p.Add("circle", "a zone needs a circle or a polygon")
	default:
		if err := sh.Validate(); err != nil {
			p.Add("polygon", "%s", err)
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	names, _ := json.Marshal(z.Names)
	area, _ := json.Marshal(storedArea{Circle: z.Circle, Polygon: z.Polygon})
	codes, _ := json.Marshal(z.Geocodes)
	err := s.db.update(ctx, func(tx *Tx) error {
		var created int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO zones (id, names, area, geocodes, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET names = excluded.names, area = excluded.area, geocodes = excluded.geocodes
			RETURNING created_at`,
			z.ID, string(names), string(area), string(codes), nanos(tx.now)).Scan(&created); err != nil {
			return err
		}
		z.CreatedAt = fromNanos(created)
		return tx.audit(ctx, "zone.save", z.ID, nil)
	})
	if err != nil {
		return fmt.Errorf("create zone: %w", err)
	}
	return nil
}

func scanZone(s scanner) (*tocsin.Zone, error) {
	var z tocsin.Zone
	var names, area, codes string
	var created int64
	if err := s.Scan(&z.ID, &names, &area, &codes, &created); err != nil {
		return nil, err
	}
	var a storedArea
	if err := json.Unmarshal([]byte(area), &a); err != nil {
		return nil, fmt.Errorf("zone %s area: %w", z.ID, err)
	}
	z.Circle, z.Polygon, z.CreatedAt = a.Circle, a.Polygon, fromNanos(created)
	if err := json.Unmarshal([]byte(names), &z.Names); err != nil {
		return nil, fmt.Errorf("zone %s names: %w", z.ID, err)
	}
	if err := json.Unmarshal([]byte(codes), &z.Geocodes); err != nil {
		return nil, fmt.Errorf("zone %s geocodes: %w", z.ID, err)
	}
	return &z, nil
}

// FindZoneByID returns one zone.
func (s *ZoneService) FindZoneByID(ctx context.Context, id string) (*tocsin.Zone, error) {
	z, err := scanZone(s.db.read.QueryRowContext(ctx, `SELECT id, names, area, geocodes, created_at FROM zones WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("zone", id)
	} else if err != nil {
		return nil, fmt.Errorf("find zone: %w", err)
	}
	return z, nil
}

// FindZones returns every zone, by id.
func (s *ZoneService) FindZones(ctx context.Context) ([]*tocsin.Zone, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, names, area, geocodes, created_at FROM zones ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("find zones: %w", err)
	}
	defer rows.Close()
	out := []*tocsin.Zone{}
	for rows.Next() {
		z, err := scanZone(rows)
		if err != nil {
			return nil, fmt.Errorf("find zones: %w", err)
		}
		out = append(out, z)
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// CAPService imports CAP messages from partners and relayed feeds, and finds
// alerts by their CAP identity. An import is one transaction: the alert, its
// CAP identity, its waiting references, what it does to the alerts it
// references and to the messages that were waiting for it, its audit events
// and, when it is published, its outbox event.
type CAPService struct {
	db *DB
	// Notify, when set, is called after an import that published an alert
	// commits, to wake the fan-out.
	Notify func()
	// Localize, when set, is called with each new imported alert before it
	// is stored, outside any transaction, and may add infos in more
	// languages (templates, machine translation). An error refuses the
	// import.
	Localize func(ctx context.Context, a *tocsin.Alert) error
}

var _ tocsin.CAPService = (*CAPService)(nil)

// NewCAPService returns a CAPService on db.
func NewCAPService(db *DB) *CAPService { return &CAPService{db: db, Notify: func() {}} }

// importSource is who an import is for.
type importSource struct {
	kind      tocsin.SourceKind
	name      string
	policy    tocsin.PublishPolicy
	principal int64 // 0 for a relay: its principal is found or made in the import's transaction
}

// ImportPartnerAlert imports a message posted by the partner in ctx.
func (s *CAPService) ImportPartnerAlert(ctx context.Context, a *tocsin.Alert) (*tocsin.CAPImport, error) {
	pr, err := tocsin.Require(ctx, tocsin.RolePartner)
	if err != nil {
		return nil, err
	}
	partner, err := findPartnerByPrincipal(ctx, s.db.read, pr.ID)
	if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
		return nil, tocsin.Errorf(tocsin.EFORBIDDEN, "this token belongs to no registered partner")
	} else if err != nil {
		return nil, fmt.Errorf("import CAP: %w", err)
	}
	if a.Sender != partner.Sender {
		return nil, &tocsin.Error{Code: tocsin.EFORBIDDEN,
			Message: fmt.Sprintf("partner %s may only send as %s, not %s", partner.Name, partner.Sender, a.Sender),
			Fields:  []tocsin.FieldError{{Field: "sender", Detail: fmt.Sprintf("must be %s, the partner's registered sender", partner.Sender)}}}
	}
	return s.importAlert(ctx, a, importSource{kind: tocsin.SourcePartner, name: partner.Name, policy: partner.Publish, principal: pr.ID})
}

// ImportRelayedAlert imports a message read from the feed at feedURL.
func (s *CAPService) ImportRelayedAlert(ctx context.Context, a *tocsin.Alert, feedURL string) (*tocsin.CAPImport, error) {
	if tocsin.ActorFromContext(ctx) != "system" {
		return nil, tocsin.Errorf(tocsin.EFORBIDDEN, "only tocsin's own relay imports from feeds")
	}
	if feedURL == "" || len(feedURL) > 2000 {
		return nil, tocsin.Errorf(tocsin.EINVALID, "a relayed alert needs the URL of its feed")
	}
	return s.importAlert(ctx, a, importSource{kind: tocsin.SourceRelay, name: feedURL, policy: tocsin.PublishDirect})
}

// capRef is one parsed "sender,identifier,sent" reference.
type capRef struct{ sender, identifier, sent, raw string }

func parseCAPRef(s string) (capRef, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return capRef{}, fmt.Errorf("reference %q is not sender,identifier,sent", s)
	}
	return capRef{sender: parts[0], identifier: parts[1], sent: parts[2], raw: s}, nil
}

// capTime writes t as CAP's dateTime: whole seconds, a numeric offset, UTC as -00:00.
func capTime(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05-07:00")
	if _, off := t.Zone(); off == 0 {
		s = s[:19] + "-00:00"
	}
	return s
}

// importAlert stores a, a message as cap.Parse returns it (CAP identifier
// in ID, references as triples), from src.
func (s *CAPService) importAlert(ctx context.Context, a *tocsin.Alert, src importSource) (*tocsin.CAPImport, error) {
	var p tocsin.Problems
	switch a.MsgType {
	case "Alert", "Update", "Cancel":
	default:
		p.Add("msgType", "%s messages are not imported; send Alert, Update or Cancel", a.MsgType)
	}
	switch a.Status {
	case "Actual", "Exercise", "Test":
	default:
		p.Add("status", "%s messages are not sent to the public; send Actual, Exercise or Test", a.Status)
	}
	if a.ID == "" || strings.ContainsAny(a.ID, " \t\r\n,<&") || a.Sender == "" || strings.ContainsAny(a.Sender, " \t\r\n,<&") {
		p.Add("identifier", "a CAP message needs an identifier and a sender without spaces, commas, '<' or '&'")
	}
	if a.Sent.IsZero() {
		p.Add("sent", "is required")
	}
	refs := make([]capRef, 0, len(a.References))
	for i, r := range a.References {
		ref, err := parseCAPRef(r)
		if err != nil {
			p.Add(fmt.Sprintf("references[%d]", i), "%v", err)
		}
		refs = append(refs, ref)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if a.Sender == s.db.Sender {
		return nil, &tocsin.Error{Code: tocsin.EFORBIDDEN, Message: fmt.Sprintf("sender %s is this network's own; its alerts are not imported", a.Sender),
			Fields: []tocsin.FieldError{{Field: "sender", Detail: "is this network's own sender"}}}
	}
	identifier, sent, capRefs := a.ID, a.Sent, slices.Clone(a.References)
	for i := range a.Infos {
		if a.Infos[i].Provenance == "" {
			a.Infos[i].Provenance = "human" // written by the sending agency
		}
	}
	if s.Localize != nil {
		if err := s.Localize(ctx, a); err != nil {
			return nil, fmt.Errorf("import CAP: localize: %w", err)
		}
	}

	out := &tocsin.CAPImport{UnmatchedReferences: []string{}}
	published := false
	err := s.db.update(ctx, func(tx *Tx) error {
		// The same message again is answered with what was stored the first
		// time; the same identifier with another sent time is a conflict.
		var oldID, oldSent string
		err := tx.QueryRowContext(ctx, `SELECT alert_id, sent FROM cap_alerts WHERE sender = ? AND identifier = ?`, a.Sender, identifier).Scan(&oldID, &oldSent)
		if err == nil {
			if t, perr := time.Parse(time.RFC3339, oldSent); perr != nil || !t.Equal(sent) {
				return &tocsin.Error{Code: tocsin.ECONFLICT,
					Message: fmt.Sprintf("%s already sent a message with identifier %s, at %s; a CAP identifier names one message", a.Sender, identifier, oldSent),
					Fields:  []tocsin.FieldError{{Field: "identifier", Detail: "was used before with sent " + oldSent}}}
			}
			old, err := findAlert(ctx, tx, oldID)
			if err != nil {
				return err
			}
			if err := attachSources(ctx, tx, old); err != nil {
				return err
			}
			out.Alert, out.Duplicate = old, true
			out.UnmatchedReferences, err = pendingRefs(ctx, tx, oldID)
			return err
		} else if err != sql.ErrNoRows {
			return err
		}

		if exp := a.Expires(); exp != nil && !exp.After(tx.now) && a.MsgType != "Cancel" {
			return &tocsin.Error{Code: tocsin.EINVALID, Message: fmt.Sprintf("the alert expired at %s", capTime(*exp)),
				Fields: []tocsin.FieldError{{Field: "info.expires", Detail: "is in the past: the alert has expired"}}}
		}
		principal := src.principal
		if principal == 0 {
			if principal, err = relayPrincipal(ctx, tx, src.name); err != nil {
				return err
			}
		}

		// Resolve references through CAP identities.
		var known []*tocsin.Alert
		var pending []capRef
		for _, r := range refs {
			id, err := resolveCAPRef(ctx, tx, r)
			if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
				pending = append(pending, r)
				continue
			} else if err != nil {
				return err
			}
			if slices.ContainsFunc(known, func(k *tocsin.Alert) bool { return k.ID == id }) {
				continue
			}
			old, err := findAlert(ctx, tx, id)
			if err != nil {
				return err
			}
			known = append(known, old)
		}

		if err := placeAreas(ctx, tx, a); err != nil {
			return err
		}
		if a.MsgType == "Cancel" {
			// A Cancel goes where the alerts it cancels went, and without
			// text of its own it says what it cancels.
			if len(a.Areas) == 0 {
				for _, old := range known {
					a.Areas = append(a.Areas, old.Areas...)
				}
			}
			if len(a.Infos) == 0 && len(known) > 0 {
				for _, in := range known[0].Infos {
					in.Headline, in.Urgency, in.Instruction = s.db.cancelledHeadline(in.Language, in.Headline), "Past", ""
					a.Infos = append(a.Infos, in)
				}
			}
		}

		// Validate with the references as the source wrote them. A Cancel
		// may come without text (CAP allows it); it is checked with a
		// stand-in info and stored without one.
		v := *a
		v.References = capRefs
		if len(v.Infos) == 0 && a.MsgType == "Cancel" {
			v.Infos = []tocsin.Info{{Language: "en", Category: tocsin.CategoryList{"Other"}, Event: "Cancel", Urgency: "Past",
				Severity: "Unknown", Certainty: "Unknown", Headline: "Cancel"}}
		}
		if err := v.Validate(); err != nil {
			return err
		}

		a.ID, a.AuthorID, a.CreatedAt = tocsin.NewID("alr"), principal, tx.now
		a.ApprovedBy, a.PublishedAt, a.CancelledAt = nil, nil, nil
		a.References = []string{}
		for _, old := range known {
			a.References = append(a.References, old.ID)
		}
		a.Source = &tocsin.AlertSource{Kind: src.kind, Name: src.name, Identifier: identifier, Sent: sent}

		// Messages that arrived before this one and reference it.
		waiting, err := waitingFor(ctx, tx, a.Sender, identifier)
		if err != nil {
			return err
		}
		a.State = tocsin.AlertPendingApproval
		for _, w := range waiting {
			switch {
			case w.msgType == "Cancel":
				t := tx.now
				a.State, a.CancelledAt = tocsin.AlertCancelled, &t
			case w.msgType == "Update" && a.State != tocsin.AlertCancelled:
				a.State = tocsin.AlertSuperseded
			}
		}
		if a.State == tocsin.AlertPendingApproval && a.MsgType == "Cancel" && len(known) == 0 {
			a.State = tocsin.AlertUnmatched
		}
		if err := insertAlert(ctx, tx, a); err != nil {
			return err
		}
		capRefsJSON, _ := json.Marshal(nonNil(capRefs))
		if _, err := tx.ExecContext(ctx, `INSERT INTO cap_alerts (alert_id, sender, identifier, sent, source_kind, source, refs, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Sender, identifier, sent.Format(time.RFC3339), string(src.kind), src.name, string(capRefsJSON), nanos(tx.now)); err != nil {
			return err
		}
		for _, r := range pending {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cap_pending_refs (alert_id, sender, identifier, sent) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				a.ID, r.sender, r.identifier, r.sent); err != nil {
				return err
			}
			out.UnmatchedReferences = append(out.UnmatchedReferences, r.raw)
		}
		if err := tx.audit(ctx, "cap.import", a.ID, map[string]any{
			"source": src.kind, "name": src.name, "sender": a.Sender, "identifier": identifier, "sent": capTime(sent),
			"msg_type": a.MsgType, "state": a.State, "unmatched_references": out.UnmatchedReferences}); err != nil {
			return err
		}
		for _, w := range waiting {
			if err := applyWaiting(ctx, tx, w, a); err != nil {
				return err
			}
		}

		if a.State == tocsin.AlertPendingApproval && src.policy == tocsin.PublishDirect {
			// Alerts queued for review that this message replaces are
			// withdrawn; publish handles the published ones.
			to := "superseded"
			if a.MsgType == "Cancel" {
				to = "cancelled"
			}
			if a.MsgType != "Alert" {
				for _, old := range known {
					if old.State == tocsin.AlertPendingApproval {
						if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = ?, cancelled_at = CASE WHEN ? = 'cancelled' THEN ? END WHERE id = ? AND state = 'pending_approval'`,
							to, to, nanos(tx.now), old.ID); err != nil {
							return err
						}
					}
				}
			}
			published = true
			if err := publish(ctx, tx, a); err != nil {
				return err
			}
		}
		out.Alert = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import CAP: %w", err)
	}
	if published && s.Notify != nil {
		s.Notify()
	}
	return out, nil
}

// relayPrincipal returns the principal that authors the alerts of the feed
// at url, making it on first use. Its token is random and never shown:
// nobody can act as it.
func relayPrincipal(ctx context.Context, tx *Tx, url string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT principal_id FROM relays WHERE url = ?`, url).Scan(&id)
	if err == nil {
		return id, nil
	} else if err != sql.ErrNoRows {
		return 0, err
	}
	name := "relay " + url
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO principals (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)`,
		name, string(tocsin.RolePartner), hashSecret(tocsin.NewSecret("relay")), nanos(tx.now))
	if err != nil {
		return 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO relays (url, principal_id, created_at) VALUES (?, ?, ?)`, url, id, nanos(tx.now)); err != nil {
		return 0, err
	}
	return id, tx.audit(ctx, "relay.create", fmt.Sprintf("principal:%d", id), map[string]any{"url": url})
}

type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// resolveCAPRef returns the tocsin ID of the alert a reference names: an
// imported alert by its CAP identity, or one of this network's own by its
// ID. ENOTFOUND when there is none.
func resolveCAPRef(ctx context.Context, q queryer, r capRef) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT alert_id FROM cap_alerts WHERE sender = ? AND identifier = ?`, r.sender, r.identifier).Scan(&id)
	if err == sql.ErrNoRows {
		err = q.QueryRowContext(ctx, `SELECT id FROM alerts WHERE id = ? AND sender = ? AND NOT EXISTS (SELECT 1 FROM cap_alerts WHERE alert_id = alerts.id)`,
			r.identifier, r.sender).Scan(&id)
	}
	if err == sql.ErrNoRows {
		return "", notFound("alert", r.raw)
	}
	return id, err
}

// placeAreas gives areas that have only geocodes the geometry of the zones
// that carry one of their codes, one area per zone. A Cancel drops the ones
// no zone carries (it goes where the alerts it cancels went); other
// messages are refused, since tocsin cannot tell who is in them.
func placeAreas(ctx context.Context, tx *Tx, a *tocsin.Alert) error {
	var zones []*tocsin.Zone
	var p tocsin.Problems
	var out []tocsin.Area
	for i, ar := range a.Areas {
		if ar.Circle != nil || ar.Polygon != nil {
			out = append(out, ar)
			continue
		}
		if zones == nil {
			rows, err := tx.QueryContext(ctx, `SELECT id, names, area, geocodes, created_at FROM zones ORDER BY id`)
			if err != nil {
				return err
			}
			for rows.Next() {
				z, err := scanZone(rows)
				if err != nil {
					rows.Close()
					return err
				}
				zones = append(zones, z)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			zones = append(zones, nil) // loaded, even when there are none
		}
		found := 0
		for _, z := range zones {
			if z != nil && sharesGeocode(z.Geocodes, ar.Geocodes) {
				out = append(out, tocsin.Area{Description: ar.Description, Circle: z.Circle, Polygon: z.Polygon, Geocodes: ar.Geocodes})
				found++
			}
		}
		if found == 0 && a.MsgType != "Cancel" {
			var codes []string
			for _, k := range slices.Sorted(maps.Keys(ar.Geocodes)) {
				codes = append(codes, k+" "+ar.Geocodes[k])
			}
			p.Add(fmt.Sprintf("areas[%d]", i), "%q has no polygon or circle, and no zone has its geocodes (%s); add a <polygon> or <circle>, or a zone with these geocodes",
				ar.Description, strings.Join(codes, ", "))
		}
	}
	a.Areas = out
	return p.Err()
}

// sharesGeocode reports whether a zone's codes and an area's have a value
// of the same scheme in common. Values of one scheme are separated by spaces.
func sharesGeocode(zone, area map[string]string) bool {
	for scheme, vals := range area {
		zv, ok := zone[scheme]
		if !ok {
			for k, v := range zone {
				if strings.EqualFold(k, scheme) {
					zv, ok = v, true
				}
			}
		}
		if !ok {
			continue
		}
		for _, v := range strings.Fields(vals) {
			if slices.Contains(strings.Fields(zv), v) {
				return true
			}
		}
	}
	return false
}

// waiter is an imported message waiting for an alert it references.
type waiter struct {
	id, msgType string
	state       tocsin.AlertState
}

func waitingFor(ctx context.Context, tx *Tx, sender, identifier string) ([]waiter, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.msg_type, a.state FROM cap_pending_refs p JOIN alerts a ON a.id = p.alert_id
		WHERE p.sender = ? AND p.identifier = ? ORDER BY a.created_at`, sender, identifier)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []waiter
	for rows.Next() {
		var w waiter
		var state string
		if err := rows.Scan(&w.id, &w.msgType, &state); err != nil {
			return nil, err
		}
		w.state = tocsin.AlertState(state)
		out = append(out, w)
	}
	return out, rows.Err()
}

// applyWaiting links a waiting message w to a, the alert it was waiting
// for, which arrives now (and was stored superseded or cancelled, unsent).
// An unmatched Cancel has now taken effect; it is marked published, but
// nothing is sent, since nobody received the alert it cancels.
func applyWaiting(ctx context.Context, tx *Tx, w waiter, a *tocsin.Alert) error {
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET refs = json_insert(refs, '$[#]', ?) WHERE id = ?`, a.ID, w.id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cap_pending_refs WHERE alert_id = ? AND sender = ? AND identifier = ?`, w.id, a.Sender, a.Source.Identifier); err != nil {
		return err
	}
	if w.state == tocsin.AlertUnmatched {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'published', published_at = ? WHERE id = ? AND state = 'unmatched'`, nanos(tx.now), w.id); err != nil {
			return err
		}
	}
	return tx.audit(ctx, "cap.reference_applied", w.id, map[string]any{"alert": a.ID, "msg_type": w.msgType, "state": a.State})
}

func pendingRefs(ctx context.Context, q queryer, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT sender, identifier, sent FROM cap_pending_refs WHERE alert_id = ? ORDER BY sender, identifier`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s, i, t string
		if err := rows.Scan(&s, &i, &t); err != nil {
			return nil, err
		}
		out = append(out, s+","+i+","+t)
	}
	return out, rows.Err()
}

// attachSources sets the Source of each imported alert among alerts.
func attachSources(ctx context.Context, q queryer, alerts ...*tocsin.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	byID := make(map[string]*tocsin.Alert, len(alerts))
	ids := make([]string, 0, len(alerts))
	for _, a := range alerts {
		byID[a.ID] = a
		ids = append(ids, a.ID)
	}
	list, _ := json.Marshal(ids)
	rows, err := q.QueryContext(ctx, `SELECT alert_id, identifier, sent, source_kind, source FROM cap_alerts WHERE alert_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return fmt.Errorf("alert sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, identifier, sent, kind, name string
		if err := rows.Scan(&id, &identifier, &sent, &kind, &name); err != nil {
			return fmt.Errorf("alert sources: %w", err)
		}
		t, err := time.Parse(time.RFC3339, sent)
		if err != nil {
			return fmt.Errorf("alert %s: CAP sent %q: %w", id, sent, err)
		}
		if a := byID[id]; a != nil {
			a.Source = &tocsin.AlertSource{Kind: tocsin.SourceKind(kind), Name: name, Identifier: identifier, Sent: t}
			if t.Equal(a.Sent) {
				a.Sent = t // the same instant, with the offset the source wrote
			}
		}
	}
	return rows.Err()
}

// FindAlertByCAPIdentity returns the alert with the CAP sender and identifier.
func (s *CAPService) FindAlertByCAPIdentity(ctx context.Context, sender, identifier string) (*tocsin.Alert, error) {
	id, err := resolveCAPRef(ctx, s.db.read, capRef{sender: sender, identifier: identifier, raw: sender + "," + identifier})
	if err != nil {
		return nil, fmt.Errorf("find alert by CAP identity: %w", err)
	}
	a, err := findAlert(ctx, s.db.read, id)
	if err == nil {
		err = attachSources(ctx, s.db.read, a)
	}
	if err != nil {
		return nil, fmt.Errorf("find alert by CAP identity: %w", err)
	}
	return a, nil
}

// CAPAlert returns the alert with tocsin ID id as CAP writes it.
func (s *CAPService) CAPAlert(ctx context.Context, id string) (*tocsin.Alert, error) {
	a, err := findAlert(ctx, s.db.read, id)
	if err == nil {
		err = attachSources(ctx, s.db.read, a)
	}
	if err != nil {
		return nil, fmt.Errorf("CAP alert: %w", err)
	}
	c := *a
	if src := a.Source; src != nil {
		// An imported alert keeps the identity and references its source gave it.
		var refs string
		if err := s.db.read.QueryRowContext(ctx, `SELECT refs FROM cap_alerts WHERE alert_id = ?`, id).Scan(&refs); err != nil {
			return nil, fmt.Errorf("CAP alert: %w", err)
		}
		c.ID, c.Sent, c.References = src.Identifier, src.Sent, nil
		if err := json.Unmarshal([]byte(refs), &c.References); err != nil {
			return nil, fmt.Errorf("CAP alert %s references: %w", id, err)
		}
		return &c, nil
	}
	c.References = make([]string, 0, len(a.References))
	for _, ref := range a.References {
		old, err := findAlert(ctx, s.db.read, ref)
		if err == nil {
			err = attachSources(ctx, s.db.read, old)
		}
		if err != nil {
			return nil, fmt.Errorf("CAP alert %s: reference: %w", id, err)
		}
		if old.Source != nil {
			c.References = append(c.References, old.Sender+","+old.Source.Identifier+","+capTime(old.Source.Sent))
		} else {
			c.References = append(c.References, old.Sender+","+old.ID+","+capTime(old.Sent))
		}
	}
	return &c, nil
}

// FindUnmatchedAlerts lists imported messages with references still waiting.
func (s *CAPService) FindUnmatchedAlerts(ctx context.Context) ([]*tocsin.UnmatchedAlert, error) {
	if _, err := tocsin.Require(ctx, tocsin.RoleAdmin); err != nil {
		return nil, err
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id IN (SELECT alert_id FROM cap_pending_refs) ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("find unmatched alerts: %w", err)
	}
	var alerts []*tocsin.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find unmatched alerts: %w", err)
		}
		alerts = append(alerts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find unmatched alerts: %w", err)
	}
	if err := attachSources(ctx, s.db.read, alerts...); err != nil {
		return nil, fmt.Errorf("find unmatched alerts: %w", err)
	}
	out := make([]*tocsin.UnmatchedAlert, 0, len(alerts))
	for _, a := range alerts {
		refs, err := pendingRefs(ctx, s.db.read, a.ID)
		if err != nil {
			return nil, fmt.Errorf("find unmatched alerts: %w", err)
		}
		out = append(out, &tocsin.UnmatchedAlert{Alert: a, UnmatchedReferences: refs})
	}
	return out, nil
}

// FindFeedAlerts returns the alerts of the public feeds at now.
func (s *CAPService) FindFeedAlerts(ctx context.Context, now time.Time) ([]*tocsin.Alert, time.Time, error) {
	n, cut, ret := nanos(now), nanos(now.Add(-tocsin.FeedRetention)), int64(tocsin.FeedRetention)
	const public = `status = 'Actual' AND scope = 'Public' AND published_at IS NOT NULL`
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+public+` AND published_at <= ? AND (
			(state = 'published' AND msg_type != 'Cancel' AND (expires_at IS NULL OR expires_at > ?))
			OR (state = 'published' AND msg_type = 'Cancel' AND published_at > ?)
			OR (state = 'cancelled' AND cancelled_at > ?)
		) ORDER BY published_at DESC, id`, n, cut, cut, cut)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("find feed alerts: %w", err)
	}
	var alerts []*tocsin.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, time.Time{}, fmt.Errorf("find feed alerts: %w", err)
		}
		alerts = append(alerts, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("find feed alerts: %w", err)
	}
	if err := attachSources(ctx, s.db.read, alerts...); err != nil {
		return nil, time.Time{}, fmt.Errorf("find feed alerts: %w", err)
	}
	// The feeds change when an alert is published or cancelled, when it
	// expires (it leaves the GeoJSON feed), and when it leaves the Atom
	// feed FeedRetention later.
	var changed sql.NullInt64
	err = s.db.read.QueryRowContext(ctx, `SELECT MAX(t) FROM (
			SELECT MAX(published_at) AS t FROM alerts WHERE `+public+` AND published_at <= ?1
			UNION ALL SELECT MAX(cancelled_at) FROM alerts WHERE `+public+` AND cancelled_at <= ?1
			UNION ALL SELECT MAX(expires_at) FROM alerts WHERE `+public+` AND expires_at <= ?1
			UNION ALL SELECT MAX(expires_at + ?2) FROM alerts WHERE `+public+` AND expires_at + ?2 <= ?1
			UNION ALL SELECT MAX(cancelled_at + ?2) FROM alerts WHERE `+public+` AND cancelled_at + ?2 <= ?1
			UNION ALL SELECT MAX(published_at + ?2) FROM alerts WHERE `+public+` AND msg_type = 'Cancel' AND published_at + ?2 <= ?1
		)`, n, ret).Scan(&changed)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("find feed alerts: %w", err)
	}
	var t time.Time
	if changed.Valid {
		t = fromNanos(changed.Int64)
	}
	return alerts, t, nil
}

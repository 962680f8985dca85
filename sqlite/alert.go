package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tocsin/tocsin"
)

// AlertService drafts, approves, publishes and cancels alerts. Publishing
// writes the alert's new state and its outbox event in one transaction;
// Notify, when set, is called after each such commit to wake the fan-out.
type AlertService struct {
	db     *DB
	Notify func()
}

var _ tocsin.AlertService = (*AlertService)(nil)

// NewAlertService returns an AlertService on db.
func NewAlertService(db *DB) *AlertService { return &AlertService{db: db, Notify: func() {}} }

const alertColumns = `id, sender, sent, status, msg_type, scope, refs, incident_id, infos, areas, state, author_id, approved_by, created_at, published_at, cancelled_at, protected_terms, template`

func scanAlert(s scanner) (*tocsin.Alert, error) {
	var a tocsin.Alert
	var sent, created int64
	var status, msgType, scope, refs, infos, areas, state, protected string
	var incident sql.NullString
	var approvedBy, published, cancelled sql.NullInt64
	if err := s.Scan(&a.ID, &a.Sender, &sent, &status, &msgType, &scope, &refs, &incident, &infos, &areas, &state, &a.AuthorID, &approvedBy, &created, &published, &cancelled, &protected, &a.Template); err != nil {
		return nil, err
	}
	a.Sent, a.CreatedAt = fromNanos(sent), fromNanos(created)
	a.Status, a.MsgType, a.Scope, a.State = tocsin.Status(status), tocsin.MsgType(msgType), tocsin.Scope(scope), tocsin.AlertState(state)
	a.IncidentID = incident.String
	a.ApprovedBy, a.PublishedAt, a.CancelledAt = int64Ptr(approvedBy), timePtr(published), timePtr(cancelled)
	if err := json.Unmarshal([]byte(refs), &a.References); err != nil {
		return nil, fmt.Errorf("alert %s references: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(infos), &a.Infos); err != nil {
		return nil, fmt.Errorf("alert %s infos: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(areas), &a.Areas); err != nil {
		return nil, fmt.Errorf("alert %s areas: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(protected), &a.ProtectedTerms); err != nil {
		return nil, fmt.Errorf("alert %s protected terms: %w", a.ID, err)
	}
	return &a, nil
}

func findAlert(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*tocsin.Alert, error) {
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("alert", id)
	}
	return a, err
}

// FindAlertByID returns one alert.
func (s *AlertService) FindAlertByID(ctx context.Context, id string) (*tocsin.Alert, error) {
	a, err := findAlert(ctx, s.db.read, id)
	if err == nil {
		err = attachSources(ctx, s.db.read, a) // imported alerts say where they came from
	}
	if err != nil {
		return nil, fmt.Errorf("find alert: %w", err)
	}
	return a, nil
}

// FindAlerts returns alerts, newest first. The area filter runs in Go over
// the rows the state and time filters leave, which are few (active alerts).
func (s *AlertService) FindAlerts(ctx context.Context, f tocsin.AlertFilter) ([]*tocsin.Alert, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.State != nil {
		where, args = append(where, "state = ?"), append(args, string(*f.State))
	}
	if f.ActiveAt != nil {
		where, args = append(where, "state = 'published' AND msg_type != 'Cancel' AND (expires_at IS NULL OR expires_at > ?)"), append(args, nanos(*f.ActiveAt))
	}
	if f.References != nil {
		where, args = append(where, "EXISTS (SELECT 1 FROM json_each(alerts.refs) WHERE json_each.value = ?)"), append(args, *f.References)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+strings.Join(where, " AND ")+` ORDER BY created_at DESC`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find alerts: %w", err)
	}
	defer rows.Close()
	var all []*tocsin.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("find alerts: %w", err)
		}
		if f.Area != nil && !a.Touches(*f.Area) {
			continue
		}
		all = append(all, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find alerts: %w", err)
	}
	total := len(all)
	if f.Offset >= len(all) {
		return []*tocsin.Alert{}, total, nil
	}
	all = all[f.Offset:]
	if n := limit(f.Limit); len(all) > n {
		all = all[:n]
	}
	if err := attachSources(ctx, s.db.read, all...); err != nil {
		return nil, 0, fmt.Errorf("find alerts: %w", err)
	}
	return all, total, nil
}

// CreateAlert validates and stores a new alert by the principal in ctx, and
// publishes it at once unless it is loud.
func (s *AlertService) CreateAlert(ctx context.Context, a *tocsin.Alert) error {
	p, err := tocsin.Require(ctx, tocsin.RolePublisher)
	if err != nil {
		return err
	}
	now := s.db.Now().UTC()
	a.ID, a.Sender, a.Sent, a.AuthorID = tocsin.NewID("alr"), s.db.Sender, now.Truncate(1e9), p.ID
	a.ApprovedBy, a.PublishedAt, a.CancelledAt = nil, nil, nil
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		return err
	}
	published := false
	err = s.db.update(ctx, func(tx *Tx) error {
		a.CreatedAt = tx.now
		if err := checkLinks(ctx, tx, a); err != nil {
			return err
		}
		a.State = tocsin.AlertPendingApproval
		if err := insertAlert(ctx, tx, a); err != nil {
			return err
		}
		if err := tx.audit(ctx, "alert.create", a.ID, map[string]any{"msg_type": a.MsgType, "status": a.Status, "severity": a.MaxSeverity(), "references": a.References}); err != nil {
			return err
		}
		// A Cancel is never held back: withdrawing a warning must not wait.
		if (a.MaxSeverity().Loud() || a.Hold) && a.MsgType != "Cancel" {
			return nil
		}
		published = true
		return publish(ctx, tx, a)
	})
	if err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	if published {
		s.Notify()
	}
	return nil
}

// checkLinks makes sure the incident and the alerts a references exist and
// can be updated or cancelled.
func checkLinks(ctx context.Context, tx *Tx, a *tocsin.Alert) error {
	var p tocsin.Problems
	hadAreas := len(a.Areas) > 0
	if a.IncidentID != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, a.IncidentID).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			p.Add("incident_id", "incident %s does not exist", a.IncidentID)
		}
	}
	for i, ref := range a.References {
		old, err := findAlert(ctx, tx, ref)
		if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
			p.Add(fmt.Sprintf("references[%d]", i), "alert %s does not exist", ref)
			continue
		} else if err != nil {
			return err
		}
		if old.State != tocsin.AlertPublished {
			p.Add(fmt.Sprintf("references[%d]", i), "alert %s is %s; only a published alert can be updated or cancelled", ref, old.State)
		} else if old.MsgType == "Cancel" {
			p.Add(fmt.Sprintf("references[%d]", i), "alert %s is itself a Cancel", ref)
		}
		// A Cancel sent without areas goes wherever the alerts it cancels went.
		if a.MsgType == "Cancel" && !hadAreas {
			a.Areas = append(a.Areas, old.Areas...)
		}
	}
	return p.Err()
}

func insertAlert(ctx context.Context, tx *Tx, a *tocsin.Alert) error {
	refs, _ := json.Marshal(nonNil(a.References))
	infos, err := json.Marshal(a.Infos)
	if err != nil {
		return err
	}
	areas, err := json.Marshal(a.Areas)
	if err != nil {
		return err
	}
	var incident any
	if a.IncidentID != "" {
		incident = a.IncidentID
	}
	protected, _ := json.Marshal(nonNil(a.ProtectedTerms))
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts (`+alertColumns+`, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Sender, nanos(a.Sent), string(a.Status), string(a.MsgType), string(a.Scope), string(refs), incident, string(infos), string(areas),
		string(a.State), a.AuthorID, a.ApprovedBy, nanos(a.CreatedAt), nullNanos(a.PublishedAt), nullNanos(a.CancelledAt), string(protected), a.Template, nullNanos(a.Expires()))
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// publish marks a published, applies it to the alerts it references, and
// writes its outbox event, all inside tx.
func publish(ctx context.Context, tx *Tx, a *tocsin.Alert) error {
	t := tx.now
	a.State, a.PublishedAt = tocsin.AlertPublished, &t
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'published', published_at = ?, approved_by = ? WHERE id = ?`, nanos(t), a.ApprovedBy, a.ID); err != nil {
		return err
	}
	typ := tocsin.EventAlertPublished
	switch a.MsgType {
	case "Update":
		typ = tocsin.EventAlertUpdated
		for _, ref := range a.References {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'superseded' WHERE id = ? AND state = 'published'`, ref); err != nil {
				return err
			}
		}
	case "Cancel":
		typ = tocsin.EventAlertCancelled
		for _, ref := range a.References {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'cancelled', cancelled_at = ? WHERE id = ? AND state = 'published'`, nanos(t), ref); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (type, alert_id, created_at) VALUES (?, ?, ?)`, string(typ), a.ID, nanos(t)); err != nil {
		return err
	}
	return tx.audit(ctx, "alert.publish", a.ID, map[string]any{"event": typ, "approved_by": a.ApprovedBy})
}

// ApproveAlert publishes a pending alert on a second publisher's word.
func (s *AlertService) ApproveAlert(ctx context.Context, id string) (*tocsin.Alert, error) {
	p, err := tocsin.Require(ctx, tocsin.RolePublisher)
	if err != nil {
		return nil, err
	}
	var a *tocsin.Alert
	err = s.db.update(ctx, func(tx *Tx) error {
		if a, err = findAlert(ctx, tx, id); err != nil {
			return err
		}
		if a.State != tocsin.AlertPendingApproval {
			return tocsin.Errorf(tocsin.ECONFLICT, "alert %s is %s, not pending approval", id, a.State)
		}
		// The two-person rule is for loud alerts; the author of a quiet
		// one held for review (to check its translations) may send it.
		if a.AuthorID == p.ID && a.MaxSeverity().Loud() {
			return tocsin.Errorf(tocsin.EFORBIDDEN, "the author of alert %s cannot approve it: a second publisher must", id)
		}
		if err := checkLinks(ctx, tx, a); err != nil {
			return err
		}
		a.ApprovedBy = &p.ID
		if err := tx.audit(ctx, "alert.approve", id, nil); err != nil {
			return err
		}
		return publish(ctx, tx, a)
	})
	if err != nil {
		return nil, fmt.Errorf("approve alert: %w", err)
	}
	s.Notify()
	return a, nil
}

// cancelledHeadline prefixes a headline with the word for "cancelled" in
// the info's language, from db.CancelledLabel (the language catalog), else
// in English.
func (db *DB) cancelledHeadline(lang, headline string) string {
	w := "CANCELLED"
	if db.CancelledLabel != nil {
		if l := db.CancelledLabel(lang); l != "" {
			w = strings.ToUpper(l)
		}
	}
	h := w + ": " + headline
	if r := []rune(h); len(r) > tocsin.MaxHeadline {
		h = string(r[:tocsin.MaxHeadline])
	}
	return h
}

// CancelAlert withdraws a pending alert, or publishes a Cancel for a
// published one.
func (s *AlertService) CancelAlert(ctx context.Context, id string) (*tocsin.Alert, error) {
	p, err := tocsin.Require(ctx, tocsin.RolePublisher)
	if err != nil {
		return nil, err
	}
	var out *tocsin.Alert
	published := false
	err = s.db.update(ctx, func(tx *Tx) error {
		old, err := findAlert(ctx, tx, id)
		if err != nil {
			return err
		}
		switch old.State {
		case tocsin.AlertPendingApproval:
			t := tx.now
			old.State, old.CancelledAt = tocsin.AlertCancelled, &t
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'cancelled', cancelled_at = ? WHERE id = ?`, nanos(t), id); err != nil {
				return err
			}
			out = old
			return tx.audit(ctx, "alert.withdraw", id, nil)
		case tocsin.AlertPublished:
			if old.MsgType == "Cancel" {
				return tocsin.Errorf(tocsin.ECONFLICT, "alert %s is itself a Cancel and cannot be cancelled", id)
			}
		default:
			return tocsin.Errorf(tocsin.ECONFLICT, "alert %s is %s; only a pending or published alert can be cancelled", id, old.State)
		}
		c := &tocsin.Alert{
			ID: tocsin.NewID("alr"), Sender: s.db.Sender, Sent: tx.now.Truncate(1e9), Status: old.Status, MsgType: "Cancel", Scope: old.Scope,
			References: []string{old.ID}, IncidentID: old.IncidentID, Areas: old.Areas, AuthorID: p.ID, CreatedAt: tx.now,
		}
		for _, in := range old.Infos {
			in.Headline, in.Urgency, in.Instruction = s.db.cancelledHeadline(in.Language, in.Headline), "Past", ""
			c.Infos = append(c.Infos, in)
		}
		c.State = tocsin.AlertPendingApproval
		if err := insertAlert(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.audit(ctx, "alert.cancel", id, map[string]any{"cancel_id": c.ID}); err != nil {
			return err
		}
		out, published = c, true
		return publish(ctx, tx, c)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel alert: %w", err)
	}
	if published {
		s.Notify()
	}
	return out, nil
}

// ReviseInfo replaces a pending alert's text in one language with a
// publisher's: a reviewed or corrected translation becomes "human".
func (s *AlertService) ReviseInfo(ctx context.Context, id, language string, rev tocsin.InfoRevision) (*tocsin.Alert, error) {
	if _, err := tocsin.Require(ctx, tocsin.RolePublisher); err != nil {
		return nil, err
	}
	var a *tocsin.Alert
	err := s.db.update(ctx, func(tx *Tx) error {
		var err error
		if a, err = findAlert(ctx, tx, id); err != nil {
			return err
		}
		if a.State != tocsin.AlertPendingApproval {
			return tocsin.Errorf(tocsin.ECONFLICT, "alert %s is %s; publish an Update to change a sent alert", id, a.State)
		}
		i := slices.IndexFunc(a.Infos, func(in tocsin.Info) bool { return strings.EqualFold(in.Language, language) })
		if i < 0 {
			return tocsin.Errorf(tocsin.ENOTFOUND, "alert %s has no %s text", id, language)
		}
		in := &a.Infos[i]
		before := in.Provenance
		for _, f := range []struct {
			v   *string
			dst *string
		}{{rev.Event, &in.Event}, {rev.Headline, &in.Headline}, {rev.Description, &in.Description}, {rev.Instruction, &in.Instruction}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		in.Provenance = "human"
		if err := a.Validate(); err != nil {
			return err
		}
		infos, err := json.Marshal(a.Infos)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET infos = ? WHERE id = ?`, string(infos), id); err != nil {
			return err
		}
		return tx.audit(ctx, "alert.revise", id, map[string]any{"language": in.Language, "was": before})
	})
	if err != nil {
		return nil, fmt.Errorf("revise alert: %w", err)
	}
	return a, nil
}

package tocsin

import (
	"context"
	"time"
)

// SourceKind says how an alert that tocsin did not write reached it.
type SourceKind string

// The source kinds.
const (
	// SourcePartner is an alert a registered partner posted to POST /api/v1/cap.
	SourcePartner SourceKind = "partner"
	// SourceRelay is an alert read from a partner's CAP feed (serve --relay).
	SourceRelay SourceKind = "relay"
)

// AlertSource is where an imported alert came from, and its identity in
// CAP. tocsin gives every alert an ID of its own; an imported alert keeps
// the sender (Alert.Sender), identifier and sent time its source gave it, so
// that later Updates and Cancels that reference it by "sender,identifier,sent"
// find it, and so that it is exported under that identity.
type AlertSource struct {
	Kind SourceKind `json:"kind"`
	// Name is the partner's name, or the URL of the relayed feed.
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
	// Sent is the CAP sent time, with the offset the source wrote.
	Sent time.Time `json:"sent"`
}

// CAPImport is the outcome of importing one CAP message.
type CAPImport struct {
	// Alert is the stored alert: new, or for a duplicate, the one stored
	// the first time.
	Alert *Alert `json:"alert"`
	// Duplicate is set when the message (sender, identifier, sent) was
	// imported before; nothing was written.
	Duplicate bool `json:"duplicate"`
	// UnmatchedReferences are the references ("sender,identifier,sent") of
	// an Update or Cancel to alerts tocsin has not received. They are kept
	// and applied when those alerts arrive.
	UnmatchedReferences []string `json:"unmatched_references"`
}

// UnmatchedAlert is an imported Update or Cancel with references to alerts
// tocsin has not received.
type UnmatchedAlert struct {
	Alert               *Alert   `json:"alert"`
	UnmatchedReferences []string `json:"unmatched_references"`
}

// CAPService imports CAP messages from partners and relayed feeds, and
// finds alerts by their CAP identity for export and feeds.
//
// An import stores the alert under a new tocsin ID with its CAP identity,
// unique by (sender, identifier). References are resolved through that
// identity (or, for this network's own sender, to tocsin's alert IDs). An
// Update applies to the alerts it references that are known; one whose
// references are all unknown is still published, since it carries the
// whole current warning. A Cancel none of whose alerts are known is stored
// as unmatched and not sent. When a referenced alert arrives later, it is
// stored as superseded or cancelled and is not sent.
type CAPService interface {
	// ImportPartnerAlert imports a parsed CAP message posted by the
	// partner in ctx, publishing it or queueing it for approval as the
	// partner's policy says. EFORBIDDEN when ctx is not a registered
	// partner or the message's sender is not the partner's; EINVALID for a
	// message tocsin cannot send (Ack, Error, System, Draft, expired,
	// areas it cannot place); ECONFLICT when the sender and identifier were
	// used before with another sent time. A duplicate is not an error.
	ImportPartnerAlert(ctx context.Context, a *Alert) (*CAPImport, error)
	// ImportRelayedAlert imports a parsed CAP message read from the feed at
	// feedURL and publishes it directly. Only tocsin itself may call it (a
	// ctx from NewContextWithSystem): EFORBIDDEN otherwise. Other errors as
	// ImportPartnerAlert.
	ImportRelayedAlert(ctx context.Context, a *Alert, feedURL string) (*CAPImport, error)
	// FindAlertByCAPIdentity returns the alert that has the CAP sender and
	// identifier: an imported one, or one of this network's own. ENOTFOUND.
	FindAlertByCAPIdentity(ctx context.Context, sender, identifier string) (*Alert, error)
	// CAPAlert returns the alert with tocsin ID id as CAP writes it: its
	// CAP identifier as ID, its sender, its sent time with the source's
	// offset, and its references as "sender,identifier,sent". ENOTFOUND.
	CAPAlert(ctx context.Context, id string) (*Alert, error)
	// FindUnmatchedAlerts lists imported Updates and Cancels that still
	// reference alerts tocsin has not received, newest first (admin only:
	// EUNAUTHORIZED, EFORBIDDEN).
	FindUnmatchedAlerts(ctx context.Context) ([]*UnmatchedAlert, error)
	// FindFeedAlerts returns the alerts of the public feeds at now: status
	// Actual, scope Public, published, and either active or expired,
	// cancelled or (for a Cancel) published less than FeedRetention ago;
	// newest first. changed is the last time that set or its alerts
	// changed, for Last-Modified.
	FindFeedAlerts(ctx context.Context, now time.Time) (alerts []*Alert, changed time.Time, err error)
}

// FeedRetention is how long an alert stays in the Atom feed after it
// expires or is cancelled, so that aggregators see the end of it.
const FeedRetention = 24 * time.Hour

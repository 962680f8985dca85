package tocsin

import (
	"context"
	"time"
)

// PublishPolicy says what happens to the alerts a partner posts.
type PublishPolicy string

// The publish policies.
const (
	// PublishDirect publishes a partner's alerts at once, through the same
	// transaction and outbox as tocsin's own; the two-person rule does not
	// apply, since the partner has already decided to send them.
	PublishDirect PublishPolicy = "direct"
	// PublishReview queues a partner's alerts as pending_approval until a
	// publisher approves them.
	PublishReview PublishPolicy = "review"
)

// Valid reports whether p is a defined policy.
func (p PublishPolicy) Valid() bool { return p == PublishDirect || p == PublishReview }

// Partner is an agency or network allowed to post CAP alerts under one CAP
// sender. A partner registered with a certificate signs its alerts, and
// unsigned or wrongly signed ones are refused.
type Partner struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Sender string `json:"sender"`
	// CertificatePEM is the partner's signing certificate, PEM-encoded, or
	// empty when the partner does not sign.
	CertificatePEM string        `json:"certificate_pem,omitempty"`
	Publish        PublishPolicy `json:"publish"`
	// PrincipalID is the principal of the partner's token (role partner).
	PrincipalID int64     `json:"principal_id"`
	CreatedAt   time.Time `json:"created_at"`
}

// PartnerService registers partners.
type PartnerService interface {
	// CreatePartner stores p with a new principal of role partner and
	// returns that principal's bearer token, shown once. EINVALID for a bad
	// name, sender, certificate or policy; ECONFLICT when the name or the
	// sender is taken.
	CreatePartner(ctx context.Context, p *Partner) (token string, err error)
	// FindPartnerByPrincipal returns the partner whose token is principal
	// id. ENOTFOUND.
	FindPartnerByPrincipal(ctx context.Context, id int64) (*Partner, error)
	// FindPartners lists every partner by name.
	FindPartners(ctx context.Context) ([]*Partner, error)
}

package tocsin

import (
	"context"
	"time"
)

// Role is what a principal may do. Roles are ordered: each includes the ones
// below it (admin ⊇ publisher ⊇ verifier ⊇ reporter). The partner role
// stands apart from that order: a partner may only import CAP alerts
// (POST /api/v1/cap), and no other role includes it.
type Role string

// The roles.
const (
	RoleReporter  Role = "reporter"
	RoleVerifier  Role = "verifier"
	RolePublisher Role = "publisher"
	RoleAdmin     Role = "admin"
	// RolePartner is a partner network or agency that posts CAP alerts. Its
	// tokens are made with its registration (PartnerService.CreatePartner).
	RolePartner Role = "partner"
)

var roleRank = map[Role]int{RoleReporter: 1, RoleVerifier: 2, RolePublisher: 3, RoleAdmin: 4}

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return roleRank[r] > 0 || r == RolePartner }

// Includes reports whether a principal with role r may act as min. A
// partner includes only itself, and only a partner includes the partner role.
func (r Role) Includes(min Role) bool {
	if r == RolePartner || min == RolePartner {
		return r == min
	}
	return roleRank[r] >= roleRank[min] && roleRank[min] > 0
}

// Roles lists the ordered roles in ascending order of power, then the
// partner role, which is outside the order.
func Roles() []Role { return []Role{RoleReporter, RoleVerifier, RolePublisher, RoleAdmin, RolePartner} }

// Principal is whoever holds a bearer token. Each token is its own principal,
// so the two-person rule compares principal ids.
type Principal struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// TokenService issues and resolves bearer tokens. Tokens are stored hashed.
type TokenService interface {
	// CreateToken stores a new principal and returns its token, shown once.
	// EINVALID for an unknown role or an empty name.
	CreateToken(ctx context.Context, name string, role Role) (token string, p *Principal, err error)
	// FindPrincipalByToken resolves a token. EUNAUTHORIZED when it is unknown.
	FindPrincipalByToken(ctx context.Context, token string) (*Principal, error)
}

type principalKey struct{}
type clientKey struct{}
type systemKey struct{}

// NewContextWithSystem returns a copy of ctx marking decisions made in it as
// tocsin's own (dead-lettering, disabling a gone endpoint) for the audit log.
func NewContextWithSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the authenticated principal, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// NewContextWithClient returns a copy of ctx carrying an opaque, keyed hash of
// the anonymous client, used to count distinct reporters. It is never an IP
// address.
func NewContextWithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

// ClientFromContext returns the client hash set by NewContextWithClient.
func ClientFromContext(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// Require returns EUNAUTHORIZED when ctx carries no principal and EFORBIDDEN
// when its role does not include min.
func Require(ctx context.Context, min Role) (*Principal, error) {
	p := PrincipalFromContext(ctx)
	if p == nil {
		return nil, Errorf(EUNAUTHORIZED, "a bearer token is required")
	}
	if !p.Role.Includes(min) {
		return nil, Errorf(EFORBIDDEN, "this needs the %s role; the token has %s", min, p.Role)
	}
	return p, nil
}

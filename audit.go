package tocsin

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEvent is one decision in the append-only, hash-chained audit log.
// Hash is SHA-256 over the previous event's hash and this event's canonical
// fields, so an edited, inserted or deleted row breaks the chain.
type AuditEvent struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"` // "principal:3", "anonymous", "system"
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// AuditService reads and checks the audit log. Writes happen inside the
// transactions that make the decisions.
type AuditService interface {
	// FindAuditEvents lists events after seq, oldest first.
	FindAuditEvents(ctx context.Context, afterSeq int64, limit int) ([]*AuditEvent, error)
	// VerifyAudit walks the whole chain and returns the number of events and
	// nil, or an error naming the first event where the chain breaks.
	VerifyAudit(ctx context.Context) (int, error)
}

// ActorFromContext names the actor of a decision for the audit log.
func ActorFromContext(ctx context.Context) string {
	if p := PrincipalFromContext(ctx); p != nil {
		return "principal:" + itoa(p.ID)
	}
	if sys, _ := ctx.Value(systemKey{}).(bool); sys {
		return "system"
	}
	return "anonymous"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

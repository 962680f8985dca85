// Package tocsin holds the domain of a multilingual community alert network:
// reports, incidents, alerts shaped after CAP 1.2, subscriptions, deliveries,
// principals and the audit trail, with the service interfaces that the storage,
// delivery and HTTP packages implement or consume.
//
// The root package imports nothing from the project's infrastructure; geo is a
// pure geometry library and is the one project import here.
package tocsin

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// Version is the release of this build, set with -ldflags "-X github.com/tocsin/tocsin.Version=…".
var Version = "dev"

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a random identifier with the given prefix, such as "alr_4f…".
// It contains no spaces, commas, '<' or '&', so it is also a valid CAP identifier.
func NewID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// NewSecret returns a high-entropy random secret with the given prefix, for
// bearer tokens and receipts. Only its hash is ever stored.
func NewSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

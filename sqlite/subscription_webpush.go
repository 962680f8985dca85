package sqlite

import (
	"crypto/ecdh"
	"encoding/base64"
	"strings"

	"github.com/tocsin/tocsin"
)

// validatePushChannel checks a Web Push channel's fields: an endpoint and
// the browser's keys, p256dh an uncompressed P-256 point and auth 16 bytes,
// both base64url as PushSubscription.toJSON gives them. Whether the
// endpoint may be reached is the caller's network policy (deliver.CheckPushEndpoint).
func validatePushChannel(p *tocsin.Problems, c *tocsin.Channel) {
	switch {
	case strings.TrimSpace(c.Endpoint) == "":
		p.Add("channel.endpoint", "is required for webpush")
	case len(c.Endpoint) > 2000:
		p.Add("channel.endpoint", "is longer than 2000 characters")
	}
	if c.Keys == nil {
		p.Add("channel.keys", "is required for webpush: p256dh and auth from the browser's PushSubscription")
		return
	}
	if b, ok := decodeBase64URL(c.Keys.P256dh); !ok {
		p.Add("channel.keys.p256dh", "must be base64url")
	} else if len(b) != 65 || b[0] != 4 {
		p.Add("channel.keys.p256dh", "must be an uncompressed P-256 public key (65 bytes), not %d bytes", len(b))
	} else if _, err := ecdh.P256().NewPublicKey(b); err != nil {
		p.Add("channel.keys.p256dh", "is not a point on the P-256 curve")
	}
	if b, ok := decodeBase64URL(c.Keys.Auth); !ok {
		p.Add("channel.keys.auth", "must be base64url")
	} else if len(b) != 16 {
		p.Add("channel.keys.auth", "must be 16 bytes, not %d", len(b))
	}
}

// decodeBase64URL decodes base64url with or without padding.
func decodeBase64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil && s != ""
}

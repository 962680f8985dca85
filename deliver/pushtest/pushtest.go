// Package pushtest is a Web Push service for tests: a real HTTP server on
// loopback that plays the browser's part too, holding the subscription keys
// it hands out, decrypting every message it receives (RFC 8291, aes128gcm)
// and checking its VAPID authorization (RFC 8292) the way a push service
// would. It is built from the standard library's primitives only, apart
// from the code under test.
package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys are a browser's keys for one push subscription.
type Keys struct {
	Private *ecdh.PrivateKey
	Auth    []byte
}

// NewKeys generates a subscription's keys, as a browser does.
func NewKeys() (*Keys, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return nil, err
	}
	return &Keys{Private: priv, Auth: auth}, nil
}

// P256dh returns the public key as PushSubscription.toJSON gives it.
func (k *Keys) P256dh() string {
	return base64.RawURLEncoding.EncodeToString(k.Private.PublicKey().Bytes())
}

// AuthSecret returns the authentication secret as PushSubscription.toJSON gives it.
func (k *Keys) AuthSecret() string { return base64.RawURLEncoding.EncodeToString(k.Auth) }

// Decrypt opens an aes128gcm message (RFC 8188 with the key derivation of
// RFC 8291) with the user agent's private key and authentication secret.
// It takes one record, as Web Push messages are, and returns the content
// without its padding.
func Decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("message shorter than its header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("message shorter than its key id")
	}
	keyID, ct := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || uint32(len(ct)) > rs {
		return nil, fmt.Errorf("ciphertext of %d bytes in records of %d: want exactly one record", len(ct), rs)
	}
	as, err := ecdh.P256().NewPublicKey(keyID)
	if err != nil {
		return nil, fmt.Errorf("key id is not the sender's P-256 key: %w", err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	keyInfo := "WebPush: info\x00" + string(ua.PublicKey().Bytes()) + string(keyID)
	ikm, err := hkdf.Key(sha256.New, secret, auth, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aesCipher(cek)
	if err != nil {
		return nil, err
	}
	plain, err := block.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("no last-record delimiter (0x02) before the padding")
	}
	return plain[:i], nil
}

// Claims are a VAPID token's claims.
type Claims struct {
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Sub string `json:"sub"`
}

// VerifyVAPID checks an Authorization header of the form
// "vapid t=<JWT>, k=<key>" (RFC 8292 §3): the JWT is signed with ES256 by
// the key k, its audience is audience (the push endpoint's origin), and it
// expires after now and no more than 24 hours after it. It returns the
// claims and k.
func VerifyVAPID(header, audience string, now time.Time) (Claims, string, error) {
	var c Claims
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return c, "", fmt.Errorf("authorization %q is not of the vapid scheme", header)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	token, key := params["t"], params["k"]
	kb, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return c, "", fmt.Errorf("k is not base64url: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return c, "", fmt.Errorf("k is not a P-256 key: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, "", errors.New("t is not a JWT")
	}
	var hdr struct{ Alg, Typ string }
	if err := decodeJSONPart(parts[0], &hdr); err != nil || hdr.Alg != "ES256" {
		return c, "", fmt.Errorf("JWT header %+v (%v): want alg ES256", hdr, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return c, "", errors.New("JWT signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return c, "", errors.New("JWT signature does not verify with k")
	}
	if err := decodeJSONPart(parts[1], &c); err != nil {
		return c, "", fmt.Errorf("JWT claims: %w", err)
	}
	switch {
	case c.Aud != audience:
		return c, "", fmt.Errorf("JWT aud %q, want %q", c.Aud, audience)
	case c.Exp <= now.Unix():
		return c, "", fmt.Errorf("JWT expired at %d", c.Exp)
	case c.Exp > now.Add(24*time.Hour).Unix():
		return c, "", fmt.Errorf("JWT exp %d is more than 24h after %d", c.Exp, now.Unix())
	case !strings.HasPrefix(c.Sub, "mailto:") && !strings.HasPrefix(c.Sub, "https:"):
		return c, "", fmt.Errorf("JWT sub %q is neither mailto: nor https:", c.Sub)
	}
	return c, key, nil
}

func decodeJSONPart(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Message is one request the push service received.
type Message struct {
	Path       string
	Header     http.Header
	Plaintext  []byte // nil if it could not be decrypted
	DecryptErr error
	Claims     Claims
	VAPIDKey   string // k of the Authorization header
	VAPIDErr   error
	Status     int // what the service answered
}

// Server is a push service on loopback.
type Server struct {
	*httptest.Server
	mu     sync.Mutex
	keys   map[string]*Keys
	status map[string]int
	got    []Message
}

// NewServer starts a push service that the test's end closes.
func NewServer(tb testing.TB) *Server {
	s := &Server{keys: map[string]*Keys{}, status: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// Subscribe makes a subscription at path, as a browser would, and returns
// its endpoint and keys.
func (s *Server) Subscribe(tb testing.TB, path string) (endpoint string, keys *Keys) {
	tb.Helper()
	k, err := NewKeys()
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.keys[path] = k
	s.mu.Unlock()
	return s.URL + path, k
}

// SetStatus makes the service answer code to requests for path (0: 201).
func (s *Server) SetStatus(path string, code int) {
	s.mu.Lock()
	s.status[path] = code
	s.mu.Unlock()
}

// Messages returns the requests received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	s.mu.Lock()
	k, code := s.keys[r.URL.Path], s.status[r.URL.Path]
	s.mu.Unlock()
	m := Message{Path: r.URL.Path, Header: r.Header.Clone(), Status: code}
	if m.Status == 0 {
		m.Status = http.StatusCreated
	}
	m.Claims, m.VAPIDKey, m.VAPIDErr = VerifyVAPID(r.Header.Get("Authorization"), "http://"+r.Host, time.Now())
	switch {
	case k == nil:
		m.DecryptErr = errors.New("no subscription at this path")
	case r.Method != http.MethodPost || r.Header.Get("Content-Encoding") != "aes128gcm":
		m.DecryptErr = fmt.Errorf("%s with Content-Encoding %q, want POST with aes128gcm", r.Method, r.Header.Get("Content-Encoding"))
	case len(body) > 4096:
		m.DecryptErr = fmt.Errorf("body of %d bytes, more than a push service takes", len(body))
	default:
		m.Plaintext, m.DecryptErr = Decrypt(body, k.Private, k.Auth)
	}
	s.mu.Lock()
	s.got = append(s.got, m)
	n := len(s.got)
	s.mu.Unlock()
	if m.Status == http.StatusCreated {
		w.Header().Set("Location", s.URL+"/messages/"+fmt.Sprint(n))
	}
	w.WriteHeader(m.Status)
}

func aesCipher(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tocsin/tocsin/deliver"
)

// newEmailSender returns the email channel's sender configured by
// --smtp-url and --smtp-from, or nil when --smtp-url is empty (email
// subscriptions are then refused). Its PublicURL is left for the caller to
// set once the listening address is known. Errors never quote the SMTP URL,
// which may hold a password.
func newEmailSender(c serveConfig) (*deliver.EmailSender, error) {
	if c.SMTPURL == "" {
		return nil, nil
	}
	s, err := parseSMTPURL(c.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("%w: --smtp-url: %v", errUsage, err)
	}
	from, err := mail.ParseAddress(c.SMTPFrom)
	if err != nil {
		return nil, fmt.Errorf("%w: --smtp-from %q is not an email address", errUsage, c.SMTPFrom)
	}
	s.From = from.String()
	if s.Key, err = loadEmailKey(filepath.Join(c.Data, "email.key")); err != nil {
		return nil, err
	}
	return s, nil
}

// parseSMTPURL reads smtp://[user:pass@]host[:port] (port 25 by default;
// STARTTLS when offered) or smtps://… (TLS from the start, port 465).
func parseSMTPURL(raw string) (*deliver.EmailSender, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL; use smtp://[user:pass@]host:port") // url's error would repeat the password
	}
	s := &deliver.EmailSender{}
	port := "25"
	switch strings.ToLower(u.Scheme) {
	case "smtp":
	case "smtps":
		s.ImplicitTLS, port = true, "465"
	default:
		return nil, errors.New("the scheme must be smtp or smtps")
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host; use smtp://[user:pass@]host:port")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("must not have a path, query or fragment")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// checkPublicURL validates --public-url: an absolute http or https URL
// without query or fragment. It returns it without a trailing slash.
func checkPublicURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: --public-url must be an http or https URL such as https://alerts.example.org", errUsage)
	}
	return strings.TrimRight(raw, "/"), nil
}

// loadEmailKey reads the key that derives unsubscribe tokens, creating it
// on first start. Unsubscribe links in emails already sent stop working if
// it is lost or changed.
func loadEmailKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) < 32 {
			return nil, fmt.Errorf("email key %s: not 32 or more hex-encoded bytes", path)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("email key: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("email key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("email key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("email key: %w", err)
	}
	return key, nil
}

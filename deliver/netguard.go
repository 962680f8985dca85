package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/tocsin/tocsin"
)

// BlockedAddressError is the error of a connection refused because its
// address is not public (loopback, private, link-local and so on), so that a
// webhook URL cannot reach into the operator's own network.
type BlockedAddressError struct {
	Addr   netip.Addr
	Reason string // "loopback", "private", …
}

// Error implements the error interface.
func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s, %s address", e.Addr, article(e.Reason))
}

// article returns "a private" or "an IPv4-mapped loopback".
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiouAEIOU", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// blockedReason returns why ip may not be connected to, or "" when it is a
// public address. IPv4-mapped IPv6 (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96)
// forms are judged by the IPv4 address they carry.
func blockedReason(ip netip.Addr) string {
	ip = ip.WithZone("")
	prefix := ""
	switch {
	case ip.Is4In6():
		ip, prefix = ip.Unmap(), "IPv4-mapped "
	case nat64.Contains(ip):
		b := ip.As16()
		ip, prefix = netip.AddrFrom4([4]byte(b[12:16])), "NAT64-embedded "
	}
	var r string
	switch {
	case !ip.IsValid():
		r = "invalid"
	case ip.IsUnspecified() || ip.Is4() && thisNet.Contains(ip):
		r = "unspecified"
	case ip.IsLoopback():
		r = "loopback"
	case ip.IsPrivate(): // 10/8, 172.16/12, 192.168/16, fc00::/7
		r = "private"
	case ip.IsLinkLocalUnicast():
		r = "link-local"
	case ip.IsMulticast():
		r = "multicast"
	case cgnat.Contains(ip):
		r = "shared (CGNAT)"
	case ip == broadcast:
		r = "broadcast"
	default:
		return ""
	}
	return prefix + r
}

// NewHTTPClient returns the client for requests to addresses that outsiders
// choose (webhooks). Unless allowPrivate, its dialer refuses loopback,
// private, link-local, unspecified, multicast and CGNAT addresses, checked on
// the address actually dialled (after DNS), so a name that resolves
// differently at send time than at subscription time cannot get around it.
// It follows no redirects: a 3xx comes back as the response, and
// ClassifyHTTP fails it. timeout bounds each request, reading the response
// body included. Environment proxies are ignored, since a proxy would dial
// on the client's behalf and escape the check.
func NewHTTPClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = refusePrivate
	}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(timeout, 10*time.Second),
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// refusePrivate is a net.Dialer Control function: it runs with the resolved
// address, just before connect.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: not an IP address: %w", address, err)
	}
	if r := blockedReason(ip); r != "" {
		return &BlockedAddressError{Addr: ip, Reason: r}
	}
	return nil
}

// CheckURL checks a webhook URL when a subscription is created: http or
// https, a host, no user information, and, unless allowPrivate, every address
// the host resolves to (through net.DefaultResolver) is public. The error is
// an EINVALID *tocsin.Error whose message says exactly what is wrong, such as
// "webhook URL resolves to 10.0.0.5, a private address". Sends are checked
// again at dial time (NewHTTPClient), so this is for a clear answer to the
// subscriber, not the only line of defence.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	return checkURL(ctx, raw, allowPrivate, net.DefaultResolver.LookupNetIP)
}

// CheckPushEndpoint checks a Web Push endpoint when a subscription is
// created, as CheckURL checks a webhook URL, and also requires https
// (RFC 8030 §8), except that allowPrivate, meant for tests against a local
// push service, lets http through as well.
func CheckPushEndpoint(ctx context.Context, raw string, allowPrivate bool) error {
	if u, err := url.Parse(raw); err == nil && !allowPrivate && !strings.EqualFold(u.Scheme, "https") && u.Scheme != "" {
		return tocsin.Errorf(tocsin.EINVALID, "push endpoint must use https, not %s", u.Scheme)
	}
	return checkURLAs(ctx, "push endpoint", raw, allowPrivate, net.DefaultResolver.LookupNetIP)
}

// checkURL is CheckURL with the resolver passed in, for tests that must not
// need DNS.
func checkURL(ctx context.Context, raw string, allowPrivate bool, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) error {
	return checkURLAs(ctx, "webhook URL", raw, allowPrivate, lookup)
}

// checkURLAs is checkURL for a URL its messages call what.
func checkURLAs(ctx context.Context, what, raw string, allowPrivate bool, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) error {
	invalid := func(format string, args ...any) error {
		return tocsin.Errorf(tocsin.EINVALID, what+" "+format, args...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("is not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return invalid("needs a scheme: http:// or https://")
	default:
		return invalid("scheme %q is not allowed; use http or https", u.Scheme)
	}
	if u.Opaque != "" {
		return invalid("must be of the form https://host/path")
	}
	if u.User != nil {
		return invalid("must not carry a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return invalid("needs a host")
	}
	if p := u.Port(); p != "" {
		if n, err := parsePort(p); err != nil || n == 0 {
			return invalid("port %q is not valid", p)
		}
	}
	if allowPrivate {
		return nil
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = lookup(ctx, "ip", host)
		if err != nil {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				return invalid("host %s does not exist", host)
			}
			return invalid("host %s could not be resolved", host)
		}
		if len(addrs) == 0 {
			return invalid("host %s has no addresses", host)
		}
		for i, ip := range addrs {
			addrs[i] = ip.Unmap() // A records come back IPv4-mapped
		}
	}
	for _, ip := range addrs {
		if r := blockedReason(ip); r != "" {
			return invalid("resolves to %s, %s address", ip.WithZone(""), article(r))
		}
	}
	return nil
}

func parsePort(p string) (int, error) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, fmt.Errorf("out of range")
		}
	}
	return n, nil
}

package deliver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
)

func TestBlockedReason(t *testing.T) {
	for _, tt := range []struct {
		ip, want string
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.5", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"100.64.0.1", "shared (CGNAT)"},
		{"100.127.255.254", "shared (CGNAT)"},
		{"255.255.255.255", "broadcast"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:10.1.2.3", "IPv4-mapped private"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local"},
		{"64:ff9b::a00:1", "NAT64-embedded private"},
		// Public.
		{"93.184.216.34", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.32.0.1", ""},
		{"2606:2800:220:1:248:1893:25c8:1946", ""},
		{"::ffff:93.184.216.34", ""},
	} {
		if got := blockedReason(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("blockedReason(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	// No DNS here but the hosts file: names other than localhost go through
	// this resolver, which answers like a real one.
	lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		switch host {
		case "example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1:248:1893:25c8:1946")}, nil
		case "mixed.example":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.5")}, nil
		case "internal.example":
			return []netip.Addr{netip.MustParseAddr("10.0.0.5")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	for _, tt := range []struct {
		url          string
		allowPrivate bool
		want         string // the message, "" for accepted
	}{
		{"https://example.com/hook", false, ""},
		{"http://example.com:8080/hook?x=1", false, ""},
		{"https://93.184.216.34/hook", false, ""},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/hook", false, ""},
		{"http://127.0.0.1/hook", true, ""},
		{"http://10.0.0.5/hook", true, ""},

		{"http://127.0.0.1/hook", false, "webhook URL resolves to 127.0.0.1, a loopback address"},
		{"http://[::1]:8080/hook", false, "webhook URL resolves to ::1, a loopback address"},
		{"http://10.0.0.5/hook", false, "webhook URL resolves to 10.0.0.5, a private address"},
		{"http://169.254.169.254/latest/meta-data", false, "webhook URL resolves to 169.254.169.254, a link-local address"},
		{"http://[fc00::]/hook", false, "webhook URL resolves to fc00::, a private address"},
		{"http://[::ffff:127.0.0.1]/hook", false, "webhook URL resolves to ::ffff:127.0.0.1, an IPv4-mapped loopback address"},
		{"http://100.64.1.1/hook", false, "webhook URL resolves to 100.64.1.1, a shared (CGNAT) address"},
		{"http://0.0.0.0/hook", false, "webhook URL resolves to 0.0.0.0, an unspecified address"},
		{"https://internal.example/hook", false, "webhook URL resolves to 10.0.0.5, a private address"},
		{"https://mixed.example/hook", false, "webhook URL resolves to 10.0.0.5, a private address"},
		{"https://nowhere.example/hook", false, "webhook URL host nowhere.example does not exist"},
		{"ftp://example.com/hook", false, `webhook URL scheme "ftp" is not allowed; use http or https`},
		{"ftp://example.com/hook", true, `webhook URL scheme "ftp" is not allowed; use http or https`},
		{"javascript:alert(1)", false, `webhook URL scheme "javascript" is not allowed; use http or https`},
		{"example.com/hook", false, "webhook URL needs a scheme: http:// or https://"},
		{"https://user:pass@example.com/hook", false, "webhook URL must not carry a user name or password"},
		{"https://user@example.com/hook", true, "webhook URL must not carry a user name or password"},
		{"https:///hook", false, "webhook URL needs a host"},
		{"https://example.com:99999/hook", false, `webhook URL port "99999" is not valid`},
		{"http://exa mple.com/", false, "webhook URL is not a URL"},
	} {
		err := checkURL(t.Context(), tt.url, tt.allowPrivate, lookup)
		if tt.want == "" {
			if err != nil {
				t.Errorf("checkURL(%q) = %v, want nil", tt.url, err)
			}
			continue
		}
		if tocsin.ErrorCode(err) != tocsin.EINVALID || tocsin.ErrorMessage(err) != tt.want {
			t.Errorf("checkURL(%q, %v) = %v, want EINVALID %q", tt.url, tt.allowPrivate, err, tt.want)
		}
	}
}

// TestCheckURLResolves goes through the real resolver; "localhost" is the
// one name this machine resolves without a network.
func TestCheckURLResolves(t *testing.T) {
	err := CheckURL(t.Context(), "http://localhost:8080/hook", false)
	if msg := tocsin.ErrorMessage(err); !strings.HasPrefix(msg, "webhook URL resolves to ") || !strings.HasSuffix(msg, "a loopback address") {
		t.Errorf("CheckURL(localhost) = %v, want a loopback refusal", err)
	}
	if err := CheckURL(t.Context(), "http://localhost:8080/hook", true); err != nil {
		t.Errorf("CheckURL(localhost, allowPrivate) = %v", err)
	}
	// Literal addresses are not resolved, so this needs no network.
	if err := CheckURL(t.Context(), "https://93.184.216.34/hook", false); err != nil {
		t.Errorf("CheckURL(public literal) = %v", err)
	}
}

// TestDialerRefusesLoopback sends to a real loopback server with a client
// that does not allow private addresses: the server must see nothing.
func TestDialerRefusesLoopback(t *testing.T) {
	rc := newReceiver(t, nil)
	port := rc.Listener.Addr().(*net.TCPAddr).Port
	c := NewHTTPClient(false, 2*time.Second)
	for _, u := range []string{
		rc.URL,
		"http://localhost:" + strconv.Itoa(port),
		"http://[::ffff:127.0.0.1]:" + strconv.Itoa(port),
	} {
		resp, err := c.Post(u, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("POST %s: got %s, want refusal", u, resp.Status)
		}
		var blocked *BlockedAddressError
		if !errors.As(err, &blocked) {
			t.Errorf("POST %s: %v, want *BlockedAddressError", u, err)
		} else if !strings.Contains(blocked.Reason, "loopback") {
			t.Errorf("POST %s: reason %q, want loopback", u, blocked.Reason)
		}
		if retry, err := ClassifyHTTP(0, nil, nil, err, time.Now()); retry {
			t.Errorf("blocked address classified as retryable: %v", err)
		}
	}
	if n := rc.count(); n != 0 {
		t.Errorf("loopback server got %d requests", n)
	}
	// The same client with private addresses allowed gets through.
	resp, err := NewHTTPClient(true, 2*time.Second).Post(rc.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := rc.count(); n != 1 {
		t.Errorf("with allowPrivate the server got %d requests, want 1", n)
	}
}

// TestNoRedirects checks that a redirect comes back as the response, is not
// followed, and dead-letters the delivery.
func TestNoRedirects(t *testing.T) {
	target := newReceiver(t, nil)
	redirector := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	sub := &tocsin.Subscription{Secret: newSecret(), Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: redirector.URL}}
	s := &WebhookSender{Client: NewHTTPClient(true, 2*time.Second)}
	retry, err := s.Send(t.Context(), sub, &Outgoing{ID: "msg_1_1", Body: []byte("{}"), Timestamp: time.Now()})
	if retry || err == nil || !strings.Contains(err.Error(), "307 redirect to "+target.URL+"/elsewhere; redirects are not followed") {
		t.Errorf("Send = %v, %v; want no retry and a redirect error", retry, err)
	}
	if n := target.count(); n != 0 {
		t.Errorf("redirect target got %d requests", n)
	}
}

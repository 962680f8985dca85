package http

import (
	"context"
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// SessionCookie is the name of the cookie carrying a console session's token.
const SessionCookie = "tocsin_session"

// DefaultLoginLimit is the login attempt rate used when Server.LoginLimit is
// zero: five attempts at once, then one a minute, counted separately per
// client and per account name.
var DefaultLoginLimit = Limit{Rate: 1.0 / 60, Burst: 5}

type sessionKey struct{}

// sessionFromContext returns the session that authenticated the request, or
// nil when it was anonymous or used a bearer token.
func sessionFromContext(ctx context.Context) *tocsin.Session {
	s, _ := ctx.Value(sessionKey{}).(*tocsin.Session)
	return s
}

// crossOrigin refuses non-safe browser requests from other origins, by
// Sec-Fetch-Site or else by comparing Origin with Host.
var crossOrigin = http.NewCrossOriginProtection()

// withSession resolves the session cookie of a request that carried no bearer
// token. A stale or unknown cookie leaves the request anonymous (and is
// cleared); a live one makes its account the principal, and then every
// non-safe request must come from this origin and carry the session's CSRF
// token. It reports false when it has answered the request itself.
func (s *Server) withSession(w http.ResponseWriter, r *http.Request, ctx context.Context) (context.Context, bool) {
	c, err := r.Cookie(SessionCookie)
	// Signing in does not act as the old session (which it ends), so it
	// needs no CSRF token; handleLogin checks the origin itself.
	if err != nil || s.Users == nil || r.URL.Path == "/login" {
		return ctx, true
	}
	sess, err := s.Users.FindSession(ctx, c.Value)
	if tocsin.ErrorCode(err) == tocsin.EUNAUTHORIZED {
		s.clearSessionCookie(w, r)
		return ctx, true
	} else if err != nil {
		s.Error(w, r, err)
		return ctx, false
	}
	if !isSafeMethod(r.Method) {
		if err := crossOrigin.Check(r); err != nil {
			s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "cross-origin requests are refused"))
			return ctx, false
		}
		if !validCSRF(r, sess.CSRFToken) {
			s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "a valid CSRF token is required (X-CSRF-Token header or csrf_token form field)"))
			return ctx, false
		}
	}
	ctx = context.WithValue(ctx, sessionKey{}, sess)
	return tocsin.NewContextWithPrincipal(ctx, sess.Principal), true
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// validCSRF reports whether the request carries want, in the X-CSRF-Token
// header or, for URL-encoded forms, the csrf_token field. Multipart forms
// must use the header: parsing them here would buffer uploads before any
// handler could limit them.
func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && isForm(r) {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
		if err := r.ParseForm(); err == nil {
			got = r.PostForm.Get("csrf_token")
		}
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// secureCookie decides the Secure attribute of the session cookie. It is
// always set, except when the request came over plain HTTP from a loopback
// address to a loopback host name (a developer's http://127.0.0.1:8080 or
// http://localhost:8080), where a Secure cookie would never be sent back.
// Behind a TLS-terminating proxy on the same machine the Host is the public
// name, so the cookie stays Secure; an https PublicURL forces it too.
func (s *Server) secureCookie(r *http.Request) bool {
	if r.TLS != nil || strings.HasPrefix(s.PublicURL, "https://") {
		return true
	}
	return !(isLoopbackHost(r.RemoteAddr) && isLoopbackHost(r.Host))
}

// isLoopbackHost reports whether hostport (a host with or without a port)
// names the loopback interface.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, sess *tocsin.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		Expires: sess.ExpiresAt, MaxAge: int(sess.ExpiresAt.Sub(s.Now()) / time.Second),
		HttpOnly: true, Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode,
	})
}

// loginAnswer is the JSON answer to a login and to GET /api/v1/session.
type loginAnswer struct {
	Name      string      `json:"name"`
	Role      tocsin.Role `json:"role"`
	CSRFToken string      `json:"csrf_token"`
	ExpiresAt time.Time   `json:"expires_at"`
}

// allowLogin counts one login attempt against the client and against the
// account name. When either is spent it sets Retry-After and returns the
// seconds to wait; it returns 0 when the attempt may go ahead. Only opaque
// client keys and names are kept, in memory.
func (s *Server) allowLogin(w http.ResponseWriter, r *http.Request, name string) int {
	lim := s.LoginLimit
	if lim.Burst <= 0 {
		lim = DefaultLoginLimit
	}
	if len(name) > 256 {
		name = name[:256]
	}
	for _, k := range []struct{ key, class string }{
		{tocsin.ClientFromContext(r.Context()), "login-client"},
		{strings.ToLower(strings.TrimSpace(name)), "login-name"},
	} {
		if ok, wait := s.limiter.Allow(k.key, k.class, lim, false); !ok {
			secs := int(wait/time.Second) + 1
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			return secs
		}
	}
	return 0
}

// handleLogin signs an account in from a form or a JSON body with name and
// password. A form is answered 303 to /console, JSON with the session's
// name, role and CSRF token; both set the session cookie. A form that fails
// (wrong name or password, too many attempts) gets the sign-in page again
// with the error in the reader's language; JSON gets a problem.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	form := isForm(r)
	if s.Users == nil {
		if form {
			s.renderLogin(w, r, http.StatusNotFound, "", "web.login.error_disabled")
			return
		}
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "accounts are not enabled on this server"))
		return
	}
	// A login from another site would sign the victim in as the attacker.
	if err := crossOrigin.Check(r); err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "cross-origin requests are refused"))
		return
	}
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if form {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			s.renderLogin(w, r, http.StatusBadRequest, "", "web.login.error_form")
			return
		}
		in.Name, in.Password = r.PostForm.Get("name"), r.PostForm.Get("password")
	} else if err := decodeJSON(r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	if secs := s.allowLogin(w, r, in.Name); secs > 0 {
		if form {
			s.renderLogin(w, r, http.StatusTooManyRequests, in.Name, "web.login.error_rate", "seconds", fmt.Sprint(secs))
			return
		}
		s.Error(w, r, tocsin.Errorf(tocsin.ERATELIMITED, "too many sign-in attempts; try again in %d seconds", secs))
		return
	}
	p, err := s.Users.Authenticate(r.Context(), in.Name, in.Password)
	if form && tocsin.ErrorCode(err) == tocsin.EUNAUTHORIZED {
		s.renderLogin(w, r, http.StatusUnauthorized, in.Name, "web.login.error_wrong")
		return
	} else if err != nil {
		s.Error(w, r, err)
		return
	}
	// A new token on every sign-in, and the old session ended, so that a
	// token planted before login is worth nothing after it.
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Users.DeleteSession(r.Context(), c.Value); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	token, sess, err := s.Users.CreateSession(r.Context(), p.ID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.setSessionCookie(w, r, token, sess)
	if form {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, loginAnswer{Name: p.Name, Role: p.Role, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt})
}

// handleLogout ends the request's session. The authenticate middleware has
// already checked its CSRF token; without a live session it only clears the
// cookie. A form is answered 303 to /, anything else 204.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if sessionFromContext(r.Context()) != nil {
		c, _ := r.Cookie(SessionCookie)
		if err := s.Users.DeleteSession(r.Context(), c.Value); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	if isForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleGetSession answers the signed-in account's name, role and CSRF
// token, for the console's scripts. Cross-origin scripts cannot read it: the
// API's CORS answer does not allow credentials.
func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request) {
	sess := sessionFromContext(r.Context())
	if sess == nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EUNAUTHORIZED, "not signed in"))
		return
	}
	writeJSON(w, http.StatusOK, loginAnswer{Name: sess.Principal.Name, Role: sess.Principal.Role, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt})
}

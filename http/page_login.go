package http

import "net/http"

// loginPage is the data of templates/login.html.
type loginPage struct {
	// Name is the account name typed before a failed attempt, kept so that
	// only the password has to be typed again.
	Name string
	// Error says, in the reader's language, why the last attempt failed.
	Error string
	// Disabled is set when this server has no accounts (Server.Users is nil).
	Disabled bool
}

// handleLoginPage renders GET /login: the console's sign-in form, which
// posts to POST /login (handleLogin) and works without JavaScript.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "", "")
}

// renderLogin answers status with the sign-in page, showing the catalog
// text errKey (filled from pairs of placeholder names and values) as the
// form's error when it is not empty.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, name, errKey string, pairs ...string) {
	p := s.newPage(w, r, "login", "web.login.title")
	p.Script = false
	d := &loginPage{Name: name, Disabled: s.Users == nil}
	if errKey != "" {
		d.Error = p.Tf(errKey, pairs...)
	}
	p.Data = d
	s.renderPage(w, r, status, p)
}

package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// runUserAdd runs "tocsin user add" with stdin as its standard input.
func runUserAdd(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"user", "add"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("tocsin user add: %v", err)
	}
	return out.String(), errb.String(), code
}

func TestCLI_UserAdd(t *testing.T) {
	data := t.TempDir()
	const password = "a long and secret passphrase"
	out, errs, code := runUserAdd(t, password+"\n", "--data", data, "--name", "ana", "--role", "publisher")
	if code != 0 || !strings.Contains(out, `publisher account "ana"`) {
		t.Fatalf("user add: exit %d, %q %q; want exit 0 and the account named", code, out, errs)
	}
	if strings.Contains(out+errs, "secret") {
		t.Errorf("user add echoed the password: %q %q", out, errs)
	}

	// The same name again is refused; so are bad input and a bad role.
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{password + "\n", []string{"--name", "ana", "--role", "verifier"}, 1, "already exists"},
		{"", []string{"--name", "bo", "--role", "verifier"}, 2, "no password"},
		{"\n", []string{"--name", "bo", "--role", "verifier"}, 2, "no password"},
		{"short\n", []string{"--name", "bo", "--role", "verifier"}, 1, "12 to 256"},
		{password + "\n", []string{"--name", "bo", "--role", "partner"}, 1, "role"},
		{password + "\n", []string{"--name", "bo"}, 2, "--role"},
		{strings.Repeat("x", 2000) + "\n", []string{"--name", "bo", "--role", "verifier"}, 2, "longer than"},
	} {
		out, errs, code := runUserAdd(t, c.stdin, append([]string{"--data", data}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("user add %v with %d bytes in: exit %d, %q %q; want exit %d and %q", c.args, len(c.stdin), code, out, errs, c.code, c.want)
		}
	}
	if out, _, code := runCLI(t, "user", "--help"); code != 0 || !strings.Contains(out, "standard input") {
		t.Errorf("user --help: exit %d %q", code, out)
	}

	// The account signs in with the password, a CRLF line ending included
	// only as the line end, and the database keeps only the argon2id hash.
	if _, errs, code := runUserAdd(t, "windows line ending\r\n", "--data", data, "--name", "win", "--role", "verifier"); code != 0 {
		t.Fatalf("user add with CRLF: exit %d %q", code, errs)
	}
	db := sqlite.NewDB(filepath.Join(data, "tocsin.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users := sqlite.NewUserService(db)
	ctx := context.Background()
	p, err := users.Authenticate(ctx, "ana", password)
	if err != nil || p.Role != tocsin.RolePublisher {
		t.Errorf("authenticate ana: %+v, %v; want a publisher", p, err)
	}
	if _, err := users.Authenticate(ctx, "win", "windows line ending"); err != nil {
		t.Errorf("authenticate win without the CR: %v", err)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(db.Path)+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`SELECT name || password_hash FROM users`, `SELECT name || role FROM principals`, `SELECT action || detail FROM audit`} {
		rows, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s, "secret") || strings.Contains(s, "windows line") {
				t.Errorf("the password is in the database: %q", s)
			}
			if strings.HasPrefix(q, "SELECT name || password_hash") && !strings.Contains(s, "$argon2id$v=19$") {
				t.Errorf("stored hash %q; want an argon2id PHC string", s)
			}
		}
		rows.Close()
	}
	if n, err := sqlite.NewAuditService(db).VerifyAudit(ctx); err != nil || n < 2 {
		t.Errorf("audit: %d events, %v; want the user.create events intact", n, err)
	}
}

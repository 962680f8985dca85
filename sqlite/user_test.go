package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

const testPassword = "correct horse battery staple"

func TestUserService_CreateAndAuthenticate(t *testing.T) {
	db := MustOpenDB(t)
	users := sqlite.NewUserService(db)
	ctx := context.Background()
	p, err := users.CreateUser(ctx, "  Ana ", tocsin.RolePublisher, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.Name != "Ana" || p.Role != tocsin.RolePublisher {
		t.Fatalf("created %+v; want a publisher principal named Ana", p)
	}
	got, err := users.Authenticate(ctx, "Ana", testPassword)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if got.ID != p.ID || got.Role != tocsin.RolePublisher {
		t.Errorf("authenticated %+v; want principal %d, publisher", got, p.ID)
	}
	for _, c := range []struct{ name, password string }{
		{"Ana", testPassword + "x"},
		{"Ana", ""},
		{"ana", testPassword}, // names are exact
		{"nobody", testPassword},
		{"Ana", strings.Repeat("x", 10_000)},
	} {
		if _, err := users.Authenticate(ctx, c.name, c.password); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
			t.Errorf("authenticate(%q, %d chars) = %v; want EUNAUTHORIZED", c.name, len(c.password), err)
		}
	}
	// Wrong password and unknown name give the same message.
	_, e1 := users.Authenticate(ctx, "Ana", "wrong password!")
	_, e2 := users.Authenticate(ctx, "nobody", "wrong password!")
	if tocsin.ErrorMessage(e1) != tocsin.ErrorMessage(e2) {
		t.Errorf("messages differ: %q vs %q", tocsin.ErrorMessage(e1), tocsin.ErrorMessage(e2))
	}
}

func TestUserService_CreateUserRefuses(t *testing.T) {
	db := MustOpenDB(t)
	users := sqlite.NewUserService(db)
	ctx := context.Background()
	if _, err := users.CreateUser(ctx, "Ana", tocsin.RoleVerifier, testPassword); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		role     tocsin.Role
		password string
		code     string
	}{
		{"Ana", tocsin.RoleVerifier, testPassword, tocsin.ECONFLICT},
		{"", tocsin.RoleVerifier, testPassword, tocsin.EINVALID},
		{"Bo\nb", tocsin.RoleVerifier, testPassword, tocsin.EINVALID},
		{"Bob", tocsin.RolePartner, testPassword, tocsin.EINVALID},
		{"Bob", "root", testPassword, tocsin.EINVALID},
		{"Bob", tocsin.RoleVerifier, "short", tocsin.EINVALID},
		{"Bob", tocsin.RoleVerifier, "elevenchars", tocsin.EINVALID},
		{"Bob", tocsin.RoleVerifier, strings.Repeat("p", 257), tocsin.EINVALID},
	} {
		if _, err := users.CreateUser(ctx, c.name, c.role, c.password); tocsin.ErrorCode(err) != c.code {
			t.Errorf("CreateUser(%q, %q, %d chars) = %v; want %s", c.name, c.role, len(c.password), err, c.code)
		}
	}
	// Exactly 12 and 256 characters (not bytes) are accepted.
	if _, err := users.CreateUser(ctx, "Twelve", tocsin.RoleVerifier, "twelve chars"); err != nil {
		t.Errorf("12 characters: %v", err)
	}
	if _, err := users.CreateUser(ctx, "Long", tocsin.RoleVerifier, strings.Repeat("é", 256)); err != nil {
		t.Errorf("256 two-byte characters: %v", err)
	}
}

// TestUserService_StoresOnlyTheHash checks that the password appears nowhere
// in the database, that the hash is an argon2id PHC string with the
// documented parameters, and that the creation is audited.
func TestUserService_StoresOnlyTheHash(t *testing.T) {
	db := MustOpenDB(t)
	users := sqlite.NewUserService(db)
	ctx := tocsin.NewContextWithSystem(context.Background())
	p, err := users.CreateUser(ctx, "Ana", tocsin.RoleAdmin, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.CreateSession(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	raw := MustOpenRaw(t, db.Path)
	var hash string
	if err := raw.QueryRow(`SELECT password_hash FROM users WHERE name = 'Ana'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("password_hash = %q; want an argon2id PHC string with m=65536,t=2,p=2", hash)
	}
	for _, table := range []string{"users", "principals", "sessions", "audit"} {
		rows, err := raw.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case string:
					s = v
				case []byte:
					s = string(v)
				}
				if strings.Contains(s, testPassword) || strings.Contains(s, "horse") {
					t.Errorf("%s.%s holds the password: %q", table, cols[i], s)
				}
			}
		}
		rows.Close()
	}
	var action, subject string
	if err := raw.QueryRow(`SELECT action, subject FROM audit ORDER BY seq DESC LIMIT 1 OFFSET 0`).Scan(&action, &subject); err != nil {
		t.Fatal(err)
	}
	if action != "user.create" {
		t.Errorf("last audit action %q; want user.create", action)
	}
}

// TestUserService_UnknownNameDoesTheSameWork times unknown names against
// wrong passwords: with no early exit, both run one argon2id computation.
func TestUserService_UnknownNameDoesTheSameWork(t *testing.T) {
	db := MustOpenDB(t)
	users := sqlite.NewUserService(db)
	ctx := context.Background()
	if _, err := users.CreateUser(ctx, "Ana", tocsin.RoleVerifier, testPassword); err != nil {
		t.Fatal(err)
	}
	users.Authenticate(ctx, "warm-up", "x") // the dummy hash is made on first use
	measure := func(name string) time.Duration {
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			if _, err := users.Authenticate(ctx, name, "not the password"); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
				t.Fatalf("authenticate %q: %v", name, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("Ana"), measure("nobody")
	// An early exit for unknown names would answer in microseconds against
	// tens of milliseconds; allow generous noise either way.
	if unknown < known/3 || known < unknown/3 {
		t.Errorf("wrong password took %v, unknown name %v; want about the same", known, unknown)
	}
	if unknown < 5*time.Millisecond {
		t.Errorf("unknown name answered in %v: no argon2id work was done", unknown)
	}
}

func TestUserService_SessionLifetime(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	users := sqlite.NewUserService(db)
	ctx := context.Background()
	p, err := users.CreateUser(ctx, "Ana", tocsin.RoleVerifier, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := users.CreateSession(ctx, p.ID+1000); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Errorf("session for a principal without an account: %v; want ENOTFOUND", err)
	}

	t.Run("idle", func(t *testing.T) {
		token, sess, err := users.CreateSession(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sess.CSRFToken == "" || !sess.ExpiresAt.Equal(clk.Now().Add(tocsin.SessionMaxAge)) {
			t.Fatalf("session %+v; want a CSRF token and a 7-day end", sess)
		}
		// Used every 11 hours, it lives past 12 hours.
		for range 3 {
			clk.Advance(11 * time.Hour)
			got, err := users.FindSession(ctx, token)
			if err != nil {
				t.Fatalf("after %v: %v", clk.Now().Sub(t0), err)
			}
			if got.Principal.ID != p.ID || got.CSRFToken != sess.CSRFToken {
				t.Fatalf("found %+v; want principal %d and the same CSRF token", got, p.ID)
			}
		}
		clk.Advance(tocsin.SessionIdleTimeout)
		if _, err := users.FindSession(ctx, token); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
			t.Errorf("after 12 idle hours: %v; want EUNAUTHORIZED", err)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		start := clk.Now()
		token, _, err := users.CreateSession(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for clk.Now().Sub(start) < tocsin.SessionMaxAge-6*time.Hour {
			clk.Advance(6 * time.Hour)
			if _, err := users.FindSession(ctx, token); err != nil {
				t.Fatalf("after %v: %v", clk.Now().Sub(start), err)
			}
		}
		clk.Advance(start.Add(tocsin.SessionMaxAge).Sub(clk.Now()))
		if _, err := users.FindSession(ctx, token); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
			t.Errorf("after 7 days in use: %v; want EUNAUTHORIZED", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		token, _, err := users.CreateSession(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := users.DeleteSession(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := users.FindSession(ctx, token); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
			t.Errorf("after delete: %v; want EUNAUTHORIZED", err)
		}
		if err := users.DeleteSession(ctx, token); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
		if _, err := users.FindSession(ctx, ""); tocsin.ErrorCode(err) != tocsin.EUNAUTHORIZED {
			t.Errorf("empty token: %v; want EUNAUTHORIZED", err)
		}
	})
}

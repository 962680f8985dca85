// Package sqlite stores tocsin's domain in an embedded SQLite database: one
// file in the data folder, WAL journal, synchronous=FULL, a single writer
// connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"time"

	"github.com/tocsin/tocsin"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is an open tocsin database.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer at a time
	read  *sql.DB

	Path string
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Sender is the CAP sender of alerts made here (no spaces or commas).
	Sender string
	// LocationDecimals is how many decimal places of latitude and longitude
	// of a reporter's position are kept (3 ≈ 110 m).
	LocationDecimals int
	// CancelledLabel returns the word for "cancelled" in a language, for
	// the headlines of Cancel messages; nil (or "") means English.
	CancelledLabel func(language string) string
}

// NewDB returns a DB for the database file at path; call Open before use.
func NewDB(path string) *DB {
	return &DB{Path: path, Now: time.Now, Sender: "tocsin", LocationDecimals: 3}
}

// Open opens the database, creating it if needed, and applies migrations.
func (db *DB) Open() error {
	if db.Path == "" {
		return fmt.Errorf("open database: no path")
	}
	// synchronous=FULL: a commit is on disk (WAL fsynced) before the caller
	// hears 2xx, so power loss cannot drop an acknowledged report or alert.
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := "file:" + filepath.ToSlash(db.Path) + "?" + pragmas.Encode()
	var err error
	if db.write, err = sql.Open("sqlite", dsn+"&_txlock=immediate"); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	if db.read, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)"); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	db.read.SetMaxOpenConns(8)
	if err := db.migrate(); err != nil {
		db.Close()
		return err
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

func (db *DB) migrate() error {
	if _, err := db.write.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(name string) error {
	tx, err := db.write.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(string(buf)); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO schema_migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// Tx is a write transaction carrying the time it started, so every row it
// writes agrees on "now".
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// update runs fn in a write transaction and commits it.
func (db *DB) update(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: sqlTx, db: db, now: db.Now().UTC()}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	return sqlTx.Commit()
}

// nanos and fromNanos convert times to and from their stored form.
func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nanos(*t)
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func int64Ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// limit returns a sane page size.
func limit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}

// notFound is the ENOTFOUND error for a kind of thing and its id.
func notFound(kind, id string) error {
	return tocsin.Errorf(tocsin.ENOTFOUND, "%s %s not found", kind, id)
}

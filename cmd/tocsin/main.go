// Command tocsin runs a multilingual community alert network: one binary,
// SQLite in a data folder by default.
//
//	tocsin serve [--addr 127.0.0.1:8080] [--data DIR] [--demo] [--allow-private-webhooks]
//	tocsin token create --data DIR --role reporter|verifier|publisher|admin --name NAME
//	tocsin audit verify --data DIR
//	tocsin user add --data DIR --name NAME --role ROLE < PASSWORD
//	tocsin partner add --data DIR --name NAME --sender SENDER [--cert FILE] [--publish direct|review]
//	tocsin cap validate FILE
//	tocsin cap verify-signature FILE [--cert FILE] [--data DIR]
//	tocsin version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

const usage = `tocsin — a multilingual community alert network

Usage:
  tocsin serve [flags]          run the network (API, live streams, delivery)
  tocsin token create [flags]   create a bearer token (shown once)
  tocsin audit verify [flags]   check the audit chain
  tocsin glossary add|list|remove   manage protected terms
  tocsin bench fanout [flags]   measure one alert's fan-out to webhooks and live streams
  tocsin partner add [flags]    register a partner that posts CAP alerts (token shown once)
  tocsin user add [flags] < PASSWORD  create a console account (password on standard input)
  tocsin cap validate FILE      check a CAP 1.2 document
  tocsin cap verify-signature FILE [--cert FILE]  check a CAP document's signature
  tocsin version                print the version

Run "tocsin COMMAND --help" for a command's flags. Every flag can also be set
with an environment variable: --data is TOCSIN_DATA, --allow-private-webhooks is
TOCSIN_ALLOW_PRIVATE_WEBHOOKS, and so on.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tocsin:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage marks a command line that cannot be understood.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// run executes one command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "token":
		if len(rest) > 0 && isHelp(rest[0]) {
			fmt.Fprint(stdout, "Usage: tocsin token create --data DIR --role ROLE --name NAME\n")
			return nil
		}
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprint(stderr, "Usage: tocsin token create --data DIR --role ROLE --name NAME\n")
			return fmt.Errorf("%w: token needs the sub-command create", errUsage)
		}
		return runTokenCreate(ctx, rest[1:], stdout, stderr)
	case "audit":
		if len(rest) > 0 && isHelp(rest[0]) {
			fmt.Fprint(stdout, "Usage: tocsin audit verify --data DIR\n")
			return nil
		}
		if len(rest) == 0 || rest[0] != "verify" {
			fmt.Fprint(stderr, "Usage: tocsin audit verify --data DIR\n")
			return fmt.Errorf("%w: audit needs the sub-command verify", errUsage)
		}
		return runAuditVerify(ctx, rest[1:], stdout, stderr)
	case "glossary":
		return runGlossary(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "partner":
		return runPartner(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, os.Stdin, stdout, stderr)
	case "cap":
		return runCAP(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tocsin", tocsin.Version)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// newFlagSet returns a flag set whose usage goes to stderr and that reports
// errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags (each also as the TOCSIN_ variable named in brackets):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args after applying TOCSIN_* environment variables as
// defaults: --allow-private-webhooks reads TOCSIN_ALLOW_PRIVATE_WEBHOOKS.
// Command-line flags win over the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var bad []string
	fs.VisitAll(func(f *flag.Flag) {
		env := "TOCSIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		f.Usage += " [" + env + "]"
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				bad = append(bad, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", errUsage, strings.Join(bad, "; "))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// openDB opens (creating if needed) the database in the data folder.
func openDB(dir string) (*sqlite.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	db := sqlite.NewDB(filepath.Join(dir, "tocsin.db"))
	if err := db.Open(); err != nil {
		return nil, err
	}
	return db, nil
}

func runTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token create", "tocsin token create --data DIR --role reporter|verifier|publisher|admin --name NAME", stderr)
	data := fs.String("data", "./tocsin-data", "data folder")
	role := fs.String("role", "", "reporter, verifier, publisher or admin")
	name := fs.String("name", "", "who or what holds the token")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *role == "" || *name == "" {
		fs.Usage()
		return fmt.Errorf("%w: --role and --name are required", errUsage)
	}
	db, err := openDB(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	token, p, err := sqlite.NewTokenService(db).CreateToken(ctx, *name, tocsin.Role(*role))
	if err != nil {
		return fmt.Errorf("%s", tocsin.ErrorMessage(err))
	}
	fmt.Fprintln(stdout, token)
	fmt.Fprintf(stderr, "created %s token for %q (principal %d); it is shown only now\n", p.Role, p.Name, p.ID)
	return nil
}

func runAuditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", "tocsin audit verify --data DIR", stderr)
	data := fs.String("data", "./tocsin-data", "data folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*data, "tocsin.db")); err != nil {
		return fmt.Errorf("no tocsin database in %s", *data)
	}
	db, err := openDB(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := sqlite.NewAuditService(db).VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("%s (%s events before it are intact)", tocsin.ErrorMessage(err), strconv.Itoa(n))
	}
	fmt.Fprintf(stdout, "audit chain intact: %d events\n", n)
	return nil
}

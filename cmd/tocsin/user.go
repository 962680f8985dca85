package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

const userUsage = `Usage: tocsin user add --data DIR --name NAME --role verifier|publisher|admin|reporter < PASSWORD

Creates an account that signs in to the console at /login. The password is
read from standard input: one line, 12 to 256 characters, never echoed nor
stored (only its argon2id hash is). Standard input must not be a terminal,
so the password never shows on screen; for example, in a shell:

  read -rs PASSWORD && echo "$PASSWORD" | tocsin user add --data DIR --name NAME --role publisher
`

// runUser runs "tocsin user …".
func runUser(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("%w: user needs the sub-command add", errUsage)
	}
	fs := newFlagSet("user add", "tocsin user add --data DIR --name NAME --role ROLE < PASSWORD", stderr)
	data := fs.String("data", "./tocsin-data", "data folder")
	name := fs.String("name", "", "the account's name, used to sign in")
	role := fs.String("role", "", "reporter, verifier, publisher or admin")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || *role == "" {
		fs.Usage()
		return fmt.Errorf("%w: --name and --role are required", errUsage)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	db, err := openDB(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := sqlite.NewUserService(db).CreateUser(tocsin.NewContextWithSystem(ctx), *name, tocsin.Role(*role), password)
	if err != nil {
		if fields := tocsin.ErrorFields(err); len(fields) > 0 {
			var b strings.Builder
			for i, f := range fields {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "%s %s", f.Field, f.Detail)
			}
			return fmt.Errorf("%s", b.String())
		}
		return fmt.Errorf("%s", tocsin.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created %s account %q (principal %d)\n", p.Role, p.Name, p.ID)
	return nil
}

// readPassword reads one line from stdin, which must not be a terminal: a
// terminal would echo what is typed, and tocsin keeps no terminal code to
// turn echo off. The line ending is removed; nothing else is.
func readPassword(stdin *os.File) (string, error) {
	if fi, err := stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return "", fmt.Errorf("%w: standard input is a terminal, which would echo the password; pipe it in instead (see tocsin user --help)", errUsage)
	}
	// One byte more than the longest password in bytes tells an overlong
	// line from one that fits.
	r := bufio.NewReader(io.LimitReader(stdin, 4*tocsin.MaxPasswordLength+3))
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) > 4*tocsin.MaxPasswordLength {
		return "", fmt.Errorf("%w: the password is longer than %d characters", errUsage, tocsin.MaxPasswordLength)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("%w: no password on standard input", errUsage)
	}
	return line, nil
}

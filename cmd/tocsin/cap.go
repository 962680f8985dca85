package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/relay"
	"github.com/tocsin/tocsin/sqlite"
)

const partnerUsage = `Usage: tocsin partner add --data DIR --name NAME --sender SENDER [--cert FILE] [--publish direct|review]

Registers a partner allowed to post CAP alerts (POST /api/v1/cap) under
SENDER, and prints its bearer token once. With --cert, the partner signs its
alerts with that certificate's key, and unsigned or wrongly signed alerts
are refused. --publish direct (the default) publishes its alerts at once;
review queues them for a publisher's approval.
`

const capUsage = `Usage:
  tocsin cap validate FILE                                  check a CAP 1.2 document
  tocsin cap verify-signature FILE [--cert FILE] [--data DIR]  check its XML signature

validate prints OK, or what is wrong and on which line. verify-signature
checks the document's enveloped XML Signature against --cert, by default
this network's own certificate in the data folder (` + cap.CertificateFileName + `).
`

// runPartner runs "tocsin partner …".
func runPartner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, partnerUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, partnerUsage)
		return fmt.Errorf("%w: partner needs the sub-command add", errUsage)
	}
	fs := newFlagSet("partner add", "tocsin partner add --data DIR --name NAME --sender SENDER [--cert FILE] [--publish direct|review]", stderr)
	data := fs.String("data", "./tocsin-data", "data folder")
	name := fs.String("name", "", "the partner's name, such as \"County OEM\"")
	sender := fs.String("sender", "", "the CAP <sender> the partner's alerts carry")
	certFile := fs.String("cert", "", "PEM file of the certificate the partner signs with (optional)")
	publish := fs.String("publish", "direct", "direct: publish its alerts at once; review: queue them for approval")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || *sender == "" {
		fs.Usage()
		return fmt.Errorf("%w: --name and --sender are required", errUsage)
	}
	p := &tocsin.Partner{Name: *name, Sender: *sender, Publish: tocsin.PublishPolicy(*publish)}
	if *certFile != "" {
		b, err := readLimited(*certFile, 64<<10)
		if err != nil {
			return fmt.Errorf("--cert: %w", err)
		}
		p.CertificatePEM = string(b)
	}
	db, err := openDB(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := sqlite.NewPartnerService(db).CreatePartner(ctx, p)
	if err != nil {
		return fmt.Errorf("%s", describe(err))
	}
	fmt.Fprintln(stdout, token)
	signs := "unsigned alerts accepted"
	if p.CertificatePEM != "" {
		signs = "signatures required"
	}
	fmt.Fprintf(stderr, "registered partner %q: sender %s, publish %s, %s; its token is shown only now\n", p.Name, p.Sender, p.Publish, signs)
	return nil
}

// describe is an error's message with the fields it names.
func describe(err error) string {
	msg := tocsin.ErrorMessage(err)
	if fields := tocsin.ErrorFields(err); len(fields) > 1 {
		var b strings.Builder
		b.WriteString(msg)
		for _, f := range fields {
			fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Detail)
		}
		return b.String()
	}
	return msg
}

// runCAP runs "tocsin cap …".
func runCAP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, capUsage)
		return nil
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, capUsage)
		return fmt.Errorf("%w: cap needs the sub-command validate or verify-signature", errUsage)
	}
	switch args[0] {
	case "validate":
		return runCAPValidate(args[1:], stdout, stderr)
	case "verify-signature":
		return runCAPVerify(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, capUsage)
	return fmt.Errorf("%w: unknown cap sub-command %q", errUsage, args[0])
}

func runCAPValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cap validate", "tocsin cap validate FILE", stderr)
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	doc, err := readLimited(file, cap.MaxDocumentSize+1)
	if err != nil {
		return err
	}
	a, err := cap.Parse(doc)
	if err != nil {
		return fmt.Errorf("%s: %s", file, tocsin.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "OK: %s is valid CAP 1.2: %s %s from %s, identifier %s, %d info(s), %d area(s)\n",
		file, a.Status, a.MsgType, a.Sender, a.ID, len(a.Infos), len(a.Areas))
	return nil
}

func runCAPVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cap verify-signature", "tocsin cap verify-signature FILE [--cert FILE] [--data DIR]", stderr)
	data := fs.String("data", "./tocsin-data", "data folder whose "+cap.CertificateFileName+" is used when --cert is not given")
	certFile := fs.String("cert", "", "PEM file of the certificate to verify with")
	file, err := parseWithFile(fs, args)
	if err != nil {
		return err
	}
	if *certFile == "" {
		*certFile = filepath.Join(*data, cap.CertificateFileName)
	}
	certPEM, err := readLimited(*certFile, 64<<10)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return fmt.Errorf("%s is not a PEM certificate", *certFile)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return fmt.Errorf("%s: %w", *certFile, err)
	}
	doc, err := readLimited(file, cap.MaxDocumentSize+1)
	if err != nil {
		return err
	}
	if err := cap.Verify(doc, cert); err != nil {
		return fmt.Errorf("%s: %s", file, tocsin.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "OK: the signature of %s verifies with %s (%s)\n", file, *certFile, cert.Subject.CommonName)
	return nil
}

// parseWithFile parses flags given before or after one FILE argument.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	var file string
	var flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) && file == "" {
				file = args[i+1]
				i++
			}
			continue
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") {
				if f := fs.Lookup(name); f != nil && i+1 < len(args) {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						flags = append(flags, args[i+1])
						i++
					}
				}
			}
			continue
		}
		if file != "" {
			return "", fmt.Errorf("%w: one FILE only, not %q and %q", errUsage, file, a)
		}
		file = a
	}
	if err := parseFlags(fs, flags); err != nil {
		return "", err
	}
	if file == "" {
		fs.Usage()
		return "", fmt.Errorf("%w: FILE is required", errUsage)
	}
	return file, nil
}

// readLimited reads a file of at most limit bytes; a larger one is read
// only to limit, so that the caller's own size check refuses it.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// relayList is the repeatable --relay flag. TOCSIN_RELAY holds a
// comma-separated list, and adds to the feeds given as flags.
type relayList []string

func (l *relayList) String() string { return strings.Join(*l, ",") }

// Set adds one URL, or several separated by commas.
func (l *relayList) Set(v string) error {
	for _, raw := range strings.Split(v, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("%q is not an http or https URL", raw)
		}
		*l = append(*l, raw)
	}
	return nil
}

// capConfig is what serve needs for CAP: signing, import, feeds and relay.
type capConfig struct {
	Relays             relayList
	RelayInterval      time.Duration
	RelayTimeout       time.Duration
	AllowPrivateRelays bool
}

// addCAPFlags declares serve's CAP flags.
func addCAPFlags(fs *flag.FlagSet, c *capConfig) {
	fs.Var(&c.Relays, "relay", "URL of a partner's CAP Atom or RSS feed to relay (repeatable; TOCSIN_RELAY takes a comma-separated list)")
	fs.DurationVar(&c.RelayInterval, "relay-interval", relay.DefaultInterval, "time between polls of each relayed feed")
	fs.DurationVar(&c.RelayTimeout, "relay-timeout", 30*time.Second, "time limit of one request to a relayed feed")
	fs.BoolVar(&c.AllowPrivateRelays, "allow-private-relays", false, "let relayed feeds be fetched from private, loopback and link-local addresses")
}

// checkCAPConfig checks serve's CAP flags.
func checkCAPConfig(c *capConfig) error {
	if c.RelayInterval < 100*time.Millisecond {
		return fmt.Errorf("%w: --relay-interval must be at least 100ms", errUsage)
	}
	if c.RelayTimeout <= 0 {
		return fmt.Errorf("%w: --relay-timeout must be positive", errUsage)
	}
	return nil
}

// wireCAP gives srv the CAP services and the network's signer (its key is
// made in the data folder on first start; feeds link to srv.PublicURL),
// and returns the relay poller,
// which serve starts once delivery runs. notify wakes the fan-out after an
// import publishes.
func wireCAP(c *capConfig, data string, db *sqlite.DB, srv *http.Server, notify func(), logger *slog.Logger) (*relay.Poller, error) {
	signer, err := cap.LoadOrCreateSigner(data)
	if err != nil {
		return nil, err
	}
	svc := sqlite.NewCAPService(db)
	svc.Notify = notify
	svc.Localize = srv.LocalizeImported // machine translation where a pair exists
	srv.CAP, srv.Partners, srv.Signer = svc, sqlite.NewPartnerService(db), signer
	if c.AllowPrivateRelays && len(c.Relays) > 0 {
		logger.Warn("relayed feeds may be fetched from private and loopback addresses")
	}
	return &relay.Poller{
		Feeds:    c.Relays,
		Import:   svc.ImportRelayedAlert,
		Client:   deliver.NewHTTPClient(c.AllowPrivateRelays, c.RelayTimeout),
		Interval: c.RelayInterval,
		Logger:   logger.With("component", "relay"),
	}, nil
}

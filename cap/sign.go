package cap

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/tocsin/tocsin"
)

// The files LoadOrCreateSigner keeps in its folder. The key file holds the
// private key and the certificate together, so that the two can never be
// replaced separately; the certificate file is a public copy for operators
// to hand to partners.
const (
	KeyFileName         = "cap-signing-key.pem"
	CertificateFileName = "cap-signing-cert.pem"
)

// certificateLifetime is how long a new signing certificate is valid.
// Verifiers (goxmldsig among them) refuse signatures from an expired one.
const certificateLifetime = 10 * 365 * 24 * time.Hour

// Signer signs CAP documents with the network's RSA 2048 key, whose
// self-signed certificate partners use to verify them.
//
// RSA-SHA256 is used rather than ECDSA-SHA256 because goxmldsig writes and
// reads ECDSA signature values in ASN.1 DER, while XML-DSig 1.1 (and
// xmlsec1) use the raw r‖s form, so ECDSA signatures would not verify
// elsewhere.
//
// A Signer is safe for concurrent use.
type Signer struct {
	key     *rsa.PrivateKey
	cert    *x509.Certificate
	certPEM []byte
}

// LoadOrCreateSigner returns the signer kept in dir, creating dir, a new key
// and a self-signed certificate on first use. The key file (KeyFileName,
// mode 0600) is written once, atomically, and never replaced: a second
// process starting at the same moment loads the first one's key. A key file
// that is unreadable, damaged or readable by other users is an error, not a
// reason to make a new key, since partners trust the old one. The public
// certificate is also written to CertificateFileName (mode 0644).
func LoadOrCreateSigner(dir string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("CAP signer: %w", err)
	}
	path := filepath.Join(dir, KeyFileName)
	s, err := loadSigner(path)
	if errors.Is(err, fs.ErrNotExist) {
		s, err = createSigner(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("CAP signer: %w", err)
	}
	if err := writePublic(filepath.Join(dir, CertificateFileName), s.certPEM); err != nil {
		return nil, fmt.Errorf("CAP signer: %w", err)
	}
	return s, nil
}

func loadSigner(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s is readable by other users (mode %#o); chmod 600 it", path, fi.Mode().Perm())
		}
	}
	s := &Signer{}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%s: the key is a %T; an RSA key is needed", path, k)
			}
			s.key = rk
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			s.cert = c
			s.certPEM = pem.EncodeToMemory(b)
		}
	}
	if s.key == nil || s.cert == nil {
		return nil, fmt.Errorf("%s: needs a PRIVATE KEY and a CERTIFICATE block", path)
	}
	if !s.key.PublicKey.Equal(s.cert.PublicKey) {
		return nil, fmt.Errorf("%s: the certificate is not for this key", path)
	}
	return s, nil
}

func createSigner(dir, path string) (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tocsin CAP alert signing", Organization: []string{"tocsin"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certificateLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var data bytes.Buffer
	_ = pem.Encode(&data, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	_ = pem.Encode(&data, &pem.Block{Type: "CERTIFICATE", Bytes: der})

	tmp, err := os.CreateTemp(dir, ".cap-signing-*.tmp") // created 0600
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data.Bytes()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// A hard link, unlike a rename, fails if the key file appeared in the
	// meantime, so two processes starting together agree on one key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return loadSigner(path)
}

// writePublic writes the certificate to path unless it is already there.
func writePublic(path string, certPEM []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, certPEM) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cap-cert-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(certPEM); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CertificatePEM returns the signer's certificate in PEM form, for
// publishing at /api/v1/cap/certificate.pem and giving to partners.
func (s *Signer) CertificatePEM() []byte { return bytes.Clone(s.certPEM) }

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Sign returns doc, a valid unsigned CAP 1.2 document such as Marshal
// writes, with an enveloped XML Signature added as the last child of
// <alert>: RSA-SHA256 over the whole document (Reference URI=""), with the
// enveloped-signature transform and exclusive canonicalization, and the
// certificate in KeyInfo. Nothing else in doc changes, byte for byte,
// except that a leading byte order mark is dropped. Sign verifies its
// own output before returning it. A document Parse rejects, or one already
// signed, is an EINVALID error.
func (s *Signer) Sign(doc []byte) ([]byte, error) {
	if _, err := Parse(doc); err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	root, _ := decode(doc) // cannot fail after Parse
	body := bytes.TrimPrefix(doc, utf8BOM)
	if end := root.endOffset; end <= 0 || end >= int64(len(body)) || body[end] != '<' || body[end+1] != '/' {
		return nil, fmt.Errorf("sign CAP: cannot find the end of <alert>")
	}
	for _, c := range root.children {
		if c.space == dsigNamespace {
			return nil, invalidAt(c.line, c.path, "the document is already signed")
		}
	}
	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	sig, err := ctx.ConstructSignature(tree.Root(), true)
	if err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	// The signature goes in just before </alert>, and the rest of doc stays
	// byte for byte: re-serializing the tree could change its escaping.
	sigDoc := etree.NewDocument()
	sigDoc.SetRoot(sig)
	sigXML, err := sigDoc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	end := int(root.endOffset)
	out := make([]byte, 0, len(body)+len(sigXML))
	out = append(append(append(out, body[:end]...), sigXML...), body[end:]...)
	if err := Verify(out, s.cert); err != nil {
		return nil, fmt.Errorf("sign CAP: the signed document does not verify: %w", err)
	}
	return out, nil
}

// Verify checks that doc carries exactly one enveloped XML Signature, as
// the last child of <alert>, that covers the whole document (Reference
// URI="") and was made with the key of cert, which must be valid now. A
// certificate in the signature's KeyInfo must be cert itself. Verify
// applies Parse's limits on size (ETOOLARGE) and DTDs before reading, and
// returns EINVALID for anything else, including an unsigned document.
//
// Verify then Parse the same bytes: everything Parse reads is inside the
// signed content, since the signature covers the whole <alert> except
// itself and Parse ignores XML Signature elements.
func Verify(doc []byte, cert *x509.Certificate) error {
	if len(doc) > MaxDocumentSize {
		return tocsin.Errorf(tocsin.ETOOLARGE, "CAP document is %d bytes; the limit is %d", len(doc), MaxDocumentSize)
	}
	if cert == nil {
		return tocsin.Errorf(tocsin.EINVALID, "no certificate to verify the CAP signature with")
	}
	root, err := decode(doc)
	if err != nil {
		return err
	}
	var sigs []*node
	var walk func(n *node) error
	walk = func(n *node) error {
		for _, c := range n.children {
			if c.space == dsigNamespace {
				if n != root || c.local != "Signature" {
					return invalidAt(c.line, c.path, "an XML Signature must be a <ds:Signature> directly in <alert>")
				}
				sigs = append(sigs, c)
			} else if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return err
	}
	switch {
	case len(sigs) == 0:
		return invalidAt(root.endLine, root.path, "the CAP document is not signed")
	case len(sigs) > 1:
		return invalidAt(sigs[1].line, sigs[1].path, "more than one XML Signature")
	case sigs[0] != root.children[len(root.children)-1]:
		return invalidAt(sigs[0].line, sigs[0].path, "the XML Signature must be the last element in <alert>")
	}

	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(doc); err != nil {
		return invalidAt(1, "", "not well-formed XML: %v", err)
	}
	if err := checkReference(tree.Root()); err != nil {
		return invalidAt(sigs[0].line, sigs[0].path, "%v", err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if _, err := ctx.Validate(tree.Root()); err != nil {
		return invalidAt(sigs[0].line, sigs[0].path, "the signature does not verify with the given certificate: %v", err)
	}
	return nil
}

// checkReference requires the signature to sign the whole document and
// nothing else: one Reference, URI="".
func checkReference(root *etree.Element) error {
	var sig *etree.Element
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() == dsigNamespace && c.Tag == "Signature" {
			sig = c
		}
	}
	if sig == nil {
		return errors.New("no Signature element")
	}
	var refs []*etree.Element
	for _, si := range sig.ChildElements() {
		if si.NamespaceURI() == dsigNamespace && si.Tag == "SignedInfo" {
			for _, r := range si.ChildElements() {
				if r.NamespaceURI() == dsigNamespace && r.Tag == "Reference" {
					refs = append(refs, r)
				}
			}
		}
	}
	if len(refs) != 1 {
		return fmt.Errorf("the signature has %d references; it must have one, to the whole document", len(refs))
	}
	if uri := refs[0].SelectAttr("URI"); uri == nil || uri.Value != "" {
		return errors.New(`the signature's Reference must have URI="" (the whole document)`)
	}
	return nil
}

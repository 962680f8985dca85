package http

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
)

// The CAP endpoints:
//
//	GET  /api/v1/alerts/{id}/cap.xml              an alert as signed CAP 1.2, by tocsin ID
//	GET  /api/v1/cap/{sender}/{identifier}.xml    the same, by CAP sender and identifier
//	GET  /api/v1/cap/certificate.pem              the certificate that verifies the signatures
//	POST /api/v1/cap                              a partner posts a CAP message (partner token)
//	GET  /api/v1/cap/unmatched                    imported Updates and Cancels still waiting (admin)
//	GET  /api/v1/partners                         registered partners (admin)

// needCAP answers 503 when the server was set up without the CAP services.
func (s *Server) needCAP(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.CAP == nil || s.Partners == nil {
			s.Error(w, r, tocsin.Errorf(tocsin.EUNAVAILABLE, "CAP is not set up on this server"))
			return
		}
		h(w, r)
	}
}

// capContentType is the media type registered for CAP documents.
const capContentType = "application/cap+xml"

func (s *Server) handleAlertCAP(w http.ResponseWriter, r *http.Request) {
	a := s.findVisibleAlert(w, r)
	if a == nil {
		return
	}
	s.writeCAP(w, r, a.ID)
}

// handleCAPByIdentity serves /api/v1/cap/{sender}/{identifier}.xml. The
// identifier is the rest of the path, so that identifiers with slashes
// (URNs sometimes have them) can be asked for, escaped or not.
func (s *Server) handleCAPByIdentity(w http.ResponseWriter, r *http.Request) {
	sender := r.PathValue("sender")
	identifier, ok := strings.CutSuffix(r.PathValue("identifier"), ".xml")
	if !ok || identifier == "" || sender == "" {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "no such CAP document: use /api/v1/cap/{sender}/{identifier}.xml"))
		return
	}
	a, err := s.CAP.FindAlertByCAPIdentity(r.Context(), sender, identifier)
	if err == nil && !visible(r, a) {
		err = tocsin.Errorf(tocsin.ENOTFOUND, "no alert from %s with identifier %s", sender, identifier)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.writeCAP(w, r, a.ID)
}

// writeCAP answers with the alert with tocsin ID id as a signed CAP document.
func (s *Server) writeCAP(w http.ResponseWriter, r *http.Request, id string) {
	c, err := s.CAP.CAPAlert(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	doc, err := cap.Marshal(c.Public(), cap.ExportOptions{SenderName: s.SenderName})
	if err == nil && s.Signer != nil {
		doc, err = s.Signer.Sign(doc)
	}
	if err != nil {
		// A stored alert that cannot be written as CAP is tocsin's fault,
		// not the caller's: log it in full, answer 500.
		s.Error(w, r, fmt.Errorf("export alert %s as CAP: %s", id, err))
		return
	}
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", capContentType)
	w.Write(doc)
}

func (s *Server) handleCAPCertificate(w http.ResponseWriter, r *http.Request) {
	if s.Signer == nil {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "this server does not sign its CAP alerts"))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.Signer.CertificatePEM())
}

// importResponse is the answer to POST /api/v1/cap.
type importResponse struct {
	Alert               *tocsin.Alert `json:"alert"`
	Duplicate           bool          `json:"duplicate"`
	UnmatchedReferences []string      `json:"unmatched_references"`
}

// handleImportCAP takes one CAP message from a partner. The checks run in
// this order, and nothing is stored unless all pass: the partner token; the
// media type; the size (413 over cap.MaxDocumentSize); cap.Parse, which
// refuses DTDs, entities, schema violations and bad geometry with the line
// and element; the signature, when the partner is registered with a
// certificate; the sender, which must be the partner's. A message seen
// before (same sender, identifier and sent) is answered 200 with what was
// stored the first time.
func (s *Server) handleImportCAP(w http.ResponseWriter, r *http.Request) {
	p, err := tocsin.Require(r.Context(), tocsin.RolePartner)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case capContentType, "application/xml", "text/xml":
		default:
			s.Error(w, r, tocsin.Errorf(tocsin.EINVALID, "the body must be a CAP document (application/cap+xml), not %s", ct))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, cap.MaxDocumentSize))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.Error(w, r, tocsin.Errorf(tocsin.ETOOLARGE, "the CAP document is larger than %d bytes", cap.MaxDocumentSize))
		return
	} else if err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EINVALID, "could not read the body: %v", err))
		return
	}
	a, err := cap.Parse(body)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	partner, err := s.Partners.FindPartnerByPrincipal(r.Context(), p.ID)
	if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
		err = tocsin.Errorf(tocsin.EFORBIDDEN, "this token belongs to no registered partner")
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if partner.CertificatePEM != "" {
		if err := verifyPartnerSignature(body, partner); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	res, err := s.CAP.ImportPartnerAlert(r.Context(), a)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/alerts/"+res.Alert.ID)
	writeJSON(w, status, importResponse{Alert: res.Alert.Public(), Duplicate: res.Duplicate, UnmatchedReferences: res.UnmatchedReferences})
}

// verifyPartnerSignature checks that doc is signed with the key of the
// partner's certificate. An unsigned or wrongly signed document is
// EFORBIDDEN: the partner said it signs, so the message is not known to be
// the partner's.
func verifyPartnerSignature(doc []byte, partner *tocsin.Partner) error {
	b, _ := pem.Decode([]byte(partner.CertificatePEM))
	if b == nil {
		return fmt.Errorf("partner %s: stored certificate is not PEM", partner.Name)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return fmt.Errorf("partner %s: stored certificate: %w", partner.Name, err)
	}
	if err := cap.Verify(doc, cert); err != nil {
		if tocsin.ErrorCode(err) != tocsin.EINVALID {
			return err
		}
		detail := tocsin.ErrorMessage(err)
		return &tocsin.Error{Code: tocsin.EFORBIDDEN,
			Message: fmt.Sprintf("partner %s signs its alerts, and this one's signature does not check out: %s", partner.Name, detail),
			Fields:  []tocsin.FieldError{{Field: "signature", Detail: detail}}}
	}
	return nil
}

func (s *Server) handleListUnmatched(w http.ResponseWriter, r *http.Request) {
	list, err := s.CAP.FindUnmatchedAlerts(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": list, "total": len(list)})
}

func (s *Server) handleListPartners(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RoleAdmin); err != nil {
		s.Error(w, r, err)
		return
	}
	list, err := s.Partners.FindPartners(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"partners": list})
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for GET) or is "*".
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

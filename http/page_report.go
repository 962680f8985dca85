package http

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// reportPage is the data of templates/report.html.
type reportPage struct {
	Categories []tocsin.Category
	MaxText    int
	MaxEvent   int
	// Photos is whether this server takes photos (Server.Intake is set).
	Photos      bool
	MaxPhotoMiB string
	// Form, Errors and Done answer a form posted without script.
	Form   reportForm
	Errors []string
	Done   *reportDone
}

// handleReportPage renders GET /report: a form for a phone, often on a poor
// connection, that works offline. Its script sends the report to POST
// /api/v1/reports (and the photo after it), and keeps what it cannot send
// in the browser's IndexedDB until the connection returns; the service
// worker keeps the page itself.
func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
	p, _ := s.reportPage(w, r)
	s.renderPage(w, r, http.StatusOK, p)
}

// reportPage starts the report page and its data.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) (*webPage, *reportPage) {
	p := s.newPage(w, r, "report", "web.report.title", "web.report.", "category.")
	d := &reportPage{Categories: tocsin.Categories, MaxText: tocsin.MaxReportText, MaxEvent: tocsin.MaxEventLength,
		Photos: s.Intake != nil, MaxPhotoMiB: strconv.Itoa(tocsin.MaxPhotoBytes >> 20)}
	p.Data = d
	p.Boot.Data = map[string]any{
		"photos":          d.Photos,
		"max_photo_bytes": tocsin.MaxPhotoBytes,
		"max_photo_side":  tocsin.MaxPhotoSide,
		"max_photo_mib":   d.MaxPhotoMiB,
	}
	return p, d
}

// reportForm is the report form as posted by a browser without script,
// kept to fill the form again when something is wrong.
type reportForm struct {
	Lat, Lon, Category, Event, Text, Observed string
}

// reportDone is what the page shows once a report posted without script
// was taken: its receipt, and what became of its photo.
type reportDone struct {
	Receipt, ID, IncidentID string
	PhotoProblem            string
}

// handleReportForm takes POST /report from a browser without script: the
// same fields as the page's script sends, and the photo in the same
// request. It files the report (and the photo, re-encoded as the API does)
// and answers the page with the receipt, or with what was wrong and the
// form filled in again. Without script nothing can wait on the device for
// the connection: the page says so. With script the page uses the API.
func (s *Server) handleReportForm(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "cross-origin requests are refused"))
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(PhotoUploadTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, maxPhotoForm+MaxBodyBytes)
	// The whole form stays in memory (bounded above): a photo with its
	// location inside must never reach a temporary file.
	if err := r.ParseMultipartForm(maxPhotoForm + MaxBodyBytes); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.Error(w, r, photoTooLarge)
			return
		}
		s.Error(w, r, tocsin.Errorf(tocsin.EINVALID, "the form could not be read"))
		return
	}
	defer r.MultipartForm.RemoveAll()
	p, d := s.reportPage(w, r)
	f := r.MultipartForm.Value
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	d.Form = reportForm{Lat: get("lat"), Lon: get("lon"), Category: get("category"), Event: get("event"), Text: get("text"), Observed: get("observed")}
	lat, err1 := strconv.ParseFloat(d.Form.Lat, 64)
	lon, err2 := strconv.ParseFloat(d.Form.Lon, 64)
	if err1 != nil || err2 != nil {
		d.Errors = append(d.Errors, p.T("web.report.nojs_coords"))
		s.renderPage(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	rep := &tocsin.Report{Lat: lat, Lon: lon, Category: tocsin.Category(d.Form.Category), Event: d.Form.Event, Text: d.Form.Text,
		Language: p.Locale.Code, Channel: "web"}
	// A datetime-local field carries no zone: the server's is the best guess.
	if t, err := time.ParseInLocation("2006-01-02T15:04", d.Form.Observed, time.Local); err == nil {
		rep.ObservedAt = t
	}
	done, token, err := s.fileReport(r, rep)
	if err != nil {
		if tocsin.ErrorCode(err) == tocsin.EINTERNAL {
			s.Error(w, r, err)
			return
		}
		d.Errors = labelledProblems(p, err, map[string]string{"lat": "web.report.lat", "lon": "web.report.lon",
			"category": "web.report.category", "event": "web.report.event", "text": "web.report.text", "observed_at": "web.report.observed"})
		s.renderPage(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	if data := formPhoto(r); len(data) > 0 && token != "" {
		if err := s.attachFormPhoto(r, done.ID, token, data); err != nil {
			if tocsin.ErrorCode(err) == tocsin.EINTERNAL {
				s.Logger.Error("photo of a report posted without script", "report", done.ID, "err", err)
			}
			done.PhotoProblem = p.Tf("web.report.photo_failed", "detail", tocsin.ErrorMessage(err))
		}
	}
	d.Done, d.Form = &done, reportForm{}
	s.renderPage(w, r, http.StatusCreated, p)
}

// fileReport files rep through the intake (which also issues its photo
// token) when the server takes photos, else through the report service.
func (s *Server) fileReport(r *http.Request, rep *tocsin.Report) (reportDone, string, error) {
	if s.Intake == nil {
		receipt, err := s.Reports.CreateReport(r.Context(), rep)
		return reportDone{Receipt: receipt, ID: rep.ID, IncidentID: rep.IncidentID}, "", err
	}
	sub, err := s.Intake.SubmitReport(r.Context(), rep, "")
	if err != nil {
		return reportDone{}, "", err
	}
	return reportDone{Receipt: sub.Receipt, ID: sub.ReportID, IncidentID: sub.IncidentID}, sub.PhotoToken, nil
}

// formPhoto returns the photo of a posted report form: the camera's field,
// else the gallery's.
func formPhoto(r *http.Request) []byte {
	for _, name := range []string{"photo", "photo-file"} {
		for _, fh := range r.MultipartForm.File[name] {
			if fh.Size == 0 {
				continue
			}
			f, err := fh.Open()
			if err != nil {
				return nil
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, maxPhotoForm))
			if err != nil {
				return nil
			}
			return b
		}
	}
	return nil
}

// attachFormPhoto re-encodes data without its metadata and attaches it to
// report id, as POST /api/v1/reports/{id}/photo does.
func (s *Server) attachFormPhoto(r *http.Request, id, token string, data []byte) error {
	if len(data) > tocsin.MaxPhotoBytes {
		return photoTooLarge
	}
	photo, err := s.sanitizePhoto(r.Context(), data)
	if err != nil {
		return err
	}
	photo.ReportID = id
	return s.Intake.AttachPhoto(r.Context(), token, photo)
}

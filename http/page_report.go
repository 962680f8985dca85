package http

import (
	"net/http"
	"strconv"

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
}

// handleReportPage renders GET /report: a form for a phone, often on a poor
// connection, that works offline. Its script sends the report to POST
// /api/v1/reports (and the photo after it), and keeps what it cannot send
// in the browser's IndexedDB until the connection returns; the service
// worker keeps the page itself.
func (s *Server) handleReportPage(w http.ResponseWriter, r *http.Request) {
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
	s.renderPage(w, r, http.StatusOK, p)
}

package http_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	tocsinhttp "github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/sqlite"
)

// MustOpenIntakeServer is MustOpenServer with the report intake on, as
// tocsin serve runs it: Idempotency-Key, photo tokens and photos.
func MustOpenIntakeServer(tb testing.TB) *TestServer {
	tb.Helper()
	return MustOpenServer(tb, func(s *tocsinhttp.Server) { s.Intake = s.Reports.(*sqlite.ReportService) })
}

// submission is the answer to POST /api/v1/reports.
type submission struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	Receipt    string `json:"receipt"`
	PhotoToken string `json:"photo_token"`
}

var photoReportBody = map[string]any{"lat": 39.7392, "lon": -104.9903, "category": "Met", "text": "Water over the road at Speer and 8th", "language": "en"}

func (ts *TestServer) mustSubmit(tb testing.TB) submission {
	tb.Helper()
	var sub submission
	ts.MustDo(tb, Request{Method: "POST", Path: "/api/v1/reports", Body: photoReportBody}, 201, &sub)
	if sub.ID == "" || sub.Receipt == "" || !strings.HasPrefix(sub.PhotoToken, "pht_") {
		tb.Fatalf("submission %+v; want an id, a receipt and a photo token", sub)
	}
	return sub
}

// photoForm is a multipart body with the given fields, in order; a field
// named photo is sent as a file.
func photoForm(tb testing.TB, fields ...any) (body []byte, contentType string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		var value []byte
		switch v := fields[i+1].(type) {
		case string:
			value = []byte(v)
		case []byte:
			value = v
		}
		var w interface{ Write([]byte) (int, error) }
		var err error
		if name == "photo" {
			w, err = mw.CreateFormFile(name, "IMG_0042.jpg")
		} else {
			w, err = mw.CreateFormField(name)
		}
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(value)
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func (ts *TestServer) uploadPhoto(tb testing.TB, reportID string, fields ...any) *Response {
	tb.Helper()
	body, ct := photoForm(tb, fields...)
	return ts.Do(tb, Request{Method: "POST", Path: "/api/v1/reports/" + reportID + "/photo", Body: body, ContentType: ct})
}

// TestReportPhoto_StripsMetadata: a phone's JPEG with EXIF GPS, XMP and a
// comment is accepted from the holder of the photo token and served to a
// verifier as a fresh JPEG holding none of it.
func TestReportPhoto_StripsMetadata(t *testing.T) {
	ts := MustOpenIntakeServer(t)
	sub := ts.mustSubmit(t)
	original := tocsinhttp.JPEGWithMetadata(t, testPicture(640, 480), 1)
	if !bytes.Contains(original, []byte(tocsinhttp.PhotoSecret)) || !bytes.Contains(original, []byte("Exif\x00\x00MM")) {
		t.Fatal("the test photo has no metadata to remove")
	}
	resp := ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", original)
	if resp.Status != 201 {
		t.Fatalf("upload: status %d: %s", resp.Status, resp.Body)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/reports/"+sub.ID+"/photo" {
		t.Errorf("Location %q", loc)
	}
	if body := string(resp.Body); !strings.Contains(body, `"width":640`) || !strings.Contains(body, `"height":480`) {
		t.Errorf("upload answer %s; want the stored size", body)
	}

	got := ts.Do(t, Request{Method: "GET", Path: "/api/v1/reports/" + sub.ID + "/photo", Token: ts.Tokens["verifier"]})
	if got.Status != 200 {
		t.Fatalf("get photo: status %d: %s", got.Status, got.Body)
	}
	for header, want := range map[string]string{
		"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "same-origin",
	} {
		if v := got.Header.Get(header); v != want {
			t.Errorf("%s: %q; want %q", header, v, want)
		}
	}
	if cc := got.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
		t.Errorf("Cache-Control %q; want private", cc)
	}
	tocsinhttp.CheckSanitizedJPEG(t, got.Body, 640, 480)
	if len(got.Body) > 400<<10 {
		t.Errorf("stored photo is %d bytes; want it re-encoded small", len(got.Body))
	}
	// The bytes in the database are the sanitized ones.
	var stored []byte
	if err := ts.Raw.QueryRow(`SELECT jpeg FROM report_photos WHERE report_id = ?`, sub.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, got.Body) {
		t.Error("the database holds other bytes than the ones served")
	}
	if dump := ts.Dump(t); strings.Contains(dump, tocsinhttp.PhotoSecret) {
		t.Error("the photo's metadata is somewhere in the database")
	}

	// The incident's report says it has a photo.
	var inc struct {
		Reports []struct {
			ID       string `json:"id"`
			HasPhoto bool   `json:"has_photo"`
		} `json:"reports"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents/" + sub.IncidentID, Token: ts.Tokens["verifier"]}, 200, &inc)
	if len(inc.Reports) != 1 || !inc.Reports[0].HasPhoto {
		t.Errorf("incident reports %+v; want one with has_photo", inc.Reports)
	}

	// A second upload is a conflict: a retry can tell its photo arrived.
	again := ts.uploadPhoto(t, sub.ID, "photo", original, "photo_token", sub.PhotoToken)
	wantProblem(t, again, 409, "")
}

// TestReportPhoto_Refused: every refusal is a problem document with the
// right status, and stores nothing.
func TestReportPhoto_Refused(t *testing.T) {
	ts := MustOpenIntakeServer(t)
	sub := ts.mustSubmit(t)
	other := ts.mustSubmit(t)
	jpg := tocsinhttp.JPEGWithMetadata(t, testPicture(32, 24), 1)

	t.Run("missing token", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo", jpg), 401, "")
	})
	t.Run("wrong token", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", "pht_guessed", "photo", jpg), 403, "")
	})
	t.Run("another report's token", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", other.PhotoToken, "photo", jpg), 403, "")
	})
	t.Run("unknown report", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, "rep_nope", "photo_token", sub.PhotoToken, "photo", jpg), 403, "")
	})
	t.Run("not an image", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", "<svg onload=alert(1)>"), 415, "photo")
	})
	t.Run("not multipart", func(t *testing.T) {
		resp := ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports/" + sub.ID + "/photo", Body: jpg, ContentType: "image/jpeg"})
		wantProblem(t, resp, 415, "")
	})
	t.Run("no photo", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken), 400, "photo")
	})
	t.Run("unknown field", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "gps", "39.7,-104.9", "photo", jpg), 400, "gps")
	})
	t.Run("broken JPEG", func(t *testing.T) {
		wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", jpg[:len(jpg)/3]), 400, "photo")
	})
	t.Run("too large", func(t *testing.T) {
		big := append(bytes.Clone(jpg), make([]byte, tocsin.MaxPhotoBytes)...)
		p := wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", big), 413, "photo")
		if !strings.Contains(p.Detail, "10485760") {
			t.Errorf("detail %q; want the limit named", p.Detail)
		}
	})
	t.Run("declared too large", func(t *testing.T) {
		// A body announced larger than the limit is refused before it is
		// sent: the answer comes with the body still unsent.
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST /api/v1/reports/%s/photo HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n--x\r\n",
			sub.ID, strings.TrimPrefix(ts.URL(), "http://"), tocsin.MaxPhotoBytes+1<<20)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("status %d; want 413", resp.StatusCode)
		}
	})
	t.Run("too many pixels", func(t *testing.T) {
		// A PNG header claiming 100000×100000 pixels and no pixel data:
		// decoding would fail differently; it must be refused from the
		// header, at once.
		start := time.Now()
		p := wantProblem(t, ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", pngHeader(100000, 100000)), 400, "photo")
		if !strings.Contains(p.Detail, "100000×100000") || !strings.Contains(p.Detail, "megapixels") {
			t.Errorf("detail %q; want the size and the limit", p.Detail)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v to refuse", d)
		}
	})
	if n := ts.Rows(t)["report_photos"]; n != 0 {
		t.Fatalf("%d photos stored after refusals; want none", n)
	}
}

// TestReportPhoto_Get: only verifiers and up may see a photo.
func TestReportPhoto_Get(t *testing.T) {
	ts := MustOpenIntakeServer(t)
	sub := ts.mustSubmit(t)
	if resp := ts.uploadPhoto(t, sub.ID, "photo_token", sub.PhotoToken, "photo", tocsinhttp.JPEGWithMetadata(t, testPicture(16, 16), 1)); resp.Status != 201 {
		t.Fatalf("upload: %d %s", resp.Status, resp.Body)
	}
	path := "/api/v1/reports/" + sub.ID + "/photo"
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path}), 401, "")
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path, Token: ts.Tokens["reporter"]}), 403, "")
	// The photo token is for uploading, not for looking.
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path, Auth: "Bearer " + sub.PhotoToken}), 401, "")
	for _, who := range []string{"verifier", "publisher", "admin"} {
		if resp := ts.Do(t, Request{Method: "GET", Path: path, Token: ts.Tokens[who]}); resp.Status != 200 {
			t.Errorf("%s: status %d", who, resp.Status)
		}
	}
	other := ts.mustSubmit(t)
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/reports/" + other.ID + "/photo", Token: ts.Tokens["verifier"]}), 404, "")
}

// TestCreateReport_IdempotencyKey: a report sent twice with the same
// Idempotency-Key is filed once and answered the same way twice.
func TestCreateReport_IdempotencyKey(t *testing.T) {
	ts := MustOpenIntakeServer(t)
	req := Request{Method: "POST", Path: "/api/v1/reports", Body: photoReportBody, Header: map[string]string{"Idempotency-Key": "0d6c1a2e-0b34-4a8e-9c1f-3f7d2b5e8a90"}}
	var first, second submission
	r1 := ts.MustDo(t, req, 201, &first)
	if r1.Header.Get("Idempotent-Replayed") != "" {
		t.Error("the first answer says it was replayed")
	}
	// The IETF draft's form, a quoted string, is the same key.
	req.Header = map[string]string{"Idempotency-Key": `"0d6c1a2e-0b34-4a8e-9c1f-3f7d2b5e8a90"`}
	r2 := ts.MustDo(t, req, 201, &second)
	if r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("the repeat is not marked Idempotent-Replayed: true")
	}
	if first != second {
		t.Errorf("repeat answered %+v; want %+v", second, first)
	}
	if n := ts.Rows(t)["reports"]; n != 1 {
		t.Fatalf("%d reports; want 1", n)
	}
	// The same key for another report is a conflict.
	other := map[string]any{"lat": 39.7392, "lon": -104.9903, "category": "Met", "text": "something else"}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports", Body: other, Header: req.Header}), 409, "Idempotency-Key")
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports", Body: other, Header: map[string]string{"Idempotency-Key": "bad key"}}), 400, "Idempotency-Key")
	if n := ts.Rows(t)["reports"]; n != 1 {
		t.Fatalf("%d reports; want 1", n)
	}
}

// TestCreateReport_WithoutIntake: a server without the intake answers as
// before, and refuses an Idempotency-Key it cannot honour.
func TestCreateReport_WithoutIntake(t *testing.T) {
	ts := MustOpenServer(t)
	var answer map[string]any
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: photoReportBody}, 201, &answer)
	if len(answer) != 3 || answer["id"] == nil || answer["incident_id"] == nil || answer["receipt"] == nil {
		t.Errorf("answer %v; want id, incident_id and receipt", answer)
	}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports", Body: photoReportBody, Header: map[string]string{"Idempotency-Key": "k"}}), 400, "Idempotency-Key")
	body, ct := photoForm(t, "photo_token", "pht_x", "photo", "x")
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports/rep_x/photo", Body: body, ContentType: ct}), 404, "")
}

// TestReportPage renders /report with its form, every category, the photo
// input and the page's strict CSP.
func TestReportPage(t *testing.T) {
	ts := MustOpenIntakeServer(t)
	resp := ts.Do(t, Request{Method: "GET", Path: "/report?lang=es"})
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	page := string(resp.Body)
	for _, want := range []string{`<html lang="es"`, `id="report-form"`, `capture="environment"`, `accept="image/*"`,
		`value="CBRNE"`, `value="Met"`, `id="lat"`, `id="lon"`, `js/report.js`, "Enviar informe"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	// Without the intake there is no photo input.
	plain := MustOpenServer(t)
	if resp := plain.Do(t, Request{Method: "GET", Path: "/report"}); resp.Status != 200 || strings.Contains(string(resp.Body), `type="file"`) {
		t.Errorf("report page without photos: status %d, file input %v", resp.Status, strings.Contains(string(resp.Body), `type="file"`))
	}
}

// testPicture is a w×h gradient.
func testPicture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = uint8(x*255/w), uint8(y*255/h), 128, 255
		}
	}
	return img
}

// pngHeader is a PNG signature, an IHDR chunk for a w×h RGBA image, and
// IEND: a header with no pixels.
func pngHeader(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var b []byte
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	var ihdr []byte
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8 bits, RGBA, deflate, no filter, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, chunk("IHDR", ihdr)...)
	b = append(b, chunk("IEND", nil)...)
	// Make sure this is what the decoder sees: a valid header.
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != int(w) {
		panic(fmt.Sprint("pngHeader: ", cfg, err))
	}
	return b
}

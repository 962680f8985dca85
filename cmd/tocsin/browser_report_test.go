package main_test

import (
	"bytes"
	"context"
	binenc "encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// reportPhotoSecret hides in the test photo's EXIF, beside its GPS position;
// none of it may reach the stored photo.
const reportPhotoSecret = "EXIF-GPS-SECRET-39.7392N"

// TestBrowserReport is the reporter's story on a phone with a bad
// connection. /report is opened once online, so the service worker keeps
// it; then, with the network cut, the page opens from that copy, and a
// report (a pin dropped on the map, a category, text carrying markup, a
// photo whose EXIF holds a GPS position) is kept on the device: the page
// says so and lists it, survives a reload, and nothing reaches the server.
// When the network returns the report is sent by itself, once, and the
// page shows its receipt; the stored photo has no EXIF. A second report,
// made online after a refused and then a granted location request, is sent
// at once.
func TestBrowserReport(t *testing.T) {
	start := time.Now().UTC()
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data)
	verifier := newToken(t, data, "verifier", "ver-1")
	photoPath := filepath.Join(t.TempDir(), "IMG_1234.jpg")
	if err := os.WriteFile(photoPath, reportTestJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	xss := hostileText + " Water over the underpass"

	b := newBrowser(t)
	tb := b.tab()

	// Online, twice: the first visit installs the service worker, the
	// second goes through it and leaves the page and its assets cached.
	tb.open(srv.URL + "/report")
	tb.waitJS("the service worker to control the page", `navigator.serviceWorker.controller`, 20*time.Second)
	tb.open(srv.URL + "/report")
	waitFor(t, 20*time.Second, "/report and its scripts in the service worker's cache", func() bool {
		var ok bool
		tb.eval(`Promise.all(['/report', ...[...document.scripts].filter(s => s.src).map(s => s.src)].map(u => caches.match(u)))
			.then(rs => rs.length > 2 && rs.every(Boolean))`, &ok)
		return ok
	})

	// Sending an empty form marks what is missing and moves the focus there.
	tb.do(chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the field errors", `document.getElementById('lat-error') && document.getElementById('text-error')`, 5*time.Second)
	var invalid []string
	tb.eval(`[...document.querySelectorAll('[aria-invalid="true"]')].map(e => e.id)`, &invalid)
	if strings.Join(invalid, ",") != "lat,category,text" {
		t.Errorf("invalid fields %v; want lat, category, text", invalid)
	}
	var focused string
	tb.eval(`document.activeElement.id`, &focused)
	if focused != "lat" {
		t.Errorf("focus on %q after a refused submit; want lat", focused)
	}

	// Offline: the page opens from the service worker's cache.
	tb.offline(true)
	tb.open(srv.URL + "/report")
	tb.waitJS("the offline banner", `!document.getElementById('offline-banner').hidden`, 10*time.Second)
	if h := tb.text("h1"); h != "Report what you see" {
		t.Fatalf("offline, /report shows %q", h)
	}

	// The report: a pin dropped with a real click on the map, a category,
	// text with markup, a photo.
	lat, lon := tb.clickReportMap()
	tb.waitJS("the pin's coordinates", `document.getElementById('lat').value !== ''`, 5*time.Second)
	var typed []string
	tb.eval(`[document.getElementById('lat').value, document.getElementById('lon').value]`, &typed)
	// A few pixels either way (the click lands on whole pixels): at the
	// map's zoom a pixel is under 0.001°.
	if gotLat, gotLon := parseF(t, typed[0]), parseF(t, typed[1]); math.Abs(gotLat-lat) > 0.003 || math.Abs(gotLon-lon) > 0.003 {
		t.Fatalf("the click put the pin at %v; want %.5f, %.5f", typed, lat, lon)
	}
	tb.do(chromedp.SetValue(chromedp.CSS("#category"), "Met"),
		chromedp.SendKeys(chromedp.CSS("#event"), "flooded underpass"),
		chromedp.SendKeys(chromedp.CSS("#text"), xss),
		chromedp.SetUploadFiles(chromedp.CSS("#photo"), []string{photoPath}))
	tb.waitJS("the photo's preview", `!document.getElementById('photo-chosen').hidden && document.getElementById('photo-preview').complete`, 10*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the saved-on-this-device notice", `document.querySelectorAll('#pending-list li').length === 1 && document.getElementById('report-result').innerText.includes('Saved on this device')`, 10*time.Second)
	if msg := tb.text("#report-result"); !strings.Contains(msg, "It will be sent when you are back online") {
		t.Errorf("result %q", msg)
	}
	pending := tb.text("#pending-list")
	for _, want := range []string{"Weather — flooded underpass", hostileText, "with a photo", "Waiting for a connection"} {
		if !strings.Contains(pending, want) {
			t.Errorf("pending item %q lacks %q", pending, want)
		}
	}
	tb.reportNotPwned()
	if n := reportIncidentCount(t, srv.URL, verifier); n != 0 {
		t.Fatalf("%d incidents while offline; want none", n)
	}

	// The queue outlives the page.
	tb.open(srv.URL + "/report")
	tb.waitJS("the waiting report after a reload", `document.querySelectorAll('#pending-list li').length === 1`, 10*time.Second)
	tb.noErrors()
	tb.axe("/report (offline, one report waiting)")
	tb.screenshots("report-offline")

	// Online again: sent by itself, the receipt shown.
	tb.offline(false)
	tb.waitJS("the receipt", `document.querySelector('#report-result code.receipt') && document.getElementById('pending-section').hidden && document.getElementById('report-result').innerText.includes('Photo attached')`, 60*time.Second)
	receipt := tb.text("#report-result code.receipt")
	if !regexp.MustCompile(`^rcpt_[0-9a-z]{20,}$`).MatchString(receipt) {
		t.Errorf("receipt %q", receipt)
	}
	if msg := tb.text("#report-result"); !strings.Contains(msg, "Report sent") || !strings.Contains(msg, "<script>") {
		t.Errorf("result %q; want the report sent and its text as text", msg)
	}
	tb.waitJS("the sent list", `document.querySelectorAll('#sent-list li').length === 1`, 5*time.Second)
	tb.reportNotPwned()

	// Exactly one report arrived, with its text, its observation time from
	// when it was made, and its photo, without EXIF.
	rep := reportOnlyOne(t, srv.URL, verifier)
	if rep.Text != xss || rep.Category != "Met" || rep.Event != "flooded underpass" || !rep.HasPhoto {
		t.Errorf("stored report %+v", rep)
	}
	if math.Abs(rep.Lat-lat) > 0.004 || math.Abs(rep.Lon-lon) > 0.004 {
		t.Errorf("stored position %v, %v; want about %v, %v", rep.Lat, rep.Lon, lat, lon)
	}
	if rep.ObservedAt.Before(start) || !rep.ObservedAt.Before(rep.ReceivedAt) {
		t.Errorf("observed %v, received %v: the report should keep when it was made, offline", rep.ObservedAt, rep.ReceivedAt)
	}
	if shown := tb.text("#report-result dl"); !strings.Contains(shown, rep.ID) || !strings.Contains(shown, rep.IncidentID) {
		t.Errorf("receipt box %q; want report %s and incident %s", shown, rep.ID, rep.IncidentID)
	}
	reportCheckPhoto(t, srv.URL, verifier, rep.ID)
	tb.noErrors()
	tb.axe("/report (sent)")
	tb.screenshots("report")

	// A second report, online. The location is first refused (the page
	// says what to do instead), typed by hand, then granted.
	tb.reportGeolocation(srv.URL, cdpbrowser.PermissionSettingDenied, 0, 0)
	tb.do(chromedp.Click(chromedp.CSS("#use-location")))
	tb.waitJS("the refusal explained", `document.getElementById('location-status').innerText.includes('Location access was denied')`, 10*time.Second)
	tb.do(chromedp.Clear(chromedp.CSS("#lat")), chromedp.SendKeys(chromedp.CSS("#lat"), "39.75"),
		chromedp.Clear(chromedp.CSS("#lon")), chromedp.SendKeys(chromedp.CSS("#lon"), "-104.99"), chromedp.Focus(chromedp.CSS("#text")))
	tb.waitJS("the typed position on the map", `(() => { const p = tocsin.reportMap.getCenter(); return Math.abs(p.lat - 39.75) < 1e-3 && Math.abs(p.lng + 104.99) < 1e-3; })()`, 5*time.Second)
	tb.reportGeolocation(srv.URL, cdpbrowser.PermissionSettingGranted, 39.7508, -104.9966)
	tb.do(chromedp.Click(chromedp.CSS("#use-location")))
	tb.waitJS("the device's position", `document.getElementById('lat').value === '39.7508' && document.getElementById('location-status').innerText.includes('about 25 m')`, 10*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#category"), "Fire"), chromedp.SendKeys(chromedp.CSS("#text"), "Smoke from a roof on Blake St"),
		chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the second receipt", `document.querySelectorAll('#sent-list li').length === 2 && document.getElementById('report-result').innerText.includes('Smoke from a roof')`, 20*time.Second)
	if n := reportIncidentCount(t, srv.URL, verifier); n != 2 {
		t.Errorf("%d incidents; want 2", n)
	}
	tb.noErrors()

	// In Arabic the page runs right to left, its texts from the catalog.
	tb.open(srv.URL + "/report?lang=ar")
	var attrs []string
	tb.eval(`[document.documentElement.lang, document.documentElement.dir, document.getElementById('submit').innerText]`, &attrs)
	if attrs[0] != "ar" || attrs[1] != "rtl" || attrs[2] != "أرسل البلاغ" {
		t.Errorf("Arabic page: lang, dir, submit button %q", attrs)
	}
	tb.waitJS("the sent list in Arabic", `document.querySelector('#sent-list dt') && document.querySelector('#sent-list dt').innerText === 'الإيصال'`, 5*time.Second)
	tb.noErrors()
	tb.axe("/report?lang=ar")
	tb.screenshots("report-ar")
}

// clickReportMap clicks the middle of the report page's map with a real
// mouse event and returns the position under it.
func (tb *tab) clickReportMap() (lat, lon float64) {
	tb.t.Helper()
	var pt struct{ X, Y, Lat, Lon float64 }
	tb.eval(`(() => {
		const m = tocsin.reportMap, c = m.getContainer();
		c.scrollIntoView({block: 'center'});
		const r = c.getBoundingClientRect(), x = Math.round(r.width / 2), y = Math.round(r.height / 2);
		const ll = m.containerPointToLatLng([x, y]);
		return {x: r.left + x, y: r.top + y, lat: ll.lat, lon: ll.lng};
	})()`, &pt)
	tb.do(chromedp.MouseClickXY(pt.X, pt.Y))
	return pt.Lat, pt.Lon
}

// reportNotPwned fails if user text ran as script or became elements.
func (tb *tab) reportNotPwned() {
	tb.t.Helper()
	var res struct {
		Pwned any
		Imgs  int
	}
	tb.notPwned()
	tb.eval(`({pwned: window.__pwned || null, imgs: document.querySelectorAll('#report-result img, #pending-list img, #sent-list img').length})`, &res)
	if res.Pwned != nil || res.Imgs != 0 {
		tb.t.Fatalf("user text became markup: __pwned = %v, %d img elements in the lists", res.Pwned, res.Imgs)
	}
}

// reportGeolocation sets the tab's geolocation permission for origin and,
// when granted, the position the device reports (25 m accurate).
func (tb *tab) reportGeolocation(origin string, setting cdpbrowser.PermissionSetting, lat, lon float64) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: setting, Origin: origin,
			BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
		}); err != nil {
			return err
		}
		if setting != cdpbrowser.PermissionSettingGranted {
			return nil
		}
		acc := 25.0
		_, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc})
		return err
	}))
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return f
}

func reportIncidentCount(t *testing.T, base, token string) int {
	t.Helper()
	var list struct{ Total int }
	mustCall(t, 200, "GET", base+"/api/v1/incidents", token, nil, &list)
	return list.Total
}

// storedReport is a report as the API shows it to a verifier.
type storedReport struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	ObservedAt time.Time `json:"observed_at"`
	ReceivedAt time.Time `json:"received_at"`
	Category   string    `json:"category"`
	Event      string    `json:"event"`
	Text       string    `json:"text"`
	HasPhoto   bool      `json:"has_photo"`
}

// reportOnlyOne fails unless exactly one report has arrived, and returns it.
func reportOnlyOne(t *testing.T, base, token string) storedReport {
	t.Helper()
	var list struct {
		Incidents []struct{ ID string }
		Total     int
	}
	mustCall(t, 200, "GET", base+"/api/v1/incidents", token, nil, &list)
	if list.Total != 1 {
		t.Fatalf("%d incidents; want 1", list.Total)
	}
	var inc struct {
		Reports []storedReport `json:"reports"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/incidents/"+list.Incidents[0].ID, token, nil, &inc)
	if len(inc.Reports) != 1 {
		t.Fatalf("%d reports arrived; want exactly 1", len(inc.Reports))
	}
	return inc.Reports[0]
}

// reportCheckPhoto fetches a report's photo as a verifier and fails unless
// it is a fresh JPEG: it decodes, and its headers hold only tables, the
// frame and the scan, with no trace of the original's EXIF.
func reportCheckPhoto(t *testing.T, base, token, id string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/reports/"+id+"/photo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("photo: status %d, %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("stored photo does not decode: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 64 || r.Dy() != 48 {
		t.Errorf("stored photo is %v; want 64×48", r)
	}
	if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte(reportPhotoSecret)) {
		t.Fatal("the stored photo still holds its EXIF")
	}
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; i += 2 + int(binenc.BigEndian.Uint16(b[i+2:])) {
		switch m := b[i+1]; m {
		case 0xDB, 0xC0, 0xC4, 0xDD:
		case 0xDA:
			return
		default:
			t.Fatalf("the stored photo has a 0x%X segment", m)
		}
	}
	t.Fatal("the stored photo has no scan")
}

// reportTestJPEG is a 64×48 JPEG as a phone writes it: an APP1 Exif
// segment right after SOI, whose IFD0 points to a GPS IFD with a latitude
// and whose ImageDescription holds reportPhotoSecret.
func reportTestJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	img.Set(0, 0, color.White)
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, nil); err != nil {
		t.Fatal(err)
	}
	be := binenc.BigEndian
	tiff := []byte("II\x2a\x00\x08\x00\x00\x00") // little-endian, as most phones write
	le := binenc.LittleEndian
	entry := func(tag, typ uint16, count, value uint32) {
		tiff = le.AppendUint16(tiff, tag)
		tiff = le.AppendUint16(tiff, typ)
		tiff = le.AppendUint32(tiff, count)
		tiff = le.AppendUint32(tiff, value)
	}
	const (
		gpsAt  = 8 + 2 + 2*12 + 4     // after IFD0's two entries
		latAt  = gpsAt + 2 + 2*12 + 4 // after the GPS IFD's two entries
		descAt = latAt + 24           // after three rationals
	)
	tiff = le.AppendUint16(tiff, 2)
	entry(0x010E, 2, uint32(len(reportPhotoSecret)+1), descAt)
	entry(0x8825, 4, 1, gpsAt)
	tiff = le.AppendUint32(tiff, 0)
	tiff = le.AppendUint16(tiff, 2)
	entry(0x0001, 2, 2, 'N')
	entry(0x0002, 5, 3, latAt)
	tiff = le.AppendUint32(tiff, 0)
	for _, v := range []uint32{39, 1, 44, 1, 2112, 100} {
		tiff = le.AppendUint32(tiff, v)
	}
	tiff = append(append(tiff, reportPhotoSecret...), 0)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	var out bytes.Buffer
	out.Write(enc.Bytes()[:2])
	out.Write([]byte{0xFF, 0xE1})
	out.Write(be.AppendUint16(nil, uint16(len(app1)+2)))
	out.Write(app1)
	out.Write(enc.Bytes()[2:])
	return out.Bytes()
}

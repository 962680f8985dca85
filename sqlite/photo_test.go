package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// fakeJPEG is enough of a JPEG for the store, which takes the HTTP layer's
// re-encoded bytes as they are.
var fakeJPEG = []byte{0xFF, 0xD8, 0xFF, 0xDB, 0, 4, 1, 2, 0xFF, 0xD9}

func TestSubmitReport_Idempotent(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	raw := MustOpenRaw(t, db.Path)
	svc := sqlite.NewReportService(db)
	ctx := tocsin.NewContextWithClient(context.Background(), "phone")
	const key = "3f1c2a7e-5b8d-4e0f-9a61-2c4b8d7e9f10"

	first, err := svc.SubmitReport(ctx, newReport(39.7392, -104.9903, "Met"), key)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || first.ReportID == "" || first.IncidentID == "" || !strings.HasPrefix(first.Receipt, "rcpt_") || !strings.HasPrefix(first.PhotoToken, "pht_") {
		t.Fatalf("first submission %+v; want ids, a receipt and a photo token, not replayed", first)
	}
	// The phone lost the answer and sends the same report again.
	clk.Advance(time.Hour)
	again, err := svc.SubmitReport(ctx, newReport(39.7392, -104.9903, "Met"), key)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed {
		t.Error("the repeat is not marked as replayed")
	}
	again.Replayed = false
	if *again != *first {
		t.Errorf("repeat answered %+v; want the first answer %+v", again, first)
	}
	if n := countRows(t, raw, "reports"); n != 1 {
		t.Fatalf("%d reports after a repeat; want 1", n)
	}

	// Neither the key, the receipt nor the photo token is stored readable.
	dump := dumpText(t, raw)
	for _, secret := range []string{key, first.Receipt, first.PhotoToken} {
		if strings.Contains(dump, secret) {
			t.Errorf("the database holds %q in the clear", secret)
		}
	}

	// The same key for a different report is a conflict, and files nothing.
	other := newReport(39.7392, -104.9903, "Met")
	other.Text = "a different report"
	_, err = svc.SubmitReport(ctx, other, key)
	wantCode(t, err, tocsin.ECONFLICT)
	if n := countRows(t, raw, "reports"); n != 1 {
		t.Fatalf("%d reports after a conflicting key; want 1", n)
	}

	// Without a key every submission is a report of its own.
	for range 2 {
		if _, err := svc.SubmitReport(ctx, newReport(39.7392, -104.9903, "Met"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, raw, "reports"); n != 3 {
		t.Fatalf("%d reports; want 3", n)
	}

	// After the window the key is forgotten (and its row removed by the
	// next submission with a key).
	clk.Advance(tocsin.IdempotencyWindow)
	late, err := svc.SubmitReport(ctx, newReport(39.7392, -104.9903, "Met"), key)
	if err != nil {
		t.Fatal(err)
	}
	if late.Replayed || late.ReportID == first.ReportID {
		t.Errorf("a key older than the window replayed: %+v", late)
	}
	if n := countRows(t, raw, "report_idempotency"); n != 1 {
		t.Errorf("%d idempotency rows; want only the new one", n)
	}
}

func TestSubmitReport_BadKey(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewReportService(db)
	for _, key := range []string{"has space", "tab\tkey", "é", strings.Repeat("k", tocsin.MaxIdempotencyKey+1)} {
		_, err := svc.SubmitReport(context.Background(), newReport(39.7, -104.9, "Fire"), key)
		wantField(t, err, "Idempotency-Key")
	}
	// Invalid reports are refused as CreateReport refuses them.
	bad := newReport(39.7, -104.9, "Fire")
	bad.Text = " "
	_, err := svc.SubmitReport(context.Background(), bad, "k1")
	wantField(t, err, "text")
}

// TestSubmitReport_Concurrent sends the same report with the same key from
// many goroutines at once: exactly one report is filed and everyone gets
// its answer.
func TestSubmitReport_Concurrent(t *testing.T) {
	db := MustOpenDB(t)
	raw := MustOpenRaw(t, db.Path)
	svc := sqlite.NewReportService(db)
	const n = 8
	answers := make([]*tocsin.ReportSubmission, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers[i], errs[i] = svc.SubmitReport(context.Background(), newReport(39.7, -104.9, "Fire"), "same-key")
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if answers[i].ReportID != answers[0].ReportID || answers[i].Receipt != answers[0].Receipt {
			t.Errorf("submission %d answered report %s; want %s", i, answers[i].ReportID, answers[0].ReportID)
		}
	}
	if got := countRows(t, raw, "reports"); got != 1 {
		t.Fatalf("%d reports; want 1", got)
	}
}

func TestAttachPhoto(t *testing.T) {
	db := MustOpenDB(t)
	raw := MustOpenRaw(t, db.Path)
	svc := sqlite.NewReportService(db)
	anon := context.Background()
	sub, err := svc.SubmitReport(anon, newReport(39.7392, -104.9903, "Fire"), "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.SubmitReport(anon, newReport(39.7392, -104.9903, "Fire"), "")
	if err != nil {
		t.Fatal(err)
	}
	photo := func(id string) *tocsin.Photo {
		return &tocsin.Photo{ReportID: id, Width: 4, Height: 3, JPEG: fakeJPEG}
	}

	wantCode(t, svc.CheckPhotoToken(anon, sub.ReportID, ""), tocsin.EUNAUTHORIZED)
	wantCode(t, svc.AttachPhoto(anon, "", photo(sub.ReportID)), tocsin.EUNAUTHORIZED)
	// Another report's token, an unknown token and an unknown report all
	// look the same.
	wantCode(t, svc.AttachPhoto(anon, other.PhotoToken, photo(sub.ReportID)), tocsin.EFORBIDDEN)
	wantCode(t, svc.AttachPhoto(anon, "pht_nothing", photo(sub.ReportID)), tocsin.EFORBIDDEN)
	wantCode(t, svc.AttachPhoto(anon, sub.PhotoToken, photo("rep_unknown")), tocsin.EFORBIDDEN)
	// What is not a re-encoded JPEG is refused.
	notJPEG := photo(sub.ReportID)
	notJPEG.JPEG = []byte("GIF89a")
	wantField(t, svc.AttachPhoto(anon, sub.PhotoToken, notJPEG), "photo")
	huge := photo(sub.ReportID)
	huge.Width = tocsin.MaxPhotoSide + 1
	wantField(t, svc.AttachPhoto(anon, sub.PhotoToken, huge), "photo")
	if n := countRows(t, raw, "report_photos"); n != 0 {
		t.Fatalf("%d photos stored after refusals; want 0", n)
	}

	wantCode(t, svc.CheckPhotoToken(anon, sub.ReportID, sub.PhotoToken), "")
	p := photo(sub.ReportID)
	if err := svc.AttachPhoto(anon, sub.PhotoToken, p); err != nil {
		t.Fatal(err)
	}
	if p.Bytes != len(fakeJPEG) || !p.CreatedAt.Equal(t0) {
		t.Errorf("attached photo %+v; want its size and time set", p)
	}
	// A second upload (a retry whose answer was lost) is a conflict and
	// changes nothing.
	second := photo(sub.ReportID)
	second.JPEG = append(bytes.Clone(fakeJPEG), 0)
	wantCode(t, svc.AttachPhoto(anon, sub.PhotoToken, second), tocsin.ECONFLICT)

	// Only verifiers and up see it.
	_, err = svc.FindPhoto(anon, sub.ReportID)
	wantCode(t, err, tocsin.EUNAUTHORIZED)
	rctx, _ := MustPrincipal(t, db, "reporter", tocsin.RoleReporter)
	_, err = svc.FindPhoto(rctx, sub.ReportID)
	wantCode(t, err, tocsin.EFORBIDDEN)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	got, err := svc.FindPhoto(vctx, sub.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.JPEG, fakeJPEG) || got.Width != 4 || got.Height != 3 || got.Bytes != len(fakeJPEG) {
		t.Errorf("found photo %+v; want the one attached", got)
	}
	_, err = svc.FindPhoto(vctx, other.ReportID)
	wantCode(t, err, tocsin.ENOTFOUND)

	// The report says it has a photo; the other does not.
	reports, _, err := svc.FindReports(vctx, tocsin.ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if want := r.ID == sub.ReportID; r.HasPhoto != want {
			t.Errorf("report %s has_photo %v; want %v", r.ID, r.HasPhoto, want)
		}
	}

	// The upload is audited, without the image.
	events, err := sqlite.NewAuditService(db).FindAuditEvents(vctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range events {
		if e.Action == "report.photo" && e.Subject == sub.ReportID {
			audited = true
			if want := fmt.Sprintf(`"bytes":%d`, len(fakeJPEG)); !strings.Contains(string(e.Detail), want) {
				t.Errorf("audit detail %s; want %s", e.Detail, want)
			}
		}
	}
	if !audited {
		t.Error("the photo upload is not in the audit log")
	}
}

// TestAttachPhoto_NeedsIntake: a report made through CreateReport has no
// photo token, so no photo can be attached to it.
func TestAttachPhoto_NeedsIntake(t *testing.T) {
	db := MustOpenDB(t)
	r := MustReport(t, context.Background(), db, newReport(39.7, -104.9, "Fire"))
	err := sqlite.NewReportService(db).AttachPhoto(context.Background(), "pht_guess", &tocsin.Photo{ReportID: r.ID, Width: 1, Height: 1, JPEG: fakeJPEG})
	wantCode(t, err, tocsin.EFORBIDDEN)
}

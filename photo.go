package tocsin

import (
	"context"
	"time"
)

// Photo is a picture a reporter attached to a report. It is always a JPEG
// that the server decoded and re-encoded itself, so it carries none of the
// original file's metadata: no EXIF (GPS position, camera, time), XMP, ICC
// profile or comments.
type Photo struct {
	ReportID  string    `json:"report_id"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Bytes     int       `json:"bytes"`
	CreatedAt time.Time `json:"created_at"`
	// JPEG is the image.
	JPEG []byte `json:"-"`
}

// Limits on photos. An upload larger than MaxPhotoBytes is refused unread; an
// image of more than MaxPhotoPixels is refused before it is decoded, from its
// header alone, so that a small file claiming a huge picture (a decompression
// bomb) costs nothing. What is kept is at most MaxPhotoSide pixels on its
// long side.
const (
	MaxPhotoBytes  = 10 << 20
	MaxPhotoPixels = 40_000_000
	MaxPhotoSide   = 2048
)

// IdempotencyWindow is how long a report's idempotency key is remembered.
const IdempotencyWindow = 24 * time.Hour

// MaxIdempotencyKey is the longest idempotency key accepted.
const MaxIdempotencyKey = 255

// ReportSubmission is what the reporter of a report taken in by
// ReportIntake.SubmitReport is given.
type ReportSubmission struct {
	ReportID   string `json:"id"`
	IncidentID string `json:"incident_id"`
	// Receipt is the reporter's anonymous proof of the report.
	Receipt string `json:"receipt"`
	// PhotoToken lets whoever holds it attach a photo to this report, and
	// nothing else. Like the receipt, only its hash is stored.
	PhotoToken string `json:"photo_token"`
	// Replayed is set when the submission repeated an earlier one with the
	// same idempotency key: nothing new was stored, and the answer is the
	// earlier one.
	Replayed bool `json:"-"`
}

// ReportIntake takes in reports from people on poor connections, who may
// send the same report twice when an answer is lost, and lets each reporter
// attach a photo to their own report.
type ReportIntake interface {
	// SubmitReport is ReportService.CreateReport that also issues the
	// report's photo token. With a non-empty idempotency key the answer is
	// kept under the key for IdempotencyWindow: a repeat with the same key
	// and the same report returns that answer (Replayed) and stores nothing.
	// EINVALID for bad fields or a malformed key; ECONFLICT when the key was
	// used for a different report.
	SubmitReport(ctx context.Context, r *Report, idempotencyKey string) (*ReportSubmission, error)
	// CheckPhotoToken reports whether photoToken is the photo token of
	// report reportID: EUNAUTHORIZED when it is empty, EFORBIDDEN when it is
	// not that report's (an unknown report included).
	CheckPhotoToken(ctx context.Context, reportID, photoToken string) error
	// AttachPhoto stores p, already re-encoded without metadata, as the photo
	// of report p.ReportID for the holder of its photo token, and sets
	// p.Bytes and p.CreatedAt. The errors of CheckPhotoToken, EINVALID for a
	// photo that is not a JPEG, and ECONFLICT when the report already has a
	// photo (so that a retried upload can tell it arrived).
	AttachPhoto(ctx context.Context, photoToken string, p *Photo) error
	// FindPhoto returns the photo of a report. EUNAUTHORIZED or EFORBIDDEN
	// below verifier, ENOTFOUND when the report has none.
	FindPhoto(ctx context.Context, reportID string) (*Photo, error)
}

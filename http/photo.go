package http

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// Photos. A reporter attaches a photo to their report with
//
//	POST /api/v1/reports/{id}/photo   (multipart/form-data: photo_token, photo)
//
// where photo_token is the one the answer to POST /api/v1/reports gave. The
// image is never stored as sent: sanitizePhoto decodes it (JPEG or PNG),
// after refusing from its header alone one that would take too much memory
// to decode, turns it upright by its EXIF orientation, scales it down to
// tocsin.MaxPhotoSide, and encodes a fresh JPEG, which carries no metadata
// (EXIF with its GPS position, XMP, ICC profiles, comments). Verifiers see
// it at GET /api/v1/reports/{id}/photo.

// EMEDIATYPE is the HTTP layer's code for a body of a type it does not take.
const EMEDIATYPE = "unsupported_media_type"

// PhotoUploadTimeout is how long a photo upload may take to arrive: longer
// than other requests get, for phones on slow connections.
const PhotoUploadTimeout = 3 * time.Minute

// PhotoQuality is the JPEG quality photos are stored at.
const PhotoQuality = 85

// maxPhotoDecodeBytes bounds the memory one decode may need, estimated from
// the image's header before decoding; maxPhotoDecodes is how many photos are
// decoded at once.
const (
	maxPhotoDecodeBytes = 256 << 20
	maxPhotoDecodes     = 2
)

// maxPhotoForm is the largest photo upload body: the photo and the form
// around it.
const maxPhotoForm = tocsin.MaxPhotoBytes + 64<<10

// photoTooLarge is the 413 that names the limit.
var photoTooLarge = &tocsin.Error{Code: tocsin.ETOOLARGE,
	Message: fmt.Sprintf("the photo is larger than the limit of %d MiB (%d bytes)", tocsin.MaxPhotoBytes>>20, tocsin.MaxPhotoBytes),
	Fields:  []tocsin.FieldError{{Field: "photo", Detail: fmt.Sprintf("must be at most %d bytes", tocsin.MaxPhotoBytes)}}}

func photoInvalid(format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	return &tocsin.Error{Code: tocsin.EINVALID, Message: "photo: " + detail, Fields: []tocsin.FieldError{{Field: "photo", Detail: detail}}}
}

// handleUploadPhoto serves POST /api/v1/reports/{id}/photo.
func (s *Server) handleUploadPhoto(w http.ResponseWriter, r *http.Request) {
	if s.Intake == nil {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "this server takes no photos"))
		return
	}
	if r.ContentLength > maxPhotoForm {
		s.Error(w, r, photoTooLarge)
		return
	}
	// The server's read timeout is for ordinary requests; a photo from a
	// phone on a poor connection may take longer. (Not every writer
	// supports deadlines; the default then stays.)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(PhotoUploadTimeout))
	id := r.PathValue("id")
	token, data, err := readPhotoForm(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	// The token is checked before the image costs any decoding.
	if err := s.Intake.CheckPhotoToken(r.Context(), id, token); err != nil {
		s.Error(w, r, err)
		return
	}
	photo, err := s.sanitizePhoto(r.Context(), data)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	photo.ReportID = id
	if err := s.Intake.AttachPhoto(r.Context(), token, photo); err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/reports/"+id+"/photo")
	writeJSON(w, http.StatusCreated, photo)
}

// readPhotoForm reads the multipart body of a photo upload: its photo_token
// and photo fields, in either order.
func readPhotoForm(w http.ResponseWriter, r *http.Request) (token string, data []byte, err error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return "", nil, tocsin.Errorf(EMEDIATYPE, "send the photo as multipart/form-data with the fields photo_token and photo")
	}
	if params["boundary"] == "" {
		return "", nil, tocsin.Errorf(tocsin.EINVALID, "the multipart/form-data Content-Type has no boundary")
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxPhotoForm), params["boundary"])
	var sawToken bool
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return "", nil, formError(err)
		}
		switch name := part.FormName(); name {
		case "photo_token":
			b, err := io.ReadAll(io.LimitReader(part, 512))
			if err != nil {
				return "", nil, formError(err)
			}
			token, sawToken = strings.TrimSpace(string(b)), true
		case "photo":
			if data != nil {
				return "", nil, photoInvalid("send one photo per report")
			}
			if data, err = io.ReadAll(io.LimitReader(part, tocsin.MaxPhotoBytes+1)); err != nil {
				return "", nil, formError(err)
			}
			if len(data) > tocsin.MaxPhotoBytes {
				return "", nil, photoTooLarge
			}
		default:
			return "", nil, &tocsin.Error{Code: tocsin.EINVALID, Message: fmt.Sprintf("unknown field %q", name),
				Fields: []tocsin.FieldError{{Field: name, Detail: "is not a field of this request; send photo_token and photo"}}}
		}
	}
	if data == nil {
		return "", nil, photoInvalid("is required: a JPEG or PNG image in the form field photo")
	}
	if !sawToken || token == "" {
		return "", nil, tocsin.Errorf(tocsin.EUNAUTHORIZED, "a photo_token is required: the one in the answer that created the report")
	}
	return token, data, nil
}

// formError turns a failure to read a multipart body into a client error.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return photoTooLarge
	}
	return tocsin.Errorf(tocsin.EINVALID, "the multipart body could not be read: %v", err)
}

// handleGetPhoto serves GET /api/v1/reports/{id}/photo to verifiers and up.
func (s *Server) handleGetPhoto(w http.ResponseWriter, r *http.Request) {
	if s.Intake == nil {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "this server takes no photos"))
		return
	}
	p, err := s.Intake.FindPhoto(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(p.JPEG)))
	// Only the verifier's own browser may keep it, and not for long: a
	// report may be deleted, and the role taken away.
	h.Set("Cache-Control", "private, max-age=600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Content-Disposition", `inline; filename="`+p.ReportID+`.jpg"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(p.JPEG)
	}
}

// sanitizePhoto runs sanitizePhoto with at most maxPhotoDecodes others,
// waiting for a turn as long as the request lasts.
func (s *Server) sanitizePhoto(ctx context.Context, data []byte) (*tocsin.Photo, error) {
	select {
	case s.photoDecodes <- struct{}{}:
		defer func() { <-s.photoDecodes }()
	case <-ctx.Done():
		return nil, tocsin.Errorf(tocsin.EUNAVAILABLE, "the server is busy with other photos; try again")
	}
	return sanitizePhoto(data)
}

// sanitizePhoto turns an uploaded image into the JPEG that is stored: it
// refuses what is not a JPEG or PNG (EMEDIATYPE), what is larger than
// tocsin.MaxPhotoBytes (ETOOLARGE), and, from its header alone before any
// decoding, what has more than tocsin.MaxPhotoPixels or would need more than
// maxPhotoDecodeBytes to decode (EINVALID); then decodes it, turns it
// upright by its EXIF orientation, scales it to at most tocsin.MaxPhotoSide
// on its long side over a white background, and encodes a new JPEG, which
// holds the pixels and nothing else.
func sanitizePhoto(data []byte) (*tocsin.Photo, error) {
	if len(data) == 0 {
		return nil, photoInvalid("is empty")
	}
	if len(data) > tocsin.MaxPhotoBytes {
		return nil, photoTooLarge
	}
	var (
		cfg         image.Config
		err         error
		decode      func(io.Reader) (image.Image, error)
		orientation = 1
		need        int64
	)
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		if cfg, err = jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, photoInvalid("is not a readable JPEG image: %v", err)
		}
		info := scanJPEG(data)
		orientation, need = info.orientation, info.decodeBytes(cfg)
		decode = jpeg.Decode
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		if cfg, err = png.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, photoInvalid("is not a readable PNG image: %v", err)
		}
		need = int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel)
		decode = png.Decode
	default:
		return nil, &tocsin.Error{Code: EMEDIATYPE, Message: "the photo must be a JPEG or PNG image",
			Fields: []tocsin.FieldError{{Field: "photo", Detail: "must be a JPEG or PNG image"}}}
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	switch {
	case cfg.Width < 1 || cfg.Height < 1:
		return nil, photoInvalid("has no pixels")
	case pixels > tocsin.MaxPhotoPixels:
		return nil, photoInvalid("is %d×%d pixels, more than the %d megapixels allowed", cfg.Width, cfg.Height, tocsin.MaxPhotoPixels/1_000_000)
	case need > maxPhotoDecodeBytes:
		return nil, photoInvalid("is %d×%d pixels in a form too large to decode; send it smaller", cfg.Width, cfg.Height)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, photoInvalid("could not be decoded: %v", err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, photoInvalid("is not the size its header says")
	}
	out := orient(downscale(img, tocsin.MaxPhotoSide), orientation)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: PhotoQuality}); err != nil {
		return nil, fmt.Errorf("encode photo: %w", err)
	}
	b := out.Bounds()
	return &tocsin.Photo{Width: b.Dx(), Height: b.Dy(), Bytes: buf.Len(), JPEG: buf.Bytes()}, nil
}

// bytesPerPixel is how much memory a decoded pixel of model takes.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// jpegInfo is what scanJPEG finds in a JPEG's headers.
type jpegInfo struct {
	orientation int // EXIF orientation, 1 (upright) to 8
	progressive bool
	sampling    [][2]int // each component's horizontal and vertical sampling factors
}

// scanJPEG walks a JPEG's marker segments up to its first scan, reading the
// EXIF orientation (tag 0x0112 of IFD0 in the first APP1 Exif segment) and
// the frame's kind and sampling. Whatever it cannot read it leaves at the
// defaults: upright, baseline, no sampling known.
func scanJPEG(b []byte) jpegInfo {
	info := jpegInfo{orientation: 1}
	sawExif := false
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return info
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // markers without a length
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // start of scan, end of image
			return info
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return info
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m == 0xE1 && !sawExif && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			sawExif = true
			info.orientation = exifOrientation(seg[6:])
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC: // start of frame
			info.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			if len(seg) >= 6 {
				nc := int(seg[5])
				info.sampling = nil
				for c := 0; c < nc && 6+3*c+1 < len(seg); c++ {
					hv := seg[6+3*c+1]
					info.sampling = append(info.sampling, [2]int{int(hv >> 4), int(hv & 15)})
				}
			}
		}
		i += 2 + n
	}
	return info
}

// decodeBytes estimates the memory image/jpeg needs to decode an image of
// cfg: a byte per sample of each component at its sampling, and for a
// progressive image its coefficients too (four bytes a sample).
func (info jpegInfo) decodeBytes(cfg image.Config) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	perSample := int64(1)
	if info.progressive {
		perSample += 4
	}
	hmax, vmax := 1, 1
	for _, s := range info.sampling {
		hmax, vmax = max(hmax, s[0]), max(vmax, s[1])
	}
	if len(info.sampling) == 0 {
		return pixels * 4 * perSample
	}
	var need int64
	for _, s := range info.sampling {
		h, v := max(s[0], 1), max(s[1], 1)
		need += pixels * int64(h*v) / int64(hmax*vmax) * perSample
	}
	return need
}

// exifOrientation reads the orientation tag of a TIFF structure (the body
// of an Exif segment): 1 to 8, or 1 when it is absent or unreadable.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	n := int64(bo.Uint16(t[ifd:]))
	for e := ifd + 2; e+12 <= int64(len(t)) && e < ifd+2+12*n; e += 12 {
		// An entry: tag, type (3 = SHORT), count, value.
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 && bo.Uint32(t[e+4:]) == 1 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// downscale draws src over white into a new RGBA image of at most maxSide
// pixels on its long side, each target pixel the average of the source
// pixels that fall in it (a box filter: one pass over the source, a row of
// sums in memory). An image that fits is copied at its size.
func downscale(src image.Image, maxSide int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dw, dh := sw, sh
	if sw >= sh && sw > maxSide {
		dw, dh = maxSide, max(1, int((int64(sh)*int64(maxSide)+int64(sw)/2)/int64(sw)))
	} else if sh > sw && sh > maxSide {
		dw, dh = max(1, int((int64(sw)*int64(maxSide)+int64(sh)/2)/int64(sh))), maxSide
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// Source column x falls in target column xmap[x]; every target column
	// gets at least one, as dw ≤ sw.
	xmap := make([]int, sw)
	for x := range xmap {
		xmap[x] = int(int64(x) * int64(dw) / int64(sw))
	}
	sums := make([]uint64, 4*dw) // red, green, blue, count
	row := make([]uint8, 3*sw)
	flush := func(ty int) {
		for tx := 0; tx < dw; tx++ {
			s := sums[4*tx : 4*tx+4]
			if s[3] == 0 {
				continue
			}
			o := dst.PixOffset(tx, ty)
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(s[0]/s[3]), uint8(s[1]/s[3]), uint8(s[2]/s[3]), 0xFF
			s[0], s[1], s[2], s[3] = 0, 0, 0, 0
		}
	}
	ty := 0
	for y := 0; y < sh; y++ {
		if t := int(int64(y) * int64(dh) / int64(sh)); t != ty {
			flush(ty)
			ty = t
		}
		readRow(src, b.Min.Y+y, row)
		for x := 0; x < sw; x++ {
			s := sums[4*xmap[x]:]
			s[0] += uint64(row[3*x])
			s[1] += uint64(row[3*x+1])
			s[2] += uint64(row[3*x+2])
			s[3]++
		}
	}
	flush(ty)
	return dst
}

// readRow writes row y of src into row as 8-bit red, green, blue over white,
// with fast paths for what the decoders return.
func readRow(src image.Image, y int, row []uint8) {
	b := src.Bounds()
	w := b.Dx()
	over := func(c, a uint32) uint8 { return uint8((c*a + 255*(255-a) + 127) / 255) }
	switch m := src.(type) {
	case *image.YCbCr:
		for x := 0; x < w; x++ {
			yi, ci := m.YOffset(b.Min.X+x, y), m.COffset(b.Min.X+x, y)
			row[3*x], row[3*x+1], row[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	case *image.Gray:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := 0; x < w; x++ {
			row[3*x], row[3*x+1], row[3*x+2] = p[x], p[x], p[x]
		}
	case *image.NRGBA:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := 0; x < w; x++ {
			a := uint32(p[4*x+3])
			row[3*x], row[3*x+1], row[3*x+2] = over(uint32(p[4*x]), a), over(uint32(p[4*x+1]), a), over(uint32(p[4*x+2]), a)
		}
	case *image.RGBA:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := 0; x < w; x++ {
			// Premultiplied: the colour already carries its alpha.
			white := 255 - p[4*x+3]
			row[3*x], row[3*x+1], row[3*x+2] = p[4*x]+white, p[4*x+1]+white, p[4*x+2]+white
		}
	case *image.CMYK:
		p := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := 0; x < w; x++ {
			row[3*x], row[3*x+1], row[3*x+2] = color.CMYKToRGB(p[4*x], p[4*x+1], p[4*x+2], p[4*x+3])
		}
	default:
		for x := 0; x < w; x++ {
			r, g, bl, a := src.At(b.Min.X+x, y).RGBA() // premultiplied, 16 bits
			white := 0xFFFF - a
			row[3*x], row[3*x+1], row[3*x+2] = uint8((r+white)>>8), uint8((g+white)>>8), uint8((bl+white)>>8)
		}
	}
}

// orient turns an image stored in EXIF orientation o upright.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-dx, dy
			case 3: // upside down
				sx, sy = w-1-dx, h-1-dy
			case 4: // mirrored upside down
				sx, sy = dx, h-1-dy
			case 5: // mirrored, turned a quarter anticlockwise
				sx, sy = dy, dx
			case 6: // turned a quarter anticlockwise: turn it clockwise
				sx, sy = dy, h-1-dx
			case 7: // mirrored, turned a quarter clockwise
				sx, sy = w-1-dy, h-1-dx
			case 8: // turned a quarter clockwise: turn it anticlockwise
				sx, sy = w-1-dy, dx
			}
			copy(dst.Pix[dst.PixOffset(dx, dy):dst.PixOffset(dx, dy)+4], src.Pix[src.PixOffset(sx, sy):src.PixOffset(sx, sy)+4])
		}
	}
	return dst
}

package http

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/tocsin/tocsin"
)

// PhotoSecret is text the test photos hide in their metadata (an EXIF
// ImageDescription beside a GPS position, an XMP packet, a JPEG comment):
// none of it may survive sanitizing.
const PhotoSecret = "GPS-SECRET-39.7392N-104.9903W"

// JPEGWithMetadata encodes img as a JPEG and splices in, right after its
// SOI marker, what phones write there: an APP1 Exif segment (IFD0 with the
// EXIF orientation, an ImageDescription and a GPS IFD holding a latitude and
// longitude), an APP1 XMP packet and a comment, each carrying PhotoSecret.
func JPEGWithMetadata(tb testing.TB, img image.Image, orientation int) []byte {
	tb.Helper()
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 92}); err != nil {
		tb.Fatal(err)
	}
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"),
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="39,44.352N" dc:description="`+PhotoSecret+`"/></x:xmpmeta>`...)
	var out bytes.Buffer
	out.Write(enc.Bytes()[:2])
	writeSegment(&out, 0xE1, append([]byte("Exif\x00\x00"), exifTIFF(orientation)...))
	writeSegment(&out, 0xE1, xmp)
	writeSegment(&out, 0xFE, []byte(PhotoSecret))
	out.Write(enc.Bytes()[2:])
	return out.Bytes()
}

func writeSegment(w *bytes.Buffer, marker byte, payload []byte) {
	w.Write([]byte{0xFF, marker})
	binary.Write(w, binary.BigEndian, uint16(len(payload)+2))
	w.Write(payload)
}

// exifTIFF builds a big-endian TIFF structure: IFD0 (ImageDescription,
// Orientation, a pointer to the GPS IFD) and a GPS IFD with 39°44'21.12"N
// 104°59'25.08"W.
func exifTIFF(orientation int) []byte {
	be := binary.BigEndian
	const ifd0, gps, latAt, lonAt, descAt = 8, 50, 104, 128, 152
	b := []byte("MM\x00\x2a")
	b = be.AppendUint32(b, ifd0)
	entry := func(tag, typ uint16, count, value uint32) {
		b = be.AppendUint16(b, tag)
		b = be.AppendUint16(b, typ)
		b = be.AppendUint32(b, count)
		b = be.AppendUint32(b, value)
	}
	b = be.AppendUint16(b, 3)
	entry(0x010E, 2, uint32(len(PhotoSecret)+1), descAt) // ImageDescription
	entry(0x0112, 3, 1, uint32(orientation)<<16)         // Orientation (a SHORT, left-justified)
	entry(0x8825, 4, 1, gps)                             // GPS IFD
	b = be.AppendUint32(b, 0)
	b = be.AppendUint16(b, 4)
	entry(0x0001, 2, 2, 'N'<<24) // GPSLatitudeRef
	entry(0x0002, 5, 3, latAt)   // GPSLatitude
	entry(0x0003, 2, 2, 'W'<<24) // GPSLongitudeRef
	entry(0x0004, 5, 3, lonAt)   // GPSLongitude
	b = be.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{39, 1}, {44, 1}, {2112, 100}, {104, 1}, {59, 1}, {2508, 100}} {
		b = be.AppendUint32(b, r[0])
		b = be.AppendUint32(b, r[1])
	}
	return append(append(b, PhotoSecret...), 0)
}

// CheckSanitizedJPEG fails unless b is a JPEG that decodes to w×h and whose
// headers hold nothing but what an encoder needs (quantization and Huffman
// tables, the frame, the scan): no APPn segment, no comment.
func CheckSanitizedJPEG(tb testing.TB, b []byte, w, h int) {
	tb.Helper()
	if err := checkSanitizedJPEG(b, w, h); err != nil {
		tb.Fatal(err)
	}
}

func checkSanitizedJPEG(b []byte, w, h int) error {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("sanitized photo does not decode: %v", err)
	}
	if got := img.Bounds(); got.Dx() != w || got.Dy() != h {
		return fmt.Errorf("sanitized photo is %v; want %d×%d", got, w, h)
	}
	if w > tocsin.MaxPhotoSide || h > tocsin.MaxPhotoSide {
		return fmt.Errorf("sanitized photo is %d×%d, more than %d on a side", w, h, tocsin.MaxPhotoSide)
	}
	for i := 2; ; {
		if i+4 > len(b) || b[i] != 0xFF {
			return fmt.Errorf("sanitized photo: no marker at %d", i)
		}
		m := b[i+1]
		switch m {
		case 0xDB, 0xC0, 0xC4, 0xDD: // DQT, SOF0, DHT, DRI
		case 0xDA: // the scan: the headers are over
			if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte(PhotoSecret)) || bytes.Contains(b, []byte("xmpmeta")) {
				return errors.New("sanitized photo still holds metadata")
			}
			return nil
		default:
			return fmt.Errorf("sanitized photo has a marker segment 0x%X: only tables, the frame and the scan may be left", m)
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
}

// testImage is a w×h picture: red on the left half, blue on the right.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{200, 20, 20, 255}
			if x >= w/2 {
				c = color.RGBA{20, 20, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// FuzzSanitizePhoto feeds arbitrary bytes to the photo sanitizer: it must
// never panic, and must either refuse with a client error or return a JPEG
// of the size it says, at most MaxPhotoSide on a side, without metadata.
func FuzzSanitizePhoto(f *testing.F) {
	small := testImage(24, 16)
	f.Add(JPEGWithMetadata(f, small, 6))
	f.Add(JPEGWithMetadata(f, small, 1))
	var p bytes.Buffer
	png.Encode(&p, small)
	f.Add(p.Bytes())
	nrgba := image.NewNRGBA(image.Rect(0, 0, 5, 7))
	nrgba.Pix[3] = 0x80
	p.Reset()
	png.Encode(&p, nrgba)
	f.Add(p.Bytes())
	gray := image.NewGray16(image.Rect(0, 0, 3, 3))
	p.Reset()
	png.Encode(&p, gray)
	f.Add(p.Bytes())
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.White, color.Black})
	p.Reset()
	png.Encode(&p, pal)
	f.Add(p.Bytes())
	j := JPEGWithMetadata(f, small, 8)
	f.Add(j[:len(j)/2])
	f.Add([]byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("GIF89a"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		photo, err := sanitizePhoto(data)
		if err != nil {
			var e *tocsin.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %q (%T) is not a *tocsin.Error", err, err)
			}
			if e.Code != tocsin.EINVALID && e.Code != tocsin.ETOOLARGE && e.Code != EMEDIATYPE {
				t.Fatalf("error code %q; want invalid, too_large or unsupported_media_type (%v)", e.Code, err)
			}
			return
		}
		if photo.Bytes != len(photo.JPEG) {
			t.Fatalf("photo says %d bytes, has %d", photo.Bytes, len(photo.JPEG))
		}
		if err := checkSanitizedJPEG(photo.JPEG, photo.Width, photo.Height); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSanitizePhoto_Orientation: a picture taken with the phone turned
// (EXIF orientation 6, the pixels stored lying on their side) is stored
// upright: its left half, red, ends up on top.
func TestSanitizePhoto_Orientation(t *testing.T) {
	for _, tt := range []struct {
		orientation   int
		w, h          int
		first, second string // where red is, then blue: the halves' order
	}{
		{1, 64, 32, "left", "right"},
		{3, 64, 32, "right", "left"},
		{6, 32, 64, "top", "bottom"},
		{8, 32, 64, "bottom", "top"},
	} {
		t.Run(fmt.Sprint(tt.orientation), func(t *testing.T) {
			photo, err := sanitizePhoto(JPEGWithMetadata(t, testImage(64, 32), tt.orientation))
			if err != nil {
				t.Fatal(err)
			}
			CheckSanitizedJPEG(t, photo.JPEG, tt.w, tt.h)
			img, _ := jpeg.Decode(bytes.NewReader(photo.JPEG))
			red := func(x, y int) bool { r, _, b, _ := img.At(x, y).RGBA(); return r > b }
			var a, b bool // red at the first and the second place
			switch tt.first {
			case "left":
				a, b = red(4, 16), red(60, 16)
			case "right":
				a, b = red(60, 16), red(4, 16)
			case "top":
				a, b = red(16, 4), red(16, 60)
			case "bottom":
				a, b = red(16, 60), red(16, 4)
			}
			if !a || b {
				t.Errorf("orientation %d: red should be on the %s and blue on the %s", tt.orientation, tt.first, tt.second)
			}
		})
	}
}

// TestSanitizePhoto_Downscale: a large picture is scaled to MaxPhotoSide
// on its long side, keeping its shape and its colours; transparency turns
// white.
func TestSanitizePhoto_Downscale(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3000, 1000))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0, 120, 0, 255
	}
	// The top-left corner is transparent.
	for y := 0; y < 100; y++ {
		for x := 0; x < 300; x++ {
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0})
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	photo, err := sanitizePhoto(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	CheckSanitizedJPEG(t, photo.JPEG, 2048, 683)
	out, _ := jpeg.Decode(bytes.NewReader(photo.JPEG))
	if r, g, b, _ := out.At(1000, 400).RGBA(); g>>8 < 100 || r>>8 > 30 || b>>8 > 30 {
		t.Errorf("middle pixel %v; want the green", out.At(1000, 400))
	}
	if r, g, b, _ := out.At(20, 20).RGBA(); r>>8 < 235 || g>>8 < 235 || b>>8 < 235 {
		t.Errorf("transparent corner %v; want white", out.At(20, 20))
	}
}

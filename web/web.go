// Package web holds the front end of tocsin's pages: our own scripts, styles
// and service worker under static/, and the npm packages that
// scripts/build-web copies into static/vendor at build time (never
// committed). The binary embeds static/ whole; package http serves it.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed static
var files embed.FS

// Static is the static/ folder: served under /static/, except sw.js, which
// is served at /sw.js so that the service worker's scope is the whole site.
var Static = mustSub(files, "static")

// HasMap reports whether Leaflet was built in (scripts/build-web). Without
// it the pages still work: they list areas and take coordinates as text.
func HasMap() bool {
	_, err := fs.Stat(Static, "vendor/leaflet/leaflet.js")
	return err == nil
}

// Version is a short hash of every embedded file, appended to asset URLs so
// that browsers may cache them for good and still see a new build at once.
var Version = sync.OnceValue(func() string {
	h := sha256.New()
	fs.WalkDir(Static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Static, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
})

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

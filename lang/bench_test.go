//go:build unix

package lang

import (
	"context"
	"strings"
	"testing"
	"time"
)

// benchSentences are ten ordinary alert sentences, 8–15 words each.
var benchSentences = []string{
	"Flooding near Cherry Creek, ICE agents on site.",
	"The water is rising quickly along the creek and the underpass is closed.",
	"Residents of the east side should move to higher ground before dark.",
	"A shelter has opened at the high school on Main Street.",
	"Do not drive through flooded roads, even if the water looks shallow.",
	"Police are asking people to stay away from the river banks tonight.",
	"Power is out in several neighborhoods and crews are working to restore it.",
	"Bring medicines, documents and pets if you leave your home.",
	"Check on older neighbors who may need help to leave.",
	"More rain is expected tomorrow afternoon, and the river may rise again.",
}

func benchTranslate(b *testing.B, tr Translator, perCall int) {
	text := strings.Join(benchSentences[:perCall], " ")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, _, err := Translate(ctx, tr, text, "en", "es", []string{"Cherry Creek", "ICE"}); err != nil { // warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Translate(ctx, tr, text, "en", "es", []string{"Cherry Creek", "ICE"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(perCall*b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkTranslateCLI: one apertium run per call, so the pair is loaded
// every time; one sentence per call, and a paragraph of ten.
func BenchmarkTranslateCLI(b *testing.B) {
	cli := requireApertium(b)
	b.Run("1sentence", func(b *testing.B) { benchTranslate(b, cli, 1) })
	b.Run("10sentences", func(b *testing.B) { benchTranslate(b, cli, 10) })
}

// BenchmarkTranslateAPy: the pipeline stays loaded in apertium-apy.
func BenchmarkTranslateAPy(b *testing.B) {
	apy := testAPy(b)
	b.Run("1sentence", func(b *testing.B) { benchTranslate(b, apy, 1) })
	b.Run("10sentences", func(b *testing.B) { benchTranslate(b, apy, 10) })
}

// BenchmarkRenderAll renders one template alert in all 15 locales.
func BenchmarkRenderAll(b *testing.B) {
	tz := denver(b)
	params := map[string]string{"area": "Cherry Creek", "until": "2026-03-04T18:00:00-07:00", "action": "higher_ground"}
	if err := Check(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := RenderAll("flash_flood", params, RenderOptions{TimeZone: tz}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad parses and checks every embedded catalog and template, the
// one-time cost of the first use (or of Check at start).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := load(files); err != nil {
			b.Fatal(err)
		}
	}
}

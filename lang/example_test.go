package lang_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tocsin/tocsin/lang"
)

func ExampleMatch() {
	fmt.Println(lang.Match([]string{"zh-TW"}), lang.Match([]string{"es-MX"}), lang.Match(lang.AcceptLanguage("fil-PH,en;q=0.5")))
	// Output: zh-Hant es tl
}

func ExampleRender() {
	tz, _ := time.LoadLocation("America/Denver")
	r, err := lang.Render("flash_flood", map[string]string{
		"area":  "Cherry Creek",
		"until": "2026-03-04T18:00:00-07:00",
	}, lang.RenderOptions{Locale: "es", TimeZone: tz})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Headline)
	fmt.Println(r.Short)
	fmt.Println(r.Provenance)
	// Output:
	// Aviso de inundación repentina: Cherry Creek
	// Aviso de inundación repentina para Cherry Creek hasta el miércoles 4 de marzo, 18:00 MST. Vaya a un terreno más alto ahora. No camine ni maneje por el agua.
	// template:flash_flood@1
}

func ExampleProtect() {
	masked, restore := lang.Protect("Flooding near Cherry Creek, ICE agents on site.", []string{"Cherry Creek", "ICE"})
	fmt.Println(masked)
	// What Apertium's en→es pair makes of the masked text:
	fmt.Println(restore(`Inundando cerca <x id="0"/>, <x id="1"/> agentes encima sitio.`))
	// Output:
	// Flooding near <x id="0"/>, <x id="1"/> agents on site.
	// Inundando cerca Cherry Creek, ICE agentes encima sitio.
}

func ExampleTranslate() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	text, provenance, err := lang.Translate(ctx, &lang.CLI{}, "Flooding near Cherry Creek, ICE agents on site.",
		"en", "es", []string{"Cherry Creek", "ICE"})
	if err != nil {
		panic(err)
	}
	fmt.Println(text)
	fmt.Println(provenance)
	// Output:
	// Inundando cerca Cherry Creek, ICE agentes encima sitio.
	// machine:apertium:eng-spa
}

package lang

import (
	"slices"
	"testing"
)

func TestLocales(t *testing.T) {
	want := []string{"en", "ar", "zh-Hans", "zh-Hant", "fr", "de", "ht", "hi", "it", "ko", "pt", "ru", "es", "tl", "vi"}
	if got := LocaleCodes(); !slices.Equal(got, want) {
		t.Fatalf("LocaleCodes() = %v, want %v", got, want)
	}
	for _, l := range Locales() {
		if l.Name == "" || l.Native == "" {
			t.Errorf("%s: names %q / %q", l.Code, l.Name, l.Native)
		}
		wantDir := "ltr"
		if l.Code == "ar" {
			wantDir = "rtl"
		}
		if l.Dir != wantDir || l.RTL() != (wantDir == "rtl") {
			t.Errorf("%s: Dir = %q, want %q", l.Code, l.Dir, wantDir)
		}
	}
	// Locales returns a copy: a caller cannot change the package's list.
	ls := Locales()
	ls[0].Code = "xx"
	if Locales()[0].Code != "en" {
		t.Fatal("Locales exposes the package's slice")
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		want   string
	}{
		{nil, "en"},
		{[]string{"zh-TW"}, "zh-Hant"},
		{[]string{"zh-HK"}, "zh-Hant"},
		{[]string{"zh-Hant-US"}, "zh-Hant"},
		{[]string{"zh_TW"}, "zh-Hant"},
		{[]string{"yue"}, "zh-Hant"},
		{[]string{"zh-CN"}, "zh-Hans"},
		{[]string{"zh"}, "zh-Hans"},
		{[]string{"zh-Hans-SG"}, "zh-Hans"},
		{[]string{"es-MX"}, "es"},
		{[]string{"es-419"}, "es"},
		{[]string{"pt-BR"}, "pt"},
		{[]string{"fil"}, "tl"},
		{[]string{"fil-PH"}, "tl"},
		{[]string{"tl"}, "tl"},
		{[]string{"AR-eg"}, "ar"},
		{[]string{"ht-HT"}, "ht"},
		{[]string{"spa"}, "es"},
		{[]string{"nl", "de-CH", "fr"}, "de"}, // the first supported preference wins
		{[]string{"nl", "sv"}, "en"},
		{[]string{"*", "", "ko-KR"}, "ko"},
		{[]string{"x-klingon"}, "en"},
	} {
		if got := Match(tc.accept); got != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   []string
	}{
		{"", []string{}},
		{"es-MX,es;q=0.9,en;q=0.8", []string{"es-MX", "es", "en"}},
		{"en;q=0.5, vi", []string{"vi", "en"}},
		{"fr;q=0, de", []string{"de"}},
		{"*, ko;q=0.1", []string{"ko"}},
		{"zh-TW;q=0.7, zh;q=0.7, en;q=0.9", []string{"en", "zh-TW", "zh"}},
		{"bad tag!, ar", []string{"ar"}},
		{"en;q=2, ru", []string{"ru"}},
	} {
		got := AcceptLanguage(tc.header)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("AcceptLanguage(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
	if got := Match(AcceptLanguage("fil-PH,en;q=0.5")); got != "tl" {
		t.Errorf("Match(AcceptLanguage(fil-PH…)) = %q", got)
	}
}

func FuzzAcceptLanguage(f *testing.F) {
	f.Add("es-MX,es;q=0.9,en;q=0.8")
	f.Add("zh-Hant-TW;q=0.1,*;q=0")
	f.Fuzz(func(t *testing.T, header string) {
		tags := AcceptLanguage(header)
		if len(tags) > 32 {
			t.Fatalf("%d tags", len(tags))
		}
		for _, tag := range tags {
			if !validTag(tag) {
				t.Fatalf("invalid tag %q from %q", tag, header)
			}
		}
		if _, ok := FindLocale(Match(tags)); !ok {
			t.Fatalf("Match returned an unsupported locale for %q", header)
		}
	})
}

package deliver

import (
	"strings"
	"sync"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

// EmailText is the wording of tocsin's emails and of the pages their links
// open, in one language. The labels of alert emails come from the lang
// catalog, in all its locales; the table below adds the wording of the
// confirmation mail and pages, written for English and Spanish (other
// locales get those in English until the catalog has them).
type EmailText struct {
	// Alert emails.
	Event, Severity, Urgency, Certainty, Areas, Sent, Expires string
	Description, Instruction                                  string
	MachineTranslated                                         string // notice beside machine-translated text
	Updated, Cancelled                                        string // subject and heading prefixes
	Exercise, Test                                            string // status marks: not a real emergency
	UnsubscribeLine                                           string // "To stop these alerts: "
	// Values translates CAP's severity, urgency and certainty values.
	Values map[string]string

	// The confirmation email.
	ConfirmSubject, ConfirmIntro, ConfirmAction, ConfirmIgnore string

	// The pages behind the links.
	ConfirmTitle, ConfirmButton, Confirmed         string
	AlreadyConfirmed                               string
	UnsubscribeTitle, UnsubscribeAsk, Unsubscribed string
	UnsubscribeButton                              string
	InvalidLink                                    string
}

// emailTexts is the table, by language.
var emailTexts = map[string]*EmailText{
	"en": {
		Event: "Event", Severity: "Severity", Urgency: "Urgency", Certainty: "Certainty", Areas: "Area",
		Sent: "Sent", Expires: "Expires", Description: "What is happening", Instruction: "What to do",
		MachineTranslated: "This text was translated by machine and may contain mistakes.",
		Updated:           "Update", Cancelled: "Cancelled",
		Exercise: "EXERCISE", Test: "TEST",
		UnsubscribeLine: "To stop these alerts",
		Values: map[string]string{
			"Extreme": "Extreme", "Severe": "Severe", "Moderate": "Moderate", "Minor": "Minor",
			"Immediate": "Immediate", "Expected": "Expected", "Future": "Future", "Past": "Past",
			"Observed": "Observed", "Likely": "Likely", "Possible": "Possible", "Unlikely": "Unlikely",
			"Unknown": "Unknown",
		},
		ConfirmSubject:    "Confirm your alert subscription",
		ConfirmIntro:      "Someone, probably you, asked to receive emergency alerts for an area at this address.",
		ConfirmAction:     "To start receiving them, open this link and press the button on the page (the link works for 48 hours):",
		ConfirmIgnore:     "If you did not ask for this, ignore this email: nothing will be sent to you.",
		ConfirmTitle:      "Confirm your alert subscription",
		ConfirmButton:     "Yes, send me alerts",
		Confirmed:         "Thank you. Your subscription is confirmed: alerts for your area will reach you by email.",
		AlreadyConfirmed:  "This subscription is already confirmed.",
		UnsubscribeTitle:  "Stop these alerts",
		UnsubscribeAsk:    "Do you want to stop receiving alerts at this address?",
		UnsubscribeButton: "Unsubscribe",
		Unsubscribed:      "You are unsubscribed. No more alerts will be sent to this address.",
		InvalidLink:       "This link is not valid: it is wrong, was already used, or has expired.",
	},
	"es": {
		Event: "Evento", Severity: "Gravedad", Urgency: "Urgencia", Certainty: "Certeza", Areas: "Zona",
		Sent: "Enviada", Expires: "Vence", Description: "Qué está pasando", Instruction: "Qué hacer",
		MachineTranslated: "Este texto fue traducido automáticamente y puede contener errores.",
		Updated:           "Actualización", Cancelled: "Cancelada",
		Exercise: "SIMULACRO", Test: "PRUEBA",
		UnsubscribeLine: "Para dejar de recibir estas alertas",
		Values: map[string]string{
			"Extreme": "Extrema", "Severe": "Grave", "Moderate": "Moderada", "Minor": "Menor",
			"Immediate": "Inmediata", "Expected": "Prevista", "Future": "Futura", "Past": "Pasada",
			"Observed": "Observada", "Likely": "Probable", "Possible": "Posible", "Unlikely": "Poco probable",
			"Unknown": "Desconocida",
		},
		ConfirmSubject:    "Confirme su suscripción a las alertas",
		ConfirmIntro:      "Alguien, probablemente usted, pidió recibir alertas de emergencia de una zona en esta dirección.",
		ConfirmAction:     "Para empezar a recibirlas, abra este enlace y pulse el botón de la página (el enlace sirve durante 48 horas):",
		ConfirmIgnore:     "Si usted no lo pidió, ignore este correo: no se le enviará nada.",
		ConfirmTitle:      "Confirme su suscripción a las alertas",
		ConfirmButton:     "Sí, envíenme alertas",
		Confirmed:         "Gracias. Su suscripción está confirmada: las alertas de su zona le llegarán por correo.",
		AlreadyConfirmed:  "Esta suscripción ya está confirmada.",
		UnsubscribeTitle:  "Dejar de recibir estas alertas",
		UnsubscribeAsk:    "¿Quiere dejar de recibir alertas en esta dirección?",
		UnsubscribeButton: "Darse de baja",
		Unsubscribed:      "Se ha dado de baja. No se enviarán más alertas a esta dirección.",
		InvalidLink:       "Este enlace no es válido: es incorrecto, ya se usó o ha vencido.",
	},
}

// EmailTextFor returns the wording of the confirmation mail and pages in
// the first of langs that the table has (matching "es-MX" to "es"), else
// English, and that language's tag.
func EmailTextFor(langs []string) (string, *EmailText) {
	for _, l := range langs {
		l = strings.ToLower(strings.TrimSpace(l))
		if i := strings.IndexAny(l, "-_"); i >= 0 {
			l = l[:i]
		}
		if t, ok := emailTexts[l]; ok {
			return l, t
		}
	}
	return "en", emailTexts["en"]
}

// alertEmailText returns the labels for an alert email whose text is in
// language: the catalog's locale for it (en when none matches) and its code,
// so labels and text agree.
func alertEmailText(language string) (string, *EmailText) {
	locale := lang.Match([]string{language})
	emailTextsOnce.Do(buildEmailTexts)
	return locale, emailTextsByLocale[locale]
}

var (
	emailTextsOnce     sync.Once
	emailTextsByLocale map[string]*EmailText
)

// buildEmailTexts makes each locale's wording: the hand-written table where
// it has the locale, else English, with every alert label the catalog holds
// for other locales taken from it.
func buildEmailTexts() {
	emailTextsByLocale = map[string]*EmailText{}
	for _, code := range lang.LocaleCodes() {
		if t, ok := emailTexts[code]; ok {
			emailTextsByLocale[code] = t
			continue
		}
		t := *emailTexts["en"]
		T := func(key string) string { return lang.T(code, key) }
		t.Severity, t.Urgency, t.Certainty, t.Areas = T("alert.severity"), T("alert.urgency"), T("alert.certainty"), T("alert.area")
		t.Sent, t.Expires, t.Description, t.Instruction = T("alert.sent"), T("alert.expires"), T("alert.description"), T("alert.instruction")
		t.MachineTranslated, t.Updated, t.Cancelled = T("alert.machine_translation_note"), T("alert.updated"), T("alert.cancelled")
		t.Exercise, t.Test = strings.ToUpper(T("alert.exercise")), strings.ToUpper(T("alert.test"))
		t.Values = map[string]string{}
		for _, v := range tocsin.Severities {
			t.Values[string(v)] = T("severity." + string(v))
		}
		for _, v := range tocsin.Urgencies {
			t.Values[string(v)] = T("urgency." + string(v))
		}
		for _, v := range tocsin.Certainties {
			if v != "Unknown" { // shared with severity and urgency: theirs is the word
				t.Values[string(v)] = T("certainty." + string(v))
			}
		}
		emailTextsByLocale[code] = &t
	}
}

// value translates a CAP value, leaving unknown ones as they are.
func (t *EmailText) value(v string) string {
	if s, ok := t.Values[v]; ok {
		return s
	}
	return v
}

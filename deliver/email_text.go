package deliver

import (
	"strings"
	"sync"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

// EmailText is the wording of tocsin's emails and of the pages their links
// open, in one locale, all of it from the lang catalog (keys alert.*,
// severity.*, urgency.*, certainty.* and email.*), so every locale has it.
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

// EmailTextFor returns the wording of the confirmation mail and pages in
// the first of langs that the catalog has (matching "es-MX" to "es"), else
// English, and that locale's code.
func EmailTextFor(langs []string) (string, *EmailText) {
	locale := lang.Match(langs)
	return locale, emailTexts()[locale]
}

// alertEmailText returns the labels for an alert email whose text is in
// language: the catalog's locale for it (en when none matches) and its code,
// so labels and text agree.
func alertEmailText(language string) (string, *EmailText) {
	return EmailTextFor([]string{language})
}

// emailTexts is every locale's wording, made once from the catalog.
var emailTexts = sync.OnceValue(func() map[string]*EmailText {
	texts := map[string]*EmailText{}
	for _, code := range lang.LocaleCodes() {
		T := func(key string) string { return lang.T(code, key) }
		t := &EmailText{
			Event: T("email.event"), Severity: T("alert.severity"), Urgency: T("alert.urgency"), Certainty: T("alert.certainty"),
			Areas: T("alert.area"), Sent: T("alert.sent"), Expires: T("alert.expires"),
			Description: T("email.what_is_happening"), Instruction: T("alert.instruction"),
			MachineTranslated: T("alert.machine_translation_note"), Updated: T("alert.updated"), Cancelled: T("alert.cancelled"),
			Exercise: strings.ToUpper(T("alert.exercise")), Test: strings.ToUpper(T("alert.test")),
			UnsubscribeLine: T("email.unsubscribe_line"),
			ConfirmSubject:  T("email.confirm_subject"), ConfirmIntro: T("email.confirm_intro"),
			ConfirmAction: T("email.confirm_action"), ConfirmIgnore: T("email.confirm_ignore"),
			ConfirmTitle: T("email.confirm_title"), ConfirmButton: T("email.confirm_button"),
			Confirmed: T("email.confirmed"), AlreadyConfirmed: T("email.already_confirmed"),
			UnsubscribeTitle: T("email.unsubscribe_title"), UnsubscribeAsk: T("email.unsubscribe_ask"),
			UnsubscribeButton: T("email.unsubscribe_button"), Unsubscribed: T("email.unsubscribed"),
			InvalidLink: T("email.invalid_link"),
			Values:      map[string]string{},
		}
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
		texts[code] = t
	}
	return texts
})

// value translates a CAP value, leaving unknown ones as they are.
func (t *EmailText) value(v string) string {
	if s, ok := t.Values[v]; ok {
		return s
	}
	return v
}

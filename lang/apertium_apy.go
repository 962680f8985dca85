package lang

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// APy translates through apertium-apy, Apertium's HTTP server, which keeps
// each pair's pipeline loaded between requests. Start it bound to loopback
// (StartAPy does); it has no bind option of its own.
type APy struct {
	// URL is the server's base URL, such as "http://127.0.0.1:2737".
	URL string
	// Client makes the requests; nil means a client with a DefaultMTTimeout timeout.
	Client *http.Client
}

var _ Translator = (*APy)(nil)

var defaultAPyClient = &http.Client{Timeout: DefaultMTTimeout}

func (a *APy) client() *http.Client {
	if a.Client != nil {
		return a.Client
	}
	return defaultAPyClient
}

// apyResponse is APy's answer to /translate and /listPairs; errors carry
// code and explanation instead.
type apyResponse struct {
	ResponseData    json.RawMessage `json:"responseData"`
	ResponseStatus  int             `json:"responseStatus"`
	ResponseDetails any             `json:"responseDetails"`
	Code            int             `json:"code"`
	Explanation     string          `json:"explanation"`
}

// do sends req and decodes APy's answer into out.
func (a *APy) do(req *http.Request, out any) error {
	if a.URL == "" {
		return unavailable(nil, "machine translation is not configured")
	}
	resp, err := a.client().Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return unavailable(err, "machine translation did not finish in time")
		}
		return unavailable(err, "machine translation is unavailable: the Apertium server does not answer")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return unavailable(err, "machine translation is unavailable: reading the Apertium server's answer failed")
	}
	var r apyResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return unavailable(fmt.Errorf("status %d: %w", resp.StatusCode, err), "machine translation is unavailable: the Apertium server's answer is not understood")
	}
	if resp.StatusCode != http.StatusOK || r.ResponseStatus != http.StatusOK {
		return unavailable(fmt.Errorf("status %d: %s", resp.StatusCode, r.Explanation), "machine translation failed")
	}
	if err := json.Unmarshal(r.ResponseData, out); err != nil {
		return unavailable(err, "machine translation is unavailable: the Apertium server's answer is not understood")
	}
	return nil
}

// Pairs asks the server for its pairs (/listPairs).
func (a *APy) Pairs(ctx context.Context) ([]Pair, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.URL, "/")+"/listPairs", nil)
	if err != nil {
		return nil, unavailable(err, "machine translation is misconfigured: bad Apertium server URL")
	}
	var list []struct {
		Source string `json:"sourceLanguage"`
		Target string `json:"targetLanguage"`
	}
	if err := a.do(req, &list); err != nil {
		return nil, err
	}
	pairs := []Pair{}
	for _, p := range list {
		from, to := localeOfApertium(p.Source), localeOfApertium(p.Target)
		if from == "" || to == "" || slices.ContainsFunc(pairs, func(q Pair) bool { return q.From == from && q.To == to }) {
			continue
		}
		pairs = append(pairs, Pair{From: from, To: to, Name: pairName(from, to), mode: p.Source + "|" + p.Target})
	}
	return pairs, nil
}

// Translate posts text to /translate in html format with markUnknown=no.
// APy removes only the * marks; Translate (the function) removes the rest.
func (a *APy) Translate(ctx context.Context, text, from, to string) (string, error) {
	src, dst := apertiumCodes[from], apertiumCodes[to]
	if src == "" || dst == "" {
		return "", errNoPair(from, to, nil)
	}
	form := url.Values{
		"langpair":    {src + "|" + dst},
		"q":           {text},
		"format":      {"html"},
		"markUnknown": {"no"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.URL, "/")+"/translate", strings.NewReader(form.Encode()))
	if err != nil {
		return "", unavailable(err, "machine translation is misconfigured: bad Apertium server URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		TranslatedText string `json:"translatedText"`
	}
	if err := a.do(req, &out); err != nil {
		if strings.Contains(err.Error(), "not installed") {
			return "", errNoPair(from, to, err)
		}
		return "", err
	}
	return out.TranslatedText, nil
}

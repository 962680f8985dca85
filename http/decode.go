package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/tocsin/tocsin"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// decodeJSON reads one JSON object of at most MaxBodyBytes into v, rejecting
// unknown fields and trailing data, and turns every failure into an error
// that names the field or the position.
func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return DecodeJSON(body, v)
}

// decodeOptionalJSON is decodeJSON for requests whose body may be empty.
func decodeOptionalJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return DecodeJSON(body, v)
}

// readBody reads at most MaxBodyBytes of a JSON request body.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/merge-patch+json") {
		return nil, tocsin.Errorf(tocsin.EINVALID, "the body must be application/json, not %s", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, tocsin.Errorf(tocsin.ETOOLARGE, "the body is larger than %d bytes", MaxBodyBytes)
	} else if err != nil {
		return nil, tocsin.Errorf(tocsin.EINVALID, "could not read the body: %v", err)
	}
	return body, nil
}

// DecodeJSON decodes one JSON object from body into v, strictly: unknown
// fields, trailing data, and type mismatches are EINVALID errors naming the
// field (as a JSON path) or the byte offset.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return tocsin.Errorf(tocsin.EINVALID, "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// dec.More is not enough: it reports false for a stray '}' or ']'.
		if len(bytes.Trim(body[dec.InputOffset():], " \t\r\n")) > 0 {
			return tocsin.Errorf(tocsin.EINVALID, "the body has data after the JSON object")
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return tocsin.Errorf(tocsin.EINVALID, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tocsin.Errorf(tocsin.EINVALID, "malformed JSON: the body ends too soon")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		detail := fmt.Sprintf("expected %s, got %s", jsonKind(typ.Type), typ.Value)
		return &tocsin.Error{Code: tocsin.EINVALID, Message: field + ": " + detail,
			Fields: []tocsin.FieldError{{Field: field, Detail: detail}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &tocsin.Error{Code: tocsin.EINVALID, Message: fmt.Sprintf("unknown field %q", name),
			Fields: []tocsin.FieldError{{Field: name, Detail: "is not a field of this request"}}}
	}
	// Errors from custom unmarshalers (a point that is not [lat, lon], a
	// category that is not a string or a list).
	return tocsin.Errorf(tocsin.EINVALID, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 date-time string"
		}
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a value"
}

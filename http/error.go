package http

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/tocsin/tocsin"
)

// EMETHOD is the HTTP layer's own code for a method a path does not have.
const EMETHOD = "method_not_allowed"

// codes maps application error codes to HTTP statuses: the one table.
var codes = map[string]int{
	tocsin.EINVALID:      http.StatusBadRequest,
	tocsin.EUNAUTHORIZED: http.StatusUnauthorized,
	tocsin.EFORBIDDEN:    http.StatusForbidden,
	tocsin.ENOTFOUND:     http.StatusNotFound,
	tocsin.ECONFLICT:     http.StatusConflict,
	tocsin.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	tocsin.ERATELIMITED:  http.StatusTooManyRequests,
	tocsin.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tocsin.EINTERNAL:     http.StatusInternalServerError,
	EMETHOD:              http.StatusMethodNotAllowed,
	EMEDIATYPE:           http.StatusUnsupportedMediaType,
}

var titles = map[string]string{
	tocsin.EINVALID:      "Invalid request",
	tocsin.EUNAUTHORIZED: "Unauthorized",
	tocsin.EFORBIDDEN:    "Forbidden",
	tocsin.ENOTFOUND:     "Not found",
	tocsin.ECONFLICT:     "Conflict",
	tocsin.ETOOLARGE:     "Request too large",
	tocsin.ERATELIMITED:  "Too many requests",
	tocsin.EUNAVAILABLE:  "Unavailable",
	tocsin.EINTERNAL:     "Internal error",
	EMETHOD:              "Method not allowed",
	EMEDIATYPE:           "Unsupported media type",
}

// problem is an RFC 9457 problem details document, with the application
// error code and the bad fields as extension members.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []tocsin.FieldError `json:"errors"`
}

// Error writes err as application/problem+json. Internal errors are logged in
// full and shown only as "internal error".
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := tocsin.ErrorCode(err), tocsin.ErrorMessage(err)
	status, ok := codes[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == tocsin.EINTERNAL {
		s.Logger.Error("request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	fields := tocsin.ErrorFields(err)
	if fields == nil {
		fields = []tocsin.FieldError{}
	}
	if code == tocsin.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tocsin"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{
		Type: "urn:tocsin:problem:" + code, Title: titles[code], Status: status, Detail: msg, Code: code, Errors: fields,
	})
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

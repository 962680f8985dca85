package http

import (
	"context"
	"net/http"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
)

// handleVAPIDPublicKey answers the application server key a browser passes
// to PushManager.subscribe as applicationServerKey.
func (s *Server) handleVAPIDPublicKey(w http.ResponseWriter, r *http.Request) {
	if s.VAPIDPublicKey == "" {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "Web Push is not enabled on this server"))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, map[string]string{"key": s.VAPIDPublicKey})
}

// checkPushEndpoint applies the server's network policy to a Web Push endpoint.
func (s *Server) checkPushEndpoint(ctx context.Context, raw string) error {
	if s.CheckPushEndpoint != nil {
		return s.CheckPushEndpoint(ctx, raw)
	}
	return deliver.CheckPushEndpoint(ctx, raw, false)
}

package http

import (
	"context"
	"net/http"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// subscriptionRequest is the body of POST /api/v1/subscriptions.
type subscriptionRequest struct {
	Area        areaRequest       `json:"area"`
	Languages   []string          `json:"languages"`
	MinSeverity tocsin.Severity   `json:"min_severity"`
	Categories  []tocsin.Category `json:"categories"`
	Channel     tocsin.Channel    `json:"channel"`
}

// areaRequest is a subscription's area: a circle or a polygon.
type areaRequest struct {
	Circle  *geo.Circle `json:"circle"`
	Polygon geo.Polygon `json:"polygon"`
}

func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request) {
	var req subscriptionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	sub := &tocsin.Subscription{Area: geo.Shape{Circle: req.Area.Circle, Polygon: req.Area.Polygon}, Languages: req.Languages,
		MinSeverity: req.MinSeverity, Categories: req.Categories, Channel: req.Channel}
	token, err := s.createSubscription(r.Context(), sub)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, map[string]string{"id": sub.ID, "token": token, "secret": sub.Secret, "state": string(sub.State)})
}

// createSubscription checks a new subscription's destination, stores it,
// starts an email's double opt-in and indexes it for matching. It returns
// the subscription's management token. The API and the subscribe page's
// form both come through here.
func (s *Server) createSubscription(ctx context.Context, sub *tocsin.Subscription) (string, error) {
	if sub.Channel.Type == tocsin.ChannelWebhook && strings.TrimSpace(sub.Channel.URL) != "" {
		if err := s.CheckURL(ctx, sub.Channel.URL); err != nil {
			return "", destinationError("channel.url", err)
		}
	}
	if sub.Channel.Type == tocsin.ChannelWebPush && strings.TrimSpace(sub.Channel.Endpoint) != "" {
		if err := s.checkPushEndpoint(ctx, sub.Channel.Endpoint); err != nil {
			return "", destinationError("channel.endpoint", err)
		}
	}
	if sub.Channel.Type == tocsin.ChannelEmail && (s.Email == nil || s.SubscriptionTokens == nil) {
		return "", emailUnavailable()
	}
	token, err := s.Subscriptions.CreateSubscription(ctx, sub)
	if err != nil {
		return "", err
	}
	if sub.Channel.Type == tocsin.ChannelEmail {
		// Pending until its owner follows the link in this email.
		if err := s.startEmailOptIn(ctx, sub, token); err != nil {
			return "", err
		}
	}
	if err := s.Matcher.Add(sub); err != nil {
		// Validated shapes always index; this is a bug, but the
		// subscription is stored and will load at the next start.
		s.Logger.Error("index subscription", "subscription", sub.ID, "err", err)
	}
	return token, nil
}

// destinationError names field as the refused destination of a
// subscription, keeping an internal error's own text for the log.
func destinationError(field string, err error) error {
	msg := err.Error()
	if tocsin.ErrorCode(err) != tocsin.EINTERNAL {
		msg = tocsin.ErrorMessage(err)
	}
	return &tocsin.Error{Code: tocsin.EINVALID, Message: field + ": " + msg,
		Fields: []tocsin.FieldError{{Field: field, Detail: msg}}}
}

func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		s.Error(w, r, tocsin.Errorf(tocsin.EUNAUTHORIZED, "send the subscription's token as Authorization: Bearer <token>"))
		return
	}
	sub, err := s.Subscriptions.FindSubscriptionByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Subscriptions.DeleteSubscription(r.Context(), sub.ID, token); err != nil {
		s.Error(w, r, err)
		return
	}
	s.Matcher.Remove(sub.Seq)
	w.WriteHeader(http.StatusNoContent)
}

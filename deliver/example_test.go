package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
)

func ExampleCheckURL() {
	err := deliver.CheckURL(context.Background(), "http://10.0.0.5/hook", false)
	fmt.Println(tocsin.ErrorCode(err), "-", tocsin.ErrorMessage(err))
	err = deliver.CheckURL(context.Background(), "https://user:pw@93.184.216.34/hook", false)
	fmt.Println(tocsin.ErrorMessage(err))
	// Output:
	// invalid - webhook URL resolves to 10.0.0.5, a private address
	// webhook URL must not carry a user name or password
}

func ExampleClassifyHTTP() {
	now := time.Now()
	for _, status := range []int{204, 410, 404, 500} {
		retry, err := deliver.ClassifyHTTP(status, nil, nil, nil, now)
		fmt.Println(status, retry, err, errors.Is(err, deliver.ErrGone))
	}
	retry, err := deliver.ClassifyHTTP(429, http.Header{"Retry-After": {"7"}}, nil, nil, now)
	var ra *deliver.RetryAfterError
	fmt.Println(429, retry, errors.As(err, &ra), ra.After)
	// Output:
	// 204 false <nil> false
	// 410 false webhook answered 410 Gone: endpoint is gone true
	// 404 false webhook answered 404 Not Found false
	// 500 true webhook answered 500 Internal Server Error false
	// 429 true true 7s
}

// Example_wiring shows how cmd/tocsin puts the fan-out together. store
// stands for the storage package, which implements the three services.
func Example_wiring() {
	var store interface {
		tocsin.Outbox
		tocsin.AlertService
		tocsin.SubscriptionService
	}
	ctx := context.Background()
	allowPrivate := false // TOCSIN_WEBHOOK_ALLOW_PRIVATE, for tests and closed networks

	matcher := deliver.NewMatcher()
	if err := matcher.Load(ctx, store); err != nil {
		slog.Error("load subscriptions", "err", err)
	}
	d := &deliver.Dispatcher{
		Outbox:        store,
		Alerts:        store,
		Subscriptions: store,
		Matcher:       matcher, // the HTTP layer calls Add and Remove as subscriptions change
		Senders: map[tocsin.ChannelType]deliver.Sender{
			tocsin.ChannelWebhook: &deliver.WebhookSender{Client: deliver.NewHTTPClient(allowPrivate, 10*time.Second)},
		},
		Metrics: deliver.NewMetrics(prometheus.DefaultRegisterer),
		Logger:  slog.Default(),
	}
	if err := d.Start(ctx); err != nil {
		slog.Error("start fan-out", "err", err)
		return
	}
	defer d.Close() // on SIGTERM
	// After each publish commits: d.Notify()
}

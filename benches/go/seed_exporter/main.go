// The seed's exporter written against the reference: client_golang's promhttp, for
// benches/http/seed.sh. The same four families as benches/http/seed_exporter.py (three gauges and
// the health enum as a state gauge per state, as client_golang has no Enum), set from the demo
// application's /status every POLLING_INTERVAL_SECONDS.
//
// -registry=default serves them from the default registry with client_golang's Go and process
// collectors, as an exporter written from its README does; -registry=seed serves the four
// families alone. promhttp.HandlerFor with its default options: gzip when the client accepts it.
//
// Built offline in GOPATH mode against Debian's client_golang (see benches/http/seed.sh).
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type status struct {
	RequestsCurrent float64 `json:"requests_current"`
	RequestsPending float64 `json:"requests_pending"`
	UptimeSeconds   float64 `json:"uptime_seconds"`
	Health          string  `json:"health"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9877", "address to serve /metrics on")
	app := flag.String("app-url", "http://127.0.0.1:80/status", "the application's status URL")
	which := flag.String("registry", "default", "default (with Go and process collectors) or seed")
	interval := flag.Duration("interval", 5*time.Second, "how often to poll the application")
	flag.Parse()

	registry := prometheus.NewRegistry()
	if *which == "default" {
		registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	} else if *which != "seed" {
		log.Fatalf("-registry is default or seed, not %q", *which)
	}
	current := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_requests_current", Help: "Current requests"})
	pending := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_requests_pending", Help: "Pending requests"})
	uptime := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_uptime", Help: "Uptime"})
	health := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "app_health", Help: "Health"}, []string{"app_health"})
	registry.MustRegister(current, pending, uptime, health)

	client := &http.Client{Timeout: 10 * time.Second}
	poll := func() error {
		resp, err := client.Get(*app)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var s status
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			return err
		}
		current.Set(s.RequestsCurrent)
		pending.Set(s.RequestsPending)
		uptime.Set(s.UptimeSeconds)
		for _, state := range []string{"healthy", "unhealthy"} {
			value := 0.0
			if state == s.Health {
				value = 1
			}
			health.WithLabelValues(state).Set(value)
		}
		return nil
	}
	if err := poll(); err != nil {
		log.Fatal(err)
	}
	go func() {
		for range time.Tick(*interval) {
			if err := poll(); err != nil {
				log.Print(err)
			}
		}
	}()

	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(*listen, nil))
}

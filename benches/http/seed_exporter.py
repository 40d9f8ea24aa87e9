"""The seed: trstringer.com's "quick and easy Prometheus exporter", reimplemented for the
benchmark in benches/http/seed.sh.

An AppMetrics object polls the application's JSON status endpoint every
POLLING_INTERVAL_SECONDS and sets three Gauges and an Enum; prometheus_client's
start_http_server serves them from the default registry, so the default process_*,
python_info and python_gc_* collectors are served too, as in the seed's output.

Differences from the original, none of which touch what a scrape does:
  * urllib from the standard library instead of `requests`, so prometheus_client is the
    only dependency;
  * the status fields are the ones examples/app_exporter polls (requests_current,
    requests_pending, uptime_seconds, health);
  * EXPORTER_ADDR (default 0.0.0.0, start_http_server's default) picks the listen
    address, so the benchmark can stay on loopback.

Environment: POLLING_INTERVAL_SECONDS (default 5), APP_PORT (default 80), EXPORTER_PORT
(default 9877), EXPORTER_ADDR (default 0.0.0.0). As in the seed, a failed poll raises
and ends the process.
"""

import json
import os
import time
import urllib.request

from prometheus_client import Enum, Gauge, start_http_server


class AppMetrics:
    """
    Representation of Prometheus metrics and loop to fetch and transform
    application metrics into Prometheus metrics.
    """

    def __init__(self, app_port=80, polling_interval_seconds=5):
        self.app_port = app_port
        self.polling_interval_seconds = polling_interval_seconds

        # Prometheus metrics to collect
        self.current_requests = Gauge("app_requests_current", "Current requests")
        self.pending_requests = Gauge("app_requests_pending", "Pending requests")
        self.total_uptime = Gauge("app_uptime", "Uptime")
        self.health = Enum("app_health", "Health", states=["healthy", "unhealthy"])

    def run_metrics_loop(self):
        """Metrics fetching loop"""

        while True:
            self.fetch()
            time.sleep(self.polling_interval_seconds)

    def fetch(self):
        """
        Get metrics from application and refresh Prometheus metrics with
        new values.
        """

        # Fetch raw status data from the application
        url = f"http://localhost:{self.app_port}/status"
        with urllib.request.urlopen(url, timeout=10) as resp:
            status_data = json.load(resp)

        # Update Prometheus metrics with application metrics
        self.current_requests.set(status_data["requests_current"])
        self.pending_requests.set(status_data["requests_pending"])
        self.total_uptime.set(status_data["uptime_seconds"])
        self.health.state(status_data["health"])


def main():
    """Main entry point"""

    polling_interval_seconds = int(os.getenv("POLLING_INTERVAL_SECONDS", "5"))
    app_port = int(os.getenv("APP_PORT", "80"))
    exporter_port = int(os.getenv("EXPORTER_PORT", "9877"))
    exporter_addr = os.getenv("EXPORTER_ADDR", "0.0.0.0")

    app_metrics = AppMetrics(
        app_port=app_port,
        polling_interval_seconds=polling_interval_seconds,
    )
    start_http_server(exporter_port, addr=exporter_addr)
    app_metrics.run_metrics_loop()


if __name__ == "__main__":
    main()

// client_golang's Summary observe, the reference for promexport's (benches/benches/summary.rs):
// the same objectives, values and thread counts. Built offline in GOPATH mode against Debian's
// client_golang; run by benches/summary/run.sh, which prints both results side by side.
package summary

import (
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The objectives of the Rust bench: `quantiles(0.5 = 0.05, 0.9 = 0.01, 0.99 = 0.001)`.
var objectives = map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}

// Observations cycle through 1024 values in [0, 1), as in the Rust bench.
func value(i uint64) float64 {
	return float64((i*7919)%1024) / 1024
}

func BenchmarkSummaryObserve(b *testing.B) {
	summary := prometheus.NewSummary(prometheus.SummaryOpts{Name: "bench_seconds", Help: "h", Objectives: objectives})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		summary.Observe(value(uint64(i)))
	}
}

func BenchmarkSummaryObserveNoObjectives(b *testing.B) {
	summary := prometheus.NewSummary(prometheus.SummaryOpts{Name: "bench_seconds", Help: "h"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		summary.Observe(value(uint64(i)))
	}
}

// Two goroutines at once (run with -cpu 2): ns/op is per observation, as criterion's
// two-thread figure is.
func BenchmarkSummaryObserveParallel(b *testing.B) {
	summary := prometheus.NewSummary(prometheus.SummaryOpts{Name: "bench_seconds", Help: "h", Objectives: objectives})
	var next uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := atomic.AddUint64(&next, 1) << 32
		for pb.Next() {
			summary.Observe(value(i))
			i++
		}
	})
}

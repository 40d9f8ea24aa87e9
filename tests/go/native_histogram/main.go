// Command native_histogram feeds client_golang's native histogram the observations read from
// stdin and prints what it holds, for the differential test in tests/tests/native_histogram.rs.
//
// Input, one command per line (floats as the 16 hex digits of their bits, so nothing is lost
// in decimal):
//
//	options <factor> <zero_threshold> <max_buckets> <min_reset_ms> <max_zero_threshold>
//	observe <bits>
//	sleep <ms>
//	write
//
// `options` comes first; a zero threshold of -1 is NativeHistogramZeroThresholdZero. `write`
// scrapes once (swapping hot and cold counts) without printing. At the end it prints:
//
//	schema <n>
//	zero_threshold <bits>
//	zero_count <n>
//	count <n>
//	sum <bits>
//	positive <index>:<count> ...
//	negative <index>:<count> ...
//
// with absolute bucket indexes decoded from the spans and deltas, buckets at zero left out.
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func float(field string) float64 {
	bits, err := strconv.ParseUint(field, 16, 64)
	if err != nil {
		fail("bad float bits %q: %v", field, err)
	}
	return math.Float64frombits(bits)
}

func integer(field string) int64 {
	value, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		fail("bad integer %q: %v", field, err)
	}
	return value
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

func buckets(spans []*dto.BucketSpan, deltas []int64) string {
	var out []string
	index, delta := int32(0), 0
	var count int64
	for _, span := range spans {
		index += span.GetOffset()
		for i := uint32(0); i < span.GetLength(); i++ {
			count += deltas[delta]
			delta++
			if count != 0 {
				out = append(out, fmt.Sprintf("%d:%d", index, count))
			}
			index++
		}
	}
	return strings.Join(out, " ")
}

func main() {
	var histogram prometheus.Histogram
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "options":
			if len(fields) != 6 {
				fail("options needs 5 values: %q", scanner.Text())
			}
			histogram = prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:                            "differential",
				Help:                            "Observations of the differential test.",
				NativeHistogramBucketFactor:     float(fields[1]),
				NativeHistogramZeroThreshold:    float(fields[2]),
				NativeHistogramMaxBucketNumber:  uint32(integer(fields[3])),
				NativeHistogramMinResetDuration: time.Duration(integer(fields[4])) * time.Millisecond,
				NativeHistogramMaxZeroThreshold: float(fields[5]),
			})
		case "observe":
			histogram.Observe(float(fields[1]))
		case "sleep":
			time.Sleep(time.Duration(integer(fields[1])) * time.Millisecond)
		case "write":
			var metric dto.Metric
			if err := histogram.Write(&metric); err != nil {
				fail("write: %v", err)
			}
		default:
			fail("unknown command %q", fields[0])
		}
	}
	if err := scanner.Err(); err != nil {
		fail("reading stdin: %v", err)
	}
	if histogram == nil {
		fail("no options given")
	}
	var metric dto.Metric
	if err := histogram.Write(&metric); err != nil {
		fail("write: %v", err)
	}
	h := metric.GetHistogram()
	fmt.Printf("schema %d\n", h.GetSchema())
	fmt.Printf("zero_threshold %016x\n", math.Float64bits(h.GetZeroThreshold()))
	fmt.Printf("zero_count %d\n", h.GetZeroCount())
	fmt.Printf("count %d\n", h.GetSampleCount())
	fmt.Printf("sum %016x\n", math.Float64bits(h.GetSampleSum()))
	fmt.Printf("positive %s\n", buckets(h.GetPositiveSpan(), h.GetPositiveDelta()))
	fmt.Printf("negative %s\n", buckets(h.GetNegativeSpan(), h.GetNegativeDelta()))
}

// Reads a delimited protobuf exposition on stdin with client_golang's expfmt (the reference
// decoder) and prints every family as one line of JSON, for promexport's tests to compare field
// by field with what they observed.
//
// Debian's client_model (0.3.0) predates the fields Prometheus added later: created_timestamp
// (Counter 3, Summary 4, Histogram 15) and the native exemplars (Histogram 16). proto keeps them
// as unrecognized bytes; they are decoded here with protowire, by the numbers of today's
// metrics.proto, and any other unknown field is reported so that a test sees it.
//
// Floats are printed as strings (strconv 'g', -1): JSON has no NaN or infinities.
//
// Built in GOPATH mode, offline: GO111MODULE=off GOPATH=/usr/share/gocode go build.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/encoding/protowire"
)

type timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

type exemplar struct {
	Labels    [][2]string `json:"labels"`
	Value     string      `json:"value"`
	Timestamp *timestamp  `json:"timestamp,omitempty"`
}

type bucket struct {
	UpperBound      string    `json:"upper_bound"`
	CumulativeCount uint64    `json:"cumulative_count"`
	Exemplar        *exemplar `json:"exemplar,omitempty"`
}

type span struct {
	Offset int32  `json:"offset"`
	Length uint32 `json:"length"`
}

type histogram struct {
	Count          uint64      `json:"count"`
	Sum            string      `json:"sum"`
	Buckets        []bucket    `json:"buckets"`
	Created        *timestamp  `json:"created,omitempty"`
	Schema         *int32      `json:"schema,omitempty"`
	ZeroThreshold  *string     `json:"zero_threshold,omitempty"`
	ZeroCount      *uint64     `json:"zero_count,omitempty"`
	NegativeSpans  []span      `json:"negative_spans"`
	NegativeDeltas []int64     `json:"negative_deltas"`
	PositiveSpans  []span      `json:"positive_spans"`
	PositiveDeltas []int64     `json:"positive_deltas"`
	Exemplars      []*exemplar `json:"exemplars"`
}

type quantile struct {
	Quantile string `json:"quantile"`
	Value    string `json:"value"`
}

type summary struct {
	Count     uint64     `json:"count"`
	Sum       string     `json:"sum"`
	Quantiles []quantile `json:"quantiles"`
	Created   *timestamp `json:"created,omitempty"`
}

type counter struct {
	Value    string     `json:"value"`
	Exemplar *exemplar  `json:"exemplar,omitempty"`
	Created  *timestamp `json:"created,omitempty"`
}

type metric struct {
	Labels    [][2]string `json:"labels"`
	Counter   *counter    `json:"counter,omitempty"`
	Gauge     *string     `json:"gauge,omitempty"`
	Untyped   *string     `json:"untyped,omitempty"`
	Summary   *summary    `json:"summary,omitempty"`
	Histogram *histogram  `json:"histogram,omitempty"`
}

type family struct {
	Name    string   `json:"name"`
	Help    string   `json:"help"`
	Type    string   `json:"type"`
	Metrics []metric `json:"metrics"`
	// "Message.field" of fields neither client_model 0.3.0 nor this program knows.
	Unknown []string `json:"unknown"`
}

func float(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func labels(pairs []*dto.LabelPair) [][2]string {
	out := [][2]string{}
	for _, pair := range pairs {
		out = append(out, [2]string{pair.GetName(), pair.GetValue()})
	}
	return out
}

func fromExemplar(e *dto.Exemplar) *exemplar {
	if e == nil {
		return nil
	}
	out := &exemplar{Labels: labels(e.GetLabel()), Value: float(e.GetValue())}
	if e.Timestamp != nil {
		out.Timestamp = &timestamp{Seconds: e.Timestamp.GetSeconds(), Nanos: e.Timestamp.GetNanos()}
	}
	return out
}

// unknownFields calls known(number, wire type, bytes of a length-delimited value) for each
// unrecognized field; those it does not take are recorded as unknown.
func unknownFields(message string, raw []byte, unknown *[]string, known func(protowire.Number, []byte) bool) {
	for len(raw) > 0 {
		number, wireType, n := protowire.ConsumeTag(raw)
		if n < 0 {
			*unknown = append(*unknown, message+".malformed")
			return
		}
		raw = raw[n:]
		var value []byte
		if wireType == protowire.BytesType {
			v, m := protowire.ConsumeBytes(raw)
			if m < 0 {
				*unknown = append(*unknown, message+".malformed")
				return
			}
			value = v
			n = m
		} else {
			n = protowire.ConsumeFieldValue(number, wireType, raw)
			if n < 0 {
				*unknown = append(*unknown, message+".malformed")
				return
			}
		}
		raw = raw[n:]
		if wireType != protowire.BytesType || !known(number, value) {
			*unknown = append(*unknown, fmt.Sprintf("%s.%d", message, number))
		}
	}
}

func decodeTimestamp(raw []byte) *timestamp {
	var t dto.Exemplar
	// A Timestamp decoded as the timestamp field (3) of an Exemplar, to reuse proto's parser.
	wrapped := protowire.AppendTag(nil, 3, protowire.BytesType)
	wrapped = protowire.AppendBytes(wrapped, raw)
	if err := unmarshal(wrapped, &t); err != nil || t.Timestamp == nil {
		return nil
	}
	return &timestamp{Seconds: t.Timestamp.GetSeconds(), Nanos: t.Timestamp.GetNanos()}
}

func main() {
	decoder := expfmt.NewDecoder(bufio.NewReader(os.Stdin), expfmt.FmtProtoDelim)
	out := json.NewEncoder(os.Stdout)
	for {
		var mf dto.MetricFamily
		if err := decoder.Decode(&mf); err == io.EOF {
			return
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "decode:", err)
			os.Exit(1)
		}
		f := family{Name: mf.GetName(), Help: mf.GetHelp(), Type: mf.GetType().String(), Metrics: []metric{}, Unknown: []string{}}
		unknownFields("MetricFamily", mf.XXX_unrecognized, &f.Unknown, func(protowire.Number, []byte) bool { return false })
		for _, m := range mf.GetMetric() {
			unknownFields("Metric", m.XXX_unrecognized, &f.Unknown, func(protowire.Number, []byte) bool { return false })
			got := metric{Labels: labels(m.GetLabel())}
			if c := m.Counter; c != nil {
				got.Counter = &counter{Value: float(c.GetValue()), Exemplar: fromExemplar(c.Exemplar)}
				unknownFields("Counter", c.XXX_unrecognized, &f.Unknown, func(n protowire.Number, v []byte) bool {
					if n == 3 {
						got.Counter.Created = decodeTimestamp(v)
						return got.Counter.Created != nil
					}
					return false
				})
			}
			if g := m.Gauge; g != nil {
				v := float(g.GetValue())
				got.Gauge = &v
			}
			if u := m.Untyped; u != nil {
				v := float(u.GetValue())
				got.Untyped = &v
			}
			if s := m.Summary; s != nil {
				got.Summary = &summary{Count: s.GetSampleCount(), Sum: float(s.GetSampleSum()), Quantiles: []quantile{}}
				for _, q := range s.GetQuantile() {
					got.Summary.Quantiles = append(got.Summary.Quantiles, quantile{float(q.GetQuantile()), float(q.GetValue())})
				}
				unknownFields("Summary", s.XXX_unrecognized, &f.Unknown, func(n protowire.Number, v []byte) bool {
					if n == 4 {
						got.Summary.Created = decodeTimestamp(v)
						return got.Summary.Created != nil
					}
					return false
				})
			}
			if h := m.Histogram; h != nil {
				got.Histogram = fromHistogram(h, &f.Unknown)
			}
			f.Metrics = append(f.Metrics, got)
		}
		if err := out.Encode(f); err != nil {
			fmt.Fprintln(os.Stderr, "encode:", err)
			os.Exit(1)
		}
	}
}

func spans(in []*dto.BucketSpan) []span {
	out := []span{}
	for _, s := range in {
		out = append(out, span{s.GetOffset(), s.GetLength()})
	}
	return out
}

func fromHistogram(h *dto.Histogram, unknown *[]string) *histogram {
	got := &histogram{
		Count: h.GetSampleCount(), Sum: float(h.GetSampleSum()), Buckets: []bucket{},
		Schema: h.Schema, ZeroCount: h.ZeroCount,
		NegativeSpans: spans(h.GetNegativeSpan()), NegativeDeltas: append([]int64{}, h.GetNegativeDelta()...),
		PositiveSpans: spans(h.GetPositiveSpan()), PositiveDeltas: append([]int64{}, h.GetPositiveDelta()...),
		Exemplars: []*exemplar{},
	}
	if h.ZeroThreshold != nil {
		t := float(h.GetZeroThreshold())
		got.ZeroThreshold = &t
	}
	for _, b := range h.GetBucket() {
		got.Buckets = append(got.Buckets, bucket{float(b.GetUpperBound()), b.GetCumulativeCount(), fromExemplar(b.Exemplar)})
	}
	unknownFields("Histogram", h.XXX_unrecognized, unknown, func(n protowire.Number, v []byte) bool {
		switch n {
		case 15:
			got.Created = decodeTimestamp(v)
			return got.Created != nil
		case 16:
			var e dto.Exemplar
			if err := unmarshal(v, &e); err != nil {
				return false
			}
			got.Exemplars = append(got.Exemplars, fromExemplar(&e))
			return true
		}
		return false
	})
	return got
}

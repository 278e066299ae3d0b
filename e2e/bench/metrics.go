package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// metricSample is one line of the Prometheus text format.
type metricSample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// parseMetrics reads the Prometheus text exposition format: comments and blank lines are
// skipped, every other line is name{label="value",...} value [timestamp].
func parseMetrics(text string) ([]metricSample, error) {
	var out []metricSample
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		s, err := parseMetricLine(l)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseMetricLine(l string) (metricSample, error) {
	s := metricSample{Labels: map[string]string{}}
	end := strings.IndexAny(l, "{ \t")
	if end <= 0 {
		return s, fmt.Errorf("no value in %q", l)
	}
	s.Name, l = l[:end], l[end:]
	if strings.HasPrefix(l, "{") {
		l = l[1:]
		for {
			l = strings.TrimLeft(l, " ,")
			if strings.HasPrefix(l, "}") {
				l = l[1:]
				break
			}
			eq := strings.Index(l, "=")
			if eq <= 0 || len(l) < eq+2 || l[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %q", l)
			}
			name := strings.TrimSpace(l[:eq])
			l = l[eq+2:]
			var value strings.Builder
			closed := false
			for i := 0; i < len(l); i++ {
				c := l[i]
				if c == '\\' && i+1 < len(l) {
					i++
					switch l[i] {
					case 'n':
						value.WriteByte('\n')
					default:
						value.WriteByte(l[i])
					}
					continue
				}
				if c == '"' {
					l, closed = l[i+1:], true
					break
				}
				value.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value of %s", name)
			}
			s.Labels[name] = value.String()
		}
	}
	fields := strings.Fields(l)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value for %s", s.Name)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.Name, err)
	}
	s.Value = v
	return s, nil
}

// sumMetric adds up the samples named name whose labels include every pair of match.
func sumMetric(samples []metricSample, name string, match map[string]string) (total float64, found bool) {
	for _, s := range samples {
		if s.Name != name {
			continue
		}
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			total += s.Value
			found = true
		}
	}
	return total, found
}

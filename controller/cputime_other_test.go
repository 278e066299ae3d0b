//go:build !unix

package controller

import "time"

// cpuTime is not measured here; the benchmarks then report zero CPU time.
func cpuTime() time.Duration { return 0 }

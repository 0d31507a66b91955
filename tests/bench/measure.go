//go:build unix

package bench

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Case is one thing to time. Run does one operation.
type Case struct {
	Name string
	Run  func() error
	// Reps, if above one, is the least number of runs per round, for an
	// operation far shorter than the others it is interleaved with.
	Reps int
}

// Result is the timing of one case: the median and the fastest of its
// per-round averages, and the median of its per-round CPU time per call.
// CPU is the measuring thread's own (CLOCK_THREAD_CPUTIME_ID): it leaves
// out the time spent waiting for a core on a loaded machine, and work the
// case hands to other goroutines (the garbage collector's included).
type Result struct {
	Median, Min time.Duration
	CPU         time.Duration
	Calls       int
}

// Interleave times cases in rounds. In each round every case runs for
// about perRound (at least once), in an order that rotates from round to
// round, so that all cases see the same drift in machine load; a ratio of
// two results is then a same-run comparison. Each round yields one
// average per case, and the median over rounds resists bursts of load from
// other processes.
func Interleave(cases []Case, rounds int, perRound time.Duration) (map[string]Result, error) {
	runtime.LockOSThread() // so the thread's CPU clock is this goroutine's
	defer runtime.UnlockOSThread()
	samples := make(map[string][]time.Duration, len(cases))
	cpu := make(map[string][]time.Duration, len(cases))
	calls := map[string]int{}
	for _, c := range cases { // warm-up: caches, lazily built state
		if err := c.Run(); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	for r := range rounds {
		for k := range cases {
			c := cases[(r+k)%len(cases)]
			n := 0
			start, cpu0 := time.Now(), ThreadCPU()
			for {
				if err := c.Run(); err != nil {
					return nil, fmt.Errorf("%s: %w", c.Name, err)
				}
				n++
				if n >= c.Reps && time.Since(start) >= perRound {
					break
				}
			}
			samples[c.Name] = append(samples[c.Name], time.Since(start)/time.Duration(n))
			cpu[c.Name] = append(cpu[c.Name], (ThreadCPU()-cpu0)/time.Duration(n))
			calls[c.Name] += n
		}
	}
	out := make(map[string]Result, len(cases))
	for name, s := range samples {
		slices.Sort(s)
		slices.Sort(cpu[name])
		out[name] = Result{Median: median(s), Min: s[0], CPU: median(cpu[name]), Calls: calls[name]}
	}
	return out, nil
}

// ThreadCPU is the CPU time the calling thread has used.
func ThreadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func median(s []time.Duration) time.Duration {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio divides two durations.
func Ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

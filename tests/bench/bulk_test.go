package bench

import (
	"fmt"
	"testing"
)

// BenchmarkBulk times the owner operations that re-encrypt a whole group,
// on a group of 2,500 and of 10,000 secrets shared by 20 agents, with one
// worker and with two. Run it with -benchtime=1x: one operation takes
// seconds. secrets/s is the figure to compare.
func BenchmarkBulk(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		bv, err := NewBulk(b.TempDir(), n, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range bv.Ops() {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/secrets=%d/workers=%d", op.Name, n, workers), func(b *testing.B) {
					for b.Loop() {
						b.StopTimer()
						if err := bv.Restore(); err != nil {
							b.Fatal(err)
						}
						if op.Setup != nil {
							if err := op.Setup(workers); err != nil {
								b.Fatal(err)
							}
						}
						b.StartTimer()
						if err := op.Run(workers); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(op.Secrets)*float64(b.N)/b.Elapsed().Seconds(), "secrets/s")
				})
			}
		}
	}
}

package bench

import (
	"fmt"
	"testing"
)

// BenchmarkLarge reads a vault of 2,500 and of 10,000 secrets shared by
// 200 agents: open, list, check and get, each from a fresh open. list and
// check should grow at most linearly with the vault; get should not grow.
func BenchmarkLarge(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		v, home, err := NewLarge(b.TempDir(), n)
		if err != nil {
			b.Fatal(err)
		}
		cases, err := LargeCases(v, home)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/secrets=%d", c.Name, n), func(b *testing.B) {
				for b.Loop() {
					if err := c.Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

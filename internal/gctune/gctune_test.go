package gctune

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The collector's goal starts at Floor, not at Go's 4 MiB.
func TestGoalAtLeastFloor(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GC()
	if before := heapGoal(); before >= Floor {
		t.Fatalf("goal %d before Apply: the test proves nothing", before)
	}
	Apply()
	runtime.GC()
	if after := heapGoal(); after < Floor {
		t.Fatalf("goal %d after Apply, want at least %d", after, Floor)
	}
}

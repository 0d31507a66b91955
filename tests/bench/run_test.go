package bench

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// BenchmarkRunVsGet times, interleaved in the same rounds, a get of one
// secret and a run that injects the same secret into /bin/true, masked and
// not, plus /bin/true started directly. run minus true is what run adds
// from its own start to the child's exec and back; the ratios against get
// are the figures, since both read the secret the same way.
func BenchmarkRunVsGet(b *testing.B) {
	e := clitest.New(b)
	e.OK("init")
	value := []byte("sk_test_bench_run_0123456789abcdef") // a look-alike, not a real key
	if r := e.Run(value, nil, "set", "bench/api-key", "-"); r.Code != 0 {
		b.Fatal(r.Stderr)
	}
	spawn := func(args ...string) func() error {
		return func() error {
			cmd := e.Command(nil, args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%v: %s", err, errb.String())
			}
			return nil
		}
	}
	cases := []Case{
		{Name: "get", Run: spawn("get", "--no-pull", "bench/api-key")},
		{Name: "run", Run: spawn("run", "--no-pull", "--env", "K=bench/api-key", "--", "/bin/true")},
		{Name: "run-no-masking", Run: spawn("run", "--no-pull", "--no-masking", "--env", "K=bench/api-key", "--", "/bin/true")},
		{Name: "true", Run: func() error { return exec.Command("/bin/true").Run() }},
	}
	for b.Loop() {
		res, err := Interleave(cases, 10, 0)
		if err != nil {
			b.Fatal(err)
		}
		get, run, plain, tru := res["get"].Median, res["run"].Median, res["run-no-masking"].Median, res["true"].Median
		b.ReportMetric(float64(get.Microseconds())/1000, "get-ms")
		b.ReportMetric(float64(run.Microseconds())/1000, "run-ms")
		b.ReportMetric(float64(tru.Microseconds())/1000, "true-ms")
		b.ReportMetric(Ratio(run, get), "run/get")
		b.ReportMetric(Ratio(plain, get), "run-no-masking/get")
		b.ReportMetric(Ratio(run-tru, get), "(run-true)/get")
	}
}

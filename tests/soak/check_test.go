//go:build soak

package soak

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// verdict is what the check found across every call.
type verdict struct {
	calls, values, denials, lists int
	// revoked are values of a secret the agent was granted in no state
	// the remote's HEAD had during the call: served after the revoke was
	// pushed. stale are values of an older rotation, wrong values that no
	// state ever had.
	revoked, stale, wrong int
	// staleDenials refused a secret the agent was granted in every state
	// of the call; staleLists listed what no state of the call granted.
	staleDenials, staleLists int
	// errors counts other error results by code, protocol failures as
	// "protocol".
	errors   map[string]int
	examples []string
}

// violations is the number of answers no state of their call allows.
func (v *verdict) violations() int {
	return v.revoked + v.stale + v.wrong + v.staleDenials + v.staleLists
}

// window returns the range [lo, hi] of log states that may have been the
// remote's HEAD at some moment between start and end. State k was HEAD
// from some moment in its push [start_k, end_k] to some moment in the next
// push; so it may have been HEAD during the call unless it was surely
// replaced before the call began or surely not there yet when it ended.
func window(log []*state, start, end time.Time) (lo, hi int) {
	lo = sort.Search(len(log), func(k int) bool { return k+1 == len(log) || !log[k+1].end.Before(start) })
	hi = sort.Search(len(log), func(k int) bool { return k > 0 && log[k].start.After(end) }) - 1
	return lo, hi
}

// readable is the sorted list of secrets agent may read in s.
func readable(s *state, agent string) []string {
	var out []string
	for _, secret := range slices.Sorted(maps.Keys(s.values)) {
		if s.grants[agent][groupOf(secret)] {
			out = append(out, secret)
		}
	}
	return out
}

// check holds every call to the push log. base is the time the report
// counts from; agents maps a client to its agent.
func check(calls []call, log []*state, agents []string, base time.Time) *verdict {
	v := &verdict{calls: len(calls), errors: map[string]int{}}
	for _, c := range calls {
		agent := agents[c.client]
		lo, hi := window(log, c.start, c.end)
		allowed := func(ok func(s *state) bool) bool {
			for k := lo; k <= hi; k++ {
				if ok(log[k]) {
					return true
				}
			}
			return false
		}
		bad := func(kind, what string) {
			if len(v.examples) < 8 {
				v.examples = append(v.examples, fmt.Sprintf("%s: client %d (%s) %s during +%.3fs..+%.3fs, states %d..%d (%s)",
					kind, c.client, agent, what, c.start.Sub(base).Seconds(), c.end.Sub(base).Seconds(), lo, hi, actions(log, lo, hi)))
			}
		}
		group := groupOf(c.secret)
		switch {
		case c.err != nil:
			v.errors["protocol"]++
			bad("protocol failure", c.tool)
		case c.tool == toolList && c.code == "":
			v.lists++
			if !allowed(func(s *state) bool { return slices.Equal(readable(s, agent), c.listed) }) {
				v.staleLists++
				bad("stale listing", fmt.Sprintf("listed %s", strings.Join(c.listed, ",")))
			}
		case c.code == "not_authorized":
			v.denials++
			if !allowed(func(s *state) bool { return !s.grants[agent][group] }) {
				v.staleDenials++
				bad("stale denial", "get "+c.secret)
			}
		case c.code != "":
			v.errors[c.code]++
			bad("error "+c.code, c.tool+" "+c.secret)
		default:
			v.values++
			if allowed(func(s *state) bool { return s.grants[agent][group] && s.values[c.secret] == c.value }) {
				continue
			}
			// Which state the value came from says what went wrong; the
			// value itself is never shown.
			from := slices.IndexFunc(log, func(s *state) bool { return s.values[c.secret] == c.value })
			switch {
			case from < 0:
				v.wrong++
				bad("wrong value", "get "+c.secret)
			case !allowed(func(s *state) bool { return s.grants[agent][group] }):
				v.revoked++
				bad("revoked value", fmt.Sprintf("get %s gave the value of state %d", c.secret, from))
			default:
				v.stale++
				bad("stale value", fmt.Sprintf("get %s gave the value of state %d", c.secret, from))
			}
		}
	}
	return v
}

// actions names what the owner did in states lo..hi, for a report.
func actions(log []*state, lo, hi int) string {
	var out []string
	for k := lo; k <= hi && k < len(log); k++ {
		out = append(out, log[k].action)
	}
	if len(out) > 4 {
		out = append(out[:2], "...", out[len(out)-1])
	}
	return strings.Join(out, "; ")
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"time"
)

// queryEndName is the query every agent's handler answers ("echo ok"),
// so that a query of it is answered by all N; the queries of
// measureQueries use another name and are only acked.
const queryEndName = "benchend"

// queryEndHandler is the handler spec both binaries run for queryEndName.
const queryEndHandler = "query:" + queryEndName + "=echo ok"

// queryEndCap bounds one "serf query" run; the agents' default timeout at
// N = 250 is under 10 s.
const queryEndCap = time.Minute

// measureQueryEnds runs plan.QueryEnds times the cluster's own "serf
// query" (with acks, the agent's default timeout) against agent 0, each
// answered by every agent's handler, and times each from exec to exit:
// what a user waits for. A run that printed fewer than N acks or
// responses counts in QueryEndsShort; its time is kept.
func measureQueryEnds(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	n := len(c.Agents)
	for q := 0; q < plan.QueryEnds && ctx.Err() == nil; q++ {
		qctx, cancel := context.WithTimeout(ctx, queryEndCap)
		cmd := exec.CommandContext(qctx, c.cfg.Bin, "query", "-rpc-addr="+c.Agents[0].RPCAddr,
			"-format=json", queryEndName, strconv.Itoa(q))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		cancel()
		if err != nil {
			errorf("serf query %d: %v: %s", q, err, bytes.TrimSpace(stderr.Bytes()))
			return
		}
		var res struct {
			Acks      []string
			Responses map[string]string
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			errorf("serf query %d: %v: %q", q, err, stdout.Bytes())
			return
		}
		if len(res.Acks) < n || len(res.Responses) < n {
			r.QueryEndsShort++
			errorf("serf query %d: %d acks and %d responses of %d", q, len(res.Acks), len(res.Responses), n)
		}
		r.QueryEnd = append(r.QueryEnd, took.Seconds())
		sleep(ctx, 100*time.Millisecond)
	}
}

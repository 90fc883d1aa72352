package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpPort is where an agent of a cluster with HTTP serves its API, on
// its own address.
const httpPort = 7374

// OursHTTP is the label of our binary run with -http-addr: its clusters
// measure the HTTP API and what the listener costs an idle agent.
const OursHTTP = "ours-http"

// measureWithHTTP is the sequence of a cluster of ours with -http-addr,
// after the join: the idle cost, to set beside the same binary's without
// the listener, the cost of an open web UI page (ui.go), then the HTTP
// API's figures. The rest would measure
// nothing the listener changes.
func measureWithHTTP(ctx context.Context, c *Cluster, plan Plan, r *RunResult, logf, errorf func(string, ...any)) {
	if !sleep(ctx, plan.Pause) {
		return
	}
	r.CPUIdle, r.RSSIdle = measureCost(ctx, c, plan.CostWindow, 0, errorf)
	logf("  idle with HTTP: cpu %.2f%% rss %.1f MiB", Mean(r.CPUIdle), Median(r.RSSIdle))
	if ctx.Err() != nil {
		return
	}
	// Before the API's figures, whose event bursts the agents' handlers
	// are still working off for a while after.
	measureUIPage(ctx, c, plan, r, logf, errorf)
	if ctx.Err() != nil {
		return
	}
	measureHTTP(ctx, c, plan, r, errorf)
	logf("  http: members %.2fms, %.0f events/s", Median(r.MembersHTTP)*1000, r.HTTPEventRate)
}

// measureHTTP times GET /v1/members on agent 0 and how many user events
// one keep-alive connection gets accepted per second through POST
// /v1/event, as measureRPC does through the RPC.
func measureHTTP(ctx context.Context, c *Cluster, plan Plan, r *RunResult, errorf func(string, ...any)) {
	a := c.Agents[0]
	if a.HTTPAddr == "" {
		errorf("http: the cluster was started without -http-addr")
		return
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	base := "http://" + a.HTTPAddr
	for i := 0; i < plan.MembersCalls && ctx.Err() == nil; i++ {
		start := time.Now()
		n, err := httpMembers(ctx, hc, base)
		if err != nil {
			errorf("http members: %v", err)
			return
		}
		if n == 0 {
			errorf("http members: no members")
			return
		}
		r.MembersHTTP = append(r.MembersHTTP, time.Since(start).Seconds())
	}
	rate, err := eventRate(ctx, plan.RateWindow, func(i int) error {
		return httpEvent(ctx, hc, base, "rate", strconv.Itoa(i))
	})
	if err != nil {
		errorf("http rate event: %v", err)
		return
	}
	r.HTTPEventRate = rate
}

// httpMembers does one GET /v1/members and returns how many members it
// listed.
func httpMembers(ctx context.Context, hc *http.Client, base string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/members", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var body struct{ Members []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return len(body.Members), nil
}

// httpEvent sends one user event without coalescing.
func httpEvent(ctx context.Context, hc *http.Client, base, name, payload string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/event/"+name+"?coalesce=false", strings.NewReader(payload))
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}

package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openserf/serf/internal/tools/headless"
)

// uiPageTimeout bounds the wait for the web UI to show every member.
const uiPageTimeout = 30 * time.Second

// measureUIPage opens agent 0's web UI in a headless Chromium, waits
// until the page lists every member alive, and then measures the idle
// cost of every agent with the page left open: agent 0, which serves the
// page and its streams, beside the others, which serve nothing, in the
// same window. Without a browser the figures are left out, said once.
func measureUIPage(ctx context.Context, c *Cluster, plan Plan, r *RunResult, logf, errorf func(string, ...any)) {
	browser := headless.Find()
	if browser == "" {
		logf("  ui: no chromium on PATH (SERF_CHROMIUM names one): the open-page figures are left out")
		return
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, headless.Options(browser)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	url := "http://" + c.Agents[0].HTTPAddr + "/ui/"
	shown := fmt.Sprintf(`document.querySelectorAll('#members-body tr[data-status="alive"]').length === %d`, len(c.Agents))
	err := chromedp.Do(tab, chromedp.Navigate(url))
	if err == nil {
		_, err = chromedp.Run(tab, chromedp.Poll[chromedp.Void](shown,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(uiPageTimeout)))
	}
	if err != nil {
		errorf("ui: %s did not list the %d members: %v", url, len(c.Agents), err)
		return
	}
	if !sleep(ctx, plan.Pause) {
		return
	}
	cpu, rss := measureCost(ctx, c, plan.CostWindow, 0, errorf)
	if len(cpu) != len(c.Agents) || len(rss) != len(c.Agents) || len(c.Agents) < 2 {
		errorf("ui: the cost of some agents could not be read")
		return
	}
	r.CPUUIPage, r.RSSUIPage = cpu[:1], rss[:1]
	r.CPUUINone, r.RSSUINone = cpu[1:], rss[1:]
	logf("  ui page open: serving agent cpu %.2f%% rss %.1f MiB, the others cpu %.2f%% rss %.1f MiB",
		cpu[0], rss[0], Mean(cpu[1:]), Median(rss[1:]))
}

// Package headless finds the Chromium the tools drive and the options
// they start it with: the browser tests of the web UI (uitest) and the
// benchmark's open-page figures (bench).
package headless

import (
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// Find returns the browser: SERF_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH; "" when there is none.
func Find() string {
	if p := os.Getenv("SERF_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Options are chromedp's defaults (headless) with the browser at path,
// no sandbox (CI runs as root, often in a container), no GPU and no
// /dev/shm, which containers keep small; more are appended.
func Options(path string, more ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	return append(opts, more...)
}

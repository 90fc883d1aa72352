// Package uitest drives the agent's web UI (docs/ui.md) in a real,
// headless Chromium through the DevTools protocol (chromedp), against
// clusters of our built serf binary started by the tests.
//
// The tests run only with SERF_BROWSER=1, and then fail, rather than
// skip, when no Chromium is found (SERF_CHROMIUM names one; else
// chromium, chromium-browser or google-chrome on PATH). CI sets it and
// installs Debian's chromium. With -update they also write the
// screenshots of docs/ui/.
//
// It lives in the internal/tools module so that chromedp stays out of
// the module graph of programs that import the library. The package has
// no code of its own outside its tests.
package uitest

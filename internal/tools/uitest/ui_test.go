package uitest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/openserf/serf/coordinate"
	"github.com/openserf/serf/internal/testutil/wait"
)

// xss is a tag value and a payload that must show as text.
const xss = "<img src=x onerror=alert(1)>"

// rows is a description of the members table, for failure messages.
const rows = `[...document.querySelectorAll('#members-body tr')].map(r => r.dataset.name + ':' + r.dataset.status).join(' ')`

// The pages against a three-agent cluster with encryption: three alive
// rows, filters and sorting, a tag shown as text, a user event sent from
// the page reaching the other agents' handlers and the feed, a query
// showing every response, the network map and the keys; then a member
// killed with SIGKILL turns failed on the page within a second of the
// agent learning it.
func TestUICluster(t *testing.T) {
	nodes := startCluster(t, clusterOpts{
		n:     3,
		extra: []string{"-encrypt=5K9OtfP7efFrNKe5WCQvXvnaXJ5cWP0SvXiwe0kkjM4="},
		tags:  map[int][]string{0: {"role=lb"}, 1: {"role=web", "xss=" + xss}, 2: {"role=web", "dc=east"}},
	})
	tb := newTab(t, 1280, 860)
	tb.do("open the UI", chromedp.Navigate(nodes[0].url()))

	t.Run("members", func(t *testing.T) {
		tb.t = t
		tb.waitJS(15*time.Second, `document.querySelectorAll('#members-body tr[data-status="alive"]').length === 3`, rows)
		for _, n := range nodes {
			got := eval[string](tb, `document.querySelector('#members-body tr[data-name=`+jsString(n.name)+`] .status').textContent`)
			if got != "alive" {
				t.Errorf("%s's status reads %q, want the text alive", n.name, got)
			}
		}
		if got := eval[string](tb, `document.querySelector('#counts li[data-status=alive]').textContent`); got != "3alive" {
			t.Errorf("alive count reads %q, want 3alive", got)
		}
		// The tag is text: no img element anywhere, the tag's text intact.
		if n := eval[int](tb, `document.querySelectorAll('img').length`); n != 0 {
			t.Errorf("the page has %d img elements, want none: a tag was read as HTML", n)
		}
		tagShown := eval[bool](tb, `[...document.querySelectorAll('#members-body .tag')].some(e => e.textContent === `+jsString("xss="+xss)+`)`)
		if !tagShown {
			t.Errorf("the tag xss=%s is not shown as text", xss)
		}
		// Filters: name, tag, status.
		tb.do("filter by name", chromedp.SendKeys(chromedp.ID("f-name"), "web2"))
		tb.waitJS(5*time.Second, `document.querySelectorAll('#members-body tr[data-name]').length === 1 && document.querySelector('#members-body tr[data-name="web2"]') !== null`, rows)
		tb.do("clear the name filter", setField("f-name", ""), chromedp.SendKeys(chromedp.ID("f-tag"), "role=web"))
		tb.waitJS(5*time.Second, `document.querySelectorAll('#members-body tr[data-name]').length === 2 && !document.querySelector('#members-body tr[data-name="web1"]')`, rows)
		tb.do("clear the tag filter, show failed only", setField("f-tag", ""), setField("f-status", "failed"))
		tb.waitJS(5*time.Second, `document.querySelectorAll('#members-body tr[data-name]').length === 0`, rows)
		tb.do("clear the status filter", setField("f-status", ""))
		tb.waitJS(5*time.Second, `document.querySelectorAll('#members-body tr[data-name]').length === 3`, rows)
		// Sorting: the name column again sorts descending.
		tb.do("sort by name, descending", chromedp.Click(chromedp.CSS(`th[data-key="name"] button`)))
		tb.waitJS(5*time.Second, `document.querySelector('#members-body tr').dataset.name === "web3" && document.querySelector('th[data-key="name"]').getAttribute('aria-sort') === 'descending'`, rows)
		tb.do("sort by name", chromedp.Click(chromedp.CSS(`th[data-key="name"] button`)))
		tb.waitJS(5*time.Second, `document.querySelector('#members-body tr').dataset.name === "web1"`, rows)
		tb.waitJS(15*time.Second, `[...document.querySelectorAll('#members-body tr[data-name="web2"] td')].some(td => / ms$/.test(td.textContent))`, rows)
		tb.screenshot("members")

		// Phone width: nothing wider than the screen but the table, which
		// scrolls in its own box.
		tb.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		tb.waitJS(5*time.Second, `document.documentElement.scrollWidth <= 390`, `String(document.documentElement.scrollWidth)`)
		tb.screenshot("members-phone")
		tb.do("desktop width", chromedp.EmulateViewport(1280, 860))
	})

	t.Run("rtt", func(t *testing.T) {
		tb.t = t
		// The page's RTT maths gives what the coordinate package does.
		var cs struct {
			Coordinates []struct {
				Node  string
				Coord *coordinate.Coordinate
			}
		}
		getJSON(t, "http://"+nodes[0].http+"/v1/coordinates", &cs)
		if len(cs.Coordinates) < 2 {
			t.Fatalf("coordinates = %+v, want at least two", cs.Coordinates)
		}
		a, b := cs.Coordinates[0].Coord, cs.Coordinates[1].Coord
		want := a.DistanceTo(b).Seconds() * 1000
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](
			fmt.Sprintf(`import('/ui/js/coord.js').then(m => m.rttMs(%s, %s))`, ja, jb), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-6*math.Max(1, want) {
			t.Errorf("rttMs(%s, %s) = %v ms in the page, want %v (DistanceTo)", ja, jb, got, want)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		tb.t = t
		// Enter on a page link opens the page and moves the focus to the
		// content; Tab goes from one page link to the next.
		tb.do("focus the Events link and press Enter", chromedp.Focus(chromedp.CSS(`nav a[data-page="events"]`)), chromedp.KeyEvent(kb.Enter))
		tb.waitJS(5*time.Second, `location.hash === '#events' && !document.getElementById('page-events').hidden && document.activeElement.id === 'main'`,
			`location.hash + ' ' + document.activeElement.outerHTML.slice(0, 80)`)
		tb.do("Tab from the Events link", chromedp.Focus(chromedp.CSS(`nav a[data-page="events"]`)), chromedp.KeyEvent(kb.Tab))
		tb.waitJS(5*time.Second, `document.activeElement && document.activeElement.dataset.page === 'send'`, `document.activeElement.outerHTML`)
	})

	t.Run("user event", func(t *testing.T) {
		tb.t = t
		payload := "v1.2.3 " + xss
		tb.do("send a user event", chromedp.Navigate(nodes[0].url()+"#send"),
			chromedp.WaitVisible(chromedp.ID("ev-name")),
			chromedp.SendKeys(chromedp.ID("ev-name"), "deploy"),
			chromedp.SendKeys(chromedp.ID("ev-payload"), payload),
			chromedp.Click(chromedp.CSS(`#event-form button[type=submit]`)))
		tb.waitJS(10*time.Second, `document.getElementById('ev-result').textContent.startsWith('Sent deploy')`, `document.getElementById('ev-result').textContent`)
		for _, n := range nodes[1:] {
			waitLog(t, n, n.name+" deploy "+payload)
		}
		// A binary payload, sent by the API, shows as hex.
		post(t, "http://"+nodes[1].http+"/v1/event/blob?coalesce=false", "\x00\xff\x10")
		tb.do("open the feed", chromedp.Click(chromedp.CSS(`nav a[data-page="events"]`)))
		tb.waitJS(10*time.Second, `[...document.querySelectorAll('#feed li[data-event="user"]')].some(li => li.querySelector('.name').textContent === 'deploy' && li.querySelector('.payload').textContent === `+jsString(payload)+`)`,
			`document.getElementById('feed').innerText`)
		tb.waitJS(10*time.Second, `[...document.querySelectorAll('#feed li[data-event="user"]')].some(li => li.querySelector('.name').textContent === 'blob' && li.querySelector('.payload.hex').textContent === '00 ff 10')`,
			`document.getElementById('feed').innerText`)
		if n := eval[int](tb, `document.querySelectorAll('img').length`); n != 0 {
			t.Errorf("the feed has %d img elements, want none: a payload was read as HTML", n)
		}
		// The type filter hides the user events and shows them again.
		tb.do("hide user events", chromedp.Click(chromedp.CSS(`.f-kind[value="user"]`)))
		tb.waitJS(5*time.Second, `[...document.querySelectorAll('#feed li[data-kind="user"]')].every(li => li.hidden)`, `document.getElementById('feed').innerText`)
		tb.do("show user events", chromedp.Click(chromedp.CSS(`.f-kind[value="user"]`)))
		tb.waitJS(5*time.Second, `[...document.querySelectorAll('#feed li[data-kind="user"]')].every(li => !li.hidden)`, `document.getElementById('feed').innerText`)
		tb.screenshot("events")
	})

	t.Run("query", func(t *testing.T) {
		tb.t = t
		tb.do("send a query", chromedp.Click(chromedp.CSS(`nav a[data-page="send"]`)),
			chromedp.WaitVisible(chromedp.ID("q-name")),
			chromedp.SendKeys(chromedp.ID("q-name"), "uiping"),
			chromedp.SendKeys(chromedp.ID("q-payload"), "hello"),
			chromedp.SendKeys(chromedp.ID("q-timeout"), "5s"),
			chromedp.Click(chromedp.CSS(`#query-form button[type=submit]`)))
		tb.waitJS(15*time.Second, `document.getElementById('q-status').textContent.startsWith('Query done')`, `document.getElementById('q-status').textContent`)
		for _, n := range nodes {
			got := eval[string](tb, `(document.querySelector('#q-responses li[data-from=`+jsString(n.name)+`]') || {textContent: ''}).textContent`)
			if want := n.name + ": pong from " + n.name; got != want {
				t.Errorf("response of %s reads %q, want %q", n.name, got, want)
			}
			if eval[int](tb, `document.querySelectorAll('#q-acks li[data-from=`+jsString(n.name)+`]').length`) != 1 {
				t.Errorf("no ack from %s shown", n.name)
			}
		}
		tb.screenshot("send")
	})

	t.Run("network", func(t *testing.T) {
		tb.t = t
		tb.do("open the network page", chromedp.Click(chromedp.CSS(`nav a[data-page="network"]`)))
		tb.waitJS(10*time.Second, `document.querySelectorAll('#net-map g[data-name]').length === 3 && document.querySelectorAll('#heat tbody tr').length === 3`,
			`document.getElementById('page-network').innerText`)
		if n := eval[int](tb, `[...document.querySelectorAll('#heat tbody td')].filter(td => /^[0-9.]+$/.test(td.textContent)).length`); n != 6 {
			t.Errorf("the heat map has %d RTT cells, want 6", n)
		}
		tb.screenshot("network")
	})

	t.Run("keys", func(t *testing.T) {
		tb.t = t
		tb.do("open the keys page", chromedp.Click(chromedp.CSS(`nav a[data-page="keys"]`)))
		tb.waitJS(15*time.Second, `document.querySelectorAll('#keys-body tr').length === 1 && document.getElementById('keys-body').textContent.includes('3 of 3')`,
			`document.getElementById('page-keys').innerText`)
		tb.screenshot("keys")
	})

	t.Run("failure", func(t *testing.T) {
		tb.t = t
		tb.do("open the members page", chromedp.Click(chromedp.CSS(`nav a[data-page="members"]`)))
		tb.waitJS(5*time.Second, `document.querySelectorAll('#members-body tr[data-status="alive"]').length === 3`, rows)
		victim := nodes[2]
		killed := time.Now()
		victim.proc.Kill()
		// Both are polled at one steady pace: the agent's API for when it
		// learnt of the failure, the page for when it showed it.
		var learnt, shown time.Time
		wait.Every(t, detectBound+2*time.Second, 20*time.Millisecond, func() error {
			if learnt.IsZero() {
				if st, err := memberStatus(nodes[0], "", victim.name); err == nil && st == "failed" {
					learnt = time.Now()
				}
			}
			if !eval[bool](tb, `(document.querySelector('#members-body tr[data-name=`+jsString(victim.name)+`]') || {dataset: {}}).dataset.status === 'failed'`) {
				return fmt.Errorf("%s's row is not failed %v after the kill (the agent learnt it after %v); rows: %s",
					victim.name, time.Since(killed), sinceOrNever(learnt, killed), eval[string](tb, rows))
			}
			shown = time.Now()
			if learnt.IsZero() {
				learnt = shown // the page had it before the API poll did
			}
			return nil
		})
		t.Logf("killed %s: the agent had it failed after %v, the page after %v", victim.name, learnt.Sub(killed), shown.Sub(killed))
		if lag := shown.Sub(learnt); lag > time.Second {
			t.Errorf("the page showed %s failed %v after the agent learnt it, want within 1s", victim.name, lag)
		}
		if took := learnt.Sub(killed); took > detectBound {
			t.Errorf("the agent took %v to find %s failed, want at most %v", took, victim.name, detectBound)
		}
		if got := eval[string](tb, `document.querySelector('#members-body tr[data-name=`+jsString(victim.name)+`] .status').textContent`); got != "failed" {
			t.Errorf("%s's status reads %q, want the text failed", victim.name, got)
		}
		tb.waitJS(5*time.Second, `document.querySelector('#counts li[data-status=failed]').textContent === '1failed'`, `document.getElementById('counts').textContent`)
		tb.screenshot("members-failed")
	})
	tb.t = t
	tb.check()
}

// With a token configured nothing loads until it is given: the prompt
// shows, a wrong token is an error, the right one loads the members and
// is kept for the tab.
func TestUIToken(t *testing.T) {
	nodes := startCluster(t, clusterOpts{n: 1, config: `{"http_auth": "s3cret"}`})
	tb := newTab(t, 1280, 860)
	tb.do("open the UI", chromedp.Navigate(nodes[0].url()))
	tb.waitJS(10*time.Second, `!document.getElementById('token-page').hidden`, `document.body.innerText`)
	if n := eval[int](tb, `document.querySelectorAll('#members-body tr[data-name]').length + document.querySelectorAll('.page:not([hidden])').length`); n != 0 {
		t.Errorf("without the token the page shows %d rows or pages, want none", n)
	}
	tb.do("give a wrong token", chromedp.SendKeys(chromedp.ID("token-input"), "wrong"), chromedp.Click(chromedp.CSS(`#token-form button`)))
	tb.waitJS(10*time.Second, `!document.getElementById('token-error').hidden && document.getElementById('token-error').textContent.includes('Wrong token')`,
		`document.getElementById('token-page').innerText`)
	if n := eval[int](tb, `document.querySelectorAll('.page:not([hidden])').length`); n != 0 {
		t.Errorf("with a wrong token %d pages show, want none", n)
	}
	tb.screenshot("token")
	tb.do("give the token", chromedp.SendKeys(chromedp.ID("token-input"), "s3cret"), chromedp.Click(chromedp.CSS(`#token-form button`)))
	tb.waitJS(10*time.Second, `document.getElementById('token-page').hidden && document.querySelectorAll('#members-body tr[data-status="alive"]').length === 1`, `document.body.innerText`)
	// A reload keeps the token: no prompt.
	tb.do("reload", chromedp.Navigate(nodes[0].url()))
	tb.waitJS(10*time.Second, `document.querySelectorAll('#members-body tr[data-status="alive"]').length === 1`, `document.body.innerText`)
	if !eval[bool](tb, `document.getElementById('token-page').hidden`) {
		t.Errorf("after a reload the token prompt shows again, want the token kept for the tab")
	}
	tb.check()
}

// getJSON decodes a GET's JSON reply into out.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// post sends body to url and wants 200.
func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/octet-stream", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d", url, resp.StatusCode)
	}
}

// sinceOrNever is how long after start t was, or "never" when t is zero.
func sinceOrNever(t, start time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(start).String()
}

// setField sets the value of the input or select id as a person would,
// with the input event the page listens for.
func setField(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.getElementById(%s); e.value = %s; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })()`,
		jsString(id), jsString(value)))
}

package agent

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
)

// errReloadTagsWithTagsFile is a reload's refusal of configured tags
// beside a tags file.
var errReloadTagsWithTagsFile = errors.New("Failed to update tags: Tags config not allowed while using tag files")

// Reload applies a configuration read again (`serf agent` on SIGHUP, with
// LoadConfig): the log level, the retry join, the handler scripts and the
// tags, in that order. A log level that is not valid keeps the one in
// force; log_json, the label, the encryption checks and the allow-lists
// keep theirs, with a warning, since only a restart changes them. A change
// of retry_join, retry_interval or retry_max_attempts, once StartRetryJoin
// was called, stops the retry join under way (waiting for an attempt in
// progress) and starts it afresh with the new settings, unless retry_join
// is now empty: a join that had already worked is then done once more.
// Unlike Serf, tags are changed only where the configuration changed them,
// so tags from the tags file or set with `serf tags` survive a reload.
// Every change is logged.
//
// The error is Serf's message for the step that failed; the steps before
// it are applied, and the configuration becomes the one in force all the
// same (the configured tags excepted, so the next reload tries them
// again). Under systemd (NOTIFY_SOCKET set), RELOADING=1 goes out as the
// reload begins and READY=1 once it ends, failed or not: the agent runs
// on either way. Reload does nothing in an agent made by Create.
func (a *Agent) Reload(conf *Config) error {
	a.reloadLock.Lock()
	defer a.reloadLock.Unlock()
	old := a.conf
	if old == nil {
		return nil
	}
	if a.notify != nil {
		a.notify.reloading()
		defer a.notify.ready()
	}
	conf = MergeConfig(nil, conf)

	if !ValidLevel(conf.LogLevel) {
		conf.LogLevel = old.LogLevel
	} else if !strings.EqualFold(conf.LogLevel, old.LogLevel) {
		a.logFilter.SetLevel(conf.LogLevel)
		if a.syslog != nil {
			a.syslog.SetLevel(conf.LogLevel)
		}
		a.logger.Printf("[INFO] agent: Reload changed the log level from %s to %s",
			strings.ToUpper(old.LogLevel), strings.ToUpper(conf.LogLevel))
	}
	if isTrue(conf.LogJSON) != isTrue(old.LogJSON) {
		a.logger.Printf("[WARN] agent: Reload cannot change log_json; it takes effect when the agent restarts")
		conf.LogJSON = old.LogJSON
	}
	if keys := holdRestartOnly(old, conf); len(keys) > 0 {
		a.logger.Printf("[WARN] agent: Reload cannot change %s; restart the agent for that", strings.Join(keys, ", "))
	}
	a.conf = conf
	a.readiness.retrying.Store(len(conf.RetryJoin) > 0)
	a.reloadRetryJoin(retrySettingsOf(old), retrySettingsOf(conf))

	if err := a.UpdateEventHandlers(conf.EventScripts()); err != nil {
		return err
	}
	if strings.Join(conf.EventHandlers, "\n") != strings.Join(old.EventHandlers, "\n") {
		a.logger.Printf("[INFO] agent: Reload changed the event handlers to %q", conf.EventScripts())
	}

	if conf.TagsFile != "" && len(conf.Tags) > 0 {
		return errReloadTagsWithTagsFile
	}
	current := a.serf.LocalMember().Tags
	next, changes := reloadTags(current, a.configTags, conf.Tags)
	if len(changes) > 0 {
		if err := a.SetTags(next); err != nil {
			return fmt.Errorf("Failed to update tags: %w", err)
		}
		a.logger.Printf("[INFO] agent: Reload changed tags: %s", strings.Join(changes, ", "))
	}
	a.configTags = maps.Clone(conf.Tags)
	return nil
}

// reloadTags applies to current the difference between the tags the
// configuration gave before (was) and gives now (now): keys it dropped are
// deleted, keys it added or changed are set, the rest is kept. It returns
// the new tags and a sorted description of each change.
func reloadTags(current, was, now map[string]string) (map[string]string, []string) {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]string{}
	}
	var changes []string
	for k := range was {
		if _, kept := now[k]; kept {
			continue
		}
		if _, ok := next[k]; ok {
			delete(next, k)
			changes = append(changes, "-"+k)
		}
	}
	for k, v := range now {
		if old, ok := was[k]; ok && old == v {
			continue // the configuration did not change this key
		}
		if cur, ok := next[k]; ok && cur == v {
			continue
		}
		next[k] = v
		changes = append(changes, k+"="+v)
	}
	sort.Strings(changes)
	return next, changes
}

package bench

// RunResult holds what one cluster of one binary measured. Times are in
// seconds, memory in MiB, CPU in percent of one core. Per-agent and
// per-repetition samples are kept as lists, so that the JSON holds the
// raw figures; an empty list means "not measured".
type RunResult struct {
	Binary string `json:"binary"` // "ours", "serf" or "ours-http" (OursHTTP)
	N      int    `json:"n"`
	Run    int    `json:"run"` // repetition, from 0

	// Startup is each agent's time from exec until its RPC answered.
	Startup []float64 `json:"startup_s"`

	// Converge is each agent's time, from the start of the concurrent
	// joins, until it saw N-1 other members alive; agents that never did
	// are left out, and Converged is false. WorstSeen is the smallest
	// number of alive members (itself included) any agent reported
	// through "members" at the end of the wait.
	Converge  []float64 `json:"converge_s"`
	Converged bool      `json:"converged"`
	WorstSeen int       `json:"worst_seen"`
	// Stragglers names the agents that had not converged at the cap,
	// with the alive count their last poll gave ("node017: 49/50").
	Stragglers []string `json:"stragglers,omitempty"`

	// Events is, per user event, the time from the RPC call until the
	// last agent's handler ran; EventsMissing counts events some agent's
	// handler never saw before the per-event timeout.
	Events        []float64 `json:"event_s"`
	EventsMissing int       `json:"events_missing"`

	// QueryAcks is, per query, the time until all N acks arrived;
	// QueriesShort counts queries that ended with fewer.
	QueryAcks    []float64 `json:"query_acks_s"`
	QueriesShort int       `json:"queries_short"`

	// QueryEnd is, per "serf query" run answered by every agent, the
	// time from its exec until it exited; QueryEndsShort counts runs that
	// printed fewer than N acks or responses.
	QueryEnd       []float64 `json:"query_end_s"`
	QueryEndsShort int       `json:"query_ends_short"`

	// MembersRPC is the latency of each "members" call, in seconds.
	MembersRPC []float64 `json:"members_rpc_s"`
	// EventRate is how many user events per second one RPC connection
	// got accepted, sending back to back.
	EventRate float64 `json:"rpc_events_per_s"`

	// MembersHTTP and HTTPEventRate are the same through the HTTP API
	// (GET /v1/members, POST /v1/event), for our agents run with
	// -http-addr only.
	MembersHTTP   []float64 `json:"members_http_s,omitempty"`
	HTTPEventRate float64   `json:"http_events_per_s,omitempty"`

	// CPUUIPage and RSSUIPage are the idle cost of agent 0 with its web
	// UI open in a headless browser; CPUUINone and RSSUINone those of the
	// other agents in the same window (-http-addr clusters only).
	CPUUIPage []float64 `json:"cpu_ui_page_pct,omitempty"`
	RSSUIPage []float64 `json:"rss_anon_ui_page_mib,omitempty"`
	CPUUINone []float64 `json:"cpu_ui_none_pct,omitempty"`
	RSSUINone []float64 `json:"rss_anon_ui_none_mib,omitempty"`

	// Per-agent private memory (MiB) and CPU (% of a core), idle after
	// convergence and under a steady event load.
	RSSIdle []float64 `json:"rss_anon_idle_mib"`
	RSSLoad []float64 `json:"rss_anon_load_mib"`
	CPUIdle []float64 `json:"cpu_idle_pct"`
	CPULoad []float64 `json:"cpu_load_pct"`

	// The kills one after another (Plan.Kills); DetectLeft is, per
	// other agent, the time from a graceful leave until it reported that
	// agent left, MissingLeft how many did not within the cap.
	KillSeries
	DetectLeft  []float64 `json:"detect_left_s"`
	MissingLeft int       `json:"missing_left"`

	// Errors lists what went wrong without stopping the run.
	Errors []string `json:"errors,omitempty"`
}

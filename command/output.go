package command

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/cli"
	"github.com/ryanuber/columnize"
)

// failf prints a failure, Serf's "Error ...: <cause>" line, with
// ui.Error and returns the exit code 1.
func failf(ui cli.Ui, format string, args ...any) int {
	ui.Error(fmt.Sprintf(format, args...))
	return 1
}

// usageError prints msg, an empty line and the command's help, Serf's
// answer to wrong arguments, and returns the exit code 1.
func usageError(ui cli.Ui, msg, help string) int {
	ui.Error(msg)
	ui.Error("")
	ui.Error(help)
	return 1
}

// formatOutput renders v as "text" (its String method) or "json"
// (indented, as Serf's), trimmed of surrounding white space.
func formatOutput(v any, format string) (string, error) {
	var out string
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return "", err
		}
		out = string(b)
	case "text":
		out = v.(fmt.Stringer).String()
	default:
		return "", fmt.Errorf("Invalid output format \"%s\"", format)
	}
	return strings.TrimSpace(out), nil
}

// printOutput prints v in format (see formatOutput) and returns the exit
// code: 0, or 1 after Serf's message when v cannot be rendered.
func printOutput(ui cli.Ui, v any, format string) int {
	out, err := formatOutput(v, format)
	if err != nil {
		return failf(ui, "Encoding error: %s", err)
	}
	ui.Output(out)
	return 0
}

// printFailure reports a failure of a command that has -format and
// returns its exit code, 1. With -format=json the message is wrapped in a
// JSON object, {"error": msg}, and written as output, so that whoever
// reads the JSON on stdout also gets the failure as JSON; otherwise it is
// printed as the plain line Serf prints.
func printFailure(ui cli.Ui, format, msg string) int {
	if format != "json" {
		ui.Error(msg)
		return 1
	}
	b, err := json.MarshalIndent(struct {
		Error string `json:"error"`
	}{msg}, "", "  ")
	if err != nil {
		// A struct of one string always encodes; keep the message anyway.
		ui.Error(msg)
		return 1
	}
	ui.Output(string(b))
	return 1
}

// columns lays out "a|b|c" rows in aligned columns, as Serf's CLI does.
func columns(rows []string) string {
	return columnize.SimpleFormat(rows)
}

// sortedKeys returns the keys of m in increasing order. Serf prints maps
// in Go's random order; sorted, our output is the same from run to run.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
